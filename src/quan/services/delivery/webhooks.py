"""Partner webhook subscriptions, the fan-out of events to them, and replays (issue 25, 8).

A partner client subscribes an endpoint to event types (:data:`~quan.domain.notices.
WEBHOOK_EVENT_TYPES`) and receives the Standard Webhooks signing secret (``whsec_…``) once; it is
kept sealed under the personal-data key, since it must be read to sign.

**Fan-out** (the ``webhook-fanout`` job) follows the transparency log, not the events table: an
entry's log index is dense and committed in order by one sequencer, so a cursor per subscription
never skips an event whose transaction committed late, and a partner is told only what the
public log already says. Each delivery's body is the event's public projection (the leaf's
payload: pseudonyms and ids, no personal data), written once and signed as stored on every
attempt; ``UNIQUE (subscription, event)`` makes one delivery per event.

**Replay** puts a delivery (or every delivery of a time range) back in the queue under its own
id: the partner sees the same ``webhook-id`` and can drop what it already has.
"""

from __future__ import annotations

import json
import secrets
from base64 import b64encode
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, func, insert, select, update

from quan.domain.auth import Actor, Role
from quan.domain.canonical import canonical_json
from quan.domain.errors import FORBIDDEN, NOT_FOUND, QuanError
from quan.domain.notices import (
    REPLAY_RANGE_INVALID,
    UNKNOWN_EVENT_TYPE,
    WEBHOOK_EVENT_TYPES,
    WEBHOOK_URL_INVALID,
)
from quan.domain.public_leaf import PublicView
from quan.services.people import pii
from quan.store.events import record_event
from quan.store.ids import new_id
from quan.store.log_tables import log_entries
from quan.store.notify_tables import (
    partner_clients,
    webhook_attempts,
    webhook_deliveries,
    webhook_subscriptions,
)
from quan.store.tables import events

SECRET_PURPOSE = "aes-gcm/webhook-secret"  # noqa: S105 (a key derivation label)
FANOUT_WINDOW = 1000  # log entries scanned per subscription and step
MAX_REPLAY_RANGE = timedelta(days=31)


def secret_aad(subscription_id: str) -> str:
    return f"webhook_subscriptions:{subscription_id}:secret"


@dataclass(frozen=True, slots=True)
class Subscription:
    id: str
    client_id: str
    url: str
    event_types: list[str]
    status: str
    gone_count: int
    log_cursor: int
    disabled_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewSubscription:
    subscription: Subscription
    secret: str  # whsec_…: shown once


def _subscription(row: Any) -> Subscription:
    m = row._mapping
    return Subscription(
        m["id"],
        m["client_id"],
        m["url"],
        json.loads(m["event_types"]),
        m["status"],
        m["gone_count"],
        m["log_cursor"],
        m["disabled_at"],
        m["created_at"],
    )


def _check_url(url: str, production: bool) -> str:
    parts = urlsplit(url.strip())
    schemes = ("https",) if production else ("https", "http")
    if parts.scheme not in schemes or not parts.hostname or len(url) > 2000:
        raise QuanError(WEBHOOK_URL_INVALID)
    return url.strip()


def _owned(tx: Connection, actor: Actor, subscription_id: str) -> Subscription:
    row = tx.execute(
        select(webhook_subscriptions).where(webhook_subscriptions.c.id == subscription_id)
    ).first()
    if row is None:
        raise QuanError(NOT_FOUND, what=f"webhook subscription {subscription_id}")
    found = _subscription(row)
    if actor.role == Role.ADMIN or (actor.kind == "partner" and actor.id == found.client_id):
        return found
    raise QuanError(NOT_FOUND, what=f"webhook subscription {subscription_id}")


