"""First-come claims committed together: many claims of one batch in one transaction.

In a flash round thousands of claims arrive each second. Committing each in its own
transaction makes the database pay one commit (one fsync) and a handful of round trips per
claim; committing the claims that arrived within the same few milliseconds together shares
that cost (a group commit). Each request is still answered only after its claim is durable.

Every guarantee of :mod:`quan.services.issuance.claims` holds, from the same database mechanisms:

- the stock is the pre-generated voucher rows, taken with ``FOR UPDATE SKIP LOCKED``: a
  micro-batch takes ``k`` free rows of a pool in one statement and can never take more rows
  than opening made;
- ``UNIQUE (batch_id, citizen_id, claim_seq)`` and ``UNIQUE (citizen_id, claim_key)`` still
  decide between racing claims of one citizen. Within a micro-batch a citizen's requests are
  judged in rounds, each seeing the one before; across transactions, a lost uniqueness race
  (or a deadlock on those keys) rolls the micro-batch back, which runs once more and then, if
  it loses again, claim by claim through :func:`quan.services.issuance.claims.claim_first_come`:
  slower, but rare (a citizen racing themselves from two processes at the same millisecond);
- a pool is remembered as empty only after the transaction that saw it empty committed.

Refusals are judged per request, in the order and with the codes of
:func:`quan.services.issuance.claims.claim`; a refused request writes nothing.
"""

from __future__ import annotations

import json
import time
import typing
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    Text,
    bindparam,
    cast,
    column,
    exists,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError, IntegrityError

from quan.clock import Clock
from quan.domain.batches import PROGRAM_NOT_ACTIVE, BatchStatus
from quan.domain.blacklist import refusal
from quan.domain.canonical import canonical_json
from quan.domain.citizens import local_date, priority_groups
from quan.domain.claims import ALREADY_CLAIMED, BATCH_NOT_OPEN, SOLD_OUT, Channel
from quan.domain.eligibility import evaluate
from quan.domain.errors import NOT_FOUND, UNAUTHORIZED, QuanError
from quan.domain.programs import ProgramStatus
from quan.services.idempotency import KEY_REUSED
from quan.services.issuance.claim_cache import ClaimCache, ClaimFacts
from quan.services.issuance.claims import (
    ANY_LEFT,
    IN_FLIGHT_PAUSES,
    TAKE,
    ClaimOutcome,
    citizen_actor,
    claim_first_come,
    claim_payload,
    claim_payload_of,
    issued_from_row,
)
from quan.services.people import blacklist
from quan.services.people.citizens import profile_of
from quan.store.citizen_tables import blacklist_entries, citizens
from quan.store.db import Database
from quan.store.events import NewEvent, record_events
from quan.store.tables import UtcDateTime, programs
from quan.store.voucher_tables import batches, vouchers


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    """One citizen's request to claim from the batch (already authenticated)."""

    citizen_id: str
    key: str | None = None
    channel: Channel = Channel.APP


# A request's answer: its voucher, its refusal (QuanError), or the database failure that kept
# it from being judged (nothing was written for it).
ClaimResult = ClaimOutcome | Exception


@dataclass(slots=True)
class _Claimant:
    index: int
    request: ClaimRequest
    pools: list[str]
    seq: int
    result: ClaimOutcome | None = None
    tried: list[str] = field(default_factory=list)


