"""The operator console: programs, a program's page (budget, ledger identity, voucher types,
batches), its lifecycle, and its dashboard.

Reads and writes call the same use cases as the API inside the same kind of transaction, and
reads show the API's own views (``quan.api.schemas``), so a page shows what the API answers.
"""

from __future__ import annotations

from fastapi import Request, Response

from quan.api.schemas.programs import BudgetPublic, ProgramPublic
from quan.api.schemas.vouchers import VoucherTypePublic
from quan.domain.programs import Action, ProgramStatus
from quan.edge.deps import RuntimeDep
from quan.services.issuance import batches, voucher_types
from quan.services.money import programs
from quan.store import ledger
from quan.web import charts
from quan.web.i18n import Translator, request_lang
from quan.web.routes.common import (
    StaffPage,
    batch_public,
    can_operate,
    console_router,
    staff_context,
)
from quan.web.templating import render
from quan.web.views.dashboard import dashboard

router = console_router()

# Which lifecycle buttons a program in each status shows (the service decides again).
PROGRAM_ACTIONS: dict[ProgramStatus, tuple[Action, ...]] = {
    ProgramStatus.DRAFT: (Action.ACTIVATE, Action.CLOSE),
    ProgramStatus.ACTIVE: (Action.PAUSE, Action.CLOSE),
    ProgramStatus.PAUSED: (Action.ACTIVATE, Action.CLOSE),
    ProgramStatus.CLOSED: (),
}


@router.get("/ops")
def programs_page(request: Request, actor: StaffPage, rt: RuntimeDep) -> Response:
    with rt.db.read() as tx:
        found, more = programs.list_visible(tx, actor, limit=200, cursor=None)
    listed = [ProgramPublic.of(p) for p in found]
    with rt.db.read() as tx:
        budgets = {p.id: ledger.budget(tx, p.id) for p in listed}
    return render(
        request,
        "ops/programs.html",
        staff_context(actor, programs=listed, budgets=budgets, more=more),
    )


@router.get("/ops/programs/{program_id}")
def program_page(program_id: str, request: Request, actor: StaffPage, rt: RuntimeDep) -> Response:
    with rt.db.read() as tx:
        program = ProgramPublic.of(programs.visible_program(tx, actor, program_id))
        budget = BudgetPublic.of(
            program_id,
            ledger.budget(tx, program_id),
            programs.pending_contributions_fen(tx, program_id),
        )
        found_types, _ = voucher_types.list_for_program(
            tx, actor, program_id, limit=200, cursor=None
        )
        found_batches, _ = batches.list_for_program(
            tx, actor, program_id, limit=200, cursor=None
        )
        batch_list = [batch_public(tx, b) for b in found_batches]
    types = [VoucherTypePublic.of(vt) for vt in found_types]
    t = Translator(request_lang(request))
    money = charts.share_bar(
        t("budget.where"),
        [
            (t("budget.available"), budget.available_fen, "green"),
            (t("budget.reserved"), budget.reserved_fen, "blue"),
            (t("budget.payable"), budget.payable_fen, "amber"),
            (t("budget.paid"), budget.paid_fen, "red"),
            (t("budget.returned"), budget.returned_fen, "grey"),
        ],
    )
    return render(
        request,
        "ops/program.html",
        staff_context(
            actor,
            program=program,
            budget=budget,
            money_chart=money,
            voucher_types=types,
            batches=batch_list,
            actions=PROGRAM_ACTIONS[program.status] if can_operate(actor) else (),
            operate=can_operate(actor),
            notice=request.query_params.get("done"),
        ),
    )


@router.get("/ops/programs/{program_id}/dashboard")
def dashboard_page(
    program_id: str, request: Request, actor: StaffPage, rt: RuntimeDep
) -> Response:
    lang = request_lang(request)
    t = Translator(lang)
    with rt.db.read() as tx:
        program = programs.visible_program(tx, actor, program_id)
        figures = dashboard(tx, program, rt.clock.now(), lang)
    days = figures.days
    label = "%m-%d"
    claims_chart = charts.bar_chart(
        t("dash.claims_per_day"),
        [charts.Point(d.day.strftime(label), d.claims) for d in days],
    )
    redeemed_chart = charts.bar_chart(
        t("dash.redeemed_per_day"),
        [charts.Point(d.day.strftime(label), d.redeemed) for d in days],
    )
    burn_chart = charts.line_chart(
        t("dash.burn"),
        [
            charts.Series(
                t("dash.funded"),
                [charts.Point(d.day.strftime(label), d.funded_fen // 100) for d in days],
            ),
            charts.Series(
                t("dash.committed"),
                [charts.Point(d.day.strftime(label), d.committed_fen // 100) for d in days],
                alt=True,
            ),
        ],
        fmt="¥{:,}",
    )
    region_chart = charts.horizontal_bars(
        t("dash.claims_by_region"),
        [charts.Point(s.label, s.count) for s in figures.claims_by_region],
    )
    type_chart = charts.horizontal_bars(
        t("dash.claims_by_type"),
        [charts.Point(s.label, s.count) for s in figures.claims_by_type],
    )
    # Whole yuan on the bars (the tables below give the fen).
    category_chart = charts.horizontal_bars(
        t("dash.spend_by_category"),
        [charts.Point(s.label, s.discount_fen // 100) for s in figures.spend_by_category],
        fmt="¥{:,}",
    )
    spend_region_chart = charts.horizontal_bars(
        t("dash.spend_by_region"),
        [charts.Point(s.label, s.discount_fen // 100) for s in figures.spend_by_region],
        fmt="¥{:,}",
    )
    return render(
        request,
        "ops/dashboard.html",
        staff_context(
            actor,
            program=program,
            figures=figures,
            claims_chart=claims_chart,
            redeemed_chart=redeemed_chart,
            burn_chart=burn_chart,
            region_chart=region_chart,
            type_chart=type_chart,
            category_chart=category_chart,
            spend_region_chart=spend_region_chart,
        ),
    )
