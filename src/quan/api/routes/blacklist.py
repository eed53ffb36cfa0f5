"""The blacklist: operators and admins decide, auditors read, a barred citizen sees and appeals
their own entries."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends

from quan.api.schemas.blacklist import (
    AppealCreate,
    AppealDecision,
    AppealPublic,
    BlacklistCreate,
    BlacklistEntryPublic,
    LiftRequest,
)
from quan.api.schemas.common import Limit, Page
from quan.domain.auth import Actor, CitizenRole, Role
from quan.domain.blacklist import Subject, SubjectType
from quan.domain.errors import FORBIDDEN, QuanError
from quan.edge.deps import Allow, RuntimeDep
from quan.services.people import blacklist, blacklist_decisions
from quan.services.people.blacklist import Listing
from quan.store.citizen_tables import blacklist_entries
from quan.store.pagination import page

router = APIRouter(tags=["blacklist"])

Decider = Annotated[Actor, Depends(Allow(Role.ADMIN, Role.OPERATOR))]
Reader = Annotated[Actor, Depends(Allow(Role.ADMIN, Role.OPERATOR, Role.AUDITOR))]
ReaderOrSubject = Annotated[
    Actor, Depends(Allow(Role.ADMIN, Role.OPERATOR, Role.AUDITOR, CitizenRole.CITIZEN))
]
Appellant = Annotated[Actor, Depends(Allow(Role.ADMIN, Role.OPERATOR, CitizenRole.CITIZEN))]


def _public(listing: Listing, now: datetime) -> BlacklistEntryPublic:
    entry = listing.entry
    return BlacklistEntryPublic(
        id=entry.id,
        subject_type=entry.subject.type,
        subject_id=entry.subject.id,
        reason_code=entry.reason_code,
        reason=listing.reason,
        starts_at=entry.starts_at,
        ends_at=entry.ends_at,
        in_force=entry.in_force_at(now),
        decided_by=listing.decided_by,
        issuer_id=listing.issuer_id,
        created_at=listing.created_at,
        lifted_at=entry.lifted_at,
        lifted_by=listing.lifted_by,
        lift_reason=listing.lift_reason,
        appeals=[
            AppealPublic(**{k: v for k, v in asdict(a).items() if k != "entry_id"})
            for a in listing.appeals
        ],
    )


@router.post("/blacklist", response_model=BlacklistEntryPublic, status_code=201)
def add(body: BlacklistCreate, actor: Decider, rt: RuntimeDep) -> BlacklistEntryPublic:
    """Bar a citizen or a merchant from claiming and redeeming, from ``starts_at`` (now) until
    ``ends_at`` (or until lifted). ``ALREADY_BLACKLISTED`` if an entry already covers the period."""
    cmd = blacklist_decisions.NewEntry(
        subject=Subject(body.subject_type, body.subject_id),
        reason_code=body.reason_code,
        reason=body.reason,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
    )
    now = rt.clock.now()
    with rt.db.write() as tx:
        listing = blacklist_decisions.add_entry(tx, now, actor, cmd)
    return _public(listing, now)


@router.get("/blacklist", response_model=Page[BlacklistEntryPublic])
def list_entries(
    actor: Reader,
    rt: RuntimeDep,
    limit: Limit = 50,
    cursor: str | None = None,
    subject_type: SubjectType | None = None,
    subject_id: str | None = None,
    in_force: bool = False,
) -> Page[BlacklistEntryPublic]:
    """Entries in the order they were decided; ``in_force=true`` keeps those barring now."""
    now = rt.clock.now()
    query = blacklist.query(
        subject_type=subject_type, subject_id=subject_id, in_force=now if in_force else None
    )
    with rt.db.read() as tx:
        rows, next_cursor = page(tx, query, blacklist_entries.c.id, limit=limit, cursor=cursor)
        items = blacklist.listings(tx, list(rows))
    return Page(items=[_public(i, now) for i in items], next_cursor=next_cursor)


@router.get("/me/blacklist", response_model=list[BlacklistEntryPublic])
def my_entries(
    actor: Annotated[Actor, Depends(Allow(CitizenRole.CITIZEN))], rt: RuntimeDep
) -> list[BlacklistEntryPublic]:
    """The signed-in citizen's own entries, to know why and until when, and to appeal."""
    now = rt.clock.now()
    query = blacklist.query(subject_type=SubjectType.CITIZEN, subject_id=actor.id)
    with rt.db.read() as tx:
        items = blacklist.listings(tx, list(tx.execute(query.order_by(blacklist_entries.c.id))))
    return [_public(i, now) for i in items]


@router.get("/blacklist/{entry_id}", response_model=BlacklistEntryPublic)
def get_entry(entry_id: str, actor: ReaderOrSubject, rt: RuntimeDep) -> BlacklistEntryPublic:
    with rt.db.read() as tx:
        listing = blacklist.visible_listing(tx, actor, entry_id)
    return _public(listing, rt.clock.now())


@router.post("/blacklist/{entry_id}/lift", response_model=BlacklistEntryPublic)
def lift(entry_id: str, body: LiftRequest, actor: Decider, rt: RuntimeDep) -> BlacklistEntryPublic:
    """End an entry now (a pending appeal is closed as overturned)."""
    now = rt.clock.now()
    with rt.db.write() as tx:
        listing = blacklist_decisions.lift(tx, now, actor, entry_id, body.reason)
    return _public(listing, now)


@router.post("/blacklist/{entry_id}/appeal", response_model=BlacklistEntryPublic, status_code=201)
def appeal(
    entry_id: str, body: AppealCreate, actor: Appellant, rt: RuntimeDep
) -> BlacklistEntryPublic:
    """File an appeal: the barred citizen themselves, or staff recording one received by letter
    or in person (staff may record its outcome at once)."""
    if body.outcome is not None and actor.role == CitizenRole.CITIZEN:
        raise QuanError(FORBIDDEN)
    now = rt.clock.now()
    with rt.db.write() as tx:
        listing = blacklist_decisions.file_appeal(tx, now, actor, entry_id, body.statement)
        if body.outcome is not None:
            reason = body.decision_reason or body.statement
            listing = blacklist_decisions.decide_appeal(
                tx, now, actor, entry_id, body.outcome, reason
            )
    return _public(listing, now)


@router.post("/blacklist/{entry_id}/appeal/decision", response_model=BlacklistEntryPublic)
def decide(
    entry_id: str, body: AppealDecision, actor: Decider, rt: RuntimeDep
) -> BlacklistEntryPublic:
    """Decide the pending appeal: ``upheld`` keeps the entry; ``overturned`` lifts it now."""
    now = rt.clock.now()
    with rt.db.write() as tx:
        listing = blacklist_decisions.decide_appeal(
            tx, now, actor, entry_id, body.outcome, body.reason
        )
    return _public(listing, now)
