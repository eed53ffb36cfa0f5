"""``quan demo seed``: a believable city program built through the services, idempotent against
whatever operators do afterwards (``make run`` twice must serve)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from quan.api.app import create_app
from quan.cli import app
from quan.config import load_settings
from quan.store.db import Database
from quan.store.schema import metadata

runner = CliRunner()


@pytest.fixture
def env(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("QUAN_DATABASE_URL", db.url)
    monkeypatch.setenv("QUAN_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("QUAN_ENV", "development")
    if db.schema:
        monkeypatch.setenv("PGOPTIONS", f"-csearch_path={db.schema}")
    return tmp_path


def seed() -> str:
    result = runner.invoke(app, ["demo", "seed"])
    assert result.exit_code == 0, result.output
    return result.output


def counts(db: Database) -> dict[str, int]:
    with db.read() as tx:
        return {
            t.name: tx.execute(select(func.count()).select_from(t)).scalar_one()
            for t in metadata.sorted_tables
        }


def test_the_demo_is_a_small_city_program_whose_books_and_log_check_out(
    env: Path, db: Database
) -> None:
    output = seed()
    creds = json.loads((env / "demo-credentials.json").read_text())
    for role in ("admin", "operator", "checker", "auditor", "agent"):
        assert creds[role] in output  # every role's sign-in is printed
    assert creds["terminal"]["key"] in output
    assert creds["citizen_phone"] in output
    with db.read() as tx:
        q = lambda sql: tx.execute(text(sql)).all()  # noqa: E731
        assert q("SELECT count(*) FROM citizens")[0][0] == 300
        groups = q("SELECT income_group, disabled, count(*) FROM citizens GROUP BY 1, 2")
        assert {(g, bool(d)) for g, d, _ in groups} >= {("low_income", False), ("normal", True)}
        assert q("SELECT status FROM fund_movements ORDER BY amount_fen DESC")[0] == (
            "pending_approval",
        )
        assert {r[0] for r in q("SELECT kind FROM voucher_types")} == {"fixed", "percent"}
        assert set(q("SELECT allocation, status FROM batches")) == {
            ("fcfs", "open"),
            ("lottery", "open"),
        }
        assert q("SELECT count(*) FROM lottery_registrations")[0][0] == 120
        assert q("SELECT count(*) FROM merchants WHERE status = 'approved'")[0][0] == 5
        assert q("SELECT count(*) FROM merchants WHERE status = 'submitted'")[0][0] == 1
        assert q("SELECT count(*) FROM terminals")[0][0] == 5
        assert q("SELECT count(*) FROM vouchers WHERE citizen_id IS NOT NULL")[0][0] == 150
        assert q("SELECT count(*) FROM redemptions")[0][0] == 60
        runs = q("SELECT redemption_count, payout_fen FROM settlement_runs")
        assert len(runs) == 1
        assert runs[0][0] == 60
        assert runs[0][1] == 60 * 3000
        assert q("SELECT count(*) FROM settlement_payouts")[0][0] == 1
        events = q("SELECT count(*) FROM events")[0][0]
        size = q("SELECT max(tree_size) FROM log_checkpoints")[0][0]
        assert size == events  # every event is in the signed log
    check = runner.invoke(app, ["ledger", "check"])
    assert check.exit_code == 0, check.output
    verify = runner.invoke(app, ["audit", "verify", "--help"])
    assert verify.exit_code == 0


def test_seeding_again_after_an_operator_made_a_program_and_a_batch_changes_nothing(
    env: Path, db: Database
) -> None:
    seed()
    creds = json.loads((env / "demo-credentials.json").read_text())
    with TestClient(create_app(load_settings())) as api:
        token = api.post(
            "/api/v1/auth/token",
            json={"username": "demo-operator", "password": creds["operator"]},
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}

        def post(path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
            answer = api.post(f"/api/v1{path}", json=body or {}, headers=auth)
            assert answer.status_code in (200, 201), answer.text
            created: dict[str, Any] = answer.json()
            return created

        now = datetime.now(UTC)
        program = post(
            "/programs",
            {
                "name": "2026 冬季服务消费券（演示）",  # even the demo program's own name
                "timezone": "Asia/Shanghai",
                "starts_at": now.isoformat(),
                "ends_at": (now + timedelta(days=60)).isoformat(),
            },
        )
        vt = post(
            f"/programs/{program['id']}/voucher-types",
            {"name": "家政满200减50", "kind": "fixed", "face_value_fen": 5000,
             "min_spend_fen": 20000, "categories": ["housekeeping"], "scenes": ["offline"],
             "validity_preset": "short"},
        )
        post(
            f"/programs/{program['id']}/batches",
            {"voucher_type_id": vt["id"], "name": "家政券", "quantity": 10, "allocation": "fcfs",
             "claim_opens_at": (now + timedelta(hours=1)).isoformat(),
             "claim_closes_at": (now + timedelta(days=3)).isoformat()},
        )
    before = counts(db)
    files = (env / "demo-credentials.json").read_text()
    again = seed()
    assert "already seeded" in again
    assert creds["operator"] in again
    assert counts(db) == before  # a second run writes nothing
    assert (env / "demo-credentials.json").read_text() == files
    third = seed()
    assert counts(db) == before
    assert "already seeded" in third
