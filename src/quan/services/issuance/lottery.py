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

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Text, and_, bindparam, func, select, update

from quan.clock import Clock
from quan.config import Settings
from quan.domain import lottery as algo
from quan.domain import lottery_v2 as v2
from quan.domain.auth import SYSTEM, Actor
from quan.domain.batches import GENERAL, MAX_TICKETS, Allocation, BatchStatus, tickets_for
from quan.domain.blacklist import refusal
from quan.domain.canonical import canonical_json
from quan.domain.citizens import local_date, priority_groups
from quan.domain.claims import BATCH_NOT_OPEN, WRONG_ALLOCATION, Channel
from quan.domain.eligibility import evaluate
from quan.domain.errors import NOT_FOUND, Kind, QuanError, define
from quan.services.issuance import lottery_v2
from quan.services.issuance.batches import Batch, get_batch
from quan.services.issuance.claims import citizen_actor
from quan.services.issuance.issuing import Issuance, IssueCount, Recipient, issue_counted
from quan.services.issuance.lottery_commitment import commit, seed_key
from quan.services.people import blacklist, pii
from quan.services.people.citizens import profile_of
from quan.store.bulk import copy_rows
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


def plan_pools(
    batch_pools: Sequence[dict[str, Any]],
    registrants: Sequence[tuple[str, int, tuple[str, ...]]],
    seed: bytes,
) -> tuple[list[dict[str, Any]], algo.DrawResult]:
    """Draw with reserved pools, release their unfilled places to general and draw again.

    ``batch_pools``: the planned pools (name, reserved, base_k).
    """
    members: dict[str, set[str]] = {p["name"]: set() for p in batch_pools if p["reserved"]}
    for name, _, groups in registrants:
        for g in groups:
            if g in members:
                members[g].add(name)
    entries = [algo.Registrant(p, t) for p, t, _ in registrants]
    return plan_pools_streamed(batch_pools, lambda: entries, len(entries), members, seed)


def plan_pools_streamed(
    batch_pools: Sequence[dict[str, Any]],
    registrants: Callable[[], Iterable[algo.Registrant]],
    count: int,
    members: dict[str, set[str]],
    seed: bytes,
) -> tuple[list[dict[str, Any]], algo.DrawResult]:
    """:func:`plan_pools` over a stream of ``count`` registrants (see
    :func:`quan.domain.lottery.draw_streamed`); ``members``: each reserved pool's pseudonyms."""

    def scan(keep: int, bound: bytes, wanted: frozenset[str]) -> algo.Scores:
        return algo.scan_scores(seed, registrants(), keep, bound, wanted)

    return plan_pools_scored(batch_pools, count, members, seed, scan)


def plan_pools_scored(
    batch_pools: Sequence[dict[str, Any]],
    count: int,
    members: dict[str, set[str]],
    seed: bytes,
    scorer: algo.Scorer,
) -> tuple[list[dict[str, Any]], algo.DrawResult]:
    """:func:`plan_pools` over scores from ``scorer`` (see
    :func:`quan.domain.lottery.draw_scored`); ``members``: each reserved pool's pseudonyms.

    Reserved pools are drawn first and do not depend on the general k: the draw is made with
    the general pool's final k, found from what the reserved pools leave unfilled; a second
    draw happens only when a registrant in several reserved pools makes that count wrong.
    """
    reserved = [
        algo.Pool(p["name"], int(p["base_k"]), frozenset(members.get(p["name"], ())))
        for p in batch_pools
        if p["reserved"]
    ]
    base_general = next(int(p["base_k"]) for p in batch_pools if not p["reserved"])
    unfilled = sum(max(0, pool.k - len(pool.members or ())) for pool in reserved)
    result = algo.draw_scored(
        seed, count, [*reserved, algo.Pool(GENERAL, base_general + unfilled)], scorer
    )
    released = sum(r.unfilled for r in result.pools if r.name != GENERAL)
    if released != unfilled:
        # A registrant in several reserved pools is drawn in the first only: count again.
        result = algo.draw_scored(
            seed, count, [*reserved, algo.Pool(GENERAL, base_general + released)], scorer
        )
        released = sum(r.unfilled for r in result.pools if r.name != GENERAL)
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


