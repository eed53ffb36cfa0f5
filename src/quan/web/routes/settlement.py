"""Settlement in the console: the operator runs settlement up to a cut-off day, reads each run's
statements, and downloads them (CSV) and the bank payout file; the merchant's cashier screen
lists its own statements. Everything goes through the same settlement use cases and downloads
as the API, so the same rules, scopes and records apply (the payout file export is recorded)."""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Form, Request, Response
from sqlalchemy import select

from quan.api.schemas.programs import ProgramPublic
from quan.api.schemas.settlements import (
    SettlementCreate,
    SettlementPublic,
    StatementDetail,
    StatementLine,
    StatementPublic,
)
from quan.domain.auth import Actor
from quan.domain.errors import VALIDATION_FAILED, QuanError
from quan.edge import downloads
from quan.edge.deps import RuntimeDep, idempotency_key
from quan.edge.status import STATUS
from quan.services.merchants import merchants
from quan.services.money.programs import get_program, visible_program
from quan.services.runtime import Runtime
from quan.services.settlement import payouts, running, settlement
from quan.store.redemption_tables import settlement_runs, settlement_statements
from quan.web.i18n import Translator, request_lang
from quan.web.refusals import from_refusal, sentence
from quan.web.routes.cashier import TerminalPage
from quan.web.routes.cashier import _context as cashier_context
from quan.web.routes.common import (
    OperatorPage,
    StaffPage,
    can_operate,
    console_router,
    staff_context,
)
from quan.web.routing import redirect
from quan.web.settlement_view import (
    INVALID_CUT_OFF,
    PAYOUT_CODES,
    PAYOUT_NOT_CONFIRMED,
    people_csv,
)
from quan.web.templating import render

router = console_router()


def _run_and_program(
    rt: Runtime, actor: Actor, settlement_id: str
) -> tuple[SettlementPublic, ProgramPublic]:
    with rt.db.read() as tx:
        run = settlement.visible_run(tx, actor, settlement_id)
        program = visible_program(tx, actor, run.program_id)
    return SettlementPublic.of(run), ProgramPublic.of(program)


def _detail(rt: Runtime, actor: Actor, settlement_id: str, merchant_id: str) -> StatementDetail:
    """One merchant's statement with its first 200 lines (as the API's statement)."""
    with rt.db.read() as tx:
        found, row = settlement.merchant_statement(tx, actor, settlement_id, merchant_id)
        lines, next_cursor = settlement.statement_lines(
            tx, found, merchant_id, limit=200, cursor=None
        )
    return StatementDetail(
        statement=StatementPublic.of(row),
        lines=[StatementLine.of(r) for r in lines],
        next_cursor=next_cursor,
    )


def _runs_page(request: Request, actor: Actor, rt: Runtime, program_id: str, *,
               refusal: QuanError | None = None, typed: str = "") -> Response:
    """The runs of a program and the form to run the next one. The default cut-off is the last
    complete day; when it cannot be settled (already settled, before the last run) the page says
    why instead of offering a run, and a run with nothing to settle is refused in words at the
    date (the service records no empty run)."""
    t = Translator(request_lang(request))
    with rt.db.read() as tx:
        program = ProgramPublic.of(visible_program(tx, actor, program_id))
        found, _ = settlement.list_runs(tx, actor, program_id, limit=200, cursor=None)
        blocked = None
        try:
            running.plan(tx, rt.clock.now(), actor, program_id, None)
        except QuanError as exc:
            blocked = sentence(exc, t, program.timezone)
    runs = [SettlementPublic.of(r) for r in found]
    yesterday = (rt.clock.now().astimezone(ZoneInfo(program.timezone)) - timedelta(days=1)).date()
    errors = (from_refusal(refusal, t, program.timezone, attach="cut_off_date")
              if refusal else None)
    return render(
        request,
        "ops/settlements.html",
        staff_context(actor, program=program, runs=list(reversed(runs)),
                      cut_off=typed or yesterday.isoformat(), blocked=blocked, errors=errors,
                      operate=can_operate(actor), run_key=secrets.token_urlsafe(16)),
        status_code=STATUS.get(refusal.kind, 422) if refusal else 200,
    )


