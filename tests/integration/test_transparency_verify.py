"""The independent verifier: passes on a healthy log, refuses every tampering, remembers growth."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from quan.api.app import create_app
from quan.cli import audit as cli_audit
from quan.domain import merkle
from quan.services.runtime import Runtime
from quan.store.db import Database
from quan.verify import VerificationError, verify_log
from quan.verify import errors as reasons
from tests.conftest import START, make_settings
from tests.integration.transparency_fixtures import (
    AppendOnlyLifter,
    add_events,
    sequence,
    tamper,
)

EVERY = 10_000  # samples: with small logs, check the inclusion proof of every entry


@pytest.fixture
def unlock(db: Database) -> Iterator[AppendOnlyLifter]:
    lifter = AppendOnlyLifter(db)
    yield lifter
    lifter.restore()


@pytest.fixture
def log_of_21(runtime: Runtime, db: Database) -> None:
    add_events(db, 21, START)
    sequence(runtime, batch_size=8)


def _refused(client: httpx.Client, reason: str, **kwargs: object) -> VerificationError:
    with pytest.raises(VerificationError) as caught:
        verify_log(client, **kwargs)  # type: ignore[arg-type]
    assert caught.value.reason == reason, caught.value
    return caught.value


@pytest.mark.usefixtures("log_of_21")
def test_a_healthy_log_passes_and_its_key_and_head_are_remembered(
    client: TestClient, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    outcome = verify_log(client, state_path=state, samples=EVERY)
    assert (outcome.tree_size, outcome.entries_checked, outcome.inclusion_proofs_checked) == (
        21,
        21,
        21,
    )
    assert outcome.key_pinned_now
    saved = json.loads(state.read_text())
    assert saved["tree_size"] == 21
    assert saved["verifier_key"] == client.get("/api/v1/audit/public-key").json()["verifier_key"]


@pytest.mark.usefixtures("log_of_21")
def test_a_later_run_hashes_only_new_entries_and_checks_the_log_only_grew(
    runtime: Runtime, db: Database, client: TestClient, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    verify_log(client, state_path=state)
    add_events(db, 10, START)
    sequence(runtime)
    outcome = verify_log(client, state_path=state, samples=EVERY)
    assert (outcome.previous_size, outcome.tree_size, outcome.entries_checked) == (21, 31, 10)
    assert outcome.consistency_checked
    # new entries are all proven, and so are the old ones fetched again
    assert outcome.inclusion_proofs_checked == 31
    again = verify_log(client, state_path=state)
    assert (again.entries_checked, again.consistency_checked) == (0, False)


def test_an_empty_log_verifies_and_later_growth_from_it_too(
    runtime: Runtime, db: Database, client: TestClient, tmp_path: Path
) -> None:
    sequence(runtime)
    state = tmp_path / "state.json"
    assert verify_log(client, state_path=state).tree_size == 0
    add_events(db, 3, START)
    sequence(runtime)
    assert verify_log(client, state_path=state).entries_checked == 3


@pytest.mark.usefixtures("log_of_21")
def test_a_rewritten_event_is_refused(
    db: Database, client: TestClient, unlock: AppendOnlyLifter
) -> None:
    unlock("events")
    tamper(db, "UPDATE events SET payload = :p WHERE subject_id = 'tst_5'", p='{"n":500}')
    error = _refused(client, reasons.ENTRIES_MISMATCH)
    assert "rewritten" in error.message


@pytest.mark.usefixtures("log_of_21")
def test_an_event_rewritten_after_the_last_run_is_caught_by_the_resampled_old_entries(
    db: Database, client: TestClient, tmp_path: Path, unlock: AppendOnlyLifter
) -> None:
    state = tmp_path / "state.json"
    verify_log(client, state_path=state)
    unlock("events")
    tamper(db, "UPDATE events SET type = 'test.forged' WHERE subject_id = 'tst_2'")
    _refused(client, reasons.INCLUSION_FAILED, state_path=state, samples=EVERY)


@pytest.mark.usefixtures("log_of_21")
def test_a_rewritten_leaf_hash_is_refused(
    db: Database, client: TestClient, unlock: AppendOnlyLifter
) -> None:
    unlock("log_entries")
    tamper(db, "UPDATE log_entries SET leaf_hash = :h WHERE log_index = 6", h=bytes(32))
    _refused(client, reasons.INCLUSION_FAILED, samples=EVERY)


@pytest.mark.usefixtures("log_of_21")
def test_a_rewritten_tree_node_is_refused(
    db: Database, client: TestClient, unlock: AppendOnlyLifter
) -> None:
    unlock("log_nodes")
    tamper(db, "UPDATE log_nodes SET hash = :h WHERE level = 2 AND node_index = 1", h=bytes(32))
    _refused(client, reasons.INCLUSION_FAILED, samples=EVERY)


@pytest.mark.usefixtures("log_of_21")
def test_a_rewritten_tree_node_breaks_the_consistency_proof_of_a_remembered_head(
    runtime: Runtime, db: Database, client: TestClient, tmp_path: Path, unlock: AppendOnlyLifter
) -> None:
    state = tmp_path / "state.json"
    verify_log(client, state_path=state)
    add_events(db, 4, START)
    sequence(runtime)
    unlock("log_nodes")
    # (4, 0) covers entries 0-15: every proof from size 21 to 25 relies on it.
    tamper(db, "UPDATE log_nodes SET hash = :h WHERE level = 4 AND node_index = 0", h=bytes(32))
    _refused(client, reasons.FORK, state_path=state, samples=0)


@pytest.mark.usefixtures("log_of_21")
def test_a_checkpoint_with_a_changed_root_fails_its_signature(
    db: Database, client: TestClient, unlock: AppendOnlyLifter
) -> None:
    unlock("log_checkpoints")
    tamper(db, "UPDATE log_checkpoints SET note = replace(note, '\n21\n', '\n22\n')")
    _refused(client, reasons.BAD_SIGNATURE)


@pytest.mark.usefixtures("log_of_21")
def test_a_log_that_shrank_is_refused(
    db: Database, client: TestClient, tmp_path: Path, unlock: AppendOnlyLifter
) -> None:
    state = tmp_path / "state.json"
    verify_log(client, state_path=state)
    for table in ("log_checkpoints", "log_entries"):
        unlock(table)
    tamper(db, "DELETE FROM log_checkpoints WHERE tree_size = 21")
    tamper(db, "DELETE FROM log_entries WHERE log_index >= 16")
    error = _refused(client, reasons.LOG_SHRANK, state_path=state)
    assert "size 16" in error.message


@pytest.mark.usefixtures("log_of_21")
def test_a_log_rebuilt_with_another_history_is_refused_as_a_fork(
    runtime: Runtime, db: Database, client: TestClient, tmp_path: Path, unlock: AppendOnlyLifter
) -> None:
    state = tmp_path / "state.json"
    verify_log(client, state_path=state)
    # The operator rewrites an old event and re-signs a whole new tree with the real key.
    for table in ("events", "log_entries", "log_nodes", "log_checkpoints"):
        unlock(table)
    tamper(db, "UPDATE events SET payload = :p WHERE subject_id = 'tst_0'", p='{"n":-1}')
    for table in ("log_checkpoints", "log_nodes", "log_entries"):
        tamper(db, f"DELETE FROM {table}")
    tamper(db, "INSERT INTO log_queue (event_id) SELECT id FROM events")
    sequence(runtime)
    error = _refused(client, reasons.FORK, state_path=state)
    assert "same size 21" in error.message
    add_events(db, 2, START)
    sequence(runtime)
    _refused(client, reasons.FORK, state_path=state)


@pytest.mark.usefixtures("log_of_21")
def test_a_log_that_changes_its_key_is_refused(
    runtime: Runtime, db: Database, client: TestClient, tmp_path: Path, unlock: AppendOnlyLifter
) -> None:
    state = tmp_path / "state.json"
    verify_log(client, state_path=state)
    # Another key takes over the log without an endorsement by the pinned one (rotations are
    # tested in test_key_rotation.py): its history starts with itself.
    unlock("log_keys")
    tamper(db, "DELETE FROM log_keys")
    impostor = Runtime.build(make_settings(tmp_path, db.url), clock=runtime.clock, db=db)
    add_events(db, 1, START)
    sequence(impostor)
    with TestClient(create_app(runtime=impostor)) as other:
        error = _refused(other, reasons.KEY_CHANGED, state_path=state)
    assert "pins" in error.message


@pytest.mark.usefixtures("log_of_21")
def test_a_key_given_out_of_band_must_match_the_logs(client: TestClient, tmp_path: Path) -> None:
    published = client.get("/api/v1/audit/public-key").json()["verifier_key"]
    assert verify_log(client, pinned_key=published).tree_size == 21
    stranger = "quan/log/00000000+01234567+AWBKpTOLVA5AbGTksSdlz3ocxZxgvuya69HzWRBWTuSD"
    _refused(client, reasons.KEY_CHANGED, pinned_key=stranger)


@pytest.mark.usefixtures("log_of_21")
def test_a_failed_run_leaves_the_saved_state_untouched(
    db: Database, client: TestClient, tmp_path: Path, unlock: AppendOnlyLifter
) -> None:
    state = tmp_path / "state.json"
    verify_log(client, state_path=state)
    before = state.read_text()
    unlock("log_checkpoints")
    tamper(db, "UPDATE log_checkpoints SET note = replace(note, '\n21\n', '\n22\n')")
    _refused(client, reasons.BAD_SIGNATURE, state_path=state)
    assert state.read_text() == before


@pytest.mark.usefixtures("log_of_21")
def test_a_damaged_state_file_is_refused_rather_than_trusted(
    client: TestClient, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    verify_log(client, state_path=state)
    saved = json.loads(state.read_text())
    saved["root_hash"] = "A" * 43 + "="
    state.write_text(json.dumps(saved))
    _refused(client, reasons.STATE_INVALID, state_path=state)


def test_a_site_that_is_not_a_quan_log_is_reported_as_such(tmp_path: Path) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"detail": "nothing here"})

    with httpx.Client(base_url="http://example.test", transport=httpx.MockTransport(answer)) as c:
        _refused(c, reasons.BAD_RESPONSE)


@pytest.mark.usefixtures("log_of_21")
def test_the_cli_prints_ok_on_a_healthy_log_and_exits_1_with_the_reason_on_tampering(
    db: Database,
    client: TestClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    unlock: AppendOnlyLifter,
) -> None:
    # The command builds its own httpx client from --url; hand it the one bound to the app.
    monkeypatch.setattr(httpx, "Client", lambda **kwargs: client)
    state = str(tmp_path / "state.json")
    runner = CliRunner()
    ok = runner.invoke(
        cli_audit.app, ["audit", "verify", "--url", "http://testserver/api/v1/", "--state", state]
    )
    assert ok.exit_code == 0, ok.output
    assert "OK" in ok.output
    assert "size 21" in ok.output
    unlock("events")
    tamper(db, "UPDATE events SET actor = 'staff:someone_else' WHERE subject_id = 'tst_20'")
    failed = runner.invoke(
        cli_audit.app, ["audit", "verify", "--url", "http://testserver", "--state", state, "--full"]
    )
    assert failed.exit_code == 1
    assert "VERIFICATION FAILED" in failed.output
    assert "entries_mismatch" in failed.output


def test_the_verifier_does_not_import_the_store_or_the_services() -> None:
    code = (
        "import sys, quan.verify, quan.cli.audit\n"
        "bad = sorted(m for m in sys.modules if m.startswith("
        "('quan.store', 'quan.services', 'quan.api', 'sqlalchemy')))\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_leaf_hashes_in_the_tree_are_what_the_verifier_recomputes(
    runtime: Runtime, db: Database, client: TestClient
) -> None:
    # Guards the premise of every test above: a healthy log verifies, with the same root.
    add_events(db, 5, START)
    result = sequence(runtime)
    assert verify_log(client).root_hash == result.root_hash != merkle.EMPTY_ROOT
