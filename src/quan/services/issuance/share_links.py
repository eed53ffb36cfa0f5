"""Share links (R5.3): a citizen invites others to claim from a first-come batch.

- ``create_link``: an unguessable token (``secrets.token_urlsafe(24)``, 192 bits) of which only
  the SHA-256 is stored; the channel it is meant for (wechat, sms, qr, link) is recorded.
- ``claim_via_link``: the first-come claim itself (:func:`quan.services.issuance.claims.claim`,
channel
  ``share``) — eligibility, blacklist, limit, window and sell-out all hold — plus, in the same
  transaction, a conditional ``UPDATE share_sharers SET claims = claims + 1 WHERE claims < cap``:
  the cap per sharer is enforced by the database (on PostgreSQL, racing claims through one
  sharer queue on that row and re-check the condition; on SQLite writers are serialised). The
  attribution (link, sharer, channel) is a ``share_claims`` row and a ``voucher.share_claimed``
  event. A replay with the same Idempotency-Key returns the voucher without counting again.
- The cap per sharer is ``share_caps.cap`` for the batch when an operator set one, else
  ``DEFAULT_SHARE_CAP``; it is copied to the sharer's counter row when their first link is made.
- ``sharer_stats``: per sharer, links, claims through them by channel, cap — for operators.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from quan.clock import Clock
from quan.domain.auth import Actor
from quan.domain.batches import CLAIM_WINDOW_OVER, Allocation, BatchStatus
from quan.domain.claims import BATCH_NOT_OPEN, WRONG_ALLOCATION, Channel
from quan.domain.errors import Kind, QuanError, define
from quan.services.issuance import claims
from quan.services.issuance.batches import get_batch, visible_batch
from quan.services.issuance.claim_cache import DEFAULT_CACHE, ClaimCache
from quan.store.db import Database
from quan.store.events import record_event
from quan.store.ids import new_id
from quan.store.share_tables import (
    SHARE_CHANNELS,
    share_caps,
    share_claims,
    share_links,
    share_sharers,
)

DEFAULT_SHARE_CAP = 20  # claims through one citizen's links per batch, unless the batch says

SHARE_LINK_NOT_FOUND = define(
    "SHARE_LINK_NOT_FOUND",
    Kind.NOT_FOUND,
    zh="分享链接无效或已失效",
    en="This share link is not valid",
)
SHARE_CAP_REACHED = define(
    "SHARE_CAP_REACHED",
    Kind.CONFLICT,
    zh="该分享人的邀请名额已用完（每人最多 {share_cap} 人）",
    en="This sharer's invitations are used up (at most {share_cap} per person)",
)
SHARE_OWN_LINK = define(
    "SHARE_OWN_LINK",
    Kind.CONFLICT,
    zh="不能通过自己的分享链接领取",
    en="You cannot claim through your own share link",
)
INVALID_SHARE_CAP = define(
    "INVALID_SHARE_CAP",
    Kind.INVALID,
    zh="分享上限须在 0 到 {max_cap} 之间",
    en="The share cap must be between 0 and {max_cap}",
)
MAX_SHARE_CAP = 100_000


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _citizen(citizen_id: str) -> Actor:
    return claims.citizen_actor(citizen_id)


def share_cap(tx: Connection, batch_id: str) -> int:
    cap = tx.execute(
        select(share_caps.c.cap).where(share_caps.c.batch_id == batch_id)
    ).scalar_one_or_none()
    return DEFAULT_SHARE_CAP if cap is None else int(cap)


def _insert_ignore(tx: Connection, table: Any, values: dict[str, Any]) -> None:
    dialect = postgresql if tx.dialect.name == "postgresql" else sqlite
    tx.execute(dialect.insert(table).values(**values).on_conflict_do_nothing())


@dataclass(frozen=True, slots=True)
class NewLink:
    id: str
    token: str
    batch_id: str
    channel: str
    cap: int


def create_link(
    tx: Connection, now: datetime, citizen_id: str, batch_id: str, channel: str
) -> NewLink:
    if channel not in SHARE_CHANNELS:
        raise ValueError(channel)  # the API schema allows only the four
    batch = get_batch(tx, batch_id)
    if batch.allocation is not Allocation.FCFS:
        raise QuanError(WRONG_ALLOCATION, allocation=batch.allocation.value)
    if batch.status is not BatchStatus.OPEN:
        raise QuanError(BATCH_NOT_OPEN, batch_status=batch.status.value)
    if now >= batch.rules.claim_closes_at:
        raise QuanError(CLAIM_WINDOW_OVER, claim_closes_at=batch.rules.claim_closes_at.isoformat())
    cap = share_cap(tx, batch_id)
    _insert_ignore(
        tx, share_sharers, {"batch_id": batch_id, "sharer_id": citizen_id, "cap": cap, "claims": 0}
    )
    cap = int(
        tx.execute(
            select(share_sharers.c.cap).where(
                share_sharers.c.batch_id == batch_id, share_sharers.c.sharer_id == citizen_id
            )
        ).scalar_one()
    )
    token = secrets.token_urlsafe(24)
    link_id = new_id("shl")
    tx.execute(
        share_links.insert().values(
            id=link_id,
            token_hash=token_hash(token),
            batch_id=batch_id,
            sharer_id=citizen_id,
            channel=channel,
            created_at=now,
        )
    )
    record_event(
        tx,
        type="share_link.created",
        actor=_citizen(citizen_id),
        subject_type="share_link",
        subject_id=link_id,
        program_id=batch.program_id,
        at=now,
        payload={"batch_id": batch_id, "channel": channel},
    )
    return NewLink(id=link_id, token=token, batch_id=batch_id, channel=channel, cap=cap)


class _ReplayedError(Exception):
    def __init__(self, outcome: claims.ClaimOutcome) -> None:
        self.outcome = outcome


def claim_via_link(
    db: Database,
    clock: Clock,
    claimer_id: str,
    token: str,
    *,
    key: str | None = None,
    cache: ClaimCache = DEFAULT_CACHE,
) -> claims.ClaimOutcome:
    if key is not None:
        claims.check_key(key)
    with db.read() as tx:
        link = tx.execute(
            select(share_links).where(share_links.c.token_hash == token_hash(token))
        ).first()
    if link is None:
        raise QuanError(SHARE_LINK_NOT_FOUND)
    if link.sharer_id == claimer_id:
        raise QuanError(SHARE_OWN_LINK)
    facts = cache.facts(db, link.batch_id)
    if facts.rules.allocation is not Allocation.FCFS:
        raise QuanError(WRONG_ALLOCATION, allocation=facts.rules.allocation.value)
    if key is not None:
        with db.read() as tx:
            replay = claims.find_replay(tx, claimer_id, key, link.batch_id, Channel.SHARE)
        if replay is not None:
            return claims.ClaimOutcome(replay, replayed=True)
    now = clock.now()
    if now >= facts.rules.claim_closes_at:
        raise QuanError(CLAIM_WINDOW_OVER, claim_closes_at=facts.rules.claim_closes_at.isoformat())
    attempts = facts.rules.per_citizen_limit + 1
    for attempt in range(attempts):
        try:
            with db.write() as tx:
                return _claim(tx, now, claimer_id, link, facts, key, cache)
        except _ReplayedError as replayed:  # rolled back: a replay does not count against the cap
            return replayed.outcome
        except IntegrityError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def _claim(
    tx: Connection,
    now: datetime,
    claimer_id: str,
    link: Any,
    facts: Any,
    key: str | None,
    cache: ClaimCache,
) -> claims.ClaimOutcome:
    s = share_sharers.c
    counted = tx.execute(
        update(share_sharers)
        .where(s.batch_id == link.batch_id, s.sharer_id == link.sharer_id, s.claims < s.cap)
        .values(claims=s.claims + 1)
    ).rowcount
    if counted != 1:
        cap = tx.execute(
            select(s.cap).where(s.batch_id == link.batch_id, s.sharer_id == link.sharer_id)
        ).scalar_one()
        raise QuanError(SHARE_CAP_REACHED, share_cap=int(cap))
    outcome = claims.claim(tx, now, claimer_id, facts, key=key, channel=Channel.SHARE, cache=cache)
    if outcome.replayed:
        raise _ReplayedError(outcome)
    tx.execute(
        share_claims.insert().values(
            voucher_id=outcome.voucher.id,
            link_id=link.id,
            batch_id=link.batch_id,
            sharer_id=link.sharer_id,
            claimer_id=claimer_id,
            channel=link.channel,
            claimed_at=now,
        )
    )
    record_event(
        tx,
        type="voucher.share_claimed",
        actor=_citizen(claimer_id),
        subject_type="voucher",
        subject_id=outcome.voucher.id,
        program_id=facts.program_id,
        at=now,
        payload={
            "batch_id": link.batch_id,
            "link_id": link.id,
            "sharer_id": link.sharer_id,
            "share_channel": link.channel,
        },
    )
    return outcome


def set_cap(tx: Connection, now: datetime, actor: Actor, batch_id: str, cap: int) -> int:
    """A batch's cap per sharer; counters already above it keep what they have (no new claims)."""
    if not 0 <= cap <= MAX_SHARE_CAP:
        raise QuanError(INVALID_SHARE_CAP, max_cap=MAX_SHARE_CAP)
    batch = visible_batch(tx, actor, batch_id)
    tx.execute(share_caps.delete().where(share_caps.c.batch_id == batch_id))
    tx.execute(
        share_caps.insert().values(batch_id=batch_id, cap=cap, set_by=actor.label, set_at=now)
    )
    s = share_sharers.c
    tx.execute(
        update(share_sharers)
        .where(s.batch_id == batch_id)
        .values(cap=case((s.claims > cap, s.claims), else_=cap))
    )
    record_event(
        tx,
        type="batch.share_cap_set",
        actor=actor,
        subject_type="batch",
        subject_id=batch_id,
        program_id=batch.program_id,
        at=now,
        payload={"cap": cap},
    )
    return cap


