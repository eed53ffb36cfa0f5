"""The public disclosure pages: no sign-in. The index lists programs that have started; each
program's page shows what ``GET /api/v1/public/programs/{id}`` answers — its money from the
ledger, the signed checkpoint the figures were read at, its rule changes — and its opened
batches as ``GET /api/v1/batches/{id}`` publishes them."""

from __future__ import annotations

from fastapi import Request, Response
from sqlalchemy import select

from quan.api.schemas.public import ProgramDisclosure
from quan.api.snapshots import conditional_page, disclosure_snapshot
from quan.domain.programs import ProgramStatus
from quan.edge.deps import RuntimeDep
from quan.services.delivery import announcement_queries
from quan.services.issuance import batches
from quan.services.money import programs
from quan.store.tables import programs as programs_table
from quan.store.voucher_tables import batches as batches_table
from quan.web import charts
from quan.web.i18n import Translator, request_lang
from quan.web.region_labels import region_label
from quan.web.routes.common import batch_public, console_router
from quan.web.templating import render

router = console_router()


def leverage(order_fen: int, subsidy_fen: int) -> str | None:
    """Consumption driven per yuan of subsidy (order value ÷ discount), two decimals, rounded
    half up from the exact integers; ``None`` before anything is redeemed."""
    if subsidy_fen <= 0:
        return None
    hundredths = (order_fen * 100 * 2 + subsidy_fen) // (subsidy_fen * 2)
    return f"{hundredths // 100:,}.{hundredths % 100:02d}"


def funder_shares(found: ProgramDisclosure) -> list[tuple[str, str, int, str]]:
    """``(name, kind, net fen, share)``: each funder's share of what all funders put in net, as
    a percentage with one decimal (half up, from the integers)."""
    total = sum(max(f.net_fen, 0) for f in found.funders)
    shares = []
    for f in found.funders:
        tenths = (max(f.net_fen, 0) * 1000 * 2 + total) // (total * 2) if total else 0
        shares.append((f.name, f.kind, f.net_fen, f"{tenths // 10}.{tenths % 10}%"))
    return shares


@router.get("/disclosure")
def disclosure_index(request: Request, rt: RuntimeDep) -> Response:
    with rt.db.read() as tx:
        rows = tx.execute(
            select(programs_table)
            .where(programs_table.c.status != ProgramStatus.DRAFT.value)
            .order_by(programs_table.c.id.desc())
            .limit(200)
        ).all()
        listed = [programs._program(r) for r in rows]
    return render(request, "public/index.html", {"programs": listed, "area": "public"})


@router.get("/disclosure/{program_id}")
def disclosure_page(program_id: str, request: Request, rt: RuntimeDep) -> Response:
    # The same snapshot as the API's answer: a flood of visitors reads no ledger.
    snapshot = disclosure_snapshot(program_id, request, rt)
    found = ProgramDisclosure.model_validate_json(snapshot.body)
    with rt.db.read() as tx:
        batch_ids = tx.execute(
            select(batches_table.c.id)
            .where(
                batches_table.c.program_id == program_id,
                batches_table.c.status != "draft",
            )
            .order_by(batches_table.c.id)
        ).scalars().all()
        published = [
            batch_public(tx, batches.get_batch(tx, bid), with_type=True) for bid in batch_ids
        ]
        notices = announcement_queries.public_for_program(tx, program_id)
    t = Translator(request_lang(request))
    m = found.money
    money_chart = charts.share_bar(
        t("budget.where"),
        [
            (t("budget.available"), m.available_fen, "green"),
            (t("budget.reserved"), m.reserved_fen, "blue"),
            (t("budget.payable"), m.payable_fen, "amber"),
            (t("budget.paid"), m.paid_fen, "red"),
            (t("budget.returned"), m.returned_fen, "grey"),
        ],
    )
    lang = request_lang(request)
    page = render(
        request,
        "public/program.html",
        {
            "d": found,
            "batches": published,
            "money_chart": money_chart,
            "announcements": notices,
            "area": "public",
            "leverage": leverage(found.vouchers.redeemed.order_fen,
                                 found.vouchers.redeemed.subsidy_fen),
            "shares": funder_shares(found),
            "region_label": lambda code: region_label(code, lang),
            "lotteries": [b for b in published if b.allocation.value == "lottery"],
            "base_url": str(request.base_url).rstrip("/"),
        },
    )
    return conditional_page(request, page, int(rt.settings.public_snapshot_seconds))