@router.get("/ops/programs/{program_id}/settlements")
def settlements_page(program_id: str, request: Request, actor: StaffPage,
                     rt: RuntimeDep) -> Response:
    return _runs_page(request, actor, rt, program_id)


@router.post("/ops/programs/{program_id}/settlements")
def run_settlement(
    program_id: str,
    request: Request,
    actor: OperatorPage,
    rt: RuntimeDep,
    cut_off_date: Annotated[str, Form(max_length=10)] = "",
    run_key: Annotated[str, Form(min_length=8, max_length=64)] = "",
) -> Response:
    """Settle up to the end of the day given (the program's time zone), with an idempotency key
    drawn when the page was shown: a second click replays the first run instead of failing."""
    try:
        try:
            day = date.fromisoformat(cut_off_date) if cut_off_date else None
        except ValueError as exc:
            raise QuanError(VALIDATION_FAILED) from exc
        body = SettlementCreate(cut_off_date=day)
        outcome = running.run_once(
            rt.db,
            rt.clock,
            actor,
            program_id,
            body.cut_off_date,
            idempotency_key(actor, f"console-{run_key}", request, body.model_dump(mode="json")),
            lambda done: (201, SettlementPublic.of(done).model_dump(mode="json")),
        )
    except QuanError as exc:
        if exc.spec is VALIDATION_FAILED:
            exc = QuanError(INVALID_CUT_OFF)
        return _runs_page(request, actor, rt, program_id, refusal=exc, typed=cut_off_date)
    run = SettlementPublic.model_validate(outcome.body)
    return redirect(request, f"/ops/settlements/{run.id}")


def _run_page(request: Request, actor: Actor, rt: Runtime, settlement_id: str, *,
              refusal: QuanError | None = None, typed: str = "") -> Response:
    """A run's statements, its downloads, and — for a second person — the form that confirms
    the bank paid the pending payouts (whoever ran the settlement is told someone else must)."""
    run, program = _run_and_program(rt, actor, settlement_id)
    with rt.db.read() as tx:
        rows, _ = settlement.statement_rows(tx, actor, settlement_id, limit=200, cursor=None)
        statements = [StatementPublic.of(r) for r in rows]
        names = merchants.names_of(tx, (s.merchant_id for s in statements))
    pending = [s for s in statements if s.payout_status == "pending"]
    t = Translator(request_lang(request))
    errors = (from_refusal(refusal, t, program.timezone, attach=PAYOUT_CODES.get(refusal.code))
              if refusal else None)
    return render(
        request,
        "ops/settlement.html",
        staff_context(actor, run=run, program=program, statements=statements, names=names,
                      operate=can_operate(actor), errors=errors, payment_ref=typed,
                      pending_count=len(pending),
                      pending_fen=sum(s.payout_fen for s in pending),
                      own_run=run.created_by == actor.label,
                      notice=request.query_params.get("done")),
        status_code=STATUS.get(refusal.kind, 422) if refusal else 200,
    )


@router.get("/ops/settlements/{settlement_id}")
def settlement_page(settlement_id: str, request: Request, actor: StaffPage,
                    rt: RuntimeDep) -> Response:
    return _run_page(request, actor, rt, settlement_id)


