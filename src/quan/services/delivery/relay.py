"""The outbox relay: claim due messages, send them, record each outcome.

**Claiming.** One statement takes up to ``batch`` due rows (queued, failed and due again, or
sending with an expired lease) and marks them ``sending`` until ``now + visibility``, adding one
to ``attempts``. On PostgreSQL the candidate rows are locked ``FOR UPDATE SKIP LOCKED``, so
relays on any number of workers take disjoint rows without waiting on each other; on SQLite the
write transaction (``BEGIN IMMEDIATE``) serialises claims. A row is therefore with one relay at a
time, except after its lease expires (the relay died, or a send outlived the visibility timeout):
then another relay takes it again — at-least-once, which is why every provider receives the
message id as its idempotency key.

**Recording.** Each outcome is written only if the row is still ``sending`` under the attempt
this relay claimed (``attempts`` is the fencing token): a relay whose lease expired cannot put a
row back in the queue that another relay is sending. Accepted: ``delivered``, and the sealed
recipient, body and parameters are erased at once (the development ``log`` provider keeps them
for /dev/outbox). Retry: ``failed`` and due again after an exponential backoff with jitter, or
``dead`` after ``max_attempts``. Permanent: ``dead``. ``last_error`` holds the provider's status
code or error class, never personal data.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, tuple_, update

from quan.channels import templates
from quan.channels.outbox import OutboxKeys, sealing_aad
from quan.config import Settings
from quan.services.delivery.providers import Outcome, Outgoing, Provider, Result
from quan.services.people import pii
from quan.store.db import Database
from quan.store.tables import outbox

log = logging.getLogger("quan.delivery.relay")

DUE_STATUSES = ("queued", "sending", "failed")


@dataclass(frozen=True, slots=True)
class Schedule:
    max_attempts: int = 10
    base: float = 2.0  # seconds before the first retry (on average three quarters of it)
    cap: float = 600.0
    visibility: float = 60.0  # how long a claimed message stays with one relay

    @classmethod
    def from_settings(cls, settings: Settings) -> Schedule:
        return cls(
            max_attempts=settings.delivery_max_attempts,
            base=settings.delivery_backoff_seconds,
            cap=settings.delivery_backoff_max_seconds,
            visibility=settings.delivery_visibility_seconds,
        )

    def backoff(self, attempt: int, rand: random.Random | None = None) -> timedelta:
        """Delay after the ``attempt``-th failure: base·2^(attempt-1), capped, "equal jitter"
        (between half and all of it), so retries of one outage spread out instead of
        returning together."""
        ceiling = min(self.cap, self.base * 2 ** min(attempt - 1, 30))
        draw = (rand or random).uniform(ceiling / 2, ceiling)
        return timedelta(seconds=draw)


@dataclass(frozen=True, slots=True)
class Claimed:
    id: str
    channel: str
    kind: str
    attempts: int  # including this one: the fencing token of the claim
    recipient_enc: str
    body_enc: str
    params_enc: str | None


@dataclass(slots=True)
class RelayRun:
    claimed: int = 0
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    stale: int = 0  # outcomes not recorded: the row was taken again after the lease expired

    def add(self, other: RelayRun) -> None:
        self.claimed += other.claimed
        self.delivered += other.delivered
        self.failed += other.failed
        self.dead += other.dead
        self.stale += other.stale


def claim(
    db: Database, now: datetime, channels: Iterable[str], limit: int, visibility: float
) -> list[Claimed]:
    channels = tuple(channels)
    if not channels:
        return []
    due = (
        select(outbox.c.id)
        .where(
            outbox.c.next_attempt_at <= now,
            outbox.c.status.in_(DUE_STATUSES),
            outbox.c.purged_at.is_(None),
            outbox.c.channel.in_(channels),
        )
        .order_by(outbox.c.next_attempt_at)
        .limit(limit)
    )
    if db.dialect == "postgresql":
        due = due.with_for_update(skip_locked=True)
    statement = (
        update(outbox)
        .where(outbox.c.id.in_(due.scalar_subquery()))
        .values(
            status="sending",
            attempts=outbox.c.attempts + 1,
            next_attempt_at=now + timedelta(seconds=visibility),
        )
        .returning(
            outbox.c.id,
            outbox.c.channel,
            outbox.c.subject,
            outbox.c.attempts,
            outbox.c.recipient_enc,
            outbox.c.body_enc,
            outbox.c.params_enc,
        )
    )
    with db.write() as tx:
        rows = tx.execute(statement).all()
    return [Claimed(*row) for row in rows]


def expire_purged(db: Database, now: datetime) -> int:
    """Rows the retention purge erased before they could be sent are dead (nothing to send)."""
    with db.write() as tx:
        result = tx.execute(
            update(outbox)
            .where(outbox.c.status.in_(DUE_STATUSES), outbox.c.purged_at.is_not(None))
            .values(status="dead", next_attempt_at=None, last_error="purged before delivery")
        )
    return result.rowcount or 0


@dataclass
class Relay:
    """Sends what is due through ``providers`` (one per channel), ``batch`` rows per claim."""

    db: Database
    keys: OutboxKeys
    providers: Mapping[str, Provider]
    schedule: Schedule = field(default_factory=Schedule)
    locale: str = "zh-CN"
    template_ids: Mapping[str, str] = field(default_factory=dict)
    batch: int = 200
    concurrency: int = 32
    _pool: ThreadPoolExecutor | None = field(default=None, repr=False)

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="quan-relay")
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        for provider in self.providers.values():
            provider.close()

    def _open(self, row: Claimed) -> Outgoing:
        to = pii.decrypt(self.keys.sealing, row.recipient_enc, sealing_aad(row.id, "recipient"))
        params: dict[str, str] = {}
        if row.params_enc is not None:
            params = json.loads(
                pii.decrypt(self.keys.sealing, row.params_enc, sealing_aad(row.id, "params"))
            )
        return Outgoing(
            message_id=row.id,
            channel=row.channel,
            to=to,
            kind=row.kind,
            template=self.template_ids.get(row.kind, row.kind),
            params=params,
            # The body is opened only when the kind has no template (or it does not fill).
            text=templates.render(row.kind, self.locale, params)
            or pii.decrypt(self.keys.sealing, row.body_enc, sealing_aad(row.id, "body")),
        )

    def _send(self, row: Claimed) -> Result:
        try:
            return self.providers[row.channel].send(self._open(row))
        except Exception as exc:  # a provider bug must not lose the batch's other outcomes
            log.warning("provider failed on message %s: %s", row.id, type(exc).__name__)
            return Result(Outcome.RETRY, type(exc).__name__)

    def _send_all(self, rows: list[Claimed]) -> list[Result]:
        if len(rows) == 1 or self.concurrency == 1:
            return [self._send(row) for row in rows]
        return list(self._executor().map(self._send, rows))

    def drain(self, clock: Callable[[], datetime], budget: float) -> RelayRun:
        """Batches until nothing is due or ``budget`` seconds are spent, pipelined: the next
        batch is claimed, and this one's outcomes recorded, while a batch is being sent."""
        total = RelayRun()
        deadline = time.monotonic() + budget
        rows = claim(self.db, clock(), self.providers, self.batch, self.schedule.visibility)
        if not rows:
            return total
        with ThreadPoolExecutor(1, thread_name_prefix="quan-relay-batch") as lane:
            sending = lane.submit(self._send_all, rows)
            while True:
                more = time.monotonic() < deadline and len(rows) == self.batch
                following = (
                    claim(self.db, clock(), self.providers, self.batch, self.schedule.visibility)
                    if more
                    else []
                )
                results = sending.result()
                if following:
                    sending = lane.submit(self._send_all, following)
                run = RelayRun(claimed=len(rows))
                self._record(clock(), rows, results, run)
                total.add(run)
                if not following:
                    return total
                rows = following

    def run_batch(self, now: datetime) -> RelayRun:
        """Claim one batch, send it concurrently, record the outcomes."""
        rows = claim(self.db, now, self.providers, self.batch, self.schedule.visibility)
        run = RelayRun(claimed=len(rows))
        if not rows:
            return run
        self._record(now, rows, self._send_all(rows), run)
        return run

    def _record(
        self, now: datetime, rows: list[Claimed], results: list[Result], run: RelayRun
    ) -> None:
        delivered: list[dict[str, Any]] = []
        kept: list[dict[str, Any]] = []
        retried: list[dict[str, Any]] = []
        dead: list[dict[str, Any]] = []
        for row, result in zip(rows, results, strict=True):
            key = {"m_id": row.id, "m_attempts": row.attempts}
            if result.outcome is Outcome.ACCEPTED:
                keeps = self.providers[row.channel].keeps_body
                (kept if keeps else delivered).append(key)
            elif result.outcome is Outcome.RETRY and row.attempts < self.schedule.max_attempts:
                due = now + self.schedule.backoff(row.attempts)
                retried.append({**key, "m_due": due, "m_error": result.error})
            else:
                dead.append({**key, "m_error": result.error})
        fence = (
            (outbox.c.id == bindparam("m_id"))
            & (outbox.c.attempts == bindparam("m_attempts"))
            & (outbox.c.status == "sending")
        )
        done: dict[str, Any] = {
            "status": "delivered",
            "sent_at": now,
            "next_attempt_at": None,
            "last_error": None,
        }
        erased: dict[str, Any] = {
            "recipient_hash": None,
            "recipient_enc": None,
            "body_enc": None,
            "params_enc": None,
            "purged_at": func.coalesce(outbox.c.purged_at, now),
        }
        failed: dict[str, Any] = {
            "status": "failed",
            "next_attempt_at": bindparam("m_due"),
            "last_error": bindparam("m_error"),
        }
        gone: dict[str, Any] = {
            "status": "dead",
            "next_attempt_at": None,
            "last_error": bindparam("m_error"),
        }
        with self.db.write() as tx:
            recorded = 0
            # The common outcome in one statement: (id, attempts) IN (…) is the same fence.
            for params, values in ((delivered, {**done, **erased}), (kept, done)):
                if params:
                    pairs = [(p["m_id"], p["m_attempts"]) for p in params]
                    count = tx.execute(
                        update(outbox)
                        .where(
                            tuple_(outbox.c.id, outbox.c.attempts).in_(pairs),
                            outbox.c.status == "sending",
                        )
                        .values(**values)
                    )
                    recorded += max(count.rowcount or 0, 0)
            for params, values in ((retried, failed), (dead, gone)):
                for one in params:  # fewer: one statement each keeps the row count exact
                    count = tx.execute(update(outbox).where(fence).values(**values), one)
                    recorded += max(count.rowcount or 0, 0)
        run.delivered = len(delivered) + len(kept)
        run.failed = len(retried)
        run.dead = len(dead)
        run.stale = len(rows) - recorded
        if run.stale:
            log.info("%s outcomes not recorded: their messages were claimed again", run.stale)
