"""Claims under real concurrency, on SQLite and PostgreSQL: threads (each with its own
connection) and processes released together; outcomes read back from the database.

No oversell and no double claim must come from the database: these tests fail if the stock
could be taken twice, if a citizen could exceed the limit, or if a key could claim twice.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from quan.clock import FixedClock
from quan.domain.claims import Channel
from quan.domain.errors import QuanError
from quan.domain.ledger import Bucket
from quan.services.issuance import batches as batch_service
from quan.services.issuance import claims, issuing, recycling
from quan.services.issuance.claim_cache import ClaimCache
from quan.services.issuance.claims import ClaimOutcome
from quan.store.db import Database
from quan.store.ledger import account_balance
from quan.store.voucher_tables import vouchers
from tests.conftest import START, World
from tests.integration.issuance_fixtures import (
    assert_ledger_ok,
    iso,
    open_fcfs_batch,
    register,
    register_many,
)
from tests.race import race

NOW = START + timedelta(minutes=1)
UNIT = 3000


@pytest.fixture
def wide(db: Database) -> Iterator[Database]:
    """The test database with a wider pool: up to 24 transactions at once (the PostgreSQL server
    is shared with other test runs, so not one per thread); the rest queue for a connection."""
    database = Database(db.url, pool_size=12, schema=db.schema)
    yield database
    database.dispose()


def claimer(
    db: Database, citizen_id: str, batch_id: str, cache: ClaimCache, key: str | None = None
) -> Callable[[], ClaimOutcome]:
    clock = FixedClock(NOW)
    return lambda: claims.claim_first_come(db, clock, citizen_id, batch_id, key=key, cache=cache)


def outcome_codes(results: list[Any]) -> Counter[str]:
    """``claimed`` per voucher given, else the refusal code; anything else fails the test."""
    codes: Counter[str] = Counter()
    for r in results:
        if isinstance(r, ClaimOutcome):
            codes["claimed"] += 1
        elif isinstance(r, QuanError):
            codes[r.code] += 1
        else:
            raise AssertionError(f"unexpected outcome: {r!r}")
    return codes


def held(db: Database, batch_id: str) -> dict[str, int]:
    """Vouchers of the batch per status, and distinct holders, read from the database."""
    with db.read() as tx:
        by_status = dict(
            tx.execute(
                select(vouchers.c.status, func.count())
                .where(vouchers.c.batch_id == batch_id)
                .group_by(vouchers.c.status)
            ).all()
        )
        holders = tx.execute(
            select(func.count(func.distinct(vouchers.c.citizen_id))).where(
                vouchers.c.batch_id == batch_id
            )
        ).scalar_one()
    return {**{k: int(v) for k, v in by_status.items()}, "holders": int(holders)}


def test_many_citizens_racing_for_few_vouchers_get_exactly_the_quantity(
    world: World, wide: Database
) -> None:
    pid, bid = open_fcfs_batch(world, quantity=25)
    people = register_many(world, 100)
    cache = ClaimCache()
    results = race(*(claimer(wide, cid, bid, cache) for cid in people))
    assert outcome_codes(results) == {"claimed": 25, "SOLD_OUT": 75}
    assert held(wide, bid) == {"active": 25, "holders": 25}
    winners = {r.voucher.citizen_id for r in results if isinstance(r, ClaimOutcome)}
    assert len(winners) == 25
    assert world.budget(pid)["reserved_fen"] == 25 * UNIT
    assert_ledger_ok(world)


@pytest.mark.parametrize("limit", [1, 3])
def test_one_citizen_racing_themselves_gets_at_most_the_limit(
    world: World, wide: Database, limit: int
) -> None:
    _, bid = open_fcfs_batch(world, quantity=20, per_citizen_limit=limit)
    cid = register(world)
    cache = ClaimCache()
    results = race(*(claimer(wide, cid, bid, cache) for _ in range(30)))
    assert outcome_codes(results) == {"claimed": limit, "ALREADY_CLAIMED": 30 - limit}
    assert held(wide, bid) == {"active": limit, "unclaimed": 20 - limit, "holders": 1}
    with wide.read() as tx:
        seqs = tx.execute(
            select(vouchers.c.claim_seq).where(vouchers.c.citizen_id == cid)
        ).scalars()
        assert sorted(seqs) == list(range(1, limit + 1))
    assert_ledger_ok(world)


def test_one_key_sent_many_times_at_once_claims_once(world: World, wide: Database) -> None:
    _, bid = open_fcfs_batch(world, quantity=5, per_citizen_limit=3)
    cid = register(world)
    cache = ClaimCache()
    results = race(*(claimer(wide, cid, bid, cache, key="tap-tap-tap") for _ in range(20)))
    assert outcome_codes(results) == {"claimed": 20}
    assert len({r.voucher.id for r in results}) == 1
    assert held(wide, bid) == {"active": 1, "unclaimed": 4, "holders": 1}


def test_a_reserved_quota_holds_under_a_race(world: World, wide: Database) -> None:
    release = iso(START + timedelta(hours=6))
    _, bid = open_fcfs_batch(
        world,
        quantity=20,
        reserved=[{"group": "elderly", "quantity": 8, "release_at": release}],
    )
    young = register_many(world, 40)
    old = register_many(world, 15, birth=date(1950, 1, 1))
    cache = ClaimCache()
    results = race(*(claimer(wide, cid, bid, cache) for cid in young + old))
    assert outcome_codes(results)["claimed"] == 20
    with wide.read() as tx:
        rows = tx.execute(
            select(vouchers.c.pool, vouchers.c.citizen_id).where(vouchers.c.batch_id == bid)
        ).all()
    elderly_pool_holders = {cid for pool, cid in rows if pool == "elderly"}
    assert len(elderly_pool_holders) == 8
    assert elderly_pool_holders <= set(old)
    # The other 12 went to the general pool, one each to 12 distinct citizens, young or old.
    assert (
        sorted(pool for pool, cid in rows if cid is not None) == ["elderly"] * 8 + ["general"] * 12
    )
    assert len({cid for _, cid in rows if cid is not None}) == 20
    assert_ledger_ok(world)


def test_claims_racing_close_and_recycling_count_every_voucher_once(
    world: World, wide: Database
) -> None:
    pid, bid = open_fcfs_batch(world, quantity=30)
    people = register_many(world, 40)
    cache = ClaimCache()
    operator = world.users["operator"].actor()

    def close_and_recycle() -> recycling.Released:
        with wide.write() as tx:
            batch_service.close_batch(tx, NOW, operator, bid)
        with wide.write() as tx:
            return recycling.recycle_batch(tx, NOW, operator, bid)

    results = race(close_and_recycle, *(claimer(wide, cid, bid, cache) for cid in people))
    released = results[0]
    assert isinstance(released, recycling.Released), released
    codes = outcome_codes(results[1:])
    assert set(codes) <= {"claimed", "BATCH_NOT_OPEN", "SOLD_OUT"}
    state = held(wide, bid)
    assert state.get("active", 0) == codes["claimed"]
    assert state.get("active", 0) + state.get("recycled", 0) == 30
    assert released.count == state.get("recycled", 0)
    with wide.read() as tx:
        reserved = account_balance(tx, pid, Bucket.RESERVED, bid)
    assert reserved == codes["claimed"] * UNIT
    assert_ledger_ok(world)


# --- processes ----------------------------------------------------------------------------------


def _claim_in_process(
    url: str,
    schema: str | None,
    batch_id: str,
    citizen_ids: list[str],
    barrier: Any,
    results: Any,
) -> None:
    """One API worker: its own engine, its own process-level cache, released with the others."""
    db = Database(url, pool_size=4, schema=schema)
    clock = FixedClock(NOW)
    cache = ClaimCache()
    outcomes: list[str] = []
    lock = threading.Lock()

    def one(cid: str) -> None:
        try:
            claims.claim_first_come(db, clock, cid, batch_id, cache=cache)
            code = "claimed"
        except QuanError as exc:
            code = exc.code
        with lock:
            outcomes.append(code)

    threads = [threading.Thread(target=one, args=(cid,)) for cid in citizen_ids]
    barrier.wait(timeout=120)
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    db.dispose()
    results.put(outcomes)


def test_worker_processes_racing_for_one_batch_never_oversell(world: World, db: Database) -> None:
    _, bid = open_fcfs_batch(world, quantity=30)
    people = register_many(world, 96)
    cid_twice = people[0]  # also races itself across processes
    slices = [[*people[i::4], cid_twice] for i in range(4)]
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(4)
    results = context.Queue()
    processes = [
        context.Process(
            target=_claim_in_process, args=(db.url, db.schema, bid, chunk, barrier, results)
        )
        for chunk in slices
    ]
    for p in processes:
        p.start()
    outcomes: Counter[str] = Counter()
    for _ in processes:
        outcomes.update(results.get(timeout=180))
    for p in processes:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert outcomes["claimed"] == 30
    assert set(outcomes) <= {"claimed", "SOLD_OUT", "ALREADY_CLAIMED"}
    assert sum(outcomes.values()) == 100
    assert held(db, bid) == {"active": 30, "holders": 30}
    with db.read() as tx:
        mine = tx.execute(
            select(func.count()).select_from(vouchers).where(vouchers.c.citizen_id == cid_twice)
        ).scalar_one()
    assert mine <= 1
    assert_ledger_ok(world)


def test_two_bulk_issuances_racing_on_one_batch_stay_within_it(
    world: World, wide: Database
) -> None:
    _, bid = open_fcfs_batch(world, quantity=30, allocation="grant")
    people = register_many(world, 40)
    actor = world.users["operator"].actor()

    def grant(recipients: list[str]) -> issuing.IssueReport:
        with wide.write() as tx:
            return issuing.issue_many(
                tx,
                NOW,
                actor,
                bid,
                [issuing.Recipient(c) for c in recipients],
                channel=Channel.GRANT,
            )

    # Overlapping segments: the middle ten citizens are in both.
    results = race(lambda: grant(people[:25]), lambda: grant(people[15:]))
    issued = 0
    for r in results:
        if isinstance(r, issuing.IssueReport):
            issued += len(r.issued)
        else:  # a segment overlapping a concurrent grant may lose the unique-key race
            assert "uq_vouchers_claimant" in str(r), r
    assert held(wide, bid)["active"] == issued <= 30
    assert held(wide, bid)["holders"] == issued
    assert_ledger_ok(world)


def test_the_database_holds_one_voucher_per_claim_key(world: World, wide: Database) -> None:
    """``UNIQUE (citizen_id, claim_key)``: whatever the service above it does, a second voucher
    of the citizen cannot carry a key already used."""
    from sqlalchemy import update
    from sqlalchemy.exc import IntegrityError

    _, bid = open_fcfs_batch(world, quantity=5, per_citizen_limit=3)
    cid = register(world)
    cache = ClaimCache()
    first = claimer(wide, cid, bid, cache, key="k-1")()
    second = claimer(wide, cid, bid, cache)()
    assert first.voucher.id != second.voucher.id
    refused = r"uq_vouchers_claim_key|vouchers\.citizen_id, vouchers\.claim_key"
    with pytest.raises(IntegrityError, match=refused), wide.write() as tx:
        tx.execute(
            update(vouchers).where(vouchers.c.id == second.voucher.id).values(claim_key="k-1")
        )
    assert held(wide, bid) == {"active": 2, "unclaimed": 3, "holders": 1}
