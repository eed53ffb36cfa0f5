"""The outbox's state in numbers (no personal data): messages per status and the oldest due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from quan.store.tables import outbox

STATUSES = ("queued", "sending", "delivered", "failed", "dead")


@dataclass(frozen=True, slots=True)
class QueueSummary:
    by_status: dict[str, int]
    oldest_due_seconds: float  # how long the longest-waiting due message has been due (0: none)


def queue_summary(tx: Connection, now: datetime) -> QueueSummary:
    counts = dict.fromkeys(STATUSES, 0)
    for status, count in tx.execute(
        select(outbox.c.status, func.count()).group_by(outbox.c.status)
    ):
        counts[status] = int(count)
    oldest = tx.execute(
        select(func.min(outbox.c.next_attempt_at)).where(
            outbox.c.status.in_(("queued", "failed")), outbox.c.next_attempt_at <= now
        )
    ).scalar()
    return QueueSummary(counts, max((now - oldest).total_seconds(), 0.0) if oldest else 0.0)
