"""Key rotation on a live database: personal data is re-sealed under a new key, batch by batch."""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import String, Text, select
from typer.testing import CliRunner

from quan.cli import app
from quan.config import Settings
from quan.services import citizens, merchants, pii
from quan.services.operations import pii_rotation
from quan.store.db import Database
from quan.store.lottery_tables import lottery_draws
from quan.store.tables import metadata
from tests.conftest import World
from tests.integration.citizen_fixtures import person, register
from tests.integration.issuance_fixtures import batch, funded_program, voucher_type
from tests.integration.merchant_fixtures import approved

runner = CliRunner()
TOKEN = re.compile(r"^v[12]\.")


def _populate(world: World) -> dict[str, Any]:
    """Citizens, an approved merchant, a committed lottery seed: every kind of sealed value."""
    ids = [register(world, person(i))["id"] for i in range(5)]
    merchant, _ = approved(world)
    pid = funded_program(world)
    vt = voucher_type(world, pid)
    lottery = batch(world, pid, vt["id"], quantity=3, allocation="lottery")
    return {"citizens": ids, "merchant": merchant["id"], "lottery": lottery["id"]}


def _clear(db: Database, settings: Settings, made: dict[str, Any]) -> list[object]:
    """Every sealed value in clear, read the way the services read them."""
    keys = citizens.CitizenKeys.from_settings(settings)
    with db.read() as tx:
        people = [citizens.open_personal_data(tx, keys, cid) for cid in made["citizens"]]
        account = merchants.payout_account(tx, merchants.sealing_key(settings), made["merchant"])
        sealed_seed = tx.execute(
            select(lottery_draws.c.seed_sealed).where(lottery_draws.c.batch_id == made["lottery"])
        ).scalar_one()
    seed = pii.decrypt(pii.keyring(settings, "lottery/seed"), sealed_seed, made["lottery"])
    return [*people, account, seed]


def _rotated(settings: Settings) -> Settings:
    new = base64.b64encode(os.urandom(32)).decode()
    return settings.model_copy(update={"pii_sealing_key": SecretStr(new)})


def test_every_column_that_holds_a_sealed_token_is_covered_by_the_reencryption_job(
    world: World, db: Database
) -> None:
    _populate(world)
    covered = {sealed.name for sealed in pii_rotation.SEALED_COLUMNS}
    found: set[str] = set()
    with db.read() as tx:
        for table in metadata.sorted_tables:
            for column in table.columns:
                if not isinstance(column.type, Text | String):
                    continue
                values = tx.execute(select(column).where(column.is_not(None)).limit(500))
                if any(TOKEN.match(str(value)) for value in values.scalars()):
                    found.add(f"{table.name}.{column.name}")
    assert found, "the scenario wrote no sealed value"
    assert found <= covered, f"sealed columns the re-encryption job misses: {found - covered}"


def test_a_rotation_reseals_every_value_in_resumable_batches_and_keeps_lookups(
    world: World, db: Database
) -> None:
    made = _populate(world)
    before = world.runtime.settings
    clear = _clear(db, before, made)
    after = _rotated(before)

    stale = {c.name: c.stale for c in pii_rotation.status(db, after)}
    assert stale["citizens.name_enc"] == 5
    assert stale["merchants.bank_account_token"] == 1
    assert stale["lottery_draws.seed_sealed"] == 1
    assert _clear(db, after, made) == clear  # readable through the retired key meanwhile

    seen: list[tuple[str, int]] = []

    def record(column: pii_rotation.ColumnProgress) -> None:
        seen.append((column.name, column.reencrypted))

    first = pii_rotation.reencrypt(db, after, batch_size=2, max_batches=2, progress=record)
    assert seen == [("citizens.resident_id_enc", 2), ("citizens.resident_id_enc", 4)]
    assert sum(c.reencrypted for c in first) == 4  # stopped after two batches of two
    left = sum(c.stale for c in pii_rotation.status(db, after))
    assert left == sum(stale.values()) - 4

    rest = pii_rotation.reencrypt(db, after, batch_size=2)  # resumes where the first stopped
    assert sum(c.reencrypted for c in rest) == left
    assert all(c.stale == 0 for c in pii_rotation.status(db, after))

    # Only the new key is needed now: every value opens without the retired one.
    with db.read() as tx:
        for sealed in pii_rotation.SEALED_COLUMNS:
            only_new = pii.Keyring(pii.keyring(after, sealed.purpose).current)
            rows = tx.execute(select(sealed.key_column, sealed.sealed)).all()
            for key, token in rows:
                if token is not None:
                    pii.decrypt(only_new, token, sealed.aad(key))
    assert _clear(db, after, made) == clear
    # Lookups by ID number still find the citizen (their hash key did not rotate).
    found = world.post("operator", "/citizens/lookup", {"resident_id": person(0).resident_id})
    assert found.status_code == 200, found.text


def test_the_keys_commands_report_progress_and_finish_the_job(
    world: World, db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = _populate(world)
    settings = world.runtime.settings
    clear = _clear(db, settings, made)
    after = _rotated(settings)
    monkeypatch.setenv("QUAN_DATABASE_URL", db.url)
    monkeypatch.setenv("QUAN_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("QUAN_ENV", "development")
    for name in ("secret_key", "pii_key", "log_signing_key", "pii_sealing_key"):
        value = getattr(after, name)
        monkeypatch.setenv(f"QUAN_{name.upper()}", value.get_secret_value())
    if db.schema:
        monkeypatch.setenv("PGOPTIONS", f"-csearch_path={db.schema}")

    status = runner.invoke(app, ["keys", "status"])
    assert status.exit_code == 0, status.output
    assert "citizens.name_enc: 5 sealed, 5 under a retired key" in status.output
    partial = runner.invoke(app, ["keys", "reencrypt", "--batch-size", "3", "--max-batches", "1"])
    assert partial.exit_code == 0, partial.output
    assert "citizens.resident_id_enc: 3/5 re-encrypted" in partial.output
    done = runner.invoke(app, ["keys", "reencrypt"])
    assert done.exit_code == 0, done.output
    assert "0 left to do" in done.output
    final = runner.invoke(app, ["keys", "status"])
    assert "all personal data is sealed under the current key" in final.output
    assert _clear(db, after, made) == clear