def claim_together(
    db: Database,
    clock: Clock,
    facts: ClaimFacts,
    requests: Sequence[ClaimRequest],
    cache: ClaimCache,
) -> list[ClaimResult]:
    """Judge and make every claim of ``requests`` (one batch) in one transaction; the answer
    for each request, in order.

    A citizen's requests are judged in rounds inside the transaction: the first request of
    each citizen, then the second (which sees the first's voucher, or its key), and so on.
    A lost race with another process's transaction (a unique key, a deadlock) rolls the whole
    transaction back; it runs once more (the other transaction has committed by then, so the
    re-run sees it), and if it loses again every request runs alone.
    """
    rounds = _rounds(requests)
    for _ in range(2):
        results: list[ClaimResult | None] = [None] * len(requests)
        emptied: set[str] = set()
        try:
            with db.write() as tx:
                now = clock.now()
                for indexes in rounds:
                    shared = [requests[i] for i in indexes]
                    answers = _claim_in(tx, now, facts, shared, cache, emptied)
                    for i, answer in zip(indexes, answers, strict=True):
                        results[i] = answer
        except DBAPIError as exc:
            if not _lost_race(exc):
                raise  # nothing was written for any request: each is answered with the error
            continue
        for pool in emptied:
            cache.mark_empty(facts.batch_id, pool)
        return [r for r in results if r is not None]
    return [_alone(db, clock, facts, r, cache) for r in requests]


def _rounds(requests: Sequence[ClaimRequest]) -> list[list[int]]:
    """Request indexes by round: round k holds each citizen's k-th request."""
    rounds: list[list[int]] = []
    seen: dict[str, int] = {}
    for i, request in enumerate(requests):
        n = seen.get(request.citizen_id, 0)
        seen[request.citizen_id] = n + 1
        if n == len(rounds):
            rounds.append([])
        rounds[n].append(i)
    return rounds


def _lost_race(exc: DBAPIError) -> bool:
    """A uniqueness race or a deadlock between concurrent transactions."""
    if isinstance(exc, IntegrityError):
        return True
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return sqlstate in ("40P01", "40001")  # deadlock_detected, serialization_failure


def _alone(
    db: Database, clock: Clock, facts: ClaimFacts, request: ClaimRequest, cache: ClaimCache
) -> ClaimResult:
    """One request in its own transaction (the per-claim path); its failure is its answer."""
    try:
        return claim_first_come(
            db,
            clock,
            request.citizen_id,
            facts.batch_id,
            key=request.key,
            channel=request.channel,
            cache=cache,
        )
    except QuanError as error:
        if error.spec.code == "NOT_FOUND":  # the token's citizen does not exist
            return QuanError(UNAUTHORIZED)
        return error
    except Exception as error:  # handed to this request as its answer, not lost
        return error


# --- judging many claimants with a few statements -----------------------------------------

_v, _bl, _c = vouchers.c, blacklist_entries.c, citizens.c
_IDS: Any = bindparam("citizen_ids", expanding=True)

_STATUS = (
    select(batches.c.status.label("batch_status"), programs.c.status.label("program_status"))
    .select_from(batches.join(programs, programs.c.id == batches.c.program_id))
    .where(batches.c.id == bindparam("batch_id"))
)
_PROFILES = select(
    _c.id, _c.birth_date, _c.region_code, _c.income_group, _c.disabled, _c.disability_grade
).where(_c.id.in_(_IDS))
_HELD = (
    select(_v.citizen_id, func.count().label("held"))
    .where(_v.batch_id == bindparam("batch_id"), _v.citizen_id.in_(_IDS))
    .group_by(_v.citizen_id)
)
_REPLAYS = select(vouchers).where(
    _v.citizen_id.in_(_IDS), _v.claim_key.in_(bindparam("claim_keys", expanding=True))
)


def _blocked(tx: Connection, ids: list[str], now: datetime) -> set[str]:
    rows = tx.execute(
        select(_bl.subject_id)
        .where(_bl.subject_type == "citizen", _bl.subject_id.in_(ids), blacklist.in_force_at(now))
        .distinct()
    )
    return {row.subject_id for row in rows}


@dataclass(slots=True)
class _Look:
    """What the shared transaction read about the batch and each claimant."""

    batch_status: str
    program_status: str
    profiles: dict[str, Any]  # citizen id → row of attributes; absent: no such citizen
    held: dict[str, int]  # vouchers of the batch each citizen holds (absent: none)
    blocked: set[str]  # citizens a blacklist entry bars now
    replays: dict[tuple[str, str], Any]  # (citizen, key) → the voucher row that key claimed


