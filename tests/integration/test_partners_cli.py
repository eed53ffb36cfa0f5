"""``quan partners create|list|revoke``: a client made in the shell signs in with its secret,
which is printed once; revoked, it cannot."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from quan.cli import app
from quan.domain.errors import QuanError
from quan.services.delivery import partners
from quan.services.people.tokens import TokenSigner
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


def test_create_list_revoke(env: Path, db: Database) -> None:
    made = runner.invoke(app, ["partners", "create", "某银行数字钱包"])
    assert made.exit_code == 0, made.output
    client_id = re.search(r"client_id\s+(pcl_\w+)", made.output)
    secret = re.search(r"client_secret\s+(pcs_\S+)", made.output)
    assert client_id
    assert secret
    signer = TokenSigner(b"k" * 32, 900)
    now = datetime.now(UTC)
    with db.read() as tx:
        assert partners.issue_token(tx, now, signer, client_id[1], secret[1]).access_token
    listed = runner.invoke(app, ["partners", "list"])
    assert client_id[1] in listed.output
    assert secret[1] not in listed.output
    assert runner.invoke(app, ["partners", "revoke", client_id[1]]).exit_code == 0
    with db.read() as tx, pytest.raises(QuanError):
        partners.issue_token(tx, now, signer, client_id[1], secret[1])
    unknown = runner.invoke(app, ["partners", "revoke", "pcl_nobody"])
    assert unknown.exit_code == 1
