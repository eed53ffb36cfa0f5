"""Settlement: running it up to a cut-off, statements (JSON and CSV), the payout file, payouts.

A merchant's owner key and terminals read their own statement only (another merchant's answers
404); the payout file, with bank accounts in clear, is for the issuer's operators and admins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from sqlalchemy import Connection, Select

from quan.api.deps import (
    Allow,
    IdempotencyHeader,
    OperatorOrAdmin,
    RuntimeDep,
    StaffReader,
    idempotency_key,
)
from quan.api.schemas.common import Limit, Page
from quan.api.schemas.settlements import (
    PayoutCreate,
    PayoutPublic,
    SettlementCreate,
    SettlementPublic,
    StatementDetail,
    StatementLine,
    StatementPublic,
)
from quan.domain.auth import Actor, PartnerRole, Role
from quan.domain.errors import NOT_FOUND, QuanError
from quan.domain.merchants import is_merchant_principal
from quan.domain.settlement import (
    LINE_COLUMNS,
    PAYOUT_COLUMNS,
    SETTLEMENT_EXISTS,
    STATEMENT_COLUMNS,
    to_csv,
)
from quan.services import idempotency, merchants, programs, settlement
from quan.services.runtime import Runtime
from quan.store.pagination import page
from quan.store.redemption_tables import redemptions, settlement_runs, settlement_statements

router = APIRouter(tags=["settlement"])

StatementReader = Annotated[
    Actor,
    Depends(
        Allow(Role.ADMIN, Role.OPERATOR, Role.AUDITOR, PartnerRole.MERCHANT, PartnerRole.TERMINAL)
    ),
]
Format = Literal["json", "csv"]
CSV = "text/csv; charset=utf-8"
STREAM_ROWS = 5000  # rows read and written at a time when streaming a CSV file


def _csv(text: str, filename: str) -> Response:
    # A byte-order mark so that spreadsheet programs read the Chinese names as UTF-8.
    return Response(
        "\ufeff" + text,
        media_type=CSV,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _stream_csv(
    rt: Runtime,
    query: Select[Any],
    columns: Sequence[str],
    to_row: Callable[[Any], dict[str, Any]],
    filename: str,
) -> StreamingResponse:
    """A CSV file of every row of ``query``, written as it is read (a big merchant's statement
    has millions of lines; none of them is held in memory all at once)."""

    def chunks() -> Iterator[str]:
        yield "\ufeff" + to_csv(columns, [])
        with rt.db.read() as tx:
            result = tx.execute(query.execution_options(yield_per=STREAM_ROWS))
            for part in result.partitions():
                yield to_csv(columns, (to_row(r) for r in part), header=False)

    return StreamingResponse(
        chunks(),
        media_type=CSV,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.post("/programs/{program_id}/settlements", response_model=SettlementPublic, status_code=201)
def run_settlement(
    program_id: str,
    body: SettlementCreate,
    actor: OperatorOrAdmin,
    rt: RuntimeDep,
    request: Request,
    idempotency_key_header: IdempotencyHeader = None,
) -> JSONResponse:
    """Settle the program up to the end of ``cut_off_date`` (local; default yesterday): one
    statement per merchant with what it is owed, what is held and why, and what is to be paid."""
    idem = idempotency_key(actor, idempotency_key_header, request, body.model_dump(mode="json"))
    try:
        with rt.db.read() as tx:
            settlement.plan(tx, rt.clock.now(), actor, program_id, body.cut_off_date)
        settlement.barrier(rt.db)
    except QuanError as error:
        # A retry of a run that succeeded finds it settled: let the stored answer replay.
        if error.spec is not SETTLEMENT_EXISTS or idem is None:
            raise

    def work(tx: Connection) -> settlement.SettlementRun:
        return settlement.run(tx, rt.clock.now(), actor, program_id, body.cut_off_date)

    outcome = idempotency.run(
        rt.db,
        rt.clock,
        idem,
        work,
        lambda done: (201, SettlementPublic.of(done).model_dump(mode="json")),
    )
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    return JSONResponse(outcome.body, status_code=outcome.status_code, headers=headers)


@router.get("/programs/{program_id}/settlements", response_model=Page[SettlementPublic])
def list_settlements(
    program_id: str,
    actor: StaffReader,
    rt: RuntimeDep,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Page[SettlementPublic]:
    with rt.db.read() as tx:
        programs.visible_program(tx, actor, program_id)
        query = settlement_runs.select().where(settlement_runs.c.program_id == program_id)
        rows, next_cursor = page(tx, query, settlement_runs.c.id, limit=limit, cursor=cursor)
    return Page(
        items=[SettlementPublic.of(settlement.run_from_row(r)) for r in rows],
        next_cursor=next_cursor,
    )


@router.get("/settlements/{settlement_id}", response_model=SettlementPublic)
def get_settlement(settlement_id: str, actor: StaffReader, rt: RuntimeDep) -> SettlementPublic:
    with rt.db.read() as tx:
        return SettlementPublic.of(settlement.visible_run(tx, actor, settlement_id))


@router.get(
    "/settlements/{settlement_id}/statements",
    response_model=Page[StatementPublic],
    responses={200: {"content": {CSV: {}}, "description": "JSON page, or CSV with ?format=csv"}},
)
def statements(
    settlement_id: str,
    actor: StatementReader,
    rt: RuntimeDep,
    format: Format = "json",
    limit: Limit = 100,
    cursor: str | None = None,
) -> Page[StatementPublic] | Response:
    """The run's statements by merchant id (a merchant sees only its own). ``?format=csv``
    gives all of them as one CSV file."""
    with rt.db.read() as tx:
        settlement.visible_run(tx, actor, settlement_id)
        query = settlement.statement_query(actor, settlement_id)
        if format == "csv":
            return _stream_csv(
                rt,
                query.order_by(settlement_statements.c.merchant_id),
                STATEMENT_COLUMNS,
                lambda r: dict(r._mapping),
                f"statements-{settlement_id}.csv",
            )
        rows, next_cursor = page(
            tx, query, settlement_statements.c.merchant_id, limit=limit, cursor=cursor
        )
    return Page(items=[StatementPublic.of(r) for r in rows], next_cursor=next_cursor)


@router.get(
    "/settlements/{settlement_id}/statements/{merchant_id}",
    response_model=StatementDetail,
    responses={200: {"content": {CSV: {}}, "description": "JSON, or the lines as CSV"}},
)
def statement(
    settlement_id: str,
    merchant_id: str,
    actor: StatementReader,
    rt: RuntimeDep,
    format: Format = "json",
    limit: Limit = 200,
    cursor: str | None = None,
) -> StatementDetail | Response:
    """One merchant's statement with its lines: every redemption settled, with the order
    details the terminal attached (branch, cashier, receipt number)."""
    if is_merchant_principal(actor) and actor.merchant_id != merchant_id:
        raise QuanError(NOT_FOUND, what=f"statement of {merchant_id}")
    with rt.db.read() as tx:
        run = settlement.visible_run(tx, actor, settlement_id)
        row = tx.execute(
            settlement.statement_query(actor, settlement_id).where(
                settlement_statements.c.merchant_id == merchant_id
            )
        ).first()
        if row is None:
            raise QuanError(NOT_FOUND, what=f"statement of {merchant_id}")
        lines = settlement.lines_query(run, merchant_id)
        if format == "csv":
            return _stream_csv(
                rt,
                lines.order_by(redemptions.c.id),
                LINE_COLUMNS,
                lambda r: StatementLine.of(r).csv_row(),
                f"statement-{settlement_id}-{merchant_id}.csv",
            )
        line_rows, next_cursor = page(tx, lines, redemptions.c.id, limit=limit, cursor=cursor)
    return StatementDetail(
        statement=StatementPublic.of(row),
        lines=[StatementLine.of(r) for r in line_rows],
        next_cursor=next_cursor,
    )


@router.get(
    "/settlements/{settlement_id}/payout-file",
    response_class=Response,
    responses={200: {"content": {CSV: {}}, "description": "The bank payout file (CSV)"}},
)
def payout_file(settlement_id: str, actor: OperatorOrAdmin, rt: RuntimeDep) -> Response:
    """The pending payouts with bank accounts in clear, for the bank. Every export is recorded."""
    key = merchants.sealing_key(rt.settings)
    with rt.db.write() as tx:
        rows = settlement.payout_file(tx, rt.clock.now(), actor, key, settlement_id)
    return _csv(to_csv(PAYOUT_COLUMNS, rows), f"payouts-{settlement_id}.csv")


@router.post("/settlements/{settlement_id}/payouts", response_model=PayoutPublic, status_code=201)
def mark_paid(
    settlement_id: str, body: PayoutCreate, actor: OperatorOrAdmin, rt: RuntimeDep
) -> PayoutPublic:
    """Record that the bank paid the pending statements (all, or ``merchant_ids``): their payouts
    move from owed to paid. Whoever ran the settlement cannot confirm its payouts."""
    with rt.db.write() as tx:
        done = settlement.mark_paid(
            tx,
            rt.clock.now(),
            actor,
            settlement_id,
            payment_ref=body.payment_ref,
            merchant_ids=body.merchant_ids,
        )
    return PayoutPublic.of(done)
