"""What was refused, by whom and where: ``refusal_tallies`` summed over a time range.

Read by ``GET /api/v1/refusals`` and, later, by the alert rules and abuse checks. An operator
sees the refusals at the programs and merchants of their own issuer; admins and auditors see
all (as :func:`quan.domain.auth.require_issuer` decides elsewhere).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, or_, select

from quan.domain.auth import Actor, Role
from quan.store.merchant_tables import merchants
from quan.store.refusal_tables import refusal_tallies
from quan.store.tables import programs


@dataclass(frozen=True, slots=True)
class RefusalFilter:
    since: datetime
    until: datetime
    action: str | None = None
    code: str | None = None
    program_id: str | None = None
    batch_id: str | None = None
    merchant_id: str | None = None
    subject: str | None = None


@dataclass(frozen=True, slots=True)
class RefusalRow:
    action: str
    code: str
    program_id: str | None
    batch_id: str | None
    merchant_id: str | None
    subject: str | None
    count: int
    first_minute: datetime
    last_minute: datetime


def refusals(
    tx: Connection, actor: Actor, where: RefusalFilter, limit: int = 100
) -> list[RefusalRow]:
    """Refusals matching ``where`` (``until`` exclusive), summed per key, the most first."""
    t = refusal_tallies.c
    count = func.sum(t.count).label("n")
    query = (
        select(
            t.action,
            t.code,
            t.program_id,
            t.batch_id,
            t.merchant_id,
            t.subject,
            count,
            func.min(t.minute).label("first_minute"),
            func.max(t.minute).label("last_minute"),
        )
        .where(t.minute >= where.since, t.minute < where.until)
        .group_by(t.action, t.code, t.program_id, t.batch_id, t.merchant_id, t.subject)
        .order_by(count.desc(), t.action, t.code)
        .limit(limit)
    )
    for column, value in (
        (t.action, where.action),
        (t.code, where.code),
        (t.program_id, where.program_id),
        (t.batch_id, where.batch_id),
        (t.merchant_id, where.merchant_id),
        (t.subject, where.subject),
    ):
        if value is not None:
            query = query.where(column == value)
    if actor.role not in (Role.ADMIN, Role.AUDITOR):
        own_programs = select(programs.c.id).where(programs.c.issuer_id == actor.issuer_id)
        own_merchants = select(merchants.c.id).where(merchants.c.issuer_id == actor.issuer_id)
        query = query.where(
            or_(t.program_id.in_(own_programs), t.merchant_id.in_(own_merchants))
        )
    return [
        RefusalRow(
            action=row.action,
            code=row.code,
            program_id=row.program_id or None,
            batch_id=row.batch_id or None,
            merchant_id=row.merchant_id or None,
            subject=row.subject or None,
            count=int(row.n),
            first_minute=row.first_minute,
            last_minute=row.last_minute,
        )
        for row in tx.execute(query)
    ]
