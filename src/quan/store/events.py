"""The event stream: every state change writes one row in the same transaction as the change.

Later readers (the transparency log sequencer, notifications, monitoring, fraud scoring) consume
events; nothing calls back up. Payloads are canonical JSON and must not carry personal data in
clear (ids, pseudonyms and masked values only).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert

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
