"""Deciding on the blacklist: adding an entry, lifting it, appeals filed and decided, and the rules
of who may decide (an issuer's operators for its own programs, admins for all)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, or_, select, text, update
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
)
from quan.domain.errors import FORBIDDEN, NOT_FOUND, QuanError
from quan.services.people.blacklist import Listing, entry_from_row, get_listing
from quan.store.citizen_tables import blacklist_appeals, blacklist_entries, citizens
from quan.store.events import record_event
from quan.store.ids import new_id
from quan.store.merchant_tables import merchants

e = blacklist_entries.c


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
