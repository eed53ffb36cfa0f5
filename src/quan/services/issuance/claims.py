"""First-come claims: the use case, its statements, and the voucher a claim gives.

How a claim is made safe by the database rather than by this module:

- The vouchers of a batch exist before anyone claims (generated at opening, see
  :mod:`quan.services.issuance.batches`). A claim is one ``UPDATE vouchers SET citizen_id = … WHERE
  id =
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

The static facts of an open batch never change, so each process caches them (see
:mod:`quan.services.issuance.claim_cache`); the batch's and program's status are read in every claim
transaction. Bulk issuance (lottery winners, grants) is :mod:`quan.services.issuance.issuing`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Row, select
from sqlalchemy.exc import IntegrityError

from quan import metrics, refusals
from quan.clock import Clock
from quan.domain.auth import Actor, CitizenRole
from quan.domain.batches import (
    CLAIM_WINDOW_OVER,
    PROGRAM_NOT_ACTIVE,
    Allocation,
    BatchStatus,
)
from quan.domain.blacklist import refusal
from quan.domain.citizens import local_date, priority_groups
from quan.domain.claims import (
    ALREADY_CLAIMED,
    BATCH_NOT_OPEN,
    SOLD_OUT,
    WRONG_ALLOCATION,
    Channel,
)
from quan.domain.eligibility import evaluate
from quan.domain.errors import NOT_FOUND, QuanError
from quan.domain.programs import ProgramStatus
from quan.services.idempotency import INVALID_KEY, KEY_REUSED
from quan.services.issuance.claim_cache import DEFAULT_CACHE, ClaimCache, ClaimFacts
from quan.services.issuance.claim_statements import ANY_LEFT, CLAIMANT, CLAIMANT_WITH_KEY, TAKE
from quan.services.people import blacklist
from quan.services.people.citizens import profile_of
from quan.store.citizen_tables import blacklist_entries
from quan.store.db import Database
from quan.store.events import record_event
from quan.store.voucher_tables import vouchers


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


# --- the statements of the claim path -------------------------------------------------------
# Built once with bind parameters: a claim runs them thousands of times a second, and a built
# statement is compiled once by SQLAlchemy instead of being rebuilt and re-keyed per request.
# Status values are inline literals, so both planners match the partial indexes on status.

_v, _bl = vouchers.c, blacklist_entries.c


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
    """Claim one voucher of a first-come batch for a citizen, in its own transaction, and count
    the outcome once it is final (:mod:`quan.metrics`; a replayed answer is not counted again).
    """
    try:
        outcome = _claim_first_come(
            db, clock, citizen_id, batch_id, key=key, channel=channel, cache=cache
        )
    except QuanError as exc:
        facts = cache.known(batch_id)
        refusals.refused(
            db,
            clock.now(),
            "claim",
            exc.code,
            subject=f"citizen:{citizen_id}",
            batch_id=batch_id,
            program_id=facts.program_id if facts else "",
        )
        raise
    if not outcome.replayed:
        metrics.claimed(channel.value)
    return outcome


def _claim_first_come(
    db: Database,
    clock: Clock,
    citizen_id: str,
    batch_id: str,
    *,
    key: str | None,
    channel: Channel,
    cache: ClaimCache,
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
        raise QuanError(CLAIM_WINDOW_OVER, claim_closes_at=facts.rules.claim_closes_at.isoformat())
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
    profile = profile_of(who)
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
        "c_citizen_id": citizen_id,
        "c_claim_seq": who.held + 1,
        "c_claim_key": key,
        "c_channel": channel.value,
        "c_now": now,
        "c_valid_from": valid_from,
        "c_valid_until": valid_until,
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
            payload=claim_payload(voucher),
        )
        return ClaimOutcome(voucher, replayed=False)
    raise QuanError(SOLD_OUT)


def claim_payload(voucher: IssuedVoucher) -> dict[str, Any]:
    return claim_payload_of(
        voucher.batch_id, voucher.pool, voucher.claim_seq, voucher.channel, voucher.valid_until
    )


def claim_payload_of(
    batch_id: str, pool: str, claim_seq: int, channel: str, valid_until: datetime
) -> dict[str, Any]:
    """The ``voucher.claimed`` payload. Ids and codes of the batch only: the holder is the
    event's actor, by id. The time in UTC, as the database gives it back."""
    return {
        "batch_id": batch_id,
        "pool": pool,
        "claim_seq": claim_seq,
        "channel": channel,
        "valid_until": valid_until.astimezone(UTC).isoformat(),
    }


def _claimant(
    tx: Connection, facts: ClaimFacts, citizen_id: str, now: datetime, key: str | None
) -> Row[Any]:
    """Everything the claim judges, in one round trip (see :data:`CLAIMANT`)."""
    params = {"batch_id": facts.batch_id, "citizen_id": citizen_id, "now": now}
    if key is None:
        row = tx.execute(CLAIMANT, params).first()
    else:
        row = tx.execute(CLAIMANT_WITH_KEY, {**params, "claim_key": key}).first()
    if row is None:
        raise QuanError(NOT_FOUND, what=f"citizen {citizen_id}")
    return row


# Pauses before looking again when the last free rows of a pool are held by claims in flight.
IN_FLIGHT_PAUSES = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1)


@dataclass(frozen=True, slots=True)
class Taken:
    row: Row[Any] | None
    pool_empty: bool  # no unclaimed row left at all: the pool will never give again


def take(tx: Connection, batch_id: str, pool: str, claimed: dict[str, Any]) -> Taken:
    """Give the first free voucher of a pool the values in ``claimed`` (see :data:`TAKE`).

    ``SKIP LOCKED`` lets concurrent claims pass each other instead of queueing. When it finds
    nothing, a plain read tells whether the pool is empty for good or its last rows are held by
    claims in flight (which may still roll back, e.g. a citizen racing their own limit); in the
    latter case it looks again after short pauses rather than wait on the rows' locks, which
    could deadlock with other waiters. On SQLite writers are serialised, so the first look is
    always the answer.
    """
    where = {"w_batch_id": batch_id, "w_pool": pool}
    for pause in (0.0, *IN_FLIGHT_PAUSES):
        if pause:
            time.sleep(pause)
        row = tx.execute(TAKE, {**where, **claimed}).first()
        if row is not None:
            return Taken(row, pool_empty=False)
        if tx.execute(ANY_LEFT, where).first() is None:
            return Taken(None, pool_empty=True)
    return Taken(None, pool_empty=False)
