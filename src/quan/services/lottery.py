"""Lottery batches (摇号): registration, commitment, the draw, and the public record.

* The lottery record (commitment and sealed seed) is created at the first touch of a lottery
  batch's lottery (its public page, a registration, the draw) — at the latest before the first
  registration, so the commitment is public before anyone registers. The seed is 32 random
  bytes, sealed with AES-GCM under a key derived from ``Settings.pii_key``; it is never served
  before the draw.
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
  reveals the seed, issues vouchers to winners through :mod:`quan.services.issuing`, and marks
  every registration ``won`` (with its pool) or ``lost``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from quan.config import Settings
from quan.domain import lottery as algo
from quan.domain.auth import SYSTEM, Actor
from quan.domain.batches import GENERAL, Allocation, BatchStatus
from quan.domain.blacklist import refusal
from quan.domain.canonical import canonical_json
from quan.domain.citizens import CitizenProfile, IncomeGroup, local_date, priority_groups
from quan.domain.claims import BATCH_NOT_OPEN, WRONG_ALLOCATION, Channel
from quan.domain.eligibility import evaluate
from quan.domain.errors import NOT_FOUND, Kind, QuanError, define
from quan.services import blacklist, pii
from quan.services.batches import Batch, get_batch
from quan.services.claims import citizen_actor
from quan.services.grants import issue_in_chunks
from quan.services.issuing import Recipient
from quan.store.citizen_tables import citizens
from quan.store.events import record_event
from quan.store.ids import new_id
from quan.store.lottery_tables import lottery_draws, lottery_registrations
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

TICKETS = 1
_SEED_PURPOSE = "lottery/seed"


def pseudonym_key(settings: Settings, program_id: str) -> bytes:
    """The per-program pseudonym key: HKDF of ``pii_key`` (never published)."""
    return pii.derive_key(settings.secret_bytes("pii_key"), f"lottery/pseudonym/{program_id}")


def _seed_key(settings: Settings) -> bytes:
    return pii.derive_key(settings.secret_bytes("pii_key"), _SEED_PURPOSE)


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
    """The batch's lottery record, created (commitment + sealed seed) at the first touch."""
    row = tx.execute(select(lottery_draws).where(lottery_draws.c.batch_id == batch.id)).first()
    if row is not None:
        return row
    seed = secrets.token_bytes(algo.SEED_BYTES)
    values = {
        "batch_id": batch.id,
        "program_id": batch.program_id,
        "commitment": algo.commitment(seed),
        "seed_sealed": pii.encrypt(_seed_key(settings), seed.hex(), batch.id),
        "created_at": now,
    }
    dialect = tx.dialect.name
    ins = pg_insert(lottery_draws) if dialect == "postgresql" else sqlite_insert(lottery_draws)
    result = tx.execute(ins.values(**values).on_conflict_do_nothing())
    if result.rowcount:
        record_event(
            tx,
            type="lottery.committed",
            actor=SYSTEM,
            subject_type="batch",
            subject_id=batch.id,
            program_id=batch.program_id,
            at=now,
            payload={"commitment": values["commitment"], "algorithm": algo.ALGORITHM},
        )
    return tx.execute(select(lottery_draws).where(lottery_draws.c.batch_id == batch.id)).one()


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


def _registration(row: Any, *, created: bool = False) -> Registration:
    m = row._mapping
    return Registration(
        id=m["id"],
        batch_id=m["batch_id"],
        pseudonym=m["pseudonym"],
        tickets=int(m["tickets"]),
        groups=tuple(g for g in m["groups"].split(",") if g),
        registered_at=m["registered_at"],
        outcome=m["outcome"],
        pool=m["pool"],
        created=created,
    )


