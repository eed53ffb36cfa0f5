"""The event stream: every state change writes one row in the same transaction as the change.

Later readers (the transparency log sequencer, notifications, monitoring, fraud scoring) consume
events; nothing calls back up. Payloads are canonical JSON and must not carry personal data in
clear (ids, pseudonyms and masked values only).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, text

from quan.domain.auth import Actor
from quan.domain.canonical import canonical_json
from quan.store.tables import events


def record_event(
    tx: Connection,
    *,
    type: str,
    actor: Actor,
    subject_type: str,
    subject_id: str,
    at: datetime,
    program_id: str | None = None,
    payload: dict[str, Any] | None = None,
) -> None:
    tx.execute(
        insert(events).values(
            type=type,
            actor=actor.label,
            subject_type=subject_type,
            subject_id=subject_id,
            program_id=program_id,
            payload=canonical_json(payload or {}),
            occurred_at=at,
        )
    )


# PostgreSQL: many events in one statement, the columns sent as arrays and unnested (one
# statement to parse, plan and execute instead of one per event; the log trigger fires per row).
_MANY_PG = text(
    """
    INSERT INTO events (type, actor, subject_type, subject_id, program_id, payload, occurred_at)
    SELECT * FROM unnest(
        CAST(:type AS text[]), CAST(:actor AS text[]), CAST(:subject_type AS text[]),
        CAST(:subject_id AS text[]), CAST(:program_id AS text[]), CAST(:payload AS text[]),
        CAST(:occurred_at AS timestamptz[])
    )
    """
)
_COLUMNS = ("type", "actor", "subject_type", "subject_id", "program_id", "payload", "occurred_at")


def record_events(tx: Connection, rows: list[NewEvent]) -> None:
    """Record many events at once (bulk issuance, micro-batched claims), in list order."""
    if not rows:
        return
    if any(e.at.tzinfo is None for e in rows):  # as UtcDateTime refuses them for one event
        raise ValueError("naive datetime given to the database")
    values = [
        {
            "type": e.type,
            "actor": e.actor.label,
            "subject_type": e.subject_type,
            "subject_id": e.subject_id,
            "program_id": e.program_id,
            "payload": canonical_json(e.payload or {}),
            "occurred_at": e.at,
        }
        for e in rows
    ]
    if tx.dialect.name == "postgresql":
        tx.execute(_MANY_PG, {c: [v[c] for v in values] for c in _COLUMNS})
    else:
        tx.execute(insert(events), values)


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to record with :func:`record_events` (the fields of :func:`record_event`)."""

    type: str
    actor: Actor
    subject_type: str
    subject_id: str
    at: datetime
    program_id: str | None = None
    payload: dict[str, Any] | None = None
