"""Blacklisting citizens and merchants, lifting entries, hearing appeals; and the check that
claims and redemptions call: :func:`active_block` / :func:`ensure_not_blocked`.

Operators decide for their own issuer (a merchant must belong to it; a citizen belongs to no
issuer, so any operator may bar one platform-wide); admins decide everywhere; auditors read.
One subject has at most one entry in force for any instant: adding an overlapping one is
refused, and on PostgreSQL the check runs under a per-subject advisory lock (SQLite writers are
serialised already). Events carry ids and codes only: never the free-text reason or statement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, and_, insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError

from quan.domain.auth import Actor, CitizenRole, Role, require_issuer
from quan.domain.blacklist import (
    ALREADY_BLACKLISTED,
    APPEAL_PENDING,
    BLACKLIST_ENTRY_NOT_IN_FORCE,
    NO_PENDING_APPEAL,
    AppealOutcome,
    BlacklistEntry,
    ReasonCode,
    Subject,
    SubjectType,
    check_period,
    overlaps,
    refusal,
)
from quan.domain.errors import FORBIDDEN, NOT_FOUND, QuanError
from quan.store.citizen_tables import blacklist_appeals, blacklist_entries, citizens
from quan.store.events import record_event
from quan.store.ids import new_id
from quan.store.merchant_tables import merchants

e = blacklist_entries.c


@dataclass(frozen=True, slots=True)
class Appeal:
    id: str
    entry_id: str
    statement: str
    filed_by: str
    filed_at: datetime
    outcome: AppealOutcome | None
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None


@dataclass(frozen=True, slots=True)
class Listing:
    """A blacklist entry with who decided it, why, and its appeals."""

    entry: BlacklistEntry
    reason: str
    decided_by: str
    issuer_id: str | None
    created_at: datetime
    lifted_by: str | None
    lift_reason: str | None
    appeals: list[Appeal] = field(default_factory=list)


def entry_from_row(row: Any) -> BlacklistEntry:
    m = row._mapping
    return BlacklistEntry(
        id=m["id"],
        subject=Subject(SubjectType(m["subject_type"]), m["subject_id"]),
        reason_code=ReasonCode(m["reason_code"]),
        starts_at=m["starts_at"],
        ends_at=m["ends_at"],
        lifted_at=m["lifted_at"],
    )


def _listing(row: Any, appeals: list[Appeal]) -> Listing:
    m = row._mapping
    return Listing(
        entry=entry_from_row(row),
        reason=m["reason"],
        decided_by=m["decided_by"],
        issuer_id=m["issuer_id"],
        created_at=m["created_at"],
        lifted_by=m["lifted_by"],
        lift_reason=m["lift_reason"],
        appeals=appeals,
    )


def _appeal(row: Any) -> Appeal:
    m = row._mapping
    return Appeal(
        id=m["id"],
        entry_id=m["entry_id"],
        statement=m["statement"],
        filed_by=m["filed_by"],
        filed_at=m["filed_at"],
        outcome=AppealOutcome(m["outcome"]) if m["outcome"] else None,
        decided_by=m["decided_by"],
        decided_at=m["decided_at"],
        decision_reason=m["decision_reason"],
    )


# --- the check other use cases call -------------------------------------------------------


def in_force_at(at: datetime) -> Any:
    """SQL condition: the entry bars its subject at ``at`` (same rule as ``in_force_at``)."""
    return and_(
        e.starts_at <= at,
        or_(e.ends_at.is_(None), e.ends_at > at),
        or_(e.lifted_at.is_(None), e.lifted_at > at),
    )


def active_block(
    tx: Connection, subject_type: SubjectType | str, subject_id: str, at: datetime
) -> BlacklistEntry | None:
    """The entry barring the subject at ``at``, or ``None``: call it inside the claim's or the
    redemption's own transaction."""
    row = tx.execute(
        select(blacklist_entries)
        .where(e.subject_type == str(subject_type), e.subject_id == subject_id, in_force_at(at))
        .order_by(e.starts_at, e.id)
        .limit(1)
    ).first()
    return entry_from_row(row) if row else None


def ensure_not_blocked(
    tx: Connection, subject_type: SubjectType | str, subject_id: str, at: datetime
) -> None:
    """Raise ``BLACKLISTED`` (403, with ``entry_id`` and ``until``) if the subject is barred."""
    entry = active_block(tx, subject_type, subject_id, at)
    if entry is not None:
        raise refusal(entry)


# --- deciding ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewEntry:
    subject: Subject
    reason_code: ReasonCode
    reason: str
    starts_at: datetime | None = None  # None: from now
    ends_at: datetime | None = None  # None: until lifted