def register(
    tx: Connection, now: datetime, settings: Settings, citizen_id: str, batch_id: str
) -> Registration:
    """Enter a citizen in a lottery batch (idempotent: a second call answers the first)."""
    batch = _lottery_batch(tx, batch_id)
    r = lottery_registrations.c
    existing = tx.execute(
        select(lottery_registrations).where(r.batch_id == batch_id, r.citizen_id == citizen_id)
    ).first()
    if existing is not None:
        return _registration(existing)
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
    profile = CitizenProfile(
        birth_date=row.birth_date,
        region_code=row.region_code,
        income_group=IncomeGroup(row.income_group),
        disabled=bool(row.disabled),
        disability_grade=row.disability_grade,
    )
    failure = evaluate(batch.eligibility, profile, today)
    if failure is not None:
        raise failure.error()
    draw_row = ensure_lottery(tx, now, settings, batch)
    if draw_row.drawn_at is not None:
        raise QuanError(ALREADY_DRAWN, drawn_at=draw_row.drawn_at.isoformat())
    reserved = {q.group.value for q in rules.quotas}
    groups = sorted(g.value for g in priority_groups(profile, today) if g.value in reserved)
    values = {
        "id": new_id("lreg"),
        "batch_id": batch_id,
        "citizen_id": citizen_id,
        "pseudonym": algo.pseudonym(pseudonym_key(settings, batch.program_id), citizen_id),
        "tickets": TICKETS,
        "groups": ",".join(groups),
        "registered_at": now,
    }
    tx.execute(lottery_registrations.insert().values(**values))
    record_event(
        tx,
        type="lottery.registered",
        actor=citizen_actor(citizen_id),
        subject_type="batch",
        subject_id=batch_id,
        program_id=batch.program_id,
        at=now,
        payload={"registration_id": values["id"], "tickets": TICKETS, "groups": groups},
    )
    created = tx.execute(select(lottery_registrations).where(r.id == values["id"])).one()
    return _registration(created, created=True)


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


def public_lottery(
    tx: Connection, now: datetime, settings: Settings, batch_id: str
) -> PublicLottery:
    batch = _lottery_batch(tx, batch_id)
    row = ensure_lottery(tx, now, settings, batch)
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
        registrants=int(row.registrants) if row.registrants is not None else int(count),
        pools=pools,
        drawn_at=row.drawn_at,
        registration_closes_at=batch.rules.claim_closes_at,
    )


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


def plan_pools(
    batch_pools: Sequence[dict[str, Any]],
    registrants: Sequence[tuple[str, int, tuple[str, ...]]],
    seed: bytes,
) -> tuple[list[dict[str, Any]], algo.DrawResult]:
    """Draw with reserved pools, release their unfilled places to general and draw again.

    ``batch_pools``: the planned pools (name, reserved, base_k). Shared with the verifier.
    """
    entries = [algo.Registrant(p, t) for p, t, _ in registrants]
    members: dict[str, set[str]] = {p["name"]: set() for p in batch_pools if p["reserved"]}
    for name, _, groups in registrants:
        for g in groups:
            if g in members:
                members[g].add(name)
    reserved = [
        algo.Pool(p["name"], int(p["base_k"]), frozenset(members[p["name"]]))
        for p in batch_pools
        if p["reserved"]
    ]
    base_general = next(int(p["base_k"]) for p in batch_pools if not p["reserved"])
    first = algo.draw(seed, entries, [*reserved, algo.Pool(GENERAL, base_general)])
    released = sum(r.unfilled for r in first.pools if r.name != GENERAL)
    result = first
    if released:
        result = algo.draw(seed, entries, [*reserved, algo.Pool(GENERAL, base_general + released)])
    published = []
    for p in batch_pools:
        won = result.winners(p["name"])
        k = int(p["base_k"]) + (released if not p["reserved"] else 0)
        published.append(
            {
                "name": p["name"],
                "reserved": bool(p["reserved"]),
                "base_k": int(p["base_k"]),
                "k": k,
                "winners": sorted(won),
            }
        )
    return published, result


@dataclass(frozen=True, slots=True)
class DrawOutcome:
    lottery: PublicLottery
    issued: int
    unserved: int


