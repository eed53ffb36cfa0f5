"""Refused claims and redemptions: counted for Prometheus and recorded — who, where, which rule —
for the alerts and the abuse checks that read ``refusal_tallies``.

The hot paths must keep their speed, and a refusal's own transaction has rolled back, so a
refusal is not written where it happens: :func:`refused` adds one to an in-memory tally (a dict
update under a lock) and a flusher writes each tally every couple of seconds as additive upserts,
one row per minute and key (:mod:`quan.store.refusal_tables`). Every API process flushes its
own; the upserts add up. A process killed between flushes loses at most those seconds of
*monitoring* counts, never a claim or a redemption.

Tallies are kept per database (its URL and schema, not the :class:`~quan.store.db.Database`
object: the lean paths hold connections of their own to the same database), so a refusal is
written to the database whose claim it refused.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from quan import metrics
from quan.store.db import Database
from quan.store.refusal_tables import refusal_tallies

log = logging.getLogger(__name__)

# Refusals about capacity and timing, not about the person: tallied without a subject (a sold-out
# flood refuses a million citizens in a minute and none of them did anything wrong).
CAPACITY_CODES = frozenset(
    {"SOLD_OUT", "CLAIM_WINDOW_OVER", "CLAIM_NOT_OPEN_YET", "BATCH_NOT_OPEN", "SERVICE_BUSY"}
)


@dataclass(frozen=True, slots=True)
class Key:
    minute: datetime
    action: str
    code: str
    program_id: str
    batch_id: str
    merchant_id: str
    subject: str


class Tallies:
    """The refusals not yet written, per database."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_db: dict[tuple[str, str | None], Counter[Key]] = {}

    def add(self, db: Database, key: Key) -> None:
        with self._lock:
            counts = self._by_db.get(_target(db))
            if counts is None:
                counts = self._by_db[_target(db)] = Counter()
            counts[key] += 1

    def take(self, db: Database) -> Counter[Key]:
        with self._lock:
            return self._by_db.pop(_target(db), None) or Counter()

    def flush(self, db: Database) -> int:
        """Write ``db``'s tally (additive upserts, one transaction); answers the rows written.
        On a failure the counts are put back for the next flush."""
        counts = self.take(db)
        if not counts:
            return 0
        rows = [
            {
                "minute": k.minute,
                "action": k.action,
                "code": k.code,
                "program_id": k.program_id,
                "batch_id": k.batch_id,
                "merchant_id": k.merchant_id,
                "subject": k.subject,
                "count": n,
            }
            for k, n in counts.items()
        ]
        insert: Any = postgresql.insert if db.dialect == "postgresql" else sqlite.insert
        t = refusal_tallies
        statement = insert(t)
        statement = statement.on_conflict_do_update(
            index_elements=[
                t.c.minute,
                t.c.action,
                t.c.code,
                t.c.program_id,
                t.c.batch_id,
                t.c.merchant_id,
                t.c.subject,
            ],
            set_={"count": t.c.count + statement.excluded.count},
        )
        try:
            with db.write() as tx:
                tx.execute(statement, rows)
        except Exception:
            with self._lock:  # put them back: monitoring counts are kept until written
                again = self._by_db.setdefault(_target(db), Counter())
                again.update(counts)
            raise
        return len(rows)


def _target(db: Database) -> tuple[str, str | None]:
    return (db.url, db.schema)


TALLIES = Tallies()


def refused(
    db: Database,
    at: datetime,
    action: str,
    code: str,
    *,
    subject: str = "",
    program_id: str = "",
    batch_id: str = "",
    merchant_id: str = "",
) -> None:
    """A claim or redemption refused (``action``: ``claim`` or ``redeem``) with ``code``, by
    ``subject`` (``citizen:…``, ``terminal:…``) at the given batch or merchant: counted for
    Prometheus and tallied for ``refusal_tallies``."""
    metrics.refused(action, code)
    if code in CAPACITY_CODES:
        subject = ""
    minute = at.replace(second=0, microsecond=0)
    TALLIES.add(db, Key(minute, action, code, program_id, batch_id, merchant_id, subject))


class Flusher:
    """A daemon thread flushing one database's tally every ``interval`` seconds, and once more
    when stopped (the API application runs one per process)."""

    def __init__(self, db: Database, interval: float = 2.0) -> None:
        self.db = db
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="refusal-flusher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._flush()

    def _flush(self) -> None:
        try:
            TALLIES.flush(self.db)
        except Exception as exc:  # a database hiccup: the counts wait for the next flush
            log.warning("refusal tallies not written yet (%s)", type(exc).__name__)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)
        self._flush()
