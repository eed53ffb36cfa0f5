"""The event stream: every state change writes one row in the same transaction as the change.

Later readers (the transparency log sequencer, notifications, monitoring, fraud scoring) consume
events; nothing calls back up. Payloads are canonical JSON and must not carry personal data in
clear (ids, pseudonyms and masked values only).
"""

from __future__ import annotations

import json
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


# PostgreSQL: many events in one statement (one statement to parse, plan and execute instead of
# one per event), the rows sent as one JSON array: the driver quotes text arrays element by
# element, several times slower. ``ord`` keeps the list's order in the events' ids.
_MANY_PG = text(
    """
    INSERT INTO events (type, actor, subject_type, subject_id, program_id, payload, occurred_at)
    SELECT type, actor, subject_type, subject_id, program_id, payload, occurred_at
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS e(
        ord integer, type text, actor text, subject_type text, subject_id text,
        program_id text, payload text, occurred_at timestamptz
    )
    ORDER BY ord
    """
)


def record_events(tx: Connection, rows: list[NewEvent]) -> None:
    """Record many events at once (bulk issuance, micro-batched claims), in list order."""
    if not rows:
        return
    if any(e.at.tzinfo is None for e in rows):  # as UtcDateTime refuses them for one event
        raise ValueError("naive datetime given to the database")
    values: list[dict[str, Any]] = [
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
        for n, v in enumerate(values):
            v["ord"], v["occurred_at"] = n, v["occurred_at"].isoformat()
        tx.execute(_MANY_PG, {"rows": json.dumps(values)})
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
