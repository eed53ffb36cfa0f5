"""Key rotation on a live database: personal data is re-sealed under a new key, batch by batch;
the log's signing key hands over to a new one that outside verifiers follow."""

from __future__ import annotations

import base64
import os
import re
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import String, Text, insert, select
from typer.testing import CliRunner

from quan.api.app import create_app
from quan.cli import app
from quan.config import ConfigError, Settings
from quan.domain.log_keys import HistoryEntry, check_history, endorse, verify_checkpoint
from quan.services.delivery import webhooks
from quan.services.merchants import merchants
from quan.services.operations import log_keys, pii_rotation
from quan.services.people import citizens, pii
from quan.services.runtime import Runtime
from quan.services.transparency import transparency
from quan.store.db import Database
from quan.store.log_tables import log_keys as log_keys_table
from quan.store.lottery_tables import lottery_draws
from quan.store.notify_tables import webhook_subscriptions
from quan.store.tables import metadata
from quan.verify import VerificationError, verify_log
from quan.verify import errors as reasons
from tests.conftest import START, World
from tests.integration.citizen_fixtures import person, register
from tests.integration.issuance_fixtures import batch, funded_program, voucher_type
from tests.integration.merchant_fixtures import approved
from tests.integration.transparency_fixtures import add_events, sequence

runner = CliRunner()
TOKEN = re.compile(r"^v[12]\.")


def _populate(world: World) -> dict[str, Any]:
    """Citizens, an approved merchant, a committed lottery seed: every kind of sealed value."""
    ids = [register(world, person(i))["id"] for i in range(5)]
    merchant, _ = approved(world)
    pid = funded_program(world)
    vt = voucher_type(world, pid)
    lottery = batch(world, pid, vt["id"], quantity=3, allocation="lottery")
    webhook = _webhook_subscription(world)
    return {"citizens": ids, "merchant": merchant["id"], "lottery": lottery["id"], **webhook}


def _webhook_subscription(world: World) -> dict[str, str]:
    """A partner's webhook subscription: its signing secret is sealed (issue 25, item 8)."""
    client = world.post("admin", "/partner-clients", {"name": "wallet"}).json()
    token = world.client.post(
        "/api/v1/partner/token",
        json={"client_id": client["id"], "client_secret": client["client_secret"]},
    ).json()["access_token"]
    made = world.client.post(
        "/api/v1/partner/subscriptions",
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["voucher.claimed"]},
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    return {"subscription": made["id"], "webhook_secret": made["secret"]}


def _clear(db: Database, settings: Settings, made: dict[str, Any]) -> list[object]:
    """Every sealed value in clear, read the way the services read them."""
    keys = citizens.CitizenKeys.from_settings(settings)
    with db.read() as tx:
        people = [citizens.open_personal_data(tx, keys, cid) for cid in made["citizens"]]
        account = merchants.payout_account(tx, merchants.sealing_key(settings), made["merchant"])
        sealed_seed = tx.execute(
            select(lottery_draws.c.seed_sealed).where(lottery_draws.c.batch_id == made["lottery"])
        ).scalar_one()
        sealed_secret = tx.execute(
            select(webhook_subscriptions.c.secret_enc).where(
                webhook_subscriptions.c.id == made["subscription"]
            )
        ).scalar_one()
    seed = pii.decrypt(pii.keyring(settings, "lottery/seed"), sealed_seed, made["lottery"])
    secret = pii.decrypt(
        pii.keyring(settings, webhooks.SECRET_PURPOSE),
        sealed_secret,
        webhooks.secret_aad(made["subscription"]),
    )
    assert secret == made["webhook_secret"]
    return [*people, account, seed, secret]


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
    assert stale["webhook_subscriptions.secret_enc"] == 1
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


# --- the log's signing key ------------------------------------------------------------------------


def _with_log_key(runtime: Runtime, seed: bytes) -> Runtime:
    settings = runtime.settings.model_copy(
        update={"log_signing_key": SecretStr(base64.b64encode(seed).decode())}
    )
    return Runtime.build(settings, clock=runtime.clock, db=runtime.db)


def _history(client: TestClient) -> list[HistoryEntry]:
    body = client.get("/api/v1/audit/keys").json()
    return [HistoryEntry(item["verifier_key"], item["endorsement"]) for item in body]


