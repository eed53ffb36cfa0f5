"""Lottery batches (摇号): registration, commitment, the draw, and the public record.

* The lottery record (commitment and sealed seed) is created with the lottery batch
  (:mod:`~quan.services.issuance.lottery_commitment`, called by ``create_batch``), so the
  commitment is public from the batch's creation, before anyone registers (a batch made before
  that gets it at its first touch). The seed is 32 random bytes, sealed with AES-GCM under a
  key derived from ``Settings.pii_key``; it is never served before the draw.
* Registration window = the batch's claim window ``[claim_opens_at, claim_closes_at)``; the
  batch must be open. Eligibility and the blacklist are checked as for a claim. One
  registration per citizen per batch (UNIQUE); registering again answers the same registration.
* Each registrant has one ticket (the batch defines no ticket weights; reserved pools carry the
  priority). Reserved pools are the batch's quotas, in the batch's quota order, with k = the
  quota; members are the registrants in that priority group at registration.
* Unused reserved places are released to the general pool: general k = the general pool's
  quantity + the sum of the reserved pools' ``unfilled``. The published pools carry both
  ``base_k`` and ``k`` so a verifier recomputes it.
* The draw: refused before the window closes and twice (one conditional UPDATE decides); it
  reveals the seed, issues vouchers to winners through :mod:`quan.services.issuance.issuing`, and
  records the winners (``lottery_winners``, with their pool). Only winners are written: a
  registration of a drawn lottery without a winner row has lost (:func:`outcome_of`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, select

from quan.clock import Clock
from quan.config import Settings
from quan.domain import lottery as algo
from quan.domain import lottery_v2 as v2
from quan.domain.auth import SYSTEM, Actor
from quan.domain.batches import GENERAL, Allocation, BatchStatus, tickets_for
from quan.domain.blacklist import refusal
from quan.domain.citizens import local_date, priority_groups
from quan.domain.claims import BATCH_NOT_OPEN, WRONG_ALLOCATION
from quan.domain.eligibility import evaluate
from quan.domain.errors import NOT_FOUND, Kind, QuanError, define
from quan.services.issuance import lottery_v2
from quan.services.issuance.batches import Batch, get_batch
from quan.services.issuance.claims import citizen_actor
from quan.services.issuance.lottery_commitment import commit
from quan.services.people import blacklist, pii
from quan.services.people.citizens import profile_of
from quan.store.citizen_tables import citizens
from quan.store.db import Database
from quan.store.events import record_event
from quan.store.ids import new_id
from quan.store.lottery_tables import lottery_draws, lottery_registrations, lottery_winners
from quan.store.tables import programs

REGISTRATION_NOT_OPEN = define(
    "LOTTERY_REGISTRATION_NOT_OPEN",
    Kind.CONFLICT,
    zh="摇号报名尚未开始",
    en="Registration for this lottery has not opened yet (opens at {opens_at})",
)
REGISTRATION_CLOSED = define(
    "LOTTERY_REGISTRATION_CLOSED",
    Kind.CONFLICT,
    zh="摇号报名已截止",
    en="Registration for this lottery closed at {closes_at}",
)
REGISTRATION_STILL_OPEN = define(
    "LOTTERY_REGISTRATION_STILL_OPEN",
    Kind.CONFLICT,
    zh="报名截止前不能摇号",
    en="The lottery cannot be drawn before registration closes at {closes_at}",
)
ALREADY_DRAWN = define(
    "LOTTERY_ALREADY_DRAWN",
    Kind.CONFLICT,
    zh="该批次已经摇号",
    en="This lottery was already drawn at {drawn_at}",
)


def pseudonym_key(settings: Settings, program_id: str) -> bytes:
    """The per-program pseudonym key: HKDF of ``pii_key`` (never published)."""
    return pii.derive_key(settings.secret_bytes("pii_key"), f"lottery/pseudonym/{program_id}")


def _lottery_batch(tx: Connection, batch_id: str, *, for_update: bool = False) -> Batch:
    batch = get_batch(tx, batch_id, for_update=for_update)
    if batch.allocation is not Allocation.LOTTERY:
        raise QuanError(WRONG_ALLOCATION, allocation=batch.allocation.value)
    return batch


def has_lottery(tx: Connection, batch_id: str) -> bool:
    """Whether the batch's lottery record (its commitment) exists yet."""
    found = tx.execute(
        select(lottery_draws.c.batch_id).where(lottery_draws.c.batch_id == batch_id)
    ).first()
    return found is not None


def ensure_lottery(tx: Connection, now: datetime, settings: Settings, batch: Batch) -> Any:
    """The batch's lottery record; created here only for a batch made before commitments were
    created with the batch (its first touch, still before any registration)."""
    return commit(tx, now, settings, SYSTEM, batch)


@dataclass(frozen=True, slots=True)
class Registration:
    id: str
    batch_id: str
    pseudonym: str
    tickets: int
    groups: tuple[str, ...]
    registered_at: datetime
    outcome: str | None
    pool: str | None
    created: bool = False


