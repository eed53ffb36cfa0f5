"""First-come claims, and issuing vouchers in bulk (the seam lottery and grant code call).

How a claim is made safe by the database rather than by this module:

- The vouchers of a batch exist before anyone claims (generated at opening, see
  :mod:`quan.services.batches`). A claim is one ``UPDATE vouchers SET citizen_id = … WHERE id =
  (SELECT id … WHERE status = 'unclaimed' … LIMIT 1 FOR UPDATE SKIP LOCKED) AND status =
  'unclaimed' RETURNING …``. Concurrent claims lock different rows and never queue on a shared
  counter; nothing is inserted, so no interleaving can make more vouchers than opening made.
  On SQLite, ``BEGIN IMMEDIATE`` serialises writers and the same statement simply takes the
  first free row.
- The claim writes ``claim_seq = held + 1`` where ``held`` is the citizen's count in the batch,
  refused at the limit; ``UNIQUE (batch_id, citizen_id, claim_seq)`` makes two racing claims that
  counted the same ``held`` unable to both commit. The loser's transaction is retried and then
  sees the winner's row (``ALREADY_CLAIMED`` at the limit).
- An ``Idempotency-Key`` is written on the claimed row (``UNIQUE (citizen_id, claim_key)``) in
  the same statement, so a retried request finds its voucher instead of claiming another.
- When ``SKIP LOCKED`` finds nothing, a plain read tells whether the pool is empty for good or
  its last rows are only held by claims in flight (see :func:`take`). An empty pool never
  refills (vouchers never return to the stock), so the process remembers it: once every pool
  of a batch is empty, late requests get ``SOLD_OUT`` from memory, without a database write.
- No claim posts to the ledger: opening reserved the money for every voucher.

The static facts of an open batch (rules, eligibility, validity, time zone) never change, so each
process caches them; the batch's and program's status are read in every claim transaction.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, exists, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError

from quan.clock import Clock
from quan.domain.auth import Actor, CitizenRole
from quan.domain.batches import (
    CLAIM_WINDOW_OVER,
    GENERAL,
    PROGRAM_NOT_ACTIVE,
    Allocation,
    BatchRules,
    BatchStatus,
)
from quan.domain.blacklist import refusal
from quan.domain.canonical import canonical_json
from quan.domain.citizens import CitizenProfile, IncomeGroup, local_date, priority_groups
from quan.domain.claims import (
    ALREADY_CLAIMED,
    BATCH_NOT_OPEN,
    SOLD_OUT,
    WRONG_ALLOCATION,
    Channel,
)
from quan.domain.eligibility import Rule, evaluate
from quan.domain.errors import NOT_FOUND, QuanError
from quan.domain.programs import ProgramStatus
from quan.domain.voucher_types import Validity, parse_voucher_type
from quan.services import blacklist
from quan.services.batches import get_batch
from quan.services.idempotency import INVALID_KEY, KEY_REUSED
from quan.store.citizen_tables import blacklist_entries, citizens
from quan.store.db import Database
from quan.store.events import record_event
from quan.store.tables import events, programs
from quan.store.voucher_tables import batches, status_is, voucher_types, vouchers


@dataclass(frozen=True, slots=True)
class ClaimFacts:
    """What a claim needs to know about a batch that cannot change once it is open."""

    batch_id: str
    program_id: str
    voucher_type_id: str
    status_when_read: BatchStatus
    rules: BatchRules
    eligibility: Rule
    validity: Validity
    timezone: str

    @property
    def pools(self) -> tuple[str, ...]:
        return tuple(self.rules.pool_sizes())


def load_facts(tx: Connection, batch_id: str) -> ClaimFacts:
    batch = get_batch(tx, batch_id)
    row = tx.execute(
        select(voucher_types.c.definition, programs.c.timezone)
        .select_from(voucher_types.join(programs, programs.c.id == voucher_types.c.program_id))
        .where(voucher_types.c.id == batch.voucher_type_id)
    ).one()
    return ClaimFacts(
        batch_id=batch.id,
        program_id=batch.program_id,
        voucher_type_id=batch.voucher_type_id,
        status_when_read=batch.status,
        rules=batch.rules,
        eligibility=batch.eligibility,
        validity=parse_voucher_type(json.loads(row.definition)).validity,
        timezone=row.timezone,
    )


class ClaimCache:
    """Per-process memory of open batches' facts and of pools seen empty.

    Both are caches of facts that cannot revert: an open batch's rules are fixed, and an empty
    pool stays empty. So a cached answer is never wrong, only possibly late (another process may
    learn of a sell-out on its own first miss). Redis could share the flag across processes later.
    """

    def __init__(self) -> None:
        self._facts: dict[str, ClaimFacts] = {}
        self._empty: dict[str, frozenset[str]] = {}
        self._lock = threading.Lock()

    def facts(self, db: Database, batch_id: str) -> ClaimFacts:
        cached = self._facts.get(batch_id)
        if cached is not None:
            return cached
        with db.read() as tx:
            facts = load_facts(tx, batch_id)
        if facts.status_when_read is not BatchStatus.DRAFT:
            self._facts[batch_id] = facts
        return facts

    def is_empty(self, batch_id: str, pool: str) -> bool:
        return pool in self._empty.get(batch_id, frozenset())

    def mark_empty(self, batch_id: str, pool: str) -> None:
        with self._lock:
            self._empty[batch_id] = self._empty.get(batch_id, frozenset()) | {pool}

    def sold_out(self, batch_id: str) -> bool:
        """Every pool of a known batch has been seen empty."""
        facts = self._facts.get(batch_id)
        return facts is not None and all(self.is_empty(batch_id, p) for p in facts.pools)


DEFAULT_CACHE = ClaimCache()


@dataclass(frozen=True, slots=True)
class IssuedVoucher:
    """A voucher as its holder received it."""

    id: str
    code: str
    program_id: str
    batch_id: str
    voucher_type_id: str
    pool: str
    status: str
    citizen_id: str
    claim_seq: int
    channel: str
    claimed_at: datetime
    valid_from: datetime
    valid_until: datetime


def issued_from_row(row: Any) -> IssuedVoucher:
    m = row._mapping
    return IssuedVoucher(
        id=m["id"],
        code=m["code"],
        program_id=m["program_id"],
        batch_id=m["batch_id"],
        voucher_type_id=m["voucher_type_id"],
        pool=m["pool"],
        status=m["status"],
        citizen_id=m["citizen_id"],
        claim_seq=int(m["claim_seq"]),
        channel=m["channel"],
        claimed_at=m["claimed_at"],
        valid_from=m["valid_from"],
        valid_until=m["valid_until"],
    )


@dataclass(frozen=True, slots=True)
class ClaimOutcome:
    voucher: IssuedVoucher
    replayed: bool  # an earlier request with the same Idempotency-Key made this claim


def citizen_actor(citizen_id: str) -> Actor:
    return Actor(kind="citizen", id=citizen_id, role=CitizenRole.CITIZEN.value)


def check_key(key: str) -> None:
    if not (1 <= len(key) <= 255) or not all(33 <= ord(c) <= 126 for c in key):
        raise QuanError(INVALID_KEY)


# --- the use case -----------------------------------------------------------------------------


def claim_first_come(
    db: Database,
    clock: Clock,
    citizen_id: str,
    batch_id: str,
    *,
    key: str | None = None,
    channel: Channel = Channel.APP,
    cache: ClaimCache = DEFAULT_CACHE,
) -> ClaimOutcome:
    """Claim one voucher of a first-come batch for a citizen, in its own transaction.

    Refusals that need no database come first: a batch of another allocation, a window that is
    over, a batch this process has seen sold out. A request with a key looks for its earlier
    answer first (a read), so a retry after the sell-out still gets its voucher back.
    """
    if key is not None:
        check_key(key)
    facts = cache.facts(db, batch_id)
    if facts.rules.allocation is not Allocation.FCFS:
        raise QuanError(WRONG_ALLOCATION, allocation=facts.rules.allocation.value)
    if key is not None:
        with db.read() as tx:
            replay = find_replay(tx, citizen_id, key, batch_id, channel)
        if replay is not None:
            return ClaimOutcome(replay, replayed=True)
    now = clock.now()
    if now >= facts.rules.claim_closes_at:
        raise QuanError(
            CLAIM_WINDOW_OVER, claim_closes_at=facts.rules.claim_closes_at.isoformat()
        )
    if cache.sold_out(batch_id):
        raise QuanError(SOLD_OUT)
    # Each lost unique-key race means a concurrent claim of this citizen committed (a claim_seq
    # or the key): after at most per_citizen_limit of them, an attempt answers ALREADY_CLAIMED
    # or the replay without writing.
    attempts = facts.rules.per_citizen_limit + 1
    for attempt in range(attempts):
        try:
            with db.write() as tx:
                return claim(tx, now, citizen_id, facts, key=key, channel=channel, cache=cache)
        except IntegrityError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def find_replay(
    tx: Connection, citizen_id: str, key: str, batch_id: str, channel: Channel
) -> IssuedVoucher | None:
    """The voucher an earlier request with this key claimed; another request's key is 422."""
    row = tx.execute(
        select(vouchers).where(vouchers.c.citizen_id == citizen_id, vouchers.c.claim_key == key)
    ).first()
    if row is None:
        return None
    if row.batch_id != batch_id or row.channel != channel.value:
        raise QuanError(KEY_REUSED)
    return issued_from_row(row)


