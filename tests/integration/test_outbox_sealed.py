"""I1: the outbox holds no phone number and no sign-in code in clear, and forgets them in time."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError

from quan.channels import outbox as box
from quan.services.people.citizens import CitizenKeys
from quan.store.citizen_tables import citizen_otps
from quan.store.db import Database
from quan.store.migrate import upgrade
from quan.store.tables import outbox
from tests.conftest import World
from tests.integration.citizen_fixtures import ask_code, last_code, person, register, sms_to

ALICE, BOB = person(0), person(1)


def _cells(db: Database, table: Any) -> list[str]:
    with db.read() as tx:
        return [str(v) for row in tx.execute(select(table)) for v in row if v is not None]


def test_a_sign_in_code_and_its_phone_are_nowhere_in_clear(world: World) -> None:
    register(world, ALICE)
    assert ask_code(world, ALICE.phone).status_code == 202
    code = last_code(world, ALICE.phone)  # the development outbox still opens it for display
    stored = _cells(world.runtime.db, outbox) + _cells(world.runtime.db, citizen_otps)
    assert stored
    for secret in (code, ALICE.phone, ALICE.phone[-8:]):
        assert not [cell for cell in stored if secret in cell], secret


def test_a_sealed_body_does_not_open_in_another_row(world: World) -> None:
    register(world, ALICE)
    assert ask_code(world, ALICE.phone).status_code == 202
    keys = CitizenKeys.from_settings(world.runtime.settings).outbox
    db = world.runtime.db
    with db.write() as tx:
        other = box.enqueue(
            tx, world.runtime.clock.now(), keys, channel="sms", recipient="13900000000",
            subject="test", body="hello",
        )
        first = tx.execute(select(outbox.c.id, outbox.c.body_enc).where(outbox.c.id != other))
        _, token = first.first() or ("", "")
        tx.execute(outbox.update().where(outbox.c.id == other).values(body_enc=token))
    response = world.get("admin", "/dev/outbox")
    assert response.status_code == 500  # refuses to show a moved token rather than mislabel it


def test_messages_are_erased_after_the_retention_period(world: World) -> None:
    register(world, ALICE)
    assert ask_code(world, ALICE.phone).status_code == 202
    assert sms_to(world, ALICE.phone)
    world.runtime.clock.advance(timedelta(hours=world.runtime.settings.outbox_retention_hours))
    world.runtime.clock.advance(timedelta(seconds=1))
    keys = CitizenKeys.from_settings(world.runtime.settings).outbox
    with world.runtime.db.write() as tx:
        erased = box.purge(tx, world.runtime.clock.now(), keys)
    assert erased >= 1
    with world.runtime.db.read() as tx:
        assert box.newest(tx, keys, recipient=ALICE.phone) == []
        shown = box.newest(tx, keys)
        rows = tx.execute(select(outbox)).all()
    assert shown
    assert all(m.body is None and m.recipient is None for m in shown)
    assert all(r.recipient_hash is None and r.purged_at is not None for r in rows)


def test_each_new_message_erases_a_step_of_old_ones(world: World) -> None:
    register(world, ALICE)
    register(world, BOB)
    assert ask_code(world, ALICE.phone).status_code == 202
    world.runtime.clock.advance(timedelta(days=2))
    assert ask_code(world, BOB.phone).status_code == 202
    with world.runtime.db.read() as tx:
        statuses = [r.purged_at is None for r in tx.execute(select(outbox).order_by(outbox.c.id))]
    assert statuses == [False, True]


def test_the_migration_leaves_no_clear_message(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        upgrade(db, "0012")
        with db.write() as tx:
            tx.execute(
                text(
                    "INSERT INTO outbox (id, channel, recipient, subject, body, status, attempts,"
                    " created_at) VALUES ('msg_old', 'sms', '13812345678', 'citizen.otp.login',"
                    " '【券】您的验证码 482913', 'pending', 0, '2026-11-25 00:00:00')"
                )
            )
        upgrade(db)
        cells = _cells(db, outbox)
        assert not [c for c in cells if "13812345678" in c or "482913" in c]
        with db.read() as tx:
            row = tx.execute(select(outbox)).one()
        assert row.purged_at is not None
        assert row.subject == "citizen.otp.login"
    finally:
        db.dispose()


def test_a_new_outbox_row_without_a_seal_is_refused(db: Database) -> None:
    """The database, not only the code, keeps clear rows out: nothing to seal means purged."""
    with pytest.raises(IntegrityError), db.write() as tx:
        tx.execute(
            insert(outbox).values(
                id=f"msg_{secrets.token_hex(4)}", channel="sms", subject="x", status="queued",
                attempts=0, created_at=datetime.now(UTC),
            )
        )


def test_quan_outbox_purge_erases_what_is_due(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from quan.cli import root

    register(world, ALICE)
    assert ask_code(world, ALICE.phone).status_code == 202
    world.runtime.clock.advance(timedelta(days=2))
    monkeypatch.setattr(root, "_runtime", lambda: world.runtime)
    result = CliRunner().invoke(root.app, ["outbox", "purge"])
    assert result.exit_code == 0, result.output
    assert "erased 1 message" in result.output
    with world.runtime.db.read() as tx:
        assert all(r.purged_at is not None for r in tx.execute(select(outbox)))
