"""Who may see a citizen's personal data in clear, how fast, and when a second person must agree.

A reveal (``POST /citizens/{id}/reveal``) used to answer any operator about any citizen, as
fast as they could ask: 300 full ID numbers, names and phones in 1.7 s, citizens of another
issuer included (issue 13, I4). Now, in the reveal's own transaction:

1. **Scope.** An operator reveals only citizens living in their issuer's region (the issuer's
   region code without its trailing ``00`` pairs is a prefix of the citizen's region code:
   an issuer of ``330100`` covers ``3301xx``); admins everywhere. Otherwise ``403
   CITIZEN_OUT_OF_SCOPE``.
2. **Speed.** At most ``QUAN_REVEAL_PER_MINUTE`` (10) reveals a minute per person: ``429
   RATE_LIMITED``. The counter is the atomic throttle (Redis ``INCR`` when configured).
3. **Bulk needs a second person.** Beyond ``QUAN_REVEAL_DAILY_THRESHOLD`` (20) reveals a day
   per person, a reveal needs an approval: the refusal ``409 REVEAL_NEEDS_APPROVAL`` files a
   request (``reveal_request_id``) that another operator of the same issuer, or an admin,
   approves (``POST /reveal-requests/{id}/approve``); the requester then reveals with
   ``approval_id``. An approval opens one reveal, of that citizen, for that purpose, by that
   person, within a day; it is consumed by a conditional update, so two uses cannot both pass.

The console (``/ops/citizens``, ``/ops/approvals``) runs the same functions; :func:`open_requests`
and :func:`awaiting_approval` are what it shows of the requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Connection, insert, select, update

from quan.cache.throttle import Throttle
from quan.domain.auth import Actor, Role
from quan.domain.errors import NOT_FOUND, Kind, QuanError, define
from quan.services.people.rate_limits import RateLimit, spend
from quan.store.citizen_tables import citizens, reveal_requests
from quan.store.events import record_event
from quan.store.ids import new_id
from quan.store.tables import issuers

APPROVAL_TTL: Final = timedelta(days=1)

CITIZEN_OUT_OF_SCOPE = define(
    "CITIZEN_OUT_OF_SCOPE",
    Kind.FORBIDDEN,
    zh="该居民不在本发放单位辖区内，不能查看其个人信息",
    en="This citizen lives outside your issuer's region; their personal data is not yours to see",
)
REVEAL_NEEDS_APPROVAL = define(
    "REVEAL_NEEDS_APPROVAL",
    Kind.CONFLICT,
    zh="今日查看个人信息已达 {threshold} 次，本次需另一名工作人员批准"
    "（申请编号 {reveal_request_id}）",
    en="You have seen {threshold} citizens' personal data today; this one needs another staff "
    "member's approval (request {reveal_request_id})",
)
REVEAL_APPROVAL_INVALID = define(
    "REVEAL_APPROVAL_INVALID",
    Kind.CONFLICT,
    zh="该批准不存在、未获批准、已使用、已过期，或不属于本次查看",
    en="The approval does not exist, is not approved, was used, expired, or is for another reveal",
)
SAME_PERSON_APPROVAL = define(
    "SAME_PERSON_APPROVAL",
    Kind.FORBIDDEN,
    zh="不能批准自己的查看申请",
    en="You cannot approve your own request",
)


@dataclass(frozen=True, slots=True)
class RevealRequest:
    """A filed request for one reveal beyond the daily threshold, as the console shows it."""

    id: str
    citizen_id: str
    purpose: str
    requested_by: str
    created_at: datetime
    approved_by: str | None
    approved_at: datetime | None

    @property
    def approved(self) -> bool:
        return self.approved_at is not None


def _request(row: Any) -> RevealRequest:
    return RevealRequest(
        row.id, row.citizen_id, row.purpose, row.requested_by, row.created_at,
        row.approved_by, row.approved_at,
    )  # fmt: skip


def open_requests(
    tx: Connection, now: datetime, actor: Actor, citizen_id: str | None = None
) -> list[RevealRequest]:
    """The actor's own requests still open (not used, within a day): waiting or approved."""
    r = reveal_requests.c
    query = select(reveal_requests).where(
        r.requested_by == actor.label, r.used_at.is_(None), r.created_at > now - APPROVAL_TTL
    )
    if citizen_id is not None:
        query = query.where(r.citizen_id == citizen_id)
    return [_request(row) for row in tx.execute(query.order_by(r.created_at, r.id))]