def _look_portable(
    tx: Connection, now: datetime, facts: ClaimFacts, requests: Sequence[ClaimRequest]
) -> _Look:
    """Five small statements (SQLite: calls into this process, no round trips)."""
    ids = [r.citizen_id for r in requests]
    keys = [r.key for r in requests if r.key is not None]
    status = tx.execute(_STATUS, {"batch_id": facts.batch_id}).one()
    replays: dict[tuple[str, str], Any] = {}
    if keys:
        rows = tx.execute(_REPLAYS, {"citizen_ids": ids, "claim_keys": keys})
        replays = {(row.citizen_id, row.claim_key): row for row in rows}
    return _Look(
        batch_status=status.batch_status,
        program_status=status.program_status,
        profiles={row.id: row for row in tx.execute(_PROFILES, {"citizen_ids": ids})},
        held={
            row.citizen_id: int(row.held)
            for row in tx.execute(_HELD, {"batch_id": facts.batch_id, "citizen_ids": ids})
        },
        blocked=_blocked(tx, ids, now),
        replays=replays,
    )


# PostgreSQL: the same facts in one round trip, one row per request (arrays in, unnested).
_r = (
    func.unnest(
        cast(bindparam("citizen_ids"), ARRAY(Text)), cast(bindparam("claim_keys"), ARRAY(Text))
    )
    .table_valued("citizen_id", "claim_key")
    .render_derived(name="r")
)
_mine = vouchers.alias("mine")
_LOOK_PG = select(
    _r.c.citizen_id,
    _r.c.claim_key,
    _c.id.label("found"),
    _c.birth_date,
    _c.region_code,
    _c.income_group,
    _c.disabled,
    _c.disability_grade,
    select(func.count())
    .select_from(_mine)
    .where(_mine.c.batch_id == bindparam("batch_id"), _mine.c.citizen_id == _r.c.citizen_id)
    .scalar_subquery()
    .label("held"),
    exists()
    .where(
        _bl.subject_type == "citizen",
        _bl.subject_id == _r.c.citizen_id,
        # in_force_at builds SQL comparisons, which take a bind parameter as well as a datetime.
        blacklist.in_force_at(typing.cast(datetime, bindparam("now", type_=UtcDateTime()))),
    )
    .label("blocked"),
    select(_mine.c.id)
    .where(_mine.c.citizen_id == _r.c.citizen_id, _mine.c.claim_key == _r.c.claim_key)
    .scalar_subquery()
    .label("replay_id"),
    _STATUS.with_only_columns(batches.c.status).scalar_subquery().label("batch_status"),
    _STATUS.with_only_columns(programs.c.status).scalar_subquery().label("program_status"),
).select_from(_r.outerjoin(citizens, _c.id == _r.c.citizen_id))


def _look_postgresql(
    tx: Connection, now: datetime, facts: ClaimFacts, requests: Sequence[ClaimRequest]
) -> _Look:
    rows = tx.execute(
        _LOOK_PG,
        {
            "citizen_ids": [r.citizen_id for r in requests],
            "claim_keys": [r.key for r in requests],
            "batch_id": facts.batch_id,
            "now": now,
        },
    ).all()
    replay_ids = [row.replay_id for row in rows if row.replay_id is not None]
    replays: dict[tuple[str, str], Any] = {}
    if replay_ids:  # rare: retries of claims already made
        found = tx.execute(select(vouchers).where(_v.id.in_(replay_ids)))
        replays = {(row.citizen_id, row.claim_key): row for row in found}
    first = rows[0]
    if first.batch_status is None:
        raise QuanError(NOT_FOUND, what=f"batch {facts.batch_id}")
    return _Look(
        batch_status=first.batch_status,
        program_status=first.program_status,
        profiles={row.citizen_id: row for row in rows if row.found is not None},
        held={row.citizen_id: int(row.held) for row in rows},
        blocked={row.citizen_id for row in rows if row.blocked},
        replays=replays,
    )


