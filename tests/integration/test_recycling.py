"""Recycling: unclaimed vouchers at claim close and expired ones return their money, once."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from quan.cli import app
from quan.domain.auth import SYSTEM
from quan.domain.errors import QuanError
from quan.jobs import recycling as job
from quan.services.issuance import recycling
from quan.store.db import Database
from quan.store.tables import journal_entries
from quan.store.voucher_tables import vouchers
from tests.conftest import World
from tests.integration.issuance_fixtures import (
    DAY,
    advance,
    assert_ledger_ok,
    claim,
    open_fcfs_batch,
    register_many,
    voucher_count,
)
from tests.race import Overlap

UNIT = 3000


def _entries(world: World, kind: str) -> list[tuple[str, str]]:
    with world.runtime.db.read() as tx:
        rows = tx.execute(
            select(journal_entries.c.source_type, journal_entries.c.source_id).where(
                journal_entries.c.kind == kind
            )
        ).all()
    return [(r.source_type, r.source_id) for r in rows]


def _run(world: World, chunk: int = recycling.EXPIRY_CHUNK) -> job.RecycleRun:
    return job.run_once(world.runtime, holder="test", chunk=chunk)


def test_unclaimed_vouchers_return_to_the_budget_when_the_window_closes(world: World) -> None:
    pid, bid = open_fcfs_batch(world, quantity=10)
    for cid in register_many(world, 3):
        assert claim(world, cid, bid).status_code == 201
    assert _run(world).recycled == []  # the window is still running
    advance(world, DAY)
    run = _run(world)
    assert run.recycled == [recycling.Released(bid, 7, 7 * UNIT)]
    budget = world.budget(pid)
    assert budget["reserved_fen"] == 3 * UNIT
    assert budget["available_fen"] == 1_000_000 - 3 * UNIT
    assert voucher_count(world, bid, status="recycled", release_ref=bid) == 7
    assert voucher_count(world, bid, status="active") == 3
    public = world.client.get(f"/api/v1/batches/{bid}").json()
    assert public["status"] == "recycled"
    assert public["recycled_count"] == 7
    assert public["remaining"] == 0
    assert _entries(world, "recycle") == [("batch", bid)]
    assert_ledger_ok(world)


def test_running_the_job_again_recycles_nothing_more(world: World) -> None:
    pid, bid = open_fcfs_batch(world, quantity=5)
    advance(world, DAY)
    assert _run(world).returned_fen == 5 * UNIT
    again = _run(world)
    assert again.recycled == []
    assert again.returned_fen == 0
    assert _entries(world, "recycle") == [("batch", bid)]
    assert world.budget(pid)["available_fen"] == 1_000_000


def test_a_batch_cannot_be_recycled_while_its_window_runs(world: World) -> None:
    _, bid = open_fcfs_batch(world, quantity=5)
    rt = world.runtime
    with pytest.raises(QuanError) as caught, rt.db.write() as tx:
        recycling.recycle_batch(tx, rt.clock.now(), SYSTEM, bid)
    assert caught.value.code == "CLAIM_WINDOW_NOT_OVER"
    assert voucher_count(world, bid, status="unclaimed") == 5


def test_a_closed_batch_is_recycled_at_once_and_claims_stop(world: World) -> None:
    pid, bid = open_fcfs_batch(world, quantity=4)
    assert world.post("operator", f"/batches/{bid}/close").status_code == 200
    assert claim(world, register_many(world, 1)[0], bid).json()["code"] == "BATCH_NOT_OPEN"
    assert _run(world).recycled == [recycling.Released(bid, 4, 4 * UNIT)]
    assert world.budget(pid)["reserved_fen"] == 0
    assert_ledger_ok(world)


def test_a_lottery_batch_is_not_recycled_when_its_registration_window_ends(
    world: World,
) -> None:
    _, bid = open_fcfs_batch(world, quantity=4, allocation="lottery")
    advance(world, DAY)
    assert _run(world).recycled == []
    assert voucher_count(world, bid, status="unclaimed") == 4


def test_vouchers_expired_unused_return_their_money_once(world: World) -> None:
    pid, bid = open_fcfs_batch(world, quantity=5)
    for cid in register_many(world, 5):
        claim(world, cid, bid)
    advance(world, 89 * DAY)  # 90 days counted from the claim day: still valid
    assert _run(world).expired == []
    advance(world, DAY)  # ended, but offline sales made before the end may still sync
    assert _run(world).expired == []
    advance(world, timedelta(hours=72))  # the grace (QUAN_OFFLINE_SYNC_GRACE_HOURS) is over
    run = _run(world)
    assert [(r.count, r.amount_fen) for r in run.expired] == [(5, 5 * UNIT)]
    budget = world.budget(pid)
    assert budget["reserved_fen"] == 0
    assert budget["available_fen"] == 1_000_000
    assert voucher_count(world, bid, status="expired") == 5
    assert _run(world).expired == []
    assert len(_entries(world, "expiry")) == 1
    assert_ledger_ok(world)


def test_expiry_in_chunks_posts_one_entry_per_chunk_and_names_it_on_each_voucher(
    world: World,
) -> None:
    pid, bid = open_fcfs_batch(world, quantity=5)
    for cid in register_many(world, 5):
        claim(world, cid, bid)
    advance(world, 100 * DAY)
    run = _run(world, chunk=2)
    assert [r.count for r in run.expired] == [2, 2, 1]
    entries = _entries(world, "expiry")
    assert len(entries) == 3
    with world.runtime.db.read() as tx:
        refs = tx.execute(
            select(vouchers.c.release_ref, func.count())
            .where(vouchers.c.batch_id == bid)
            .group_by(vouchers.c.release_ref)
        ).all()
    assert sorted(n for _, n in refs) == [1, 2, 2]
    assert {ref for ref, _ in refs} == {source_id for _, source_id in entries}
    assert world.budget(pid)["reserved_fen"] == 0
    assert_ledger_ok(world)


def test_concurrent_recycling_runs_return_each_voucher_once(world: World, db: Database) -> None:
    pid, bid = open_fcfs_batch(world, quantity=6)
    for cid in register_many(world, 3):
        claim(world, cid, bid)
    advance(world, 100 * DAY)
    rt = world.runtime
    barrier = threading.Barrier(4)
    errors: list[Any] = []

    def recycle_and_expire() -> None:
        barrier.wait()
        try:
            with rt.db.write() as tx:
                recycling.recycle_batch(tx, rt.clock.now(), SYSTEM, bid)
        except QuanError as exc:
            errors.append(exc.code)
        with rt.db.write() as tx:
            recycling.expire_vouchers(tx, rt.clock.now(), SYSTEM, bid)

    threads = [threading.Thread(target=recycle_and_expire) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == ["BATCH_TRANSITION_NOT_ALLOWED"] * 3
    assert _entries(world, "recycle") == [("batch", bid)]
    assert voucher_count(world, bid, status="recycled") == 3
    assert voucher_count(world, bid, status="expired") == 3
    budget = world.budget(pid)
    assert budget["reserved_fen"] == 0
    assert budget["available_fen"] == 1_000_000
    assert_ledger_ok(world)


def test_quan_jobs_recycle_runs_the_job_from_the_command_line(
    world: World, db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, bid = open_fcfs_batch(world, quantity=3)
    monkeypatch.setenv("QUAN_DATABASE_URL", db.url)
    monkeypatch.setenv("QUAN_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("QUAN_ENV", "development")
    if db.schema:
        monkeypatch.setenv("PGOPTIONS", f"-csearch_path={db.schema}")
    runner = CliRunner()
    shown = runner.invoke(app, ["batches", "show", bid])
    assert shown.exit_code == 0, shown.output
    assert "所有已登记居民" in shown.output
    # The command runs on the real clock; a closed batch is due whatever the time.
    assert world.post("operator", f"/batches/{bid}/close").status_code == 200
    result = runner.invoke(app, ["jobs", "recycle"])
    assert result.exit_code == 0, result.output
    assert "recycled 1 batches (3 unclaimed vouchers)" in result.output
    assert voucher_count(world, bid, status="recycled") == 3
    again = runner.invoke(app, ["jobs", "recycle"])
    assert "recycled 0 batches" in again.output
    assert_ledger_ok(world)


def test_an_expiry_run_skips_vouchers_another_run_is_expiring(world: World, db: Database) -> None:
    """Two expiry runs overlap: while the first has expired the vouchers and not committed, the
    second's snapshot still shows them active. Their row locks (SKIP LOCKED) and the status the
    UPDATE re-states keep their money from returning twice. The first run is held open until the
    second has run or waits on a lock, so the two always overlap."""
    if db.dialect == "sqlite":
        pytest.skip("SQLite runs one writer at a time: the second run starts after the commit")
    pid, bid = open_fcfs_batch(world, quantity=3)
    for cid in register_many(world, 3):
        claim(world, cid, bid)
    advance(world, 100 * DAY)
    rt = world.runtime
    overlap = Overlap(rt.db)
    counts: dict[str, int] = {}

    def first() -> None:
        with rt.db.write() as tx:
            counts["first"] = recycling.expire_vouchers(tx, rt.clock.now(), SYSTEM, bid).count
            overlap.hold()

    def second() -> None:
        assert overlap.first_holds.wait(timeout=30)
        try:
            with rt.db.write() as tx:
                overlap.second_starts(tx)
                counts["second"] = recycling.expire_vouchers(tx, rt.clock.now(), SYSTEM, bid).count
        finally:
            overlap.second_done.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert counts == {"first": 3, "second": 0}
    assert len(_entries(world, "expiry")) == 1
    assert voucher_count(world, bid, status="expired") == 3
    assert world.budget(pid)["reserved_fen"] == 0
    assert_ledger_ok(world)