def add_entry(tx: Connection, now: datetime, actor: Actor, cmd: NewEntry) -> Listing:
    """Bar a subject from ``starts_at`` (now by default) until ``ends_at`` or until lifted."""
    _require_decider(actor)
    _check_subject(tx, actor, cmd.subject)
    starts_at = cmd.starts_at or now
    check_period(starts_at, cmd.ends_at, now)
    _lock_subject(tx, cmd.subject)
    for existing in _entries_of(tx, cmd.subject):
        if overlaps(existing, starts_at, cmd.ends_at, now):
            raise QuanError(ALREADY_BLACKLISTED, entry_id=existing.id)
    entry_id = new_id("blk")
    tx.execute(
        insert(blacklist_entries).values(
            id=entry_id,
            subject_type=cmd.subject.type.value,
            subject_id=cmd.subject.id,
            reason_code=cmd.reason_code.value,
            reason=cmd.reason,
            starts_at=starts_at,
            ends_at=cmd.ends_at,
            decided_by=actor.label,
            issuer_id=actor.issuer_id,
            created_at=now,
        )
    )
    record_event(
        tx,
        type="blacklist.added",
        actor=actor,
        subject_type="blacklist_entry",
        subject_id=entry_id,
        at=now,
        payload={
            "subject_type": cmd.subject.type.value,
            "subject_id": cmd.subject.id,
            "reason_code": cmd.reason_code.value,
            "starts_at": starts_at.isoformat(),
            "ends_at": cmd.ends_at.isoformat() if cmd.ends_at else None,
        },
    )
    return get_listing(tx, entry_id)


def lift(tx: Connection, now: datetime, actor: Actor, entry_id: str, reason: str) -> Listing:
    """End an entry now. A pending appeal is closed as overturned: its ask was granted."""
    listing = _decidable(tx, actor, entry_id)
    lifted = tx.execute(
        update(blacklist_entries)
        .where(e.id == entry_id, e.lifted_at.is_(None), or_(e.ends_at.is_(None), e.ends_at > now))
        .values(lifted_at=now, lifted_by=actor.label, lift_reason=reason)
    )
    if lifted.rowcount != 1:
        raise QuanError(BLACKLIST_ENTRY_NOT_IN_FORCE)
    _close_pending_appeal(tx, now, actor, entry_id, AppealOutcome.OVERTURNED, reason)
    record_event(
        tx,
        type="blacklist.lifted",
        actor=actor,
        subject_type="blacklist_entry",
        subject_id=entry_id,
        at=now,
        payload={
            "subject_type": listing.entry.subject.type.value,
            "subject_id": listing.entry.subject.id,
        },
    )
    return get_listing(tx, entry_id)


def file_appeal(
    tx: Connection, now: datetime, actor: Actor, entry_id: str, statement: str
) -> Listing:
    """Record an appeal: by the barred citizen, or by staff for someone who wrote or called."""
    listing = get_listing(tx, entry_id)
    if actor.role == CitizenRole.CITIZEN:
        if listing.entry.subject != Subject(SubjectType.CITIZEN, actor.id):
            raise QuanError(NOT_FOUND, what=f"blacklist entry {entry_id}")
    else:
        _decidable(tx, actor, entry_id)
    if not listing.entry.can_still_bar(now):
        raise QuanError(BLACKLIST_ENTRY_NOT_IN_FORCE)
    if any(a.outcome is None for a in listing.appeals):
        raise QuanError(APPEAL_PENDING)
    appeal_id = new_id("apl")
    try:
        with tx.begin_nested():
            tx.execute(
                insert(blacklist_appeals).values(
                    id=appeal_id,
                    entry_id=entry_id,
                    statement=statement,
                    filed_by=actor.label,
                    filed_at=now,
                )
            )
    except IntegrityError as exc:
        # uq_blacklist_appeals_pending: a concurrent appeal got there first.
        raise QuanError(APPEAL_PENDING) from exc
    record_event(
        tx,
        type="blacklist.appeal_filed",
        actor=actor,
        subject_type="blacklist_entry",
        subject_id=entry_id,
        at=now,
        payload={"appeal_id": appeal_id},
    )
    return get_listing(tx, entry_id)


def decide_appeal(
    tx: Connection,
    now: datetime,
    actor: Actor,
    entry_id: str,
    outcome: AppealOutcome,
    reason: str,
) -> Listing:
    """Decide the pending appeal: ``upheld`` keeps the entry, ``overturned`` lifts it now."""
    _decidable(tx, actor, entry_id)
    if not _close_pending_appeal(tx, now, actor, entry_id, outcome, reason):
        raise QuanError(NO_PENDING_APPEAL)
    if outcome is AppealOutcome.OVERTURNED:
        tx.execute(
            update(blacklist_entries)
            .where(e.id == entry_id, e.lifted_at.is_(None))
            .values(lifted_at=now, lifted_by=actor.label, lift_reason=reason)
        )
    record_event(
        tx,
        type="blacklist.appeal_decided",
        actor=actor,
        subject_type="blacklist_entry",
        subject_id=entry_id,
        at=now,
        payload={"outcome": outcome.value},
    )
    return get_listing(tx, entry_id)