def _claim_in(
    tx: Connection,
    now: datetime,
    facts: ClaimFacts,
    requests: Sequence[ClaimRequest],
    cache: ClaimCache,
    emptied: set[str],
) -> list[ClaimResult]:
    """The shared transaction: judge every request, then take vouchers pool by pool."""
    if tx.dialect.name == "postgresql":
        look = _look_postgresql(tx, now, facts, requests)
    else:
        look = _look_portable(tx, now, facts, requests)
    claimants: list[_Claimant] = []
    results: list[ClaimResult | None] = [None] * len(requests)
    today = local_date(now, facts.timezone)
    for i, request in enumerate(requests):
        try:
            claimant = _judge(tx, now, today, facts, i, request, look)
        except QuanError as error:
            results[i] = error
            continue
        if isinstance(claimant, ClaimOutcome):
            results[i] = claimant
        else:
            claimants.append(claimant)

    valid_from, valid_until = facts.validity.window_for(now, facts.timezone)
    taken = _take_all(tx, now, facts, claimants, cache, emptied, valid_from, valid_until)
    if tx.dialect.name != "postgresql":  # PostgreSQL recorded them in the claim statement
        _record_claims(tx, now, facts, taken)
    for claimant in claimants:
        results[claimant.index] = claimant.result or QuanError(SOLD_OUT)
    return [r for r in results if r is not None]


def _judge(
    tx: Connection,
    now: datetime,
    today: Any,
    facts: ClaimFacts,
    index: int,
    request: ClaimRequest,
    look: _Look,
) -> _Claimant | ClaimOutcome:
    """One request's refusals, in the order :func:`quan.services.issuance.claims.claim` checks
    them."""
    citizen_id = request.citizen_id
    row = look.profiles.get(citizen_id)
    if row is None:
        raise QuanError(UNAUTHORIZED)  # the token's citizen no longer exists
    if request.key is not None:
        replay = look.replays.get((citizen_id, request.key))
        if replay is not None:
            if replay.batch_id != facts.batch_id or replay.channel != request.channel.value:
                raise QuanError(KEY_REUSED)
            return ClaimOutcome(issued_from_row(replay), replayed=True)
    if look.batch_status != BatchStatus.OPEN.value:
        raise QuanError(BATCH_NOT_OPEN, batch_status=look.batch_status)
    if look.program_status != ProgramStatus.ACTIVE.value:
        raise QuanError(PROGRAM_NOT_ACTIVE, program_status=look.program_status)
    profile = profile_of(row)
    pools = facts.rules.pools_for(priority_groups(profile, today), now)
    if citizen_id in look.blocked:
        entry = blacklist.active_block(tx, "citizen", citizen_id, now)
        if entry is not None:  # None: lifted between the two reads, so not barred any more
            raise refusal(entry)
    failure = evaluate(facts.eligibility, profile, today)
    if failure is not None:
        raise failure.error()
    limit = facts.rules.per_citizen_limit
    count = look.held.get(citizen_id, 0)
    if count >= limit:
        raise QuanError(ALREADY_CLAIMED, per_citizen_limit=limit)
    return _Claimant(index=index, request=request, pools=pools, seq=count + 1)


# --- taking vouchers for many claimants at once ---------------------------------------------