def outcome_of(won_pool: str | None, drawn_at: datetime | None) -> str | None:
    """A registration's outcome: ``won`` (a row in ``lottery_winners``), ``lost`` (the lottery
    is drawn and it has none), else None (not drawn yet). Only winners are written."""
    if won_pool is not None:
        return "won"
    return "lost" if drawn_at is not None else None


def _registrations() -> Any:
    """Registrations with what their outcome is derived from (``won_pool``, ``drawn_at``)."""
    r, w, d = lottery_registrations.c, lottery_winners.c, lottery_draws.c
    return select(
        lottery_registrations, w.pool.label("won_pool"), d.drawn_at.label("drawn_at")
    ).select_from(
        lottery_registrations.outerjoin(
            lottery_winners, and_(w.batch_id == r.batch_id, w.pseudonym == r.pseudonym)
        ).outerjoin(lottery_draws, d.batch_id == r.batch_id)
    )


def _registration(row: Any, *, created: bool = False) -> Registration:
    m = row._mapping
    return Registration(
        id=m["id"],
        batch_id=m["batch_id"],
        pseudonym=m["pseudonym"],
        tickets=int(m["tickets"]),
        groups=tuple(g for g in m["groups"].split(",") if g),
        registered_at=m["registered_at"],
        outcome=outcome_of(m["won_pool"], m["drawn_at"]),
        pool=m["won_pool"],
        created=created,
    )


def registration_of(tx: Connection, batch_id: str, citizen_id: str) -> Registration | None:
    """A citizen's registration in a lottery batch (with its outcome), if any."""
    r = lottery_registrations.c
    row = tx.execute(_registrations().where(r.batch_id == batch_id, r.citizen_id == citizen_id))
    found = row.first()
    return None if found is None else _registration(found)


def registrations(tx: Connection, batch_id: str) -> list[Registration]:
    """Every registration of a lottery batch with its outcome, oldest first (small lotteries:
    tests and checks; the public list is :func:`registrants_page`)."""
    r = lottery_registrations.c
    rows = tx.execute(_registrations().where(r.batch_id == batch_id).order_by(r.id))
    return [_registration(row) for row in rows]


def register(
    tx: Connection, now: datetime, settings: Settings, citizen_id: str, batch_id: str
) -> Registration:
    """Enter a citizen in a lottery batch (idempotent: a second call answers the first)."""
    batch = _lottery_batch(tx, batch_id)
    r = lottery_registrations.c
    existing = registration_of(tx, batch_id, citizen_id)
    if existing is not None:
        return existing
    if batch.status is not BatchStatus.OPEN:
        raise QuanError(BATCH_NOT_OPEN, batch_status=batch.status.value)
    rules = batch.rules
    if now < rules.claim_opens_at:
        raise QuanError(REGISTRATION_NOT_OPEN, opens_at=rules.claim_opens_at.isoformat())
    if now >= rules.claim_closes_at:
        raise QuanError(REGISTRATION_CLOSED, closes_at=rules.claim_closes_at.isoformat())
    row = tx.execute(select(citizens).where(citizens.c.id == citizen_id)).first()
    if row is None:
        raise QuanError(NOT_FOUND, what=f"citizen {citizen_id}")
    entry = blacklist.active_block(tx, "citizen", citizen_id, now)
    if entry is not None:
        raise refusal(entry)
    tz = tx.execute(select(programs.c.timezone).where(programs.c.id == batch.program_id)).scalar()
    today = local_date(now, tz) if tz else local_date(now)
    profile = profile_of(row)
    failure = evaluate(batch.eligibility, profile, today)
    if failure is not None:
        raise failure.error()
    # Held until commit: recording a v2 beacon (the close) waits for this registration, and
    # a registration that comes after the beacon reads it below and is refused.
    lottery_v2.lock_registrations(tx, batch_id, exclusive=False)
    draw_row = ensure_lottery(tx, now, settings, batch)
    if draw_row.drawn_at is not None:
        raise QuanError(ALREADY_DRAWN, drawn_at=draw_row.drawn_at.isoformat())
    if draw_row.beacon_at is not None:
        raise QuanError(REGISTRATION_CLOSED, closes_at=rules.claim_closes_at.isoformat())
    reserved = {q.group.value for q in rules.quotas}
    member_of = priority_groups(profile, today)
    groups = sorted(g.value for g in member_of if g.value in reserved)
    tickets = tickets_for(rules, member_of)
    values = {
        "id": new_id("lreg"),
        "batch_id": batch_id,
        "citizen_id": citizen_id,
        "pseudonym": algo.pseudonym(pseudonym_key(settings, batch.program_id), citizen_id),
        "tickets": tickets,
        "groups": ",".join(groups),
        "registered_at": now,
    }
    tx.execute(lottery_registrations.insert().values(**values))
    if draw_row.algorithm == v2.ALGORITHM:
        # The public leaf of a v2 registration: the batch (subject), the pseudonym and the
        # tickets, nothing else — no citizen id as actor, no priority groups (sensitive).
        actor, payload = SYSTEM, v2.registration_payload(str(values["pseudonym"]), tickets)
    else:
        actor = citizen_actor(citizen_id)
        payload = {"registration_id": values["id"], "tickets": tickets, "groups": groups}
    record_event(
        tx,
        type=v2.REGISTERED,
        actor=actor,
        subject_type="batch",
        subject_id=batch_id,
        program_id=batch.program_id,
        at=now,
        payload=payload,
    )
    created = tx.execute(_registrations().where(r.id == values["id"])).one()
    return _registration(created, created=True)