def claim(
    tx: Connection,
    now: datetime,
    citizen_id: str,
    facts: ClaimFacts,
    *,
    key: str | None = None,
    channel: Channel = Channel.APP,
    cache: ClaimCache = DEFAULT_CACHE,
) -> ClaimOutcome:
    """Judge and make one first-come claim inside ``tx`` (see the module docstring)."""
    who = _claimant(tx, facts, citizen_id, now, key)
    if who.replay_id is not None:
        replay = find_replay(tx, citizen_id, key or "", facts.batch_id, channel)
        assert replay is not None
        return ClaimOutcome(replay, replayed=True)
    if who.batch_status != BatchStatus.OPEN.value:
        raise QuanError(BATCH_NOT_OPEN, batch_status=who.batch_status)
    if who.program_status != ProgramStatus.ACTIVE.value:
        raise QuanError(PROGRAM_NOT_ACTIVE, program_status=who.program_status)
    profile = _profile(who)
    today = local_date(now, facts.timezone)
    pools = facts.rules.pools_for(priority_groups(profile, today), now)
    if who.blocked:
        entry = blacklist.active_block(tx, "citizen", citizen_id, now)
        assert entry is not None
        raise refusal(entry)
    failure = evaluate(facts.eligibility, profile, today)
    if failure is not None:
        raise failure.error()
    limit = facts.rules.per_citizen_limit
    if who.held >= limit:
        raise QuanError(ALREADY_CLAIMED, per_citizen_limit=limit)
    valid_from, valid_until = facts.validity.window_for(now, facts.timezone)
    claimed = {
        "status": "active",
        "citizen_id": citizen_id,
        "claim_seq": who.held + 1,
        "claim_key": key,
        "channel": channel.value,
        "claimed_at": now,
        "valid_from": valid_from,
        "valid_until": valid_until,
        "status_changed_at": now,
    }
    for pool in pools:
        if cache.is_empty(facts.batch_id, pool):
            continue
        taken = take(tx, facts.batch_id, pool, claimed)
        if taken.row is None:
            if taken.pool_empty:
                cache.mark_empty(facts.batch_id, pool)
            continue
        voucher = issued_from_row(taken.row)
        record_event(
            tx,
            type="voucher.claimed",
            actor=citizen_actor(citizen_id),
            subject_type="voucher",
            subject_id=voucher.id,
            program_id=facts.program_id,
            at=now,
            payload=_claim_payload(voucher),
        )
        return ClaimOutcome(voucher, replayed=False)
    raise QuanError(SOLD_OUT)