# Registrants read per round trip of the Python draw's streaming pass.
READ_PAGE = 100_000


@dataclass(slots=True)
class _Drawn:
    """What the draw computed: the registrant count and digest, the published pools, and the
    winners' citizens (``citizen_of``; may hold more than the winners)."""

    count: int
    digest: str
    published: list[dict[str, Any]]
    citizen_of: dict[str, str]


def draw(
    tx: Connection, now: datetime, settings: Settings, actor: Actor, batch_id: str
) -> DrawOutcome:
    """Reveal the seed and draw (once: a conditional UPDATE decides between racing draws).

    PostgreSQL computes the scores (:func:`_draw_in_postgres`); elsewhere one streaming pass in
    Python does (:func:`_draw_in_python`). Only the winners are written (``lottery_winners``, a
    statement per pool); a registrant without a row there has lost. The winners' vouchers are
    issued set-based (:func:`_issue`).
    """
    batch = _lottery_batch(tx, batch_id, for_update=True)
    if batch.status is not BatchStatus.OPEN:
        raise QuanError(BATCH_NOT_OPEN, batch_status=batch.status.value)
    row = ensure_lottery(tx, now, settings, batch)
    if row.drawn_at is not None:
        raise QuanError(ALREADY_DRAWN, drawn_at=row.drawn_at.isoformat())
    if now < batch.rules.claim_closes_at:
        raise QuanError(REGISTRATION_STILL_OPEN, closes_at=batch.rules.claim_closes_at.isoformat())
    sealed = bytes.fromhex(pii.decrypt(seed_key(settings), row.seed_sealed, batch_id))
    if algo.commitment(sealed) != row.commitment:
        raise RuntimeError("the sealed seed does not match the published commitment")
    v2_secret = sealed if row.algorithm == v2.ALGORITHM else None
    # v2: the secret mixed with the close checkpoint and the beacon (refused without a beacon).
    seed = sealed if v2_secret is None else lottery_v2.draw_seed(row, v2_secret)
    d = lottery_draws.c
    won_race = tx.execute(
        update(lottery_draws)
        .where(d.batch_id == batch_id, d.drawn_at.is_(None))
        .values(drawn_at=now, drawn_by=actor.label)
    ).rowcount
    if not won_race:
        drawn_at = tx.execute(select(d.drawn_at).where(d.batch_id == batch_id)).scalar()
        raise QuanError(ALREADY_DRAWN, drawn_at=drawn_at.isoformat() if drawn_at else "")
    planned = _planned_pools(batch)
    drawn = _draw_in_postgres(tx, batch_id, seed, planned) if _on_postgres(tx) else None
    if drawn is None:
        drawn = _draw_in_python(tx, batch_id, seed, planned)
    published = drawn.published
    _record_winners(tx, batch_id, published)
    winners = [p for pool in published for p in pool["winners"]]
    citizen_of = drawn.citizen_of
    missing = [p for p in winners if p not in citizen_of]
    if missing:
        citizen_of.update(_citizens(tx, batch_id, missing))
    recipients = _recipients(published, citizen_of, batch)
    report = _issue(tx, now, actor, batch_id, recipients)
    tx.execute(
        update(lottery_draws)
        .where(d.batch_id == batch_id)
        .values(
            seed=seed.hex(),
            secret=None if v2_secret is None else v2_secret.hex(),
            registrants_digest=drawn.digest,
            registrants=drawn.count,
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
            **({} if v2_secret is None else {"secret": v2_secret.hex(), "algorithm": v2.ALGORITHM}),
            "commitment": row.commitment,
            "registrants_digest": drawn.digest,
            "registrants": drawn.count,
            "winners": len(winners),
            "issued": report.issued,
        },
    )
    lottery = public_lottery(tx, now, settings, batch_id)
    return DrawOutcome(lottery, report.issued, report.unserved + report.at_limit)


