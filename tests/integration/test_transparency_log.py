"""The sequencer: every event reaches the log once, in order, with a signed tree head per run."""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from quan.api.app import create_app
from quan.clock import FixedClock
from quan.domain import merkle
from quan.domain.auth import SYSTEM
from quan.domain.checkpoint import parse_and_verify
from quan.jobs import lease, sequencer
from quan.services.runtime import Runtime
from quan.services.transparency import transparency
from quan.store import log as log_store
from quan.store.db import Database
from quan.store.events import record_event
from quan.store.log_tables import log_checkpoints, log_entries, log_nodes, log_queue
from quan.store.migrate import upgrade
from quan.store.tables import events
from tests.conftest import POSTGRES_URL, START, World, make_settings, need_service
from tests.integration.transparency_fixtures import add_event_with_id, add_events, sequence


def _log(db: Database) -> list[tuple[int, int]]:
    """``(log index, event id)`` of every entry, in log order."""
    with db.read() as tx:
        rows = tx.execute(
            select(log_entries.c.log_index, log_entries.c.event_id).order_by(
                log_entries.c.log_index
            )
        ).all()
    return [(int(index), int(event_id)) for index, event_id in rows]


def _event_ids(db: Database) -> list[int]:
    with db.read() as tx:
        return [int(i) for i in tx.execute(select(events.c.id).order_by(events.c.id)).scalars()]


def _leaf_hashes(runtime: Runtime, size: int) -> list[bytes]:
    """Leaf hashes recomputed from the events, as an outsider would from the entries."""
    pseudonymize = transparency.pseudonymizer(runtime.settings)
    hashes: list[bytes] = []
    with runtime.db.read() as tx:
        while len(hashes) < size:
            page = transparency.entries(tx, len(hashes), size - 1, pseudonymize)
            hashes.extend(merkle.leaf_hash(entry.data) for entry in page)
    return hashes


def _queue_length(db: Database) -> int:
    with db.read() as tx:
        return int(tx.execute(select(func.count()).select_from(log_queue)).scalar_one())


def test_every_event_is_appended_once_in_id_order_at_consecutive_indexes(
    runtime: Runtime, db: Database
) -> None:
    add_events(db, 25, START)
    result = sequence(runtime, batch_size=7)
    assert result.appended == 25
    assert result.tree_size == 25
    assert _log(db) == list(enumerate(_event_ids(db)))
    assert _queue_length(db) == 0


def test_each_batch_signs_a_checkpoint_whose_root_is_the_tree_of_the_entries(
    runtime: Runtime, db: Database
) -> None:
    add_events(db, 25, START)
    sequence(runtime, batch_size=10)
    key = transparency.LogKey.from_settings(runtime.settings)
    hashes = _leaf_hashes(runtime, 25)
    with db.read() as tx:
        heads = tx.execute(select(log_checkpoints).order_by(log_checkpoints.c.tree_size)).all()
        assert [h.tree_size for h in heads] == [10, 20, 25]
        for head in heads:
            signed = parse_and_verify(head.note, key.name, key.public_key, origin=key.origin)
            assert signed.size == head.tree_size
            assert signed.root == bytes(head.root_hash)
            assert signed.root == merkle.root_from_leaf_hashes(hashes[: head.tree_size])
            assert signed.root == merkle.root(head.tree_size, log_store.NodeStore(tx))


def test_the_stored_tree_is_exactly_the_complete_subtrees_of_the_leaves(
    runtime: Runtime, db: Database
) -> None:
    add_events(db, 37, START)
    sequence(runtime, batch_size=6)
    reference = merkle.DictNodeStore()
    reference.append(_leaf_hashes(runtime, 37))
    with db.read() as tx:
        stored = {
            (0, int(index)): bytes(value)
            for index, value in tx.execute(select(log_entries.c.log_index, log_entries.c.leaf_hash))
        }
        stored.update(
            {
                (int(level), int(index)): bytes(value)
                for level, index, value in tx.execute(select(log_nodes))
            }
        )
    assert stored == reference.all_nodes()


