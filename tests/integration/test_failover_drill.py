"""The failover drill: a claim flood runs against a PostgreSQL primary with a synchronous standby
(tests/pg_pair.py); the primary is killed mid-flood and the standby promoted; the flood goes on
through the same multi-host URL (libpq picks the server that accepts writes).

Afterwards every acknowledged claim is on the new primary with its citizen, no claim is doubled,
no voucher is claimed that was not acknowledged (each claimant retried with its Idempotency-Key
until it had an answer), the ledger check and the transparency log's verification pass, and the
time without writes is measured.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from quan.api.app import create_app
from quan.clock import FixedClock
from quan.domain.errors import QuanError
from quan.services.issuance import claims
from quan.services.issuance.claim_cache import ClaimCache
from quan.services.runtime import Runtime
from quan.store.db import Database
from quan.store.migrate import upgrade
from quan.store.voucher_tables import vouchers
from quan.verify import verify_log
from tests.conftest import START, World, make_settings
from tests.integration.issuance_fixtures import assert_ledger_ok, open_fcfs_batch, register_many
from tests.integration.transparency_fixtures import sequence
from tests.pg_pair import Pair, new_pair

pytestmark = pytest.mark.postgres

VOUCHERS = 160
CITIZENS = 200  # more claimants than vouchers: the flood ends in SOLD_OUT refusals
THREADS = 8
GIVE_UP_SECONDS = 90.0  # a claimant that has had no answer by then fails the test


@pytest.fixture
def pair() -> Iterator[Pair]:
    # Under /tmp itself, not pytest's 0700 folder: the servers run as the postgres user.
    made = new_pair(Path(tempfile.mkdtemp(prefix="quan-pg-pair-"))).create()
    made.query(made.primary, "CREATE DATABASE quan")
    try:
        yield made
    finally:
        made.stop()
        shutil.rmtree(made.root, ignore_errors=True)


class Flood:
    """Claimants in threads; each retries through database errors with its own key."""

    def __init__(self, db: Database, batch_id: str, citizens: list[str]) -> None:
        self.db, self.batch_id, self.citizens = db, batch_id, citizens
        self.clock = FixedClock(START + timedelta(minutes=1))
        self.cache = ClaimCache()
        self.lock = threading.Lock()
        self.acknowledged: dict[str, str] = {}  # citizen -> voucher id
        self.refused: dict[str, str] = {}  # citizen -> code
        self.acks: list[tuple[float, float]] = []  # (attempt started, acknowledged)
        self.errors = 0
        self.unanswered: list[str] = []

    def claimant(self, mine: list[str]) -> None:
        for citizen in mine:
            deadline = time.monotonic() + GIVE_UP_SECONDS
            while True:
                began = time.monotonic()
                try:
                    outcome = claims.claim_first_come(
                        self.db, self.clock, citizen, self.batch_id, key=f"drill-{citizen}",
                        cache=self.cache,
                    )  # fmt: skip
                except QuanError as exc:
                    with self.lock:
                        self.refused[citizen] = exc.code
                    break
                except DBAPIError:  # the primary went away mid-transaction: ask again
                    with self.lock:
                        self.errors += 1
                    if time.monotonic() > deadline:
                        with self.lock:
                            self.unanswered.append(citizen)
                        break
                    time.sleep(0.05)
                    continue
                with self.lock:
                    self.acknowledged[citizen] = outcome.voucher.id
                    self.acks.append((began, time.monotonic()))
                break

    def run(self, pair: Pair, kill_after: int) -> float:
        """Run the flood, kill the primary after ``kill_after`` acknowledgements, promote the
        standby; the time without writes: from the kill to the first acknowledged claim that
        was asked after it (a claim committed just before the kill may still be answered)."""
        shares = [self.citizens[i::THREADS] for i in range(THREADS)]
        threads = [threading.Thread(target=self.claimant, args=(s,)) for s in shares]
        for thread in threads:
            thread.start()
        while len(self.acknowledged) < kill_after:
            time.sleep(0.005)
        killed_at = time.monotonic()
        pair.kill_primary()
        pair.promote_standby()
        for thread in threads:
            thread.join()
        after = [done for began, done in self.acks if began > killed_at]
        assert after, "no claim was acknowledged after the failover"
        return min(after) - killed_at


def test_a_failover_mid_flood_loses_no_acknowledged_claim_and_doubles_none(
    pair: Pair, tmp_path: Path
) -> None:
    url = pair.url("quan")
    db = Database(url, pool_size=THREADS)
    upgrade(db)
    settings = make_settings(tmp_path, url)
    runtime = Runtime.build(settings, clock=FixedClock(START), db=db)
    with TestClient(create_app(runtime=runtime), raise_server_exceptions=False) as client:
        world = World(runtime, client)
        _, batch_id = open_fcfs_batch(world, quantity=VOUCHERS)
        citizens = register_many(world, CITIZENS)
        assert pair.query(pair.primary, "SELECT sync_state FROM pg_stat_replication") == [("sync",)]

        flood = Flood(db, batch_id, citizens)
        without_writes = flood.run(pair, kill_after=VOUCHERS // 3)

        # Every claimant had an answer, and the database errors were the failover's.
        assert not flood.unanswered
        assert flood.errors > 0
        assert len(flood.acknowledged) + len(flood.refused) == CITIZENS
        assert set(flood.refused.values()) == {"SOLD_OUT"}
        assert len(flood.acknowledged) == VOUCHERS

        # The new primary (the promoted standby) answers through the same URL.
        assert pair.query(pair.standby, "SELECT pg_is_in_recovery()") == [(False,)]
        with db.read() as tx:
            held = dict(
                tx.execute(
                    select(vouchers.c.id, vouchers.c.citizen_id).where(
                        vouchers.c.batch_id == batch_id, vouchers.c.citizen_id.is_not(None)
                    )
                ).all()
            )
            per_citizen = tx.execute(
                select(func.count())
                .select_from(vouchers)
                .where(vouchers.c.batch_id == batch_id, vouchers.c.citizen_id.is_not(None))
                .group_by(vouchers.c.citizen_id)
                .having(func.count() > 1)
            ).all()
        # acknowledged ⊆ present, present ⊆ acknowledged, each with its own citizen
        assert held == {voucher: citizen for citizen, voucher in flood.acknowledged.items()}
        assert per_citizen == []

        assert_ledger_ok(world)
        sequence(runtime)
        verified = verify_log(client, full=True)
        assert verified.tree_size > 0
        print(f"\nfailover: {without_writes:.2f} s without an acknowledged claim")
    db.dispose()