def test_the_log_key_rotates_and_the_outside_verifier_follows_it_while_old_checkpoints_verify(
    runtime: Runtime, db: Database, client: TestClient, tmp_path: Path
) -> None:
    add_events(db, 5, START)
    sequence(runtime)
    state = tmp_path / "verifier.json"
    before = verify_log(client, state_path=state)
    old_note = client.get("/api/v1/audit/checkpoint").text

    new_seed = os.urandom(32)
    with db.write() as tx:
        endorsed = log_keys.rotate(
            tx, START, runtime.settings, Ed25519PrivateKey.from_private_bytes(new_seed)
        )
    # Until the processes restart with the new key, the old one signs nothing: events wait.
    add_events(db, 3, START)
    with pytest.raises(ConfigError, match="retired"):
        sequence(runtime)
    assert verify_log(client, state_path=state).tree_size == 5

    restarted = _with_log_key(runtime, new_seed)
    sequence(restarted)
    with TestClient(create_app(runtime=restarted)) as fresh:
        assert fresh.get("/api/v1/audit/public-key").json()["verifier_key"] == endorsed
        after = verify_log(fresh, state_path=state)  # the state pinned the old key
        assert after.verifier_key == endorsed
        assert after.origin == before.origin  # the log keeps its name
        assert (after.previous_size, after.tree_size, after.consistency_checked) == (5, 8, True)
        new_note = fresh.get("/api/v1/audit/checkpoint").text
        keys = check_history(_history(fresh))
        assert verify_checkpoint(old_note, keys, origin=before.origin)[1] == 0
        assert verify_checkpoint(new_note, keys, origin=before.origin)[1] == 1
        # A verifier holding the old key out of band, and one starting afresh, both pass.
        assert verify_log(fresh, pinned_key=before.verifier_key).tree_size == 8
        assert verify_log(fresh, samples=100).entries_checked == 8


def test_a_checkpoint_by_the_retired_key_after_the_new_one_was_seen_is_refused(
    runtime: Runtime, db: Database, tmp_path: Path
) -> None:
    add_events(db, 2, START)
    sequence(runtime)
    old = transparency.LogKey.from_settings(runtime.settings)
    new_seed = os.urandom(32)
    with db.write() as tx:
        log_keys.rotate(tx, START, runtime.settings, Ed25519PrivateKey.from_private_bytes(new_seed))
    restarted = _with_log_key(runtime, new_seed)
    add_events(db, 1, START)
    sequence(restarted)
    state = tmp_path / "verifier.json"
    with TestClient(create_app(runtime=restarted)) as fresh:
        verify_log(fresh, state_path=state)
        # Someone who kept the retired key signs a newer head with it.
        add_events(db, 1, START)
        with db.write() as tx:
            transparency.sequence_batch(
                tx, START, old, transparency.pseudonymizer(runtime.settings)
            )
        with pytest.raises(VerificationError) as refused:
            verify_log(fresh, state_path=state)
    assert refused.value.reason == reasons.BAD_SIGNATURE
    assert "retired key" in refused.value.message


def test_a_key_added_to_the_history_without_the_current_keys_endorsement_is_refused(
    runtime: Runtime, db: Database, client: TestClient, tmp_path: Path
) -> None:
    add_events(db, 2, START)
    sequence(runtime)
    state = tmp_path / "verifier.json"
    verify_log(client, state_path=state)
    origin = transparency.LogKey.from_settings(runtime.settings)
    stranger, taken = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    forged = endorse(origin.origin, 2, stranger, taken)
    with db.write() as tx:
        tx.execute(
            insert(log_keys_table).values(
                position=1,
                verifier_key=forged.verifier_key,
                endorsement=forged.endorsement,
                created_at=START,
            )
        )
    with pytest.raises(VerificationError) as refused:
        verify_log(client, state_path=state)
    assert refused.value.reason == reasons.KEY_CHANGED
    assert "does not verify" in refused.value.message


def test_quan_keys_rotate_log_writes_the_new_key_privately_and_retires_the_old_one(
    runtime: Runtime, db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_events(db, 1, START)
    sequence(runtime)
    monkeypatch.setenv("QUAN_DATABASE_URL", db.url)
    monkeypatch.setenv("QUAN_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("QUAN_ENV", "development")
    for name in ("secret_key", "pii_key", "log_signing_key"):
        secret = getattr(runtime.settings, name).get_secret_value()
        monkeypatch.setenv(f"QUAN_{name.upper()}", secret)
    if db.schema:
        monkeypatch.setenv("PGOPTIONS", f"-csearch_path={db.schema}")
    key_file = tmp_path / "new-log-key"
    rotated = runner.invoke(app, ["keys", "rotate-log", "--new-key-file", str(key_file)])
    assert rotated.exit_code == 0, rotated.output
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    seed = base64.b64decode(key_file.read_text().strip())
    expected = transparency.LogKey.from_settings(runtime.settings).origin
    with db.read() as tx:
        history = log_keys.history(tx)
    assert [entry.verifier_key.split("+")[0] for entry in history] == [expected, expected]
    assert history[1].verifier_key in rotated.output
    assert Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw() == (
        check_history(history)[1][1].public_bytes_raw()
    )
    again = runner.invoke(app, ["keys", "rotate-log", "--new-key-file", str(tmp_path / "k2")])
    assert again.exit_code == 1  # the configured key is retired now: it can endorse nothing
    assert "retired" in again.output
