"""Reading complaints: a complainant's own, a merchant's, the console's list with its measures
(time to first response and to resolution) and the complaint-spike findings."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median
from typing import Any, Final

from sqlalchemy import Connection, or_, select

from quan.domain.auth import Actor, Role
from quan.store.feedback_tables import complaint_steps, complaints
from quan.store.merchant_tables import merchants
from quan.store.tables import staff_users

SPIKE_WINDOW: Final = timedelta(hours=24)
SPIKE_MIN: Final = 3  # negative complaints about one merchant within the window


@dataclass(frozen=True, slots=True)
class Measures:
    count: int
    open: int
    overdue: int
    escalated: int
    first_response_hours: float | None  # median, over the complaints answered
    resolution_hours: float | None  # median, over the complaints resolved


@dataclass(frozen=True, slots=True)
class Spike:
    """A burst of negative complaints about one merchant: the finding the console shows."""

    merchant_id: str
    merchant_name: str
    topic: str
    count: int
    since: datetime


def _columns() -> list[Any]:
    return [*complaints.c, merchants.c.name.label("merchant_name")]


def _joined() -> Any:
    return complaints.outerjoin(merchants, merchants.c.id == complaints.c.merchant_id)


def for_citizen(tx: Connection, citizen_id: str) -> list[Any]:
    c = complaints.c
    return list(
        tx.execute(
            select(*_columns())
            .select_from(_joined())
            .where(c.citizen_id == citizen_id)
            .order_by(c.id.desc())
            .limit(200)
        )
    )


def for_merchant(tx: Connection, merchant_id: str) -> list[Any]:
    """What concerns the merchant and what it filed."""
    c = complaints.c
    return list(
        tx.execute(
            select(*_columns())
            .select_from(_joined())
            .where(or_(c.merchant_id == merchant_id, c.filing_merchant_id == merchant_id))
            .order_by(c.id.desc())
            .limit(200)
        )
    )


def _visible(actor: Actor) -> Any:
    c = complaints.c
    if actor.role in (Role.ADMIN, Role.AUDITOR) or actor.issuer_id is None:
        return c.id.is_not(None)
    return or_(c.issuer_id == actor.issuer_id, c.issuer_id.is_(None))


def for_staff(tx: Connection, actor: Actor, *, status: str | None = None) -> list[Any]:
    """Most urgent first: escalated, then by deadline; resolved ones last."""
    c = complaints.c
    query = select(*_columns()).select_from(_joined()).where(_visible(actor))
    if status:
        query = query.where(c.status == status)
    query = query.order_by(
        c.due_at.is_(None), c.escalation_level.desc(), c.due_at, c.id.desc()
    ).limit(500)
    return list(tx.execute(query))


def steps(tx: Connection, complaint_id: str) -> list[Any]:
    s = complaint_steps.c
    return list(
        tx.execute(select(complaint_steps).where(s.complaint_id == complaint_id).order_by(s.id))
    )


def staff_choices(tx: Connection, issuer_id: str | None) -> list[Any]:
    s = staff_users.c
    query = select(s.id, s.username, s.display_name).where(
        s.active.is_(True), s.role.in_([Role.ADMIN.value, Role.OPERATOR.value])
    )
    if issuer_id is not None:
        query = query.where(or_(s.issuer_id == issuer_id, s.role == Role.ADMIN.value))
    return list(tx.execute(query.order_by(s.username)))


def measures(rows: list[Any], now: datetime) -> Measures:
    first = [
        (r.first_response_at - r.filed_at).total_seconds() / 3600
        for r in rows
        if r.first_response_at is not None
    ]
    resolved = [
        (r.resolved_at - r.filed_at).total_seconds() / 3600
        for r in rows
        if r.resolved_at is not None
    ]
    return Measures(
        count=len(rows),
        open=sum(1 for r in rows if r.status != "resolved"),
        overdue=sum(1 for r in rows if r.due_at is not None and r.due_at <= now),
        escalated=sum(1 for r in rows if r.escalation_level > 0),
        first_response_hours=round(median(first), 1) if first else None,
        resolution_hours=round(median(resolved), 1) if resolved else None,
    )


def spikes(
    tx: Connection,
    actor: Actor,
    now: datetime,
    *,
    window: timedelta = SPIKE_WINDOW,
    at_least: int = SPIKE_MIN,
) -> list[Spike]:
    """Merchants with at least ``at_least`` negative complaints filed in the last ``window``
    (analysed ones: :mod:`.analysis`), each with the topic most of them share."""
    c = complaints.c
    since = now - window
    rows = tx.execute(
        select(c.merchant_id, merchants.c.name, c.topic)
        .select_from(_joined())
        .where(
            _visible(actor),
            c.merchant_id.is_not(None),
            c.filed_at > since,
            c.sentiment.is_not(None),
            c.sentiment < -0.15,
        )
    ).all()
    by_merchant: dict[str, list[Any]] = {}
    for row in rows:
        by_merchant.setdefault(row.merchant_id, []).append(row)
    found = []
    for merchant_id, items in by_merchant.items():
        if len(items) >= at_least:
            topic = Counter(r.topic or "other" for r in items).most_common(1)[0][0]
            found.append(Spike(merchant_id, items[0].name, topic, len(items), since))
    return sorted(found, key=lambda s: (-s.count, s.merchant_id))
