"""Escalating complaints whose deadline passed (the ``complaint-escalation`` job of ``quan
worker``).

One step takes up to ``limit`` complaints whose next deadline (``due_at``) is past and whose
level is below :data:`quan.domain.feedback.MAX_LEVEL` (PostgreSQL: ``FOR UPDATE SKIP LOCKED``,
so workers take disjoint rows; SQLite's write lock serialises them) and raises each one level
with a conditional ``UPDATE … WHERE escalation_level = <read> AND due_at <= now``: a missed
deadline escalates once, whoever runs the job and however often. The next level gets a new
deadline of the same length (the first response's while unanswered, else the resolution's);
the complainant is told, in the same transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from quan.domain.auth import SYSTEM
from quan.domain.feedback import MAX_LEVEL, category
from quan.services.feedback.complaints import _step, load
from quan.services.people.citizens import CitizenKeys
from quan.store.feedback_tables import complaints


def due(tx: Connection, now: datetime, *, limit: int = 200) -> list[Any]:
    """Up to ``limit`` complaints whose deadline has passed, below the last level, oldest first."""
    c = complaints.c
    query = (
        select(c.id, c.escalation_level, c.status, c.category)
        .where(c.due_at.is_not(None), c.due_at <= now, c.escalation_level < MAX_LEVEL)
        .order_by(c.due_at, c.id)
        .limit(limit)
    )
    if tx.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(tx.execute(query).all())


def escalate_one(
    tx: Connection, now: datetime, keys: CitizenKeys, row: Any, *, locale: str = "zh-CN"
) -> bool:
    """Raise the complaint ``row`` (as :func:`due` read it) one level, unless it was answered,
    resolved or escalated since: whether it did."""
    c = complaints.c
    kind = category(row.category)
    window = kind.respond_within if row.status == "open" else kind.resolve_within
    level = row.escalation_level + 1
    done = tx.execute(
        update(complaints)
        .where(
            c.id == row.id,
            c.escalation_level == row.escalation_level,
            c.due_at <= now,
            c.status == row.status,
        )
        .values(escalation_level=level, escalated_at=now, due_at=now + window)
    ).rowcount
    if done != 1:
        return False
    _step(tx, now, keys, load(tx, row.id), "escalated", SYSTEM, level=level, locale=locale)
    return True


def escalate_due(
    tx: Connection, now: datetime, keys: CitizenKeys, *, locale: str = "zh-CN", limit: int = 200
) -> int:
    """One step; how many complaints it escalated."""
    return sum(
        1 for row in due(tx, now, limit=limit) if escalate_one(tx, now, keys, row, locale=locale)
    )
