"""Backups taken while money moves restore to a database whose ledger and log verify."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from quan.cli import app
from quan.services.money.ledger_check import check_ledger
from quan.services.operations import backup
from quan.store.db import Database
from quan.store.tables import events
from quan.verify import verify_log
from tests.conftest import World
from tests.integration.transparency_fixtures import sequence

runner = CliRunner()


@pytest.fixture
def env(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI's configuration: the test's database (and, on PostgreSQL, its schema)."""
    monkeypatch.setenv("QUAN_DATABASE_URL", db.url)
    monkeypatch.setenv("QUAN_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("QUAN_ENV", "development")
    if db.schema:
        monkeypatch.setenv("PGOPTIONS", f"-csearch_path={db.schema}")
    return tmp_path


def _contribute(world: World, program: dict[str, Any], funder: dict[str, Any], fen: int) -> None:
    response = world.post(
        "operator",
        f"/programs/{program['id']}/contributions",
        {"funder_id": funder["id"], "amount_fen": fen, "note": "backup test"},
    )
    assert response.status_code == 201, response.text


def _lose(db: Database) -> None:
    """The disaster: the database is gone (file deleted; schema dropped)."""
    db.dispose()
    if db.dialect == "sqlite":
        path = Path(str(db.engine.url.database))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        with db.engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {db.schema} CASCADE"))
        db.dispose()


def test_a_backup_taken_while_money_moves_restores_to_a_ledger_and_log_that_verify(
    world: World, db: Database, env: Path, tmp_path: Path
) -> None:
    program, funder = world.program(), world.funder()
    for fen in (100_000, 250_000, 300_000):
        _contribute(world, program, funder, fen)
    sequence(world.runtime)
    state = tmp_path / "verifier.json"
    seen = verify_log(world.client, state_path=state)  # an outside verifier's last view
    assert seen.tree_size > 0

    # The backup is taken while another thread keeps moving money.
    stop = threading.Event()
    moved: list[int] = []

    def keep_contributing() -> None:
        while not stop.is_set() and len(moved) < 200:
            _contribute(world, program, funder, 1_000)
            moved.append(1_000)

    writer = threading.Thread(target=keep_contributing)
    writer.start()
    try:
        while len(moved) < 3:
            stop.wait(0.01)
        created = runner.invoke(app, ["backup", "create", str(tmp_path / "quan.backup")])
    finally:
        stop.set()
        writer.join()
    assert created.exit_code == 0, created.output
    live_funded = world.budget(program["id"])["funded_fen"]
    assert live_funded == 650_000 + sum(moved)

    _lose(db)
    restored = runner.invoke(app, ["backup", "restore", "--yes", str(tmp_path / "quan.backup")])
    assert restored.exit_code == 0, restored.output

    check = runner.invoke(app, ["ledger", "check"])
    assert check.exit_code == 0, check.output
    assert "ledger ok" in check.output
    with db.read() as tx:
        assert check_ledger(tx).ok
        funded = world.budget(program["id"])["funded_fen"]
        kept_events = tx.execute(select(func.count()).select_from(events)).scalar_one()
    # The copy is one moment: between the last contribution before the backup and the live one.
    assert 650_000 < funded <= live_funded
    assert (funded - 650_000) % 1_000 == 0
    assert kept_events > 0

    # The outside verifier's remembered head is a prefix of the restored log, before and after
    # the events the backup caught in the queue are sequenced.
    assert verify_log(world.client, state_path=state).tree_size >= seen.tree_size
    sequence(world.runtime)
    grown = verify_log(world.client, state_path=state, full=True)
    assert grown.tree_size == kept_events


def test_a_restore_refuses_a_file_that_is_not_a_backup(db: Database, tmp_path: Path) -> None:
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"not a database")
    with pytest.raises(backup.BackupError):
        backup.restore(db, junk)
    with db.read() as tx:  # the database is untouched
        assert tx.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1


def test_a_backup_never_overwrites_a_file(db: Database, tmp_path: Path) -> None:
    target = tmp_path / "taken.backup"
    target.write_bytes(b"an earlier backup")
    with pytest.raises(backup.BackupError, match="exists"):
        backup.create(db, target)
    assert target.read_bytes() == b"an earlier backup"