def test_a_fresh_log_publishes_the_signed_empty_tree_head_once(
    runtime: Runtime, db: Database
) -> None:
    first = sequence(runtime)
    assert (first.appended, first.tree_size, first.root_hash) == (0, 0, merkle.EMPTY_ROOT)
    sequence(runtime)
    with db.read() as tx:
        assert tx.execute(select(func.count()).select_from(log_checkpoints)).scalar_one() == 1


def test_a_run_with_nothing_new_signs_nothing_new(runtime: Runtime, db: Database) -> None:
    add_events(db, 3, START)
    sequence(runtime)
    again = sequence(runtime)
    assert (again.appended, again.tree_size) == (0, 3)
    with db.read() as tx:
        assert tx.execute(select(func.count()).select_from(log_checkpoints)).scalar_one() == 1


def test_an_event_that_shows_up_with_a_lower_id_after_higher_ones_is_still_appended(
    runtime: Runtime, db: Database
) -> None:
    add_event_with_id(db, 100, START)
    add_event_with_id(db, 101, START)
    sequence(runtime)
    add_event_with_id(db, 50, START)  # committed after 100 and 101 were sequenced
    sequence(runtime)
    assert _log(db) == [(0, 100), (1, 101), (2, 50)]


def test_a_lower_id_that_shows_up_during_a_run_is_appended_before_the_run_ends(
    runtime: Runtime, db: Database
) -> None:
    for event_id in range(100, 106):
        add_event_with_id(db, event_id, START)
    late = iter([50])

    def after_batch(_batch: transparency.SequencedBatch) -> None:
        for event_id in late:  # once, after the first batch: behind the next batch's start
            add_event_with_id(db, event_id, START)

    result = sequencer.run_once(runtime, holder="here", batch_size=2, on_batch=after_batch)
    assert result.appended == 7
    assert _log(db) == [(0, 100), (1, 101), (2, 102), (3, 103), (4, 104), (5, 105), (6, 50)]
    with db.read() as tx:
        assert log_store.queued_count(tx) == 0


def test_a_transaction_that_commits_after_a_higher_id_was_sequenced_is_not_skipped(
    runtime: Runtime, db: Database
) -> None:
    if db.dialect == "sqlite":
        pytest.skip("SQLite runs one writer at a time: a lower id can never commit after a higher")
    with db.engine.connect() as slow:
        slow_tx = slow.begin()
        record_event(
            slow, type="t.slow", actor=SYSTEM, subject_type="t", subject_id="slow", at=START
        )
        slow_id = int(slow.execute(select(func.max(events.c.id))).scalar_one())
        add_events(db, 1, START)  # draws a higher id and commits first
        sequence(runtime)
        assert [event_id for _, event_id in _log(db)] == [slow_id + 1]
        slow_tx.commit()
    sequence(runtime)
    assert [event_id for _, event_id in _log(db)] == [slow_id + 1, slow_id]