def _issue(
    tx: Connection, now: datetime, actor: Actor, batch_id: str, recipients: Sequence[Recipient]
) -> IssueCount:
    """The winners' vouchers (none of them holds one of this batch yet). PostgreSQL: one
    statement per pool they take from (:meth:`Issuance.assign_selected`, the ids sent as one
    text), so the batch's vouchers are joined to their holders once rather than per slice of
    winners; elsewhere slice by slice (:func:`issuing.issue_counted`)."""
    if not _on_postgres(tx):
        return issue_counted(
            tx, now, actor, batch_id, recipients, channel=Channel.LOTTERY, holding_none=True
        )
    by_pool: dict[str, list[str]] = {}
    for recipient in recipients:
        by_pool.setdefault(recipient.pool, []).append(recipient.citizen_id)
    issuance = Issuance.start(tx, now, actor, batch_id, Channel.LOTTERY)
    issued = unserved = 0
    for i, (pool, ids) in enumerate(by_pool.items()):
        joined = ",".join(ids)
        if joined.count(",") != len(ids) - 1:  # ids are generated; a comma would split one
            raise RuntimeError("a citizen id contains a comma")
        chosen = select(
            func.unnest(func.string_to_array(bindparam(f"ids_{i}", joined, Text), ","))
        )
        targeted, given = issuance.assign_selected(pool, chosen)
        issued += given
        unserved += targeted - given
    return IssueCount(issued=issued, at_limit=0, unserved=unserved)


def _on_postgres(tx: Connection) -> bool:
    return tx.dialect.name == "postgresql"


def _draw_in_python(
    tx: Connection, batch_id: str, seed: bytes, planned: list[dict[str, Any]]
) -> _Drawn:
    """One streaming pass over the registrants in pseudonym order computes the registrants
    digest and every score (:func:`quan.domain.lottery.draw_streamed`)."""
    r = lottery_registrations.c
    count = int(
        tx.execute(
            select(func.count()).select_from(lottery_registrations).where(r.batch_id == batch_id)
        ).scalar_one()
    )
    members = _members(tx, batch_id, {p["name"] for p in planned if p["reserved"]})
    digests: list[str] = []

    def stream() -> Iterator[algo.Registrant]:
        """The registrants in pseudonym order; the first pass also hashes the digest lines."""
        digest = hashlib.sha256() if not digests else None
        pseudonym = r.pseudonym.collate("C") if _on_postgres(tx) else r.pseudonym
        query = (
            select(r.pseudonym, r.tickets)
            .where(r.batch_id == batch_id)
            .order_by(pseudonym)
            .execution_options(stream_results=True, yield_per=READ_PAGE)
        )
        for page in tx.execute(query).partitions():
            if digest is not None:
                digest.update("".join([f"{p},{t}\n" for p, t in page]).encode("ascii"))
            yield from cast("Sequence[algo.Registrant]", page)  # rows unpack like them
        if digest is not None:
            digests.append(digest.hexdigest())

    published, _ = plan_pools_streamed(planned, stream, count, members, seed)
    return _Drawn(count, digests[0], published, {})


def _members(tx: Connection, batch_id: str, reserved: set[str]) -> dict[str, set[str]]:
    """Each reserved pool's registrants (pseudonyms), from the groups noted at registration."""
    members: dict[str, set[str]] = {name: set() for name in reserved}
    if not reserved:
        return members
    r = lottery_registrations.c
    rows = tx.execute(
        select(r.pseudonym, r.groups)
        .where(r.batch_id == batch_id, r.groups != "")
        .execution_options(stream_results=True, yield_per=READ_PAGE)
    )
    for pseudonym, groups in rows:
        for g in groups.split(","):
            if g in members:
                members[g].add(pseudonym)
    return members


