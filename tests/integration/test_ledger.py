"""The ledger on a real database: append-only history, and `quan ledger check` finds every break."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from quan.services.money.ledger_check import check_ledger
from quan.store.db import Database
from quan.store.tables import journal_entries, postings
from tests.conftest import World


def _funded(world: World) -> str:
    program, funder = world.program(), world.funder()
    world.post(
        "operator",
        f"/programs/{program['id']}/contributions",
        {"funder_id": funder["id"], "amount_fen": 90_000},
    )
    return str(program["id"])


def test_a_healthy_ledger_passes_every_check(world: World) -> None:
    _funded(world)
    with world.runtime.db.read() as tx:
        report = check_ledger(tx)
    assert report.ok, report.violations
    assert report.funded_fen == 90_000
    assert report.summary().startswith("ledger ok: 1 programs, 1 journal entries, 2 postings")


@pytest.mark.parametrize("table", ["postings", "journal_entries", "events"])
def test_history_tables_refuse_updates_and_deletes(world: World, table: str) -> None:
    _funded(world)
    db: Database = world.runtime.db
    column = {"postings": "amount_fen = 1", "journal_entries": "memo = 'x'", "events": "type = 'x'"}
    for statement in (f"UPDATE {table} SET {column[table]}", f"DELETE FROM {table}"):
        with pytest.raises(DBAPIError, match="append-only"), db.write() as tx:
            tx.execute(text(statement))


def test_one_cause_posts_once_whatever_the_caller_does(world: World) -> None:
    """``(kind, source_type, source_id)`` is unique in the database: a second entry for one
    cause is refused even when written straight past the services."""
    pid = _funded(world)
    now = datetime(2026, 11, 25, tzinfo=UTC)
    entry = {
        "program_id": pid,
        "kind": "contribution",
        "source_type": "test",
        "source_id": "cause-1",
        "memo": "",
        "created_by": "test",
        "created_at": now,
    }
    with world.runtime.db.write() as tx:
        tx.execute(insert(journal_entries).values(id="je_first", **entry))
    refused = r"uq_journal_entries_source|journal_entries\.kind"
    with pytest.raises(IntegrityError, match=refused), world.runtime.db.write() as tx:
        tx.execute(insert(journal_entries).values(id="je_second", **entry))


def _inject(world: World, program_id: str, amounts: list[tuple[str, str, int]]) -> None:
    """Write an entry straight into the database, bypassing the domain's balance check."""
    now = datetime(2026, 11, 25, tzinfo=UTC)
    with world.runtime.db.write() as tx:
        tx.execute(
            insert(journal_entries).values(
                id="je_forged",
                program_id=program_id,
                kind="forged",
                source_type="test",
                source_id="1",
                memo="",
                created_by="test",
                created_at=now,
            )
        )
        for bucket, ref, amount in amounts:
            tx.execute(
                insert(postings).values(
                    entry_id="je_forged",
                    program_id=program_id,
                    bucket=bucket,
                    ref=ref,
                    amount_fen=amount,
                )
            )


def test_an_unbalanced_entry_is_found(world: World) -> None:
    pid = _funded(world)
    _inject(world, pid, [("available", "", 500), ("reserved", "b1", -400)])
    with world.runtime.db.read() as tx:
        report = check_ledger(tx)
    assert not report.ok
    assert any("sums to 100" in v for v in report.violations)
    assert any("identity" in v or "!=" in v for v in report.violations)
    assert any("negative" in v for v in report.violations)


def test_a_balanced_entry_that_overdraws_an_account_is_found(world: World) -> None:
    pid = _funded(world)
    _inject(world, pid, [("available", "", -100_000), ("reserved", "b1", 100_000)])
    with world.runtime.db.read() as tx:
        report = check_ledger(tx)
    assert [v for v in report.violations if "negative" in v]


def test_an_approved_contribution_without_its_money_is_found(world: World) -> None:
    program, funder = world.program(), world.funder()
    # A pending contribution approved by editing the row directly: no journal entry exists.
    pending = world.post(
        "operator",
        f"/programs/{program['id']}/contributions",
        {"funder_id": funder["id"], "amount_fen": 9_000_000},
    ).json()
    with world.runtime.db.write() as tx:
        tx.execute(
            text("UPDATE fund_movements SET status = 'approved' WHERE id = :id"),
            {"id": pending["id"]},
        )
    with world.runtime.db.read() as tx:
        report = check_ledger(tx)
    assert any(pending["id"] in v and "0 journal entries" in v for v in report.violations)