def test_two_sequencers_started_together_append_each_event_once(
    runtime: Runtime, db: Database
) -> None:
    add_events(db, 60, START)
    barrier = threading.Barrier(2)
    results: list[sequencer.RunResult] = []

    def work(name: str) -> None:
        barrier.wait()
        results.append(sequencer.run_once(runtime, holder=name, batch_size=7))

    threads = [threading.Thread(target=work, args=(f"worker-{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.appended for r in results) == 60
    sequence(runtime)  # whatever a lease-less loser left behind
    assert _log(db) == list(enumerate(_event_ids(db)))
    with db.read() as tx:
        head = log_store.latest_checkpoint(tx)
    assert head is not None
    assert head.root_hash == merkle.root_from_leaf_hashes(_leaf_hashes(runtime, 60))


def test_two_sequencing_transactions_past_the_lease_cannot_fork_the_log(
    runtime: Runtime, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    if db.dialect == "sqlite":
        pytest.skip(
            "SQLite takes the write lock at BEGIN: two sequencing transactions never overlap"
        )
    add_events(db, 20, START)
    key = transparency.LogKey.from_settings(runtime.settings)
    pseudonymize = transparency.pseudonymizer(runtime.settings)
    barrier = threading.Barrier(2, timeout=10)
    real_queued = log_store.queued_events

    def queued_then_wait(tx: object, limit: int, **kwargs: Any) -> object:
        found = real_queued(tx, limit, **kwargs)  # type: ignore[arg-type]
        barrier.wait()  # both have read size 0 and the same events before either writes
        return found

    monkeypatch.setattr(log_store, "queued_events", queued_then_wait)
    outcomes: list[str] = []

    def work() -> None:
        try:
            with db.write() as tx:
                transparency.sequence_batch(tx, START, key, pseudonymize)
            outcomes.append("appended")
        except IntegrityError:
            outcomes.append("refused")

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["appended", "refused"]
    assert _log(db) == list(enumerate(_event_ids(db)))


def test_a_sequencer_without_the_lease_does_nothing_until_it_expires(
    runtime: Runtime, db: Database, clock: FixedClock
) -> None:
    add_events(db, 3, START)
    assert lease.acquire(db, sequencer.LEASE_NAME, "elsewhere", clock.now(), timedelta(minutes=1))
    assert sequencer.run_once(runtime, holder="here").ran is False
    assert _log(db) == []
    clock.advance(timedelta(minutes=2))
    assert sequencer.run_once(runtime, holder="here").appended == 3


def test_every_state_change_made_through_the_api_reaches_the_log(world: World) -> None:
    program, funder = world.program(), world.funder()
    world.post(
        "operator",
        f"/programs/{program['id']}/contributions",
        {"funder_id": funder["id"], "amount_fen": 50_000},
    )
    world.post("operator", f"/programs/{program['id']}/activate")
    sequence(world.runtime)
    db = world.runtime.db
    assert [event_id for _, event_id in _log(db)] == _event_ids(db)
    size = len(_event_ids(db))
    pseudonymize = transparency.pseudonymizer(world.runtime.settings)
    with db.read() as tx:
        types = {
            json.loads(e.data)["type"] for e in transparency.entries(tx, 0, size - 1, pseudonymize)
        }
    assert {"program.created", "funder.created", "contribution.recorded", "program.active"} <= types


@pytest.mark.parametrize("table", ["log_entries", "log_nodes", "log_checkpoints"])
def test_the_logs_history_refuses_updates_and_deletes(
    runtime: Runtime, db: Database, table: str
) -> None:
    add_events(db, 4, START)
    sequence(runtime)
    for statement in (
        f"UPDATE {table} SET {_column(table)} = {_column(table)}",
        f"DELETE FROM {table}",
    ):
        with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
            conn.execute(text(statement))


def _column(table: str) -> str:
    return {"log_entries": "leaf_hash", "log_nodes": "hash", "log_checkpoints": "note"}[table]


def test_personal_data_written_into_an_event_never_reaches_its_leaf_in_clear(
    runtime: Runtime, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    add_events(db, 1, START, payload={"phone": "13812345678", "note": "zhang@example.com"})
    with caplog.at_level(logging.WARNING, logger="quan.log"):
        sequence(runtime)
    pseudonymize = transparency.pseudonymizer(runtime.settings)
    with db.read() as tx:
        (entry,) = transparency.entries(tx, 0, 0, pseudonymize)
    assert b"13812345678" not in entry.data
    assert b"zhang@example.com" not in entry.data
    payload = json.loads(entry.data)["payload"]
    assert payload == {
        "phone": pseudonymize("13812345678"),
        "note": pseudonymize("zhang@example.com"),
    }
    assert "payload.phone" in caplog.text
    assert "13812345678" not in caplog.text


def test_leaf_bytes_are_the_same_on_every_database(runtime: Runtime, db: Database) -> None:
    with db.write() as tx:
        tx.execute(
            insert(events).values(
                id=7,
                type="program.created",
                actor="staff:usr_1",
                subject_type="program",
                subject_id="prg_1",
                program_id="prg_1",
                payload='{"name":"春季餐饮券"}',
                occurred_at=datetime(2026, 11, 25, 10, 0, 0, 123456, tzinfo=UTC),
            )
        )
    sequence(runtime)
    pseudonymize = transparency.pseudonymizer(runtime.settings)
    with db.read() as tx:
        (entry,) = transparency.entries(tx, 0, 0, pseudonymize)
    assert (
        entry.data
        == (
            '{"actor":"staff:usr_1","event_id":7,"occurred_at":"2026-11-25T10:00:00.123456Z",'
            '"payload":{"name":"春季餐饮券"},"program_id":"prg_1",'
            '"subject":{"id":"prg_1","type":"program"},"type":"program.created","v":2}'
        ).encode()
    )


@pytest.fixture(params=["sqlite", "postgres"])
def unmigrated(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'old.db'}")
        yield database
        database.dispose()
        return
    url = need_service("postgres", POSTGRES_URL)
    schema = f"quan_log_{secrets.token_hex(4)}"
    admin = Database(url)
    with admin.engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    database = Database(url, schema=schema)
    yield database
    database.dispose()
    with admin.engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def test_events_written_before_the_log_existed_join_it_on_upgrade(
    unmigrated: Database, tmp_path: Path
) -> None:
    upgrade(unmigrated, "0001")
    with unmigrated.write() as tx:
        for i in range(3):
            record_event(
                tx, type="t.old", actor=SYSTEM, subject_type="t", subject_id=f"o{i}", at=START
            )
    upgrade(unmigrated)
    runtime = Runtime.build(
        make_settings(tmp_path, unmigrated.url), clock=FixedClock(START), db=unmigrated
    )
    assert sequence(runtime).appended == 3
    assert _log(unmigrated) == list(enumerate(_event_ids(unmigrated)))


def test_in_development_the_api_process_sequences_in_the_background(
    db: Database, tmp_path: Path, clock: FixedClock
) -> None:
    add_events(db, 4, START)
    settings = make_settings(tmp_path, db.url, env="development")
    runtime = Runtime.build(settings, clock=clock, db=db)
    with TestClient(create_app(runtime=runtime)):
        deadline = time.monotonic() + 10
        while len(_log(db)) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(_log(db)) == 4
    # Leaving the app stops the thread and frees the lease for the next process.
    assert lease.acquire(
        db, sequencer.LEASE_NAME, "next-process", clock.now(), timedelta(seconds=1)
    )


def test_outside_development_the_api_process_leaves_sequencing_to_the_job(
    runtime: Runtime, db: Database
) -> None:
    add_events(db, 2, START)
    with TestClient(create_app(runtime=runtime)) as client:
        assert client.get("/api/v1/audit/checkpoint").status_code == 404
    assert _log(db) == []


def test_the_database_appends_each_event_to_the_log_once(runtime: Runtime, db: Database) -> None:
    """``log_entries.event_id`` is unique: whatever lease or check above it is got round, an
    event already in the log cannot be appended at another index."""
    add_events(db, 2, START)
    sequence(runtime)
    with db.engine.connect() as conn:
        last = conn.execute(select(func.max(log_entries.c.log_index))).scalar_one()
        event_id = conn.execute(
            select(log_entries.c.event_id).where(log_entries.c.log_index == last)
        ).scalar_one()
    refused = r"uq_log_entries_event_id|log_entries\.event_id"
    with pytest.raises(IntegrityError, match=refused), db.engine.begin() as conn:
        conn.execute(
            insert(log_entries).values(log_index=last + 1, event_id=event_id, leaf_hash=b"x" * 32)
        )
