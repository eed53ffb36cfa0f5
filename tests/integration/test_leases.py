"""Job leases: one holder at a time, across racing workers; an expired lease can be taken."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from quan.jobs.lease import acquire, release
from quan.store.db import Database

NOW = datetime(2026, 11, 25, tzinfo=UTC)
TTL = timedelta(seconds=30)


def test_only_one_of_many_racing_workers_gets_the_lease(db: Database) -> None:
    workers = 8
    barrier = threading.Barrier(workers)
    winners: list[str] = []

    def race(name: str) -> None:
        barrier.wait()
        if acquire(db, "sequencer", name, NOW, TTL):
            winners.append(name)

    threads = [threading.Thread(target=race, args=(f"w{i}",)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1


def test_holder_renews_others_wait_until_expiry_or_release(db: Database) -> None:
    assert acquire(db, "settle", "a", NOW, TTL)
    assert acquire(db, "settle", "a", NOW + timedelta(seconds=10), TTL)  # renewal
    assert not acquire(db, "settle", "b", NOW + timedelta(seconds=39), TTL)
    assert acquire(db, "settle", "b", NOW + timedelta(seconds=41), TTL)  # a's lease expired
    release(db, "settle", "b", NOW + timedelta(seconds=42))
    assert acquire(db, "settle", "a", NOW + timedelta(seconds=42), TTL)
