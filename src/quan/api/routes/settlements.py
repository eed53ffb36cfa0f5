"""Settlement: running it up to a cut-off, statements (JSON and CSV), the payout file, payouts.

A merchant's owner key and terminals read their own statement only (another merchant's answers
404); the payout file, with bank accounts in clear, is for the issuer's operators and admins.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

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
from quan.edge.deps import (
    Allow,
    IdempotencyHeader,
    OperatorOrAdmin,
    RuntimeDep,
    StaffReader,
    idempotency_key,
)
from quan.edge.downloads import CSV, payout_csv, statement_lines_csv, statements_csv
from quan.services.settlement import payouts, running, settlement

router = APIRouter(tags=["settlement"])

StatementReader = Annotated[
    Actor,
    Depends(
        Allow(Role.ADMIN, Role.OPERATOR, Role.AUDITOR, PartnerRole.MERCHANT, PartnerRole.TERMINAL)
    ),
]
Format = Literal["json", "csv"]


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
    outcome = running.run_once(
        rt.db,
        rt.clock,
        actor,
        program_id,
        body.cut_off_date,
        idem,
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
        runs, next_cursor = settlement.list_runs(tx, actor, program_id, limit=limit, cursor=cursor)
    return Page(items=[SettlementPublic.of(r) for r in runs], next_cursor=next_cursor)


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
    if format == "csv":
        return statements_csv(rt, actor, settlement_id)
    with rt.db.read() as tx:
        rows, next_cursor = settlement.statement_rows(
            tx, actor, settlement_id, limit=limit, cursor=cursor
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
    if format == "csv":
        return statement_lines_csv(rt, actor, settlement_id, merchant_id)
    with rt.db.read() as tx:
        found, row = settlement.merchant_statement(tx, actor, settlement_id, merchant_id)
        line_rows, next_cursor = settlement.statement_lines(
            tx, found, merchant_id, limit=limit, cursor=cursor
        )
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
    return payout_csv(rt, actor, settlement_id)


@router.post("/settlements/{settlement_id}/payouts", response_model=PayoutPublic, status_code=201)
def mark_paid(
    settlement_id: str, body: PayoutCreate, actor: OperatorOrAdmin, rt: RuntimeDep
) -> PayoutPublic:
    """Record that the bank paid the pending statements (all, or ``merchant_ids``): their payouts
    move from owed to paid. Whoever ran the settlement cannot confirm its payouts."""
    with rt.db.write() as tx:
        done = payouts.mark_paid(
            tx,
            rt.clock.now(),
            actor,
            settlement_id,
            payment_ref=body.payment_ref,
            merchant_ids=body.merchant_ids,
        )
    return PayoutPublic.of(done)
