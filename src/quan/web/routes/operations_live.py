"""The live operations page: figures that refresh without reload, the open alerts with their
acknowledgement, and the refusals of the last hour in words — per program or across programs.

``/ops/operations`` (every program the operator may see) and
``/ops/programs/{id}/operations`` render the page; its live part is ``/ops/operations/live``,
which htmx fetches every few seconds (``hx-trigger="every 5s"``) and swaps in, so nothing the
operator types is ever in the refreshed part: acknowledging opens its own small form
(``/ops/alerts/{id}/ack``) and returns to the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Form, Request, Response
from sqlalchemy import Connection, func, select

from quan.domain.errors import spec_for
from quan.edge.deps import RuntimeDep
from quan.services.delivery.status import queue_summary
from quan.services.money.programs import visible_program
from quan.services.operations import alerts
from quan.services.operations.alert_measures import sequencer_lag_seconds
from quan.services.operations.alert_scope import Cut, Scope
from quan.services.operations.refusal_report import RefusalFilter, RefusalRow, refusals
from quan.store.merchant_tables import merchants
from quan.store.redemption_tables import redemptions
from quan.store.voucher_tables import vouchers
from quan.web.i18n import request_lang
from quan.web.routes.common import (
    OperatorPage,
    StaffPage,
    can_operate,
    console_router,
    staff_context,
)
from quan.web.routing import redirect, safe_next
from quan.web.templating import render

router = console_router()

REFRESH_SECONDS = 5


@dataclass(frozen=True, slots=True)
class Figures:
    firing: int
    pending: int
    refusals_hour: int
    claims_hour: int
    redemptions_hour: int
    outbox_oldest_due_seconds: float
    sequencer_lag_seconds: float


@dataclass(frozen=True, slots=True)
class RefusalLine:
    row: RefusalRow
    merchant_name: str | None
    rule: str  # the refusal's code in words, in the page's language


def _figures(tx: Connection, now: datetime, program_id: str | None,
             open_alerts: list[alerts.Alert], refused: list[RefusalRow]) -> Figures:  # fmt: skip
    hour = now - timedelta(hours=1)
    claims = select(func.count()).select_from(vouchers).where(vouchers.c.claimed_at >= hour)
    redeemed = (
        select(func.count()).select_from(redemptions).where(redemptions.c.recorded_at >= hour)
    )
    if program_id is not None:
        claims = claims.where(vouchers.c.program_id == program_id)
        redeemed = redeemed.where(redemptions.c.program_id == program_id)
    lag = sequencer_lag_seconds(tx, Scope(now), {}, Cut(">", 0))[0].value
    return Figures(
        firing=sum(1 for a in open_alerts if a.state == "firing"),
        pending=sum(1 for a in open_alerts if a.state == "pending"),
        refusals_hour=sum(r.count for r in refused),
        claims_hour=int(tx.execute(claims).scalar() or 0),
        redemptions_hour=int(tx.execute(redeemed).scalar() or 0),
        outbox_oldest_due_seconds=queue_summary(tx, now).oldest_due_seconds,
        sequencer_lag_seconds=lag,
    )


def _live(request: Request, rt: Any, actor: Any, program_id: str | None) -> dict[str, Any]:
    now = rt.clock.now()
    lang = request_lang(request)
    until = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    with rt.db.read() as tx:
        program = visible_program(tx, actor, program_id) if program_id else None
        # A program's page shows its alerts and the platform's, which concern every program.
        open_alerts = [
            a
            for a in alerts.list_alerts(tx, actor, state="open", limit=500)
            if program_id is None or a.program_id in (program_id, None)
        ]
        rows = refusals(tx, actor, RefusalFilter(since=until - timedelta(hours=1), until=until),
                        limit=200)  # fmt: skip
        if program is not None:
            own = set(
                tx.execute(
                    select(merchants.c.id).where(merchants.c.issuer_id == program.issuer_id)
                ).scalars()
            )
            rows = [
                r for r in rows
                if r.program_id == program.id or (r.program_id is None and r.merchant_id in own)
            ]  # fmt: skip
        names = dict(
            tx.execute(
                select(merchants.c.id, merchants.c.name).where(
                    merchants.c.id.in_({r.merchant_id for r in rows if r.merchant_id})
                )
            ).all()
        )
        figures = _figures(tx, now, program_id, open_alerts, rows)
    lines = [
        RefusalLine(r, names.get(r.merchant_id or ""), _rule_words(r.code, lang)) for r in rows
    ]
    return {
        "program": program,
        "figures": figures,
        "open_alerts": open_alerts,
        "refusals": lines[:50],
        "refreshed_at": now,
        "can_ack": can_operate(actor),
        "refresh": REFRESH_SECONDS,
        "here": f"/ops/programs/{program_id}/operations" if program_id else "/ops/operations",
    }


def _rule_words(code: str, lang: str) -> str:
    try:
        spec = spec_for(code)
    except KeyError:
        return code
    text = spec.en if lang == "en" else spec.zh
    return text.split("{")[0].rstrip("：: ，,") or code


def _page(request: Request, rt: Any, actor: Any, program_id: str | None) -> Response:
    context = _live(request, rt, actor, program_id)
    return render(request, "ops/operations.html", staff_context(actor, **context))


@router.get("/ops/operations")
def operations_page(request: Request, actor: StaffPage, rt: RuntimeDep) -> Response:
    return _page(request, rt, actor, None)


@router.get("/ops/programs/{program_id}/operations")
def program_operations_page(
    program_id: str, request: Request, actor: StaffPage, rt: RuntimeDep
) -> Response:
    return _page(request, rt, actor, program_id)


@router.get("/ops/operations/live")
def operations_live(
    request: Request, actor: StaffPage, rt: RuntimeDep, program_id: str | None = None
) -> Response:
    """The refreshed part alone (htmx polls it)."""
    context = _live(request, rt, actor, program_id)
    return render(request, "ops/_operations_live.html", staff_context(actor, **context))


@router.get("/ops/alerts/{alert_id}/ack")
def ack_form(
    alert_id: str, request: Request, actor: OperatorPage, rt: RuntimeDep, next: str | None = None
) -> Response:
    with rt.db.read() as tx:
        alert = alerts.get_alert(tx, actor, alert_id)
    return render(
        request,
        "ops/alert_ack.html",
        staff_context(actor, alert=alert, next=safe_next(next, "/ops/operations")),
    )


@router.post("/ops/alerts/{alert_id}/ack")
def ack(
    alert_id: str,
    request: Request,
    actor: OperatorPage,
    rt: RuntimeDep,
    note: Annotated[str, Form(min_length=1, max_length=alerts.ACK_NOTE_MAX)],
    next: Annotated[str | None, Form()] = None,
) -> Response:
    with rt.db.write() as tx:
        alerts.acknowledge(tx, rt.clock.now(), actor, alert_id, note)
    return redirect(request, safe_next(next, "/ops/operations"))