def _claim_payload(voucher: IssuedVoucher) -> dict[str, Any]:
    # Ids and codes of the batch only: the holder is the event's actor, by id.
    return {
        "batch_id": voucher.batch_id,
        "pool": voucher.pool,
        "claim_seq": voucher.claim_seq,
        "channel": voucher.channel,
        "valid_until": voucher.valid_until.isoformat(),
    }


def _claimant(
    tx: Connection, facts: ClaimFacts, citizen_id: str, now: datetime, key: str | None
) -> Row[Any]:
    """Everything the claim judges, in one round trip: the batch's and program's status, the
    citizen's attributes, how many vouchers of the batch they hold, whether a blacklist entry
    bars them, and the voucher an earlier request with the same key claimed."""
    v, bl = vouchers.c, blacklist_entries.c
    held = (
        select(func.count())
        .select_from(vouchers)
        .where(v.batch_id == facts.batch_id, v.citizen_id == citizen_id)
        .scalar_subquery()
    )
    blocked = exists().where(
        bl.subject_type == "citizen", bl.subject_id == citizen_id, blacklist.in_force_at(now)
    )
    replay: Any = literal(None)
    if key is not None:
        replay = (
            select(v.id).where(v.citizen_id == citizen_id, v.claim_key == key).scalar_subquery()
        )
    row = tx.execute(
        select(
            batches.c.status.label("batch_status"),
            programs.c.status.label("program_status"),
            citizens.c.birth_date,
            citizens.c.region_code,
            citizens.c.income_group,
            citizens.c.disabled,
            citizens.c.disability_grade,
            held.label("held"),
            blocked.label("blocked"),
            replay.label("replay_id"),
        )
        .select_from(
            batches.join(programs, programs.c.id == batches.c.program_id).join(
                citizens, citizens.c.id == citizen_id
            )
        )
        .where(batches.c.id == facts.batch_id)
    ).first()
    if row is None:
        raise QuanError(NOT_FOUND, what=f"citizen {citizen_id}")
    return row