@router.post("/ops/settlements/{settlement_id}/payouts")
def mark_paid(
    settlement_id: str,
    request: Request,
    actor: OperatorPage,
    rt: RuntimeDep,
    payment_ref: Annotated[str, Form(max_length=300)] = "",
    confirmed: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """A second person confirms that the bank paid the pending statements (as
    ``POST /settlements/{id}/payouts``): they move from owed to paid in the ledger."""
    try:
        if confirmed != "yes":
            raise QuanError(PAYOUT_NOT_CONFIRMED)
        with rt.db.write() as tx:
            payouts.mark_paid(tx, rt.clock.now(), actor, settlement_id, payment_ref=payment_ref)
    except QuanError as exc:
        return _run_page(request, actor, rt, settlement_id, refusal=exc, typed=payment_ref)
    return redirect(request, f"/ops/settlements/{settlement_id}?done=payout_paid")


@router.get("/ops/settlements/{settlement_id}/statements.csv")
def statements_csv(settlement_id: str, request: Request, actor: StaffPage,
                   rt: RuntimeDep) -> Response:
    _, program = _run_and_program(rt, actor, settlement_id)
    return downloads.statements_csv(rt, actor, settlement_id,
                                    people_csv(request, program.timezone))


@router.get("/ops/settlements/{settlement_id}/statements/{merchant_id}")
def merchant_statement_page(settlement_id: str, merchant_id: str, request: Request,
                            actor: StaffPage, rt: RuntimeDep) -> Response:
    """One merchant's statement: its figures and every redemption it settles."""
    run, program = _run_and_program(rt, actor, settlement_id)
    detail = _detail(rt, actor, settlement_id, merchant_id)
    with rt.db.read() as tx:
        name = merchants.names_of(tx, [merchant_id]).get(merchant_id, merchant_id)
    return render(
        request,
        "ops/statement.html",
        staff_context(actor, run=run, program=program, detail=detail, merchant_id=merchant_id,
                      merchant_name=name),
    )


@router.get("/ops/settlements/{settlement_id}/statements/{merchant_id}/download.csv")
def merchant_statement_csv(settlement_id: str, merchant_id: str, request: Request,
                           actor: StaffPage, rt: RuntimeDep) -> Response:
    _, program = _run_and_program(rt, actor, settlement_id)
    return downloads.statement_lines_csv(rt, actor, settlement_id, merchant_id,
                                         people_csv(request, program.timezone))


@router.get("/ops/settlements/{settlement_id}/payout-file.csv")
def payout_file(settlement_id: str, request: Request, actor: OperatorPage,
                rt: RuntimeDep) -> Response:
    """Bank accounts in clear: operators and admins only, and the export is recorded."""
    _, program = _run_and_program(rt, actor, settlement_id)
    return downloads.payout_csv(rt, actor, settlement_id, people_csv(request, program.timezone))


# --- the merchant's side -------------------------------------------------------------------


@router.get("/cashier/statements")
def my_statements(request: Request, actor: TerminalPage, rt: RuntimeDep) -> Response:
    with rt.db.read() as tx:
        rows = tx.execute(
            select(settlement_statements, settlement_runs.c.cut_off_date,
                   settlement_runs.c.created_at)
            .join(settlement_runs, settlement_runs.c.id == settlement_statements.c.settlement_id)
            .where(settlement_statements.c.merchant_id == actor.merchant_id)
            .order_by(settlement_runs.c.created_at.desc())
            .limit(100)
        ).all()
    return render(request, "cashier/statements.html",
                  cashier_context(actor, statements=rows))


@router.get("/cashier/statements/{settlement_id}")
def my_statement(settlement_id: str, request: Request, actor: TerminalPage,
                 rt: RuntimeDep) -> Response:
    detail = _detail(rt, actor, settlement_id, actor.merchant_id or "")
    return render(request, "cashier/statement.html",
                  cashier_context(actor, detail=detail, settlement_id=settlement_id))


@router.get("/cashier/statements/{settlement_id}/download.csv")
def my_statement_csv(settlement_id: str, request: Request, actor: TerminalPage,
                     rt: RuntimeDep) -> Response:
    with rt.db.read() as tx:
        zone = get_program(tx, settlement.visible_run(tx, actor, settlement_id).program_id).timezone
    return downloads.statement_lines_csv(rt, actor, settlement_id, actor.merchant_id or "",
                                         people_csv(request, zone))


