"""The ``webhook-relay`` job: send due webhook deliveries, signed in the Standard Webhooks format.

Claims work like the outbox relay's (:mod:`.relay`): one statement marks up to ``batch`` due
deliveries of active subscriptions ``sending`` for ``visibility`` seconds and adds one to
``attempts`` (the fencing token; PostgreSQL locks candidates ``FOR UPDATE SKIP LOCKED``). Each is
``POST``ed with ``webhook-id`` (the delivery's id, the same on every retry and replay),
``webhook-timestamp`` and ``webhook-signature`` made by :class:`standardwebhooks.Webhook` over
the stored body. Every attempt is logged (``webhook_attempts``). 2xx: delivered. 410 Gone: the
delivery is dead and the endpoint's count of 410s in a row goes up; at
``QUAN_WEBHOOK_GONE_LIMIT`` the subscription is disabled (a 2xx starts the count over).
Anything else (a status, a timeout, a refused connection): retried with the relay's backoff
(:class:`.relay.Schedule`), dead after its attempts.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Connection, insert, select, update
from standardwebhooks import Webhook

from quan.domain.auth import SYSTEM
from quan.services.delivery.relay import Schedule
from quan.services.delivery.webhooks import secret_aad
from quan.services.people import pii
from quan.store.db import Database
from quan.store.events import record_event
from quan.store.notify_tables import webhook_attempts, webhook_deliveries, webhook_subscriptions

log = logging.getLogger("quan.delivery.webhooks")

DUE = ("queued", "failed", "sending")


@dataclass(frozen=True, slots=True)
class Claimed:
    id: str
    subscription_id: str
    attempts: int
    payload: str
    url: str
    secret: str


@dataclass(frozen=True, slots=True)
class Sent:
    status_code: int | None
    error: str | None  # a status code or an error class, never a body
    duration_ms: int


def claim(
    db: Database, now: datetime, limit: int, visibility: float, sealing: pii.Key
) -> list[Claimed]:
    d = webhook_deliveries.c
    active = select(webhook_subscriptions.c.id).where(webhook_subscriptions.c.status == "active")
    due = (
        select(d.id)
        .where(d.next_attempt_at <= now, d.status.in_(DUE), d.subscription_id.in_(active))
        .order_by(d.next_attempt_at)
        .limit(limit)
    )
    if db.dialect == "postgresql":
        due = due.with_for_update(skip_locked=True)
    with db.write() as tx:
        ids = list(tx.execute(due).scalars())
        if not ids:
            return []
        rows = tx.execute(
            update(webhook_deliveries)
            .where(d.id.in_(ids))
            .values(
                status="sending",
                attempts=d.attempts + 1,
                next_attempt_at=now + timedelta(seconds=visibility),
            )
            .returning(d.id, d.subscription_id, d.attempts, d.payload)
        ).all()
        subs = {
            s.id: s
            for s in tx.execute(
                select(
                    webhook_subscriptions.c.id,
                    webhook_subscriptions.c.url,
                    webhook_subscriptions.c.secret_enc,
                ).where(webhook_subscriptions.c.id.in_({r.subscription_id for r in rows}))
            )
        }
    secrets = {sid: pii.decrypt(sealing, s.secret_enc, secret_aad(sid)) for sid, s in subs.items()}
    return [
        Claimed(r.id, r.subscription_id, r.attempts, r.payload, subs[r.subscription_id].url,
                secrets[r.subscription_id])
        for r in rows
    ]  # fmt: skip


@dataclass
class WebhookSender:
    db: Database
    sealing: pii.Key
    schedule: Schedule = field(default_factory=Schedule)
    gone_limit: int = 3
    timeout: float = 10.0
    batch: int = 100
    concurrency: int = 8
    _client: httpx.Client | None = field(default=None, repr=False)

    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(timeout=self.timeout, follow_redirects=False)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _send(self, item: Claimed) -> Sent:
        # The signature's time is the wall clock's: receivers compare it with theirs.
        at = datetime.now(UTC)
        signature = Webhook(item.secret).sign(item.id, at, item.payload)
        headers = {
            "content-type": "application/json",
            "webhook-id": item.id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signature,
        }
        started = time.monotonic()
        try:
            response = self._http().post(item.url, content=item.payload.encode(), headers=headers)
            status, error = response.status_code, None
        except httpx.TimeoutException:
            status, error = None, "timeout"
        except httpx.HTTPError as exc:
            status, error = None, type(exc).__name__
        took = int((time.monotonic() - started) * 1000)
        if status is not None and not 200 <= status < 300:
            error = f"http {status}"
        return Sent(status, error, took)

    def run_batch(self, now: datetime) -> int:
        items = claim(self.db, now, self.batch, self.schedule.visibility, self.sealing)
        if not items:
            return 0
        if len(items) == 1:
            results = [self._send(items[0])]
        else:
            with ThreadPoolExecutor(min(self.concurrency, len(items))) as pool:
                results = list(pool.map(self._send, items))
        with self.db.write() as tx:
            for item, sent in zip(items, results, strict=True):
                self._record(tx, now, item, sent)
        return len(items)

    def drain(self, clock: Any, budget: float) -> int:
        total, deadline = 0, time.monotonic() + budget
        while time.monotonic() < deadline:
            done = self.run_batch(clock())
            total += done
            if done < self.batch:
                break
        return total

    def _record(self, tx: Connection, now: datetime, item: Claimed, sent: Sent) -> None:
        tx.execute(
            insert(webhook_attempts).values(
                delivery_id=item.id,
                attempt=item.attempts,
                at=now,
                status_code=sent.status_code,
                error=sent.error,
                duration_ms=sent.duration_ms,
            )
        )
        d = webhook_deliveries.c
        values: dict[str, Any] = {"last_status": sent.status_code, "last_error": sent.error}
        ok = sent.status_code is not None and 200 <= sent.status_code < 300
        if ok:
            values |= {"status": "delivered", "delivered_at": now, "next_attempt_at": None}
        elif sent.status_code == 410 or item.attempts >= self.schedule.max_attempts:
            values |= {"status": "dead", "next_attempt_at": None}
        else:
            values |= {
                "status": "failed",
                "next_attempt_at": now + self.schedule.backoff(item.attempts),
            }
        recorded = tx.execute(
            update(webhook_deliveries)
            .where(d.id == item.id, d.attempts == item.attempts, d.status == "sending")
            .values(**values)
        ).rowcount
        if not recorded:
            return  # taken again after its lease ran out: the newer attempt records
        s = webhook_subscriptions.c
        if ok:
            tx.execute(
                update(webhook_subscriptions)
                .where(s.id == item.subscription_id, s.gone_count > 0)
                .values(gone_count=0)
            )
        elif sent.status_code == 410:
            self._gone(tx, now, item.subscription_id)

    def _gone(self, tx: Connection, now: datetime, subscription_id: str) -> None:
        s = webhook_subscriptions.c
        count = tx.execute(
            update(webhook_subscriptions)
            .where(s.id == subscription_id)
            .values(gone_count=s.gone_count + 1)
            .returning(s.gone_count)
        ).scalar()
        if count is None or count < self.gone_limit:
            return
        disabled = tx.execute(
            update(webhook_subscriptions)
            .where(s.id == subscription_id, s.status == "active")
            .values(status="disabled", disabled_at=now)
        ).rowcount
        if disabled:
            log.warning("webhook subscription %s disabled after %s 410s", subscription_id, count)
            record_event(
                tx,
                type="webhook_subscription.stopped",
                actor=SYSTEM,
                subject_type="webhook_subscription",
                subject_id=subscription_id,
                at=now,
                payload={"gone": count},
            )