def _profile(row: Row[Any]) -> CitizenProfile:
    return CitizenProfile(
        birth_date=row.birth_date,
        region_code=row.region_code,
        income_group=IncomeGroup(row.income_group),
        disabled=bool(row.disabled),
        disability_grade=row.disability_grade,
    )


# Pauses before looking again when the last free rows of a pool are held by claims in flight.
IN_FLIGHT_PAUSES = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1)


@dataclass(frozen=True, slots=True)
class Taken:
    row: Row[Any] | None
    pool_empty: bool  # no unclaimed row left at all: the pool will never give again


def take(tx: Connection, batch_id: str, pool: str, claimed: dict[str, Any]) -> Taken:
    """Give the first free voucher of a pool the values in ``claimed``.

    ``SKIP LOCKED`` lets concurrent claims pass each other instead of queueing. When it finds
    nothing, a plain read tells whether the pool is empty for good or its last rows are held by
    claims in flight (which may still roll back, e.g. a citizen racing their own limit); in the
    latter case it looks again after short pauses rather than wait on the rows' locks, which
    could deadlock with other waiters. On SQLite writers are serialised, so the first look is
    always the answer.
    """
    for pause in (0.0, *IN_FLIGHT_PAUSES):
        if pause:
            time.sleep(pause)
        row = tx.execute(_take_statement(batch_id, pool, claimed)).first()
        if row is not None:
            return Taken(row, pool_empty=False)
        if _nothing_left(tx, batch_id, pool):
            return Taken(None, pool_empty=True)
    return Taken(None, pool_empty=False)


def _nothing_left(tx: Connection, batch_id: str, pool: str) -> bool:
    v = vouchers.c
    left = tx.execute(
        select(v.id).where(v.batch_id == batch_id, v.pool == pool, status_is("unclaimed")).limit(1)
    ).first()
    return left is None