@dataclass(frozen=True, slots=True)
class Beacon:
    """quan-lottery-v2: the public value, its source, who entered it and when, and the close
    checkpoint it was recorded against."""

    value: str
    source: str
    recorded_by: str
    recorded_at: datetime
    close_size: int
    close_root: bytes
    close_note: str


@dataclass(frozen=True, slots=True)
class PublicLottery:
    batch_id: str
    commitment: str
    seed: str | None
    registrants_digest: str | None
    registrants: int
    pools: list[dict[str, Any]]
    drawn_at: datetime | None
    registration_closes_at: datetime
    algorithm: str = algo.ALGORITHM
    secret: str | None = None  # v2, after the draw
    beacon: Beacon | None = None  # v2, once recorded


def public_lottery(
    tx: Connection, now: datetime, settings: Settings, batch_id: str
) -> PublicLottery:
    batch = _lottery_batch(tx, batch_id)
    row = ensure_lottery(tx, now, settings, batch)
    if row.registrants is not None:  # drawn: the count is part of the record
        count = int(row.registrants)
    else:
        count = tx.execute(
            select(func.count())
            .select_from(lottery_registrations)
            .where(lottery_registrations.c.batch_id == batch_id)
        ).scalar_one()
    pools = json.loads(row.pools) if row.pools is not None else _planned_pools(batch)
    return PublicLottery(
        batch_id=batch_id,
        commitment=row.commitment,
        seed=row.seed,
        registrants_digest=row.registrants_digest,
        registrants=int(count),
        pools=pools,
        drawn_at=row.drawn_at,
        registration_closes_at=batch.rules.claim_closes_at,
        algorithm=row.algorithm,
        secret=row.secret,
        beacon=_beacon(row),
    )


def _beacon(row: Any) -> Beacon | None:
    if row.beacon is None:
        return None
    return Beacon(
        value=row.beacon,
        source=row.beacon_source,
        recorded_by=row.beacon_by,
        recorded_at=row.beacon_at,
        close_size=int(row.close_size),
        close_root=bytes(row.close_root),
        close_note=row.close_note,
    )


def record_beacon(
    tx: Connection,
    now: datetime,
    settings: Settings,
    actor: Actor,
    batch_id: str,
    *,
    value: str,
    source: str,
) -> PublicLottery:
    """quan-lottery-v2: a second person enters the public value after registration closes
    (:func:`quan.services.issuance.lottery_v2.record_beacon`); the close is fixed with it."""
    batch = _lottery_batch(tx, batch_id)
    if batch.status is not BatchStatus.OPEN:
        raise QuanError(BATCH_NOT_OPEN, batch_status=batch.status.value)
    row = ensure_lottery(tx, now, settings, batch)
    if row.drawn_at is not None:
        raise QuanError(ALREADY_DRAWN, drawn_at=row.drawn_at.isoformat())
    if now < batch.rules.claim_closes_at:
        raise QuanError(REGISTRATION_STILL_OPEN, closes_at=batch.rules.claim_closes_at.isoformat())
    lottery_v2.record_beacon(tx, now, actor, batch_id, row, value=value, source=source)
    return public_lottery(tx, now, settings, batch_id)


def public_record(db: Database, clock: Clock, settings: Settings, batch_id: str) -> PublicLottery:
    """The public record, read in its own transaction. Only the first look at a lottery writes
    (it creates the commitment of a batch made before commitments came with the batch)."""
    with db.read() as tx:
        exists = has_lottery(tx, batch_id)
    with db.read() if exists else db.write() as tx:
        return public_lottery(tx, clock.now(), settings, batch_id)


def _planned_pools(batch: Batch) -> list[dict[str, Any]]:
    sizes = batch.rules.pool_sizes()
    planned = [
        {"name": q.group.value, "reserved": True, "base_k": q.quantity, "k": q.quantity}
        for q in batch.rules.quotas
    ]
    planned.append(
        {"name": GENERAL, "reserved": False, "base_k": sizes[GENERAL], "k": sizes[GENERAL]}
    )
    return planned


def registrants_page(
    tx: Connection, batch_id: str, *, limit: int, cursor: str | None
) -> tuple[list[tuple[str, int, tuple[str, ...]]], str | None]:
    """The public registrant list, ordered by pseudonym: ``(pseudonym, tickets, groups)``."""
    _lottery_batch(tx, batch_id)
    r = lottery_registrations.c
    query = select(r.pseudonym, r.tickets, r.groups).where(r.batch_id == batch_id)
    if cursor:
        query = query.where(r.pseudonym > cursor)
    rows = tx.execute(query.order_by(r.pseudonym).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [(p, int(t), tuple(g for g in groups.split(",") if g)) for p, t, groups in rows]
    return items, (items[-1][0] if more and items else None)
