"""Settlement in the console: the operator runs settlement up to a cut-off day, reads each run's
statements, and downloads them (CSV) and the bank payout file; the merchant's cashier screen
lists its own statements. Everything goes through the API's settlement route functions, so the
same rules, scopes and records apply (the payout file export is recorded, as in the API)."""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Form, Request, Response
from sqlalchemy import select

from quan.api.deps import RuntimeDep
from quan.api.routes import programs as program_api
from quan.api.routes import settlements as settlement_api
from quan.api.schemas.settlements import SettlementCreate, SettlementPublic, StatementDetail
from quan.domain.errors import VALIDATION_FAILED, QuanError
from quan.services.merchants import merchants
from quan.store.redemption_tables import settlement_runs, settlement_statements
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
from quan.web.templating import render

router = console_router()


@router.get("/ops/programs/{program_id}/settlements")
def settlements_page(program_id: str, request: Request, actor: StaffPage,
                     rt: RuntimeDep) -> Response:
    program = program_api.get_program(program_id, actor, rt)
    runs = settlement_api.list_settlements(program_id, actor, rt, limit=200).items
    yesterday = (rt.clock.now().astimezone(ZoneInfo(program.timezone)) - timedelta(days=1)).date()
    return render(
        request,
        "ops/settlements.html",
        staff_context(actor, program=program, runs=list(reversed(runs)), yesterday=yesterday,
                      operate=can_operate(actor), run_key=secrets.token_urlsafe(16)),
    )


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
        day = date.fromisoformat(cut_off_date) if cut_off_date else None
    except ValueError as exc:
        raise QuanError(VALIDATION_FAILED) from exc
    answer = settlement_api.run_settlement(
        program_id, SettlementCreate(cut_off_date=day), actor, rt, request, f"console-{run_key}"
    )
    run = SettlementPublic.model_validate_json(bytes(answer.body))
    return redirect(request, f"/ops/settlements/{run.id}")


@router.get("/ops/settlements/{settlement_id}")
def settlement_page(settlement_id: str, request: Request, actor: StaffPage,
                    rt: RuntimeDep) -> Response:
    run = settlement_api.get_settlement(settlement_id, actor, rt)
    program = program_api.get_program(run.program_id, actor, rt)
    found = settlement_api.statements(settlement_id, actor, rt, format="json", limit=200)
    assert not isinstance(found, Response)
    with rt.db.read() as tx:
        names = merchants.names_of(tx, (s.merchant_id for s in found.items))
    return render(
        request,
        "ops/settlement.html",
        staff_context(actor, run=run, program=program, statements=found.items, names=names,
                      operate=can_operate(actor)),
    )


@router.get("/ops/settlements/{settlement_id}/statements.csv")
def statements_csv(settlement_id: str, actor: StaffPage, rt: RuntimeDep) -> Response:
    answer = settlement_api.statements(settlement_id, actor, rt, format="csv")
    assert isinstance(answer, Response)
    return answer


@router.get("/ops/settlements/{settlement_id}/statements/{merchant_id}")
def merchant_statement_page(settlement_id: str, merchant_id: str, request: Request,
                            actor: StaffPage, rt: RuntimeDep) -> Response:
    """One merchant's statement: its figures and every redemption it settles."""
    run = settlement_api.get_settlement(settlement_id, actor, rt)
    program = program_api.get_program(run.program_id, actor, rt)
    detail = settlement_api.statement(settlement_id, merchant_id, actor, rt)
    assert isinstance(detail, StatementDetail)
    with rt.db.read() as tx:
        name = merchants.names_of(tx, [merchant_id]).get(merchant_id, merchant_id)
    return render(
        request,
        "ops/statement.html",
        staff_context(actor, run=run, program=program, detail=detail, merchant_id=merchant_id,
                      merchant_name=name),
    )


@router.get("/ops/settlements/{settlement_id}/statements/{merchant_id}/download.csv")
def merchant_statement_csv(settlement_id: str, merchant_id: str, actor: StaffPage,
                           rt: RuntimeDep) -> Response:
    answer = settlement_api.statement(settlement_id, merchant_id, actor, rt, format="csv")
    assert isinstance(answer, Response)
    return answer


@router.get("/ops/settlements/{settlement_id}/payout-file.csv")
def payout_file(settlement_id: str, actor: OperatorPage, rt: RuntimeDep) -> Response:
    """Bank accounts in clear: operators and admins only, and the export is recorded."""
    return settlement_api.payout_file(settlement_id, actor, rt)


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
    detail = settlement_api.statement(settlement_id, actor.merchant_id or "", actor, rt)
    assert isinstance(detail, StatementDetail)
    return render(request, "cashier/statement.html",
                  cashier_context(actor, detail=detail, settlement_id=settlement_id))


@router.get("/cashier/statements/{settlement_id}/download.csv")
def my_statement_csv(settlement_id: str, actor: TerminalPage, rt: RuntimeDep) -> Response:
    answer = settlement_api.statement(settlement_id, actor.merchant_id or "", actor, rt,
                                      format="csv")
    assert isinstance(answer, Response)
    return answer