def _take_statement(batch_id: str, pool: str, claimed: dict[str, Any]) -> Any:
    v = vouchers.c
    free = (
        select(v.id)
        .where(v.batch_id == batch_id, v.pool == pool, status_is("unclaimed"))
        .order_by(v.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    return (
        update(vouchers)
        .where(v.id == free, status_is("unclaimed"))
        .values(**claimed)
        .returning(*vouchers.c)
    )


# --- bulk issuance: the seam for lottery winners and grants -----------------------------------


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who receives one voucher, and from which pool (a lottery winner's pool, say)."""

    citizen_id: str
    pool: str = GENERAL


@dataclass(frozen=True, slots=True)
class IssueReport:
    issued: list[IssuedVoucher]
    at_limit: list[str]  # citizen ids already holding ``per_citizen_limit`` vouchers
    unserved: list[Recipient]  # the pool ran out before their turn


def issue_many(
    tx: Connection,
    now: datetime,
    actor: Actor,
    batch_id: str,
    recipients: Sequence[Recipient],
    *,
    channel: Channel,
) -> IssueReport:
    """Give one voucher each to ``recipients``, in bulk, inside the caller's transaction.

    The caller has already decided who receives (a draw, a segment); this enforces what the
    batch guarantees whatever the caller does: the batch is open, a pool gives at most its
    vouchers, a citizen holds at most ``per_citizen_limit``. Vouchers are taken in rows
    (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, like single claims), written with one
    ``executemany``, and each issuance writes a ``voucher.issued`` event.
    """
    batch = get_batch(tx, batch_id)
    if batch.status is not BatchStatus.OPEN:
        raise QuanError(BATCH_NOT_OPEN, batch_status=batch.status.value)
    facts = load_facts(tx, batch_id)
    held = _held(tx, batch_id, sorted({r.citizen_id for r in recipients}))
    limit = batch.rules.per_citizen_limit
    report = IssueReport([], [], [])
    by_pool: dict[str, list[tuple[Recipient, int]]] = {}
    for recipient in recipients:
        seq = held.get(recipient.citizen_id, 0) + 1
        if seq > limit:
            report.at_limit.append(recipient.citizen_id)
            continue
        held[recipient.citizen_id] = seq
        by_pool.setdefault(recipient.pool, []).append((recipient, seq))
    valid_from, valid_until = facts.validity.window_for(now, facts.timezone)
    for pool, wanted in by_pool.items():
        ids = _free_ids(tx, batch_id, pool, len(wanted))
        report.unserved.extend(r for r, _ in wanted[len(ids) :])
        if not ids:
            continue
        rows = [
            {
                "b_id": voucher_id,
                "b_citizen_id": recipient.citizen_id,
                "b_claim_seq": seq,
                "b_channel": channel.value,
                "b_now": now,
                "b_valid_from": valid_from,
                "b_valid_until": valid_until,
            }
            for voucher_id, (recipient, seq) in zip(ids, wanted, strict=False)
        ]
        tx.execute(_assign_statement(), rows)
        issued = tx.execute(select(vouchers).where(vouchers.c.id.in_(ids))).all()
        report.issued.extend(issued_from_row(r) for r in issued)
    if report.issued:
        tx.execute(insert(events), _issued_events(actor, now, report.issued))
    return report


def _held(tx: Connection, batch_id: str, citizen_ids: list[str]) -> dict[str, int]:
    held: dict[str, int] = {}
    for start in range(0, len(citizen_ids), 1000):
        rows = tx.execute(
            select(vouchers.c.citizen_id, func.count())
            .where(
                vouchers.c.batch_id == batch_id,
                vouchers.c.citizen_id.in_(citizen_ids[start : start + 1000]),
            )
            .group_by(vouchers.c.citizen_id)
        )
        held.update({citizen_id: int(n) for citizen_id, n in rows})
    return held


def _free_ids(tx: Connection, batch_id: str, pool: str, count: int) -> list[str]:
    v = vouchers.c
    return list(
        tx.execute(
            select(v.id)
            .where(v.batch_id == batch_id, v.pool == pool, status_is("unclaimed"))
            .order_by(v.id)
            .limit(count)
            .with_for_update(skip_locked=True)
        ).scalars()
    )


def _assign_statement() -> Any:
    v = vouchers.c
    return (
        update(vouchers)
        .where(v.id == bindparam("b_id"), status_is("unclaimed"))
        .values(
            status="active",
            citizen_id=bindparam("b_citizen_id"),
            claim_seq=bindparam("b_claim_seq"),
            channel=bindparam("b_channel"),
            claimed_at=bindparam("b_now"),
            valid_from=bindparam("b_valid_from"),
            valid_until=bindparam("b_valid_until"),
            status_changed_at=bindparam("b_now"),
        )
    )


def _issued_events(
    actor: Actor, now: datetime, issued: Sequence[IssuedVoucher]
) -> list[dict[str, Any]]:
    """One ``voucher.issued`` event row per voucher (what record_event writes, in bulk)."""
    return [
        {
            "type": "voucher.issued",
            "actor": actor.label,
            "subject_type": "voucher",
            "subject_id": voucher.id,
            "program_id": voucher.program_id,
            "payload": canonical_json(
                {**_claim_payload(voucher), "citizen": citizen_actor(voucher.citizen_id).label}
            ),
            "occurred_at": now,
        }
        for voucher in issued
    ]