# PostgreSQL: lock up to :k free rows of a pool (skipping rows other claims hold), number them,
# and give the n-th row to the n-th claimant, in one statement. The claimants arrive as one
# JSON array: the driver quotes text arrays element by element, several times slower.
_TAKE_MANY_PG = text(
    """
    WITH locked AS (
        SELECT id FROM vouchers
        WHERE batch_id = :batch_id AND pool = :pool AND status = 'unclaimed'
        ORDER BY id LIMIT :k FOR UPDATE SKIP LOCKED
    ), free AS (
        SELECT id, row_number() OVER (ORDER BY id) AS rn FROM locked
    ), req AS (
        SELECT * FROM jsonb_to_recordset(CAST(:requests AS jsonb)) AS r(
            rn bigint, citizen_id text, claim_seq integer, claim_key text, channel text,
            actor text, payload text
        )
    ), taken AS (
        UPDATE vouchers AS v SET
            status = 'active', citizen_id = req.citizen_id, claim_seq = req.claim_seq,
            claim_key = req.claim_key, channel = req.channel, claimed_at = :now,
            valid_from = :valid_from, valid_until = :valid_until, status_changed_at = :now
        FROM free JOIN req ON req.rn = free.rn
        WHERE v.id = free.id AND v.status = 'unclaimed'
        RETURNING v.*, req.rn AS rn, req.actor AS actor, req.payload AS payload
    ), recorded AS (
        INSERT INTO events
            (type, actor, subject_type, subject_id, program_id, payload, occurred_at)
        SELECT 'voucher.claimed', actor, 'voucher', id, program_id, payload, :now
        FROM taken ORDER BY rn
    )
    SELECT * FROM taken
    """
).columns(*vouchers.c, column("rn", Integer))
# (PostgreSQL also writes each claim's ``voucher.claimed`` event in the same statement, with
# the payload :func:`quan.services.issuance.claims.claim_payload` gives, built before the
# statement.)


def _take_all(
    tx: Connection,
    now: datetime,
    facts: ClaimFacts,
    claimants: list[_Claimant],
    cache: ClaimCache,
    emptied: set[str],
    valid_from: datetime,
    valid_until: datetime,
) -> list[_Claimant]:
    """Give each claimant a voucher from the first of their pools that has one; the claimants
    served. Those left with no pool keep no result (``SOLD_OUT``)."""
    waiting = list(claimants)
    served: list[_Claimant] = []
    while waiting:
        by_pool: dict[str, list[_Claimant]] = defaultdict(list)
        for claimant in waiting:
            pool = next(
                (
                    p
                    for p in claimant.pools
                    if p not in claimant.tried
                    and p not in emptied
                    and not cache.is_empty(facts.batch_id, p)
                ),
                None,
            )
            if pool is not None:
                by_pool[pool].append(claimant)
        if not by_pool:
            break
        waiting = []
        for pool, group in by_pool.items():
            left = _take_pool(tx, now, facts, pool, group, emptied, valid_from, valid_until)
            served.extend(c for c in group if c.result is not None)
            for claimant in left:
                claimant.tried.append(pool)
            waiting.extend(left)
    return served


def _take_pool(
    tx: Connection,
    now: datetime,
    facts: ClaimFacts,
    pool: str,
    group: list[_Claimant],
    emptied: set[str],
    valid_from: datetime,
    valid_until: datetime,
) -> list[_Claimant]:
    """Take a voucher of ``pool`` for each claimant of ``group``; the claimants left without.

    As in :func:`quan.services.issuance.claims.take`: when free rows run short, a plain read tells
    whether the pool is empty for good or its last rows are held by claims in flight, which
    may still roll back; then it looks again after short pauses.
    """
    left = group
    where = {"w_batch_id": facts.batch_id, "w_pool": pool}
    for pause in (0.0, *IN_FLIGHT_PAUSES):
        if pause:
            time.sleep(pause)
        left = _take_rows(tx, now, facts, pool, left, valid_from, valid_until)
        if not left:
            return []
        if tx.execute(ANY_LEFT, where).first() is None:
            emptied.add(pool)
            return left
    return left