def subscribe(
    tx: Connection,
    now: datetime,
    actor: Actor,
    sealing: pii.Key,
    *,
    url: str,
    event_types: Sequence[str],
    production: bool,
) -> NewSubscription:
    """A partner subscribes an endpoint; events from the log's current end on reach it."""
    if actor.kind != "partner":
        raise QuanError(FORBIDDEN)
    chosen = sorted(set(event_types))
    for event_type in chosen:
        if event_type not in WEBHOOK_EVENT_TYPES:
            raise QuanError(UNKNOWN_EVENT_TYPE, event_type=event_type[:80])
    if not chosen:
        raise QuanError(UNKNOWN_EVENT_TYPE, event_type="")
    subscription_id = new_id("whs")
    secret = "whsec_" + b64encode(secrets.token_bytes(32)).decode()
    log_size = tx.execute(select(func.coalesce(func.max(log_entries.c.log_index) + 1, 0))).scalar()
    tx.execute(
        insert(webhook_subscriptions).values(
            id=subscription_id,
            client_id=actor.id,
            url=_check_url(url, production),
            event_types=json.dumps(chosen),
            secret_enc=pii.encrypt(sealing, secret, secret_aad(subscription_id)),
            status="active",
            gone_count=0,
            log_cursor=int(log_size or 0),
            created_at=now,
        )
    )
    record_event(
        tx,
        type="webhook_subscription.created",
        actor=actor,
        subject_type="webhook_subscription",
        subject_id=subscription_id,
        at=now,
        payload={"event_types": chosen},
    )
    return NewSubscription(_owned(tx, actor, subscription_id), secret)


def subscriptions(tx: Connection, actor: Actor) -> list[Subscription]:
    query = select(webhook_subscriptions).order_by(webhook_subscriptions.c.created_at.desc())
    if actor.role != Role.ADMIN:
        query = query.where(webhook_subscriptions.c.client_id == actor.id)
    return [_subscription(r) for r in tx.execute(query.limit(500))]


def set_active(
    tx: Connection, now: datetime, actor: Actor, subscription_id: str, *, active: bool
) -> Subscription:
    """Disable an endpoint, or enable it again (its count of 410 answers starts over)."""
    found = _owned(tx, actor, subscription_id)
    if active:
        revoked = tx.execute(
            select(partner_clients.c.revoked_at).where(partner_clients.c.id == found.client_id)
        ).scalar()
        if revoked is not None:
            raise QuanError(FORBIDDEN)
    values: dict[str, Any] = (
        {"status": "active", "gone_count": 0, "disabled_at": None}
        if active
        else {"status": "disabled", "disabled_at": now}
    )
    tx.execute(
        update(webhook_subscriptions)
        .where(webhook_subscriptions.c.id == subscription_id)
        .values(**values)
    )
    return _owned(tx, actor, subscription_id)


def fan_out(tx: Connection, now: datetime, view: PublicView) -> int:
    """Deliveries for every active subscription from its cursor to the log's end."""
    log_size = int(
        tx.execute(select(func.coalesce(func.max(log_entries.c.log_index) + 1, 0))).scalar() or 0
    )
    made = 0
    subs = tx.execute(
        select(webhook_subscriptions).where(
            webhook_subscriptions.c.status == "active",
            webhook_subscriptions.c.log_cursor < log_size,
        )
    ).all()
    for row in subs:
        sub = _subscription(row)
        cursor = sub.log_cursor
        while cursor < log_size:
            end = min(cursor + FANOUT_WINDOW, log_size)
            made += _fan_window(tx, now, view, sub, cursor, end)
            cursor = end
        tx.execute(
            update(webhook_subscriptions)
            .where(webhook_subscriptions.c.id == sub.id)
            .values(log_cursor=cursor)
        )
    return made


