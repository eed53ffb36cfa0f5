"""Helpers for the transparency-log tests: events in bulk, the sequencer, tampering."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from sqlalchemy import insert, text

from quan.domain.auth import SYSTEM
from quan.jobs import sequencer
from quan.services.runtime import Runtime
from quan.store.db import Database
from quan.store.events import record_event
from quan.store.tables import events


def add_events(
    db: Database,
    count: int,
    at: datetime,
    *,
    program_id: str | None = None,
    payload: dict[str, Any] | None = None,
    subject_type: str = "test",
) -> None:
    """``count`` events through the ordinary writer, one transaction."""
    with db.write() as tx:
        for i in range(count):
            record_event(
                tx,
                type="test.happened",
                actor=SYSTEM,
                subject_type=subject_type,
                subject_id=f"tst_{i}",
                program_id=program_id,
                at=at,
                payload=payload if payload is not None else {"n": i},
            )


def add_event_with_id(db: Database, event_id: int, at: datetime) -> None:
    """An event with a chosen id, like one whose transaction drew a low id and committed late."""
    with db.write() as tx:
        tx.execute(
            insert(events).values(
                id=event_id,
                type="test.late",
                actor=SYSTEM.label,
                subject_type="test",
                subject_id="late",
                program_id=None,
                payload="{}",
                occurred_at=at,
            )
        )


def sequence(runtime: Runtime, batch_size: int = 10_000) -> sequencer.RunResult:
    result = sequencer.run_once(runtime, holder="test-sequencer", batch_size=batch_size)
    assert result.ran
    return result


def entry_bytes(client: Any, start: int, end: int) -> list[bytes]:
    response = client.get("/api/v1/audit/entries", params={"start": start, "end": end})
    assert response.status_code == 200, response.text
    return [base64.b64decode(item["data"]) for item in response.json()]


class AppendOnlyLifter:
    """Lifts tables' append-only triggers for a tampering test; ``restore`` puts them back.

    SQLite test databases are copies thrown away after each test, so dropping the triggers is
    enough; the PostgreSQL schema outlives the test (tables are truncated), so there the triggers
    are disabled and re-enabled.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self.lifted: list[str] = []

    def __call__(self, table: str) -> None:
        with self.db.engine.begin() as conn:
            if self.db.dialect == "postgresql":
                conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            else:
                for verb in ("update", "delete"):
                    conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_{verb}"))
        self.lifted.append(table)

    def restore(self) -> None:
        if self.db.dialect == "postgresql":
            with self.db.engine.begin() as conn:
                for table in self.lifted:
                    conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))


def tamper(db: Database, sql: str, **params: Any) -> None:
    with db.engine.begin() as conn:
        changed = conn.execute(text(sql), params).rowcount
    assert changed >= 1, f"the tampering statement changed nothing: {sql}"