def draw(
    tx: Connection, now: datetime, settings: Settings, actor: Actor, batch_id: str
) -> DrawOutcome:
    """Reveal the seed and draw (once: a conditional UPDATE decides between racing draws)."""
    batch = _lottery_batch(tx, batch_id, for_update=True)
    if batch.status is not BatchStatus.OPEN:
        raise QuanError(BATCH_NOT_OPEN, batch_status=batch.status.value)
    row = ensure_lottery(tx, now, settings, batch)
    if row.drawn_at is not None:
        raise QuanError(ALREADY_DRAWN, drawn_at=row.drawn_at.isoformat())
    if now < batch.rules.claim_closes_at:
        raise QuanError(REGISTRATION_STILL_OPEN, closes_at=batch.rules.claim_closes_at.isoformat())
    d = lottery_draws.c
    won_race = tx.execute(
        update(lottery_draws)
        .where(d.batch_id == batch_id, d.drawn_at.is_(None))
        .values(drawn_at=now, drawn_by=actor.label)
    ).rowcount
    if not won_race:
        drawn_at = tx.execute(select(d.drawn_at).where(d.batch_id == batch_id)).scalar()
        raise QuanError(ALREADY_DRAWN, drawn_at=drawn_at.isoformat() if drawn_at else "")
    seed = bytes.fromhex(pii.decrypt(_seed_key(settings), row.seed_sealed, batch_id))
    if algo.commitment(seed) != row.commitment:
        raise RuntimeError("the sealed seed does not match the published commitment")
    r = lottery_registrations.c
    rows = tx.execute(
        select(r.pseudonym, r.tickets, r.groups, r.citizen_id).where(r.batch_id == batch_id)
    ).all()
    registrants = [(p, int(t), tuple(x for x in g.split(",") if x)) for p, t, g, _ in rows]
    citizen_of = {p: c for p, _, _, c in rows}
    digest = algo.registrants_digest([algo.Registrant(p, t) for p, t, _ in registrants])
    published, _ = plan_pools(_planned_pools(batch), registrants, seed)
    recipients = _recipients(published, citizen_of, batch)
    report = issue_in_chunks(tx, now, actor, batch_id, recipients, channel=Channel.LOTTERY)
    winner_pool = {p: pool["name"] for pool in published for p in pool["winners"]}
    tx.execute(update(lottery_registrations).where(r.batch_id == batch_id).values(outcome="lost"))
    if winner_pool:
        tx.execute(
            update(lottery_registrations)
            .where(r.batch_id == bindparam("b_batch"), r.pseudonym == bindparam("b_pseudonym"))
            .values(outcome="won", pool=bindparam("b_pool")),
            [
                {"b_batch": batch_id, "b_pseudonym": p, "b_pool": pool}
                for p, pool in winner_pool.items()
            ],
        )
    tx.execute(
        update(lottery_draws)
        .where(d.batch_id == batch_id)
        .values(
            seed=seed.hex(),
            registrants_digest=digest,
            registrants=len(registrants),
            pools=canonical_json(published),
        )
    )
    record_event(
        tx,
        type="lottery.drawn",
        actor=actor,
        subject_type="batch",
        subject_id=batch_id,
        program_id=batch.program_id,
        at=now,
        payload={
            "seed": seed.hex(),
            "commitment": row.commitment,
            "registrants_digest": digest,
            "registrants": len(registrants),
            "winners": len(winner_pool),
            "issued": len(report.issued),
        },
    )
    lottery = public_lottery(tx, now, settings, batch_id)
    return DrawOutcome(lottery, len(report.issued), len(report.unserved))


def _recipients(
    published: Sequence[dict[str, Any]], citizen_of: dict[str, str], batch: Batch
) -> list[Recipient]:
    """Reserved winners take from their pool; general winners from ``general``, then from the
    places the reserved pools released (their unused vouchers)."""
    recipients: list[Recipient] = []
    spare: list[str] = []
    for pool in published:
        if pool["reserved"]:
            won = pool["winners"]
            recipients.extend(Recipient(citizen_of[p], pool["name"]) for p in won)
            spare.extend([pool["name"]] * (int(pool["base_k"]) - len(won)))
    for pool in published:
        if not pool["reserved"]:
            base = int(pool["base_k"])
            for i, p in enumerate(pool["winners"]):
                source = GENERAL if i < base else spare[i - base]
                recipients.append(Recipient(citizen_of[p], source))
    return recipients