def _citizens(tx: Connection, batch_id: str, names: list[str]) -> dict[str, str]:
    """The citizens of the given registrants (pseudonyms), a slice of names per statement."""
    r = lottery_registrations.c
    found: dict[str, str] = {}
    for start in range(0, len(names), 500):  # SQLite: bound the IN list's parameters
        part = names[start : start + 500]
        rows = tx.execute(
            select(r.pseudonym, r.citizen_id).where(r.batch_id == batch_id, r.pseudonym.in_(part))
        )
        found.update((p, c) for p, c in rows)
    return found


# PostgreSQL scores every registrant in SQL, in parallel workers: score = the least of the
# tickets' SHA-256, one term per ticket up to MAX_TICKETS (LEAST skips the NULL terms of tickets
# a registrant does not hold). A registrant with tickets outside 1..MAX_TICKETS gets the empty
# score, so it sorts first and is always read back: the draw then falls back to Python.
_TICKET_HASH = "sha256(%(seed)s || convert_to(pseudonym, 'UTF8') || decode('{j:08x}', 'hex'))"
_SCORE = (
    "CASE WHEN tickets = 1 THEN "
    + _TICKET_HASH.format(j=0)
    + f" WHEN tickets BETWEEN 2 AND {MAX_TICKETS} THEN LEAST("
    + ", ".join(
        _TICKET_HASH.format(j=0)
        if j == 0
        else f"CASE WHEN tickets > {j} THEN " + _TICKET_HASH.format(j=j) + " END"
        for j in range(MAX_TICKETS)
    )
    + ") ELSE ''::bytea END"
)
# Built from constants only (the values are bound parameters).
_MEMBERS_PG = (
    f"SELECT pseudonym, citizen_id, tickets, groups, {_SCORE} AS score"  # noqa: S608
    " FROM lottery_registrations WHERE batch_id = %(batch_id)s AND groups <> ''"
)
_BEST_PG = (
    f"SELECT pseudonym, citizen_id, tickets, {_SCORE} AS score"  # noqa: S608
    " FROM lottery_registrations WHERE batch_id = %(batch_id)s{bound}"
    ' ORDER BY score, pseudonym COLLATE "C" LIMIT %(keep)s'
)
# The registrant list in the digest's order: an index-only scan of
# ix_lottery_registrations_batch_pseudonym_c once the table is vacuumed, else a sort.
_LIST_PG = (
    "SELECT pseudonym || ',' || tickets || E'\\n' FROM lottery_registrations"
    ' WHERE batch_id = %(batch_id)s ORDER BY pseudonym COLLATE "C"'
)
_WINNERS_PG = (
    "INSERT INTO lottery_winners (batch_id, pseudonym, pool)"
    " SELECT %(batch_id)s, name, %(pool)s FROM unnest(string_to_array(%(names)s, ',')) AS name"
)


class _FallBackError(Exception):
    """The registrants hold tickets the SQL scores do not cover: draw in Python instead."""