def _take_rows(
    tx: Connection,
    now: datetime,
    facts: ClaimFacts,
    pool: str,
    group: list[_Claimant],
    valid_from: datetime,
    valid_until: datetime,
) -> list[_Claimant]:
    """One attempt: free rows of ``pool`` to as many of ``group`` as there are; the rest."""
    if tx.dialect.name == "postgresql":
        rows = tx.execute(
            _TAKE_MANY_PG,
            {
                "batch_id": facts.batch_id,
                "pool": pool,
                "k": len(group),
                "requests": json.dumps(
                    [
                        {
                            "rn": n,
                            "citizen_id": c.request.citizen_id,
                            "claim_seq": c.seq,
                            "claim_key": c.request.key,
                            "channel": c.request.channel.value,
                            "actor": citizen_actor(c.request.citizen_id).label,
                            "payload": canonical_json(
                                claim_payload_of(
                                    facts.batch_id,
                                    pool,
                                    c.seq,
                                    c.request.channel.value,
                                    valid_until,
                                )
                            ),
                        }
                        for n, c in enumerate(group, start=1)
                    ]
                ),
                "now": now,
                "valid_from": valid_from,
                "valid_until": valid_until,
            },
        ).all()
        for taken in rows:
            group[int(taken.rn) - 1].result = ClaimOutcome(issued_from_row(taken), replayed=False)
        return [c for c in group if c.result is None]
    # SQLite: one writer holds the database; statements are calls into the same process, so
    # one statement per claim costs little (no round trip) and keeps one code path for the row.
    for n, claimant in enumerate(group):
        row = tx.execute(
            TAKE,
            {
                "w_batch_id": facts.batch_id,
                "w_pool": pool,
                "c_citizen_id": claimant.request.citizen_id,
                "c_claim_seq": claimant.seq,
                "c_claim_key": claimant.request.key,
                "c_channel": claimant.request.channel.value,
                "c_now": now,
                "c_valid_from": valid_from,
                "c_valid_until": valid_until,
            },
        ).first()
        if row is None:
            return group[n:]
        claimant.result = ClaimOutcome(issued_from_row(row), replayed=False)
    return []


def _record_claims(
    tx: Connection, now: datetime, facts: ClaimFacts, served: list[_Claimant]
) -> None:
    """One ``voucher.claimed`` event per claim, as :func:`quan.services.issuance.claims.claim`
    writes."""
    new = []
    for claimant in served:
        assert isinstance(claimant.result, ClaimOutcome)
        voucher = claimant.result.voucher
        new.append(
            NewEvent(
                type="voucher.claimed",
                actor=citizen_actor(claimant.request.citizen_id),
                subject_type="voucher",
                subject_id=voucher.id,
                program_id=facts.program_id,
                at=now,
                payload=claim_payload(voucher),
            )
        )
    record_events(tx, new)


def replays_or_refusal(
    db: Database, facts: ClaimFacts, requests: Sequence[ClaimRequest], refusal: QuanError
) -> list[ClaimResult]:
    """Requests refused without any write (the window is over, the batch is sold out): those
    with an Idempotency-Key that claimed earlier get their voucher back, all in one read."""
    keyed = [r for r in requests if r.key is not None]
    replays: dict[tuple[str, str], Any] = {}
    if keyed:
        with db.lookup() as tx:
            rows = tx.execute(
                _REPLAYS,
                {
                    "citizen_ids": [r.citizen_id for r in keyed],
                    "claim_keys": [r.key for r in keyed],
                },
            )
            replays = {(row.citizen_id, row.claim_key): row for row in rows}
    out: list[ClaimResult] = []
    for request in requests:
        row = replays.get((request.citizen_id, request.key or ""))
        if row is None:
            out.append(QuanError(refusal.spec, **refusal.params))  # one per request
        elif row.batch_id != facts.batch_id or row.channel != request.channel.value:
            out.append(QuanError(KEY_REUSED))
        else:
            out.append(ClaimOutcome(issued_from_row(row), replayed=True))
    return out