def awaiting_approval(tx: Connection, now: datetime, actor: Actor) -> list[RevealRequest]:
    """Requests a second person may still approve, of the actor's issuer (an admin: all; other
    roles approve nothing, so see none)."""
    if actor.role not in (Role.ADMIN, Role.OPERATOR):
        return []
    r = reveal_requests.c
    query = select(reveal_requests).where(
        r.approved_at.is_(None), r.created_at > now - APPROVAL_TTL
    )
    if actor.role != Role.ADMIN:
        query = query.where(r.issuer_id == actor.issuer_id)
    return [_request(row) for row in tx.execute(query.order_by(r.created_at, r.id))]


@dataclass(frozen=True, slots=True)
class RevealLimits:
    per_minute: int = 10
    daily_threshold: int = 20


def region_prefix(region_code: str) -> str:
    """``330100`` → ``3301``; ``330000`` → ``33``; ``330106`` → ``330106``."""
    prefix = region_code
    while prefix.endswith("00") and len(prefix) > 2:
        prefix = prefix[:-2]
    return prefix


def check_scope(tx: Connection, actor: Actor, citizen_id: str) -> None:
    region = tx.execute(
        select(citizens.c.region_code).where(citizens.c.id == citizen_id)
    ).scalar()
    if region is None:
        raise QuanError(NOT_FOUND, what=f"citizen {citizen_id}")
    if actor.role == Role.ADMIN:
        return
    issuer_region = tx.execute(
        select(issuers.c.region_code).where(issuers.c.id == actor.issuer_id)
    ).scalar()
    if issuer_region is None or not str(region).startswith(region_prefix(issuer_region)):
        raise QuanError(CITIZEN_OUT_OF_SCOPE)


def admit(
    tx: Connection,
    now: datetime,
    actor: Actor,
    throttle: Throttle,
    limits: RevealLimits,
    *,
    citizen_id: str,
    purpose: str,
    approval_id: str | None,
) -> str | None:
    """Scope, speed and approval of one reveal, in the reveal's transaction; raises if refused.

    Returns the id of the approval request it filed when the reveal needs one: the caller
    commits that request and answers :func:`needs_approval` instead of revealing.
    """
    check_scope(tx, actor, citizen_id)
    who = f"reveal:{actor.kind}:{actor.id}"
    spend(throttle, RateLimit("reveal-minute", limits.per_minute, 60), who)
    if approval_id is not None:
        _consume(tx, now, actor, approval_id, citizen_id, purpose)
        return None
    today = throttle.hit(f"reveal-day:{actor.kind}:{actor.id}", 24 * 3600)
    if today > limits.daily_threshold:
        return _file_request(tx, now, actor, citizen_id, purpose)
    return None


def needs_approval(limits: RevealLimits, request_id: str) -> QuanError:
    return QuanError(
        REVEAL_NEEDS_APPROVAL, threshold=limits.daily_threshold, reveal_request_id=request_id
    )


def _file_request(
    tx: Connection, now: datetime, actor: Actor, citizen_id: str, purpose: str
) -> str:
    request_id = new_id("rvr")
    tx.execute(
        insert(reveal_requests).values(
            id=request_id,
            citizen_id=citizen_id,
            purpose=purpose,
            requested_by=actor.label,
            issuer_id=actor.issuer_id,
            created_at=now,
        )
    )
    return request_id


def approve(tx: Connection, now: datetime, actor: Actor, request_id: str) -> None:
    """A second person (same issuer, or an admin) approves a pending reveal request."""
    row = tx.execute(
        select(reveal_requests).where(reveal_requests.c.id == request_id)
    ).first()
    if row is None or (actor.role != Role.ADMIN and row.issuer_id != actor.issuer_id):
        raise QuanError(NOT_FOUND, what=f"reveal request {request_id}")
    if row.requested_by == actor.label:
        raise QuanError(SAME_PERSON_APPROVAL)
    approved = tx.execute(
        update(reveal_requests)
        .where(reveal_requests.c.id == request_id, reveal_requests.c.approved_at.is_(None))
        .values(approved_by=actor.label, approved_at=now)
    )
    if approved.rowcount != 1:
        raise QuanError(REVEAL_APPROVAL_INVALID)
    record_event(
        tx,
        type="citizen.reveal_approved",
        actor=actor,
        subject_type="reveal_request",
        subject_id=request_id,
        at=now,
        payload={"requested_by": row.requested_by},
    )


def _consume(
    tx: Connection, now: datetime, actor: Actor, approval_id: str, citizen_id: str, purpose: str
) -> None:
    r = reveal_requests.c
    used = tx.execute(
        update(reveal_requests)
        .where(
            r.id == approval_id,
            r.citizen_id == citizen_id,
            r.purpose == purpose,
            r.requested_by == actor.label,
            r.approved_at.is_not(None),
            r.used_at.is_(None),
            r.created_at > now - APPROVAL_TTL,
        )
        .values(used_at=now)
    )
    if used.rowcount != 1:
        raise QuanError(REVEAL_APPROVAL_INVALID)
