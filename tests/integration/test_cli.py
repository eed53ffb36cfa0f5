"""The `quan` command: migrations, accounts, the demo, and the ledger check's exit code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from quan.cli import app
from quan.store.db import Database

runner = CliRunner()


@pytest.fixture
def env(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("QUAN_DATABASE_URL", db.url)
    monkeypatch.setenv("QUAN_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("QUAN_ENV", "development")
    if db.schema:
        monkeypatch.setenv("PGOPTIONS", f"-csearch_path={db.schema}")
    return tmp_path


def test_demo_seed_is_idempotent_and_its_ledger_checks_out(env: Path) -> None:
    first = runner.invoke(app, ["demo", "seed"])
    assert first.exit_code == 0, first.output
    assert "demo-operator" in first.output
    creds = json.loads((env / "demo-credentials.json").read_text())
    assert creds["operator"] in first.output
    second = runner.invoke(app, ["demo", "seed"])
    assert second.exit_code == 0, second.output
    assert "already seeded" in second.output
    assert creds["operator"] in second.output
    check = runner.invoke(app, ["ledger", "check"])
    assert check.exit_code == 0, check.output
    assert "ledger ok: 1 programs," in check.output
    assert "70000000 fen funded" in check.output  # the pending ¥1,200,000 does not count yet


def test_ledger_check_exits_non_zero_on_a_violation(env: Path, db: Database) -> None:
    runner.invoke(app, ["demo", "seed"])
    with db.write() as tx:
        entry = tx.execute(text("SELECT id, program_id FROM journal_entries LIMIT 1")).one()
        tx.execute(
            text(
                "INSERT INTO postings (entry_id, program_id, bucket, ref, amount_fen) "
                "VALUES (:e, :p, 'available', '', 1)"
            ),
            {"e": entry.id, "p": entry.program_id},
        )
    result = runner.invoke(app, ["ledger", "check"])
    assert result.exit_code == 1
    assert "ledger BROKEN" in result.output
    assert "sums to 1 fen" in result.output


def test_users_create_makes_an_account_that_can_sign_in(env: Path) -> None:
    issuer = runner.invoke(
        app, ["issuers", "create", "--name", "温州市商务局", "--region-code", "330300"]
    )
    assert issuer.exit_code == 0, issuer.output
    issuer_id = issuer.output.strip()
    created = runner.invoke(
        app,
        [
            "users",
            "create",
            "--username",
            "wz-op",
            "--role",
            "operator",
            "--password",
            "a-long-password",
            "--issuer",
            issuer_id,
        ],
    )
    assert created.exit_code == 0, created.output
    again = runner.invoke(
        app,
        [
            "users",
            "create",
            "--username",
            "wz-op",
            "--role",
            "operator",
            "--password",
            "a-long-password",
            "--issuer",
            issuer_id,
        ],
    )
    assert again.exit_code == 1
    assert "USERNAME_TAKEN" in again.output
    weak = runner.invoke(
        app, ["users", "create", "--username", "x-user", "--role", "auditor", "--password", "short"]
    )
    assert weak.exit_code == 1
    assert "WEAK_PASSWORD" in weak.output


def test_production_without_secrets_refuses_to_start(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUAN_ENV", "production")
    result = runner.invoke(app, ["ledger", "check"])
    assert result.exit_code == 2
    assert "refusing to start in production" in result.output