def _fan_window(
    tx: Connection, now: datetime, view: PublicView, sub: Subscription, start: int, end: int
) -> int:
    e = events.c
    rows = tx.execute(
        select(log_entries.c.log_index, e.id, e.type, e.actor, e.subject_type, e.subject_id)
        .add_columns(e.program_id, e.payload, e.occurred_at)
        .select_from(log_entries.join(events, events.c.id == log_entries.c.event_id))
        .where(
            log_entries.c.log_index >= start,
            log_entries.c.log_index < end,
            e.type.in_(sub.event_types),
        )
        .order_by(log_entries.c.log_index)
    ).all()
    values = []
    for r in rows:
        actor, subject_id, data = view.project(
            r.id, r.type, r.actor, r.subject_type, r.subject_id, r.program_id, json.loads(r.payload)
        )
        body = canonical_json(
            {
                "type": r.type,
                "timestamp": r.occurred_at.isoformat().replace("+00:00", "Z"),
                "data": {
                    "event_id": r.id,
                    "log_index": r.log_index,
                    "program_id": r.program_id,
                    "actor": actor,
                    "subject_type": r.subject_type,
                    "subject_id": subject_id,
                    **data,
                },
            }
        )
        values.append(
            {
                "id": new_id("msg"),
                "subscription_id": sub.id,
                "event_id": r.id,
                "log_index": r.log_index,
                "event_type": r.type,
                "payload": body,
                "status": "queued",
                "attempts": 0,
                "next_attempt_at": now,
                "replays": 0,
                "created_at": now,
            }
        )
    if values:
        tx.execute(insert(webhook_deliveries), values)
    return len(values)


@dataclass(frozen=True, slots=True)
class Delivery:
    id: str
    subscription_id: str
    event_id: int
    log_index: int
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    replays: int
    created_at: datetime
    delivered_at: datetime | None


def _delivery(row: Any) -> Delivery:
    m = row._mapping
    return Delivery(**{f: m[f] for f in Delivery.__dataclass_fields__})


def deliveries(
    tx: Connection, actor: Actor, subscription_id: str, limit: int = 100
) -> list[Delivery]:
    _owned(tx, actor, subscription_id)
    rows = tx.execute(
        select(webhook_deliveries)
        .where(webhook_deliveries.c.subscription_id == subscription_id)
        .order_by(webhook_deliveries.c.log_index.desc())
        .limit(limit)
    )
    return [_delivery(r) for r in rows]


def get_delivery(tx: Connection, actor: Actor, delivery_id: str) -> Delivery:
    row = tx.execute(
        select(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id)
    ).first()
    if row is None:
        raise QuanError(NOT_FOUND, what=f"webhook delivery {delivery_id}")
    _owned(tx, actor, row.subscription_id)
    return _delivery(row)


@dataclass(frozen=True, slots=True)
class Attempt:
    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


def attempts(tx: Connection, actor: Actor, delivery_id: str) -> list[Attempt]:
    get_delivery(tx, actor, delivery_id)
    a = webhook_attempts.c
    rows = tx.execute(
        select(a.attempt, a.at, a.status_code, a.error, a.duration_ms)
        .where(a.delivery_id == delivery_id)
        .order_by(a.id)
    )
    return [Attempt(*r) for r in rows]


def _requeue(now: datetime) -> dict[str, Any]:
    return {
        "status": "queued",
        "next_attempt_at": now,
        "replays": webhook_deliveries.c.replays + 1,
    }


def replay(tx: Connection, now: datetime, actor: Actor, delivery_id: str) -> Delivery:
    """Send one delivery again, under the same ``webhook-id`` (not while it is being sent)."""
    get_delivery(tx, actor, delivery_id)
    tx.execute(
        update(webhook_deliveries)
        .where(webhook_deliveries.c.id == delivery_id, webhook_deliveries.c.status != "sending")
        .values(**_requeue(now))
    )
    return get_delivery(tx, actor, delivery_id)


def replay_range(
    tx: Connection,
    now: datetime,
    actor: Actor,
    subscription_id: str,
    start: datetime,
    end: datetime,
) -> int:
    """Send again every delivery of a subscription made in ``[start, end)``; how many."""
    _owned(tx, actor, subscription_id)
    if not start < end or end - start > MAX_REPLAY_RANGE:
        raise QuanError(REPLAY_RANGE_INVALID)
    d = webhook_deliveries.c
    return int(
        tx.execute(
            update(webhook_deliveries)
            .where(
                d.subscription_id == subscription_id,
                d.created_at >= start,
                d.created_at < end,
                d.status != "sending",
            )
            .values(**_requeue(now))
        ).rowcount
        or 0
    )