def sharer_stats(tx: Connection, actor: Actor, batch_id: str) -> dict[str, Any]:
    """Per sharer of a batch: cap, claims counted, links by channel, claims by channel."""
    visible_batch(tx, actor, batch_id)
    sharers: dict[str, dict[str, Any]] = {}
    for row in tx.execute(
        select(share_sharers)
        .where(share_sharers.c.batch_id == batch_id)
        .order_by(share_sharers.c.claims.desc(), share_sharers.c.sharer_id)
    ):
        sharers[row.sharer_id] = {
            "sharer_id": row.sharer_id,
            "cap": row.cap,
            "claims": row.claims,
            "links_by_channel": {},
            "claims_by_channel": {},
        }
    l_, c_ = share_links.c, share_claims.c
    for row in tx.execute(
        select(l_.sharer_id, l_.channel, func.count())
        .where(l_.batch_id == batch_id)
        .group_by(l_.sharer_id, l_.channel)
    ):
        sharers[row[0]]["links_by_channel"][row[1]] = int(row[2])
    for row in tx.execute(
        select(c_.sharer_id, c_.channel, func.count())
        .where(c_.batch_id == batch_id)
        .group_by(c_.sharer_id, c_.channel)
    ):
        sharers[row[0]]["claims_by_channel"][row[1]] = int(row[2])
    return {
        "batch_id": batch_id,
        "cap": share_cap(tx, batch_id),
        "claims": sum(s["claims"] for s in sharers.values()),
        "sharers": list(sharers.values()),
    }
