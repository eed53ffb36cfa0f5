"""The outbox: a message is written in the same transaction as the change that causes it, so a
message is never sent for a change that rolled back and never lost for one that committed.
A delivery job sends pending rows; in development nothing leaves the machine and ``GET
/dev/outbox`` shows what would have been sent (one-time codes for demos and tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select

from quan.store.ids import new_id
from quan.store.tables import outbox

CHANNELS = ("sms", "email", "webhook")


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    channel: str
    recipient: str
    subject: str
    body: str
    status: str
    created_at: datetime


def enqueue(
    tx: Connection, now: datetime, *, channel: str, recipient: str, subject: str, body: str
) -> str:
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel}")
    message_id = new_id("msg")
    tx.execute(
        insert(outbox).values(
            id=message_id,
            channel=channel,
            recipient=recipient,
            subject=subject,
            body=body,
            status="pending",
            attempts=0,
            created_at=now,
        )
    )
    return message_id


def newest(tx: Connection, limit: int = 50, before: str | None = None) -> list[Message]:
    """Newest first; ``before``: only messages older than that id (the next page)."""
    query = select(outbox).order_by(outbox.c.id.desc()).limit(limit)
    if before is not None:
        query = query.where(outbox.c.id < before)
    rows = tx.execute(query)
    return [
        Message(r.id, r.channel, r.recipient, r.subject, r.body, r.status, r.created_at)
        for r in rows
    ]