def _close_pending_appeal(
    tx: Connection,
    now: datetime,
    actor: Actor,
    entry_id: str,
    outcome: AppealOutcome,
    reason: str,
) -> bool:
    # Conditional: of two concurrent decisions, exactly one closes the appeal.
    closed = tx.execute(
        update(blacklist_appeals)
        .where(blacklist_appeals.c.entry_id == entry_id, blacklist_appeals.c.outcome.is_(None))
        .values(
            outcome=outcome.value, decided_by=actor.label, decided_at=now, decision_reason=reason
        )
    )
    return closed.rowcount == 1


# --- reading -----------------------------------------------------------------------------


def get_listing(tx: Connection, entry_id: str) -> Listing:
    row = tx.execute(select(blacklist_entries).where(e.id == entry_id)).first()
    if row is None:
        raise QuanError(NOT_FOUND, what=f"blacklist entry {entry_id}")
    appeals = tx.execute(
        select(blacklist_appeals)
        .where(blacklist_appeals.c.entry_id == entry_id)
        .order_by(blacklist_appeals.c.id)
    )
    return _listing(row, [_appeal(a) for a in appeals])


def listings(tx: Connection, rows: list[Any]) -> list[Listing]:
    """Listings for a page of entry rows, their appeals read in one query."""
    ids = [r.id for r in rows]
    by_entry: dict[str, list[Appeal]] = {i: [] for i in ids}
    if ids:
        appeals = tx.execute(
            select(blacklist_appeals)
            .where(blacklist_appeals.c.entry_id.in_(ids))
            .order_by(blacklist_appeals.c.id)
        )
        for a in appeals:
            by_entry[a.entry_id].append(_appeal(a))
    return [_listing(r, by_entry[r.id]) for r in rows]


def query(
    *,
    subject_type: SubjectType | None = None,
    subject_id: str | None = None,
    in_force: datetime | None = None,
) -> Select[Any]:
    """Entries filtered by subject and, with ``in_force``, barring at that instant."""
    statement = select(blacklist_entries)
    if subject_type is not None:
        statement = statement.where(e.subject_type == subject_type.value)
    if subject_id is not None:
        statement = statement.where(e.subject_id == subject_id)
    if in_force is not None:
        statement = statement.where(in_force_at(in_force))
    return statement


def visible_listing(tx: Connection, actor: Actor, entry_id: str) -> Listing:
    """Staff see every entry; a citizen sees only entries about themselves."""
    listing = get_listing(tx, entry_id)
    if actor.role == CitizenRole.CITIZEN and listing.entry.subject != Subject(
        SubjectType.CITIZEN, actor.id
    ):
        raise QuanError(NOT_FOUND, what=f"blacklist entry {entry_id}")
    return listing


# --- rules of who decides ----------------------------------------------------------------


def _require_decider(actor: Actor) -> None:
    if actor.role not in (Role.ADMIN, Role.OPERATOR) and actor.kind != "system":
        raise QuanError(FORBIDDEN)


def _decidable(tx: Connection, actor: Actor, entry_id: str) -> Listing:
    """The entry, if ``actor`` may decide about it: admins any; operators their issuer's."""
    _require_decider(actor)
    listing = get_listing(tx, entry_id)
    if actor.role == Role.OPERATOR:
        if listing.issuer_id is None:
            raise QuanError(FORBIDDEN)  # decided by an admin: an admin reviews it
        require_issuer(actor, listing.issuer_id)
    return listing


def _check_subject(tx: Connection, actor: Actor, subject: Subject) -> None:
    if subject.type is SubjectType.CITIZEN:
        found = tx.execute(select(citizens.c.id).where(citizens.c.id == subject.id)).first()
        if found is None:
            raise QuanError(NOT_FOUND, what=f"citizen {subject.id}")
        return
    merchant = tx.execute(
        select(merchants.c.id, merchants.c.issuer_id).where(merchants.c.id == subject.id)
    ).first()
    if merchant is None:
        raise QuanError(NOT_FOUND, what=f"merchant {subject.id}")
    require_issuer(actor, merchant.issuer_id)


def _entries_of(tx: Connection, subject: Subject) -> list[BlacklistEntry]:
    rows = tx.execute(
        select(blacklist_entries).where(
            e.subject_type == subject.type.value, e.subject_id == subject.id
        )
    )
    return [entry_from_row(r) for r in rows]


def _lock_subject(tx: Connection, subject: Subject) -> None:
    if tx.dialect.name == "postgresql":
        tx.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
            {"k": f"blacklist:{subject.type.value}:{subject.id}"},
        )