def _draw_in_postgres(
    tx: Connection, batch_id: str, seed: bytes, planned: list[dict[str, Any]]
) -> _Drawn | None:
    """The draw on PostgreSQL, or None when it must fall back to :func:`_draw_in_python`.

    One read of the registrant list in pseudonym byte order gives the count and the digest
    (:func:`_digest_pg`); the reserved pools' members and their scores
    are read in one statement, the general pool's best ``keep`` in another (a bounded sort in
    parallel workers). Every score is the algorithm's; ``tests/integration/test_lottery.py``
    checks them against :mod:`quan.domain.lottery`.
    """
    raw: Any = tx.connection.driver_connection
    count, digest = _digest_pg(raw, batch_id)
    reserved = {p["name"] for p in planned if p["reserved"]}
    members: dict[str, set[str]] = {name: set() for name in reserved}
    member_keys: dict[str, bytes] = {}
    citizen_of: dict[str, str] = {}
    params: dict[str, Any] = {"batch_id": batch_id, "seed": seed}
    with raw.cursor() as cursor:
        # Room for the bounded sort of up to a few million candidates in memory; this
        # transaction only.
        cursor.execute("SET LOCAL work_mem = '512MB'")
        if reserved:
            for name, citizen, tickets, groups, score in cursor.execute(_MEMBERS_PG, params):
                pools = [g for g in groups.split(",") if g in members]
                if not pools:
                    continue
                if not 1 <= tickets <= MAX_TICKETS:
                    return None
                for g in pools:
                    members[g].add(name)
                member_keys[name] = algo.score_key(bytes(score), name)
                citizen_of[name] = citizen

        def scorer(keep: int, bound: bytes, wanted: frozenset[str]) -> algo.Scores:
            keys: list[bytes] = []
            if keep > 0 and bound:
                accept_all = bound == b"\xff" * len(bound)
                query = _BEST_PG.format(bound="" if accept_all else f" AND {_SCORE} <= %(bound)s")
                # Row by row from the fetched result: a million tuples held at once would keep
                # the garbage collector busy.
                rows = cursor.execute(query, {**params, "bound": bound, "keep": keep})
                for name, citizen, tickets, score in rows:
                    if not 1 <= tickets <= MAX_TICKETS:
                        raise _FallBackError
                    keys.append(algo.score_key(bytes(score), name))
                    citizen_of[name] = citizen
            return algo.Scores(keys, {p: member_keys[p] for p in wanted if p in member_keys})

        try:
            published, _ = plan_pools_scored(planned, count, members, seed, scorer)
        except _FallBackError:
            return None
    return _Drawn(count, digest, published, citizen_of)


def _digest_pg(raw: Any, batch_id: str) -> tuple[int, str]:
    """The registrant count and digest from the list read in the digest's order, its lines made
    by the database and fetched a page at a time (never parsed in Python)."""
    digest = hashlib.sha256()
    count = 0
    with raw.cursor() as cursor:
        # Plan the named cursor for the whole list, not for its first rows (an index scan
        # fetching the table in pseudonym order would be far slower than a sort).
        cursor.execute("SET LOCAL cursor_tuple_fraction = 1")
    with raw.cursor(name="lottery_registrants") as cursor:
        cursor.execute(_LIST_PG, {"batch_id": batch_id})
        while page := cursor.fetchmany(READ_PAGE):
            text = "".join([line for (line,) in page])
            if not text.isascii() or text.count(",") != len(page):
                raise QuanError(algo.INVALID_LOTTERY_INPUT, reason="pseudonym")
            count += len(page)
            digest.update(text.encode("ascii"))
    return count, digest.hexdigest()


def _record_winners(tx: Connection, batch_id: str, published: Sequence[dict[str, Any]]) -> None:
    """One ``lottery_winners`` row per winner (PostgreSQL: one statement per pool)."""
    if not _on_postgres(tx):
        rows = [(batch_id, p, pool["name"]) for pool in published for p in pool["winners"]]
        copy_rows(tx, lottery_winners, ("batch_id", "pseudonym", "pool"), rows)
        return
    raw: Any = tx.connection.driver_connection
    with raw.cursor() as cursor:
        for pool in published:
            names = pool["winners"]
            if not names:
                continue
            # One text split by the database: binding a million-element array costs more.
            joined = ",".join(names)
            if joined.count(",") != len(names) - 1:
                raise QuanError(algo.INVALID_LOTTERY_INPUT, reason="pseudonym")
            cursor.execute(
                _WINNERS_PG, {"batch_id": batch_id, "pool": pool["name"], "names": joined}
            )


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
