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

from sqlalchemy import Connection, Select, and_, or_, select

from quan.domain.auth import Actor, CitizenRole
from quan.domain.blacklist import (
    AppealOutcome,
    BlacklistEntry,
    ReasonCode,
    Subject,
    SubjectType,
    refusal,
)
from quan.domain.errors import NOT_FOUND, QuanError
from quan.store.citizen_tables import blacklist_appeals, blacklist_entries

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
