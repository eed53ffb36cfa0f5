"""Configuration: zero-config embedded secrets; production refuses unsafe settings."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from quan.config import ConfigError, load_settings

GOOD = base64.b64encode(os.urandom(32)).decode()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("QUAN_"):
            monkeypatch.delenv(name)


def test_embedded_mode_generates_secrets_once_with_owner_only_permissions(tmp_path: Path) -> None:
    first = load_settings(var_dir=tmp_path)
    path = tmp_path / "secrets.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    second = load_settings(var_dir=tmp_path)
    for name in ("secret_key", "pii_key", "log_signing_key"):
        assert first.secret_bytes(name) == second.secret_bytes(name)
        assert len(first.secret_bytes(name)) == 32


def test_embedded_default_database_is_a_sqlite_file_under_var(tmp_path: Path) -> None:
    settings = load_settings(var_dir=tmp_path)
    assert settings.resolved_database_url == f"sqlite:///{tmp_path.as_posix()}/quan.db"


def test_production_refuses_missing_secrets(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="QUAN_SECRET_KEY is not set"):
        load_settings(env="production", var_dir=tmp_path, database_url="postgresql://x/y")
    assert not (tmp_path / "secrets.json").exists()


def test_production_refuses_known_default_secrets(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="known default"):
        load_settings(
            env="production",
            database_url="postgresql://x/y",
            secret_key="changeme",
            pii_key=GOOD,
            log_signing_key=GOOD,
        )


def test_production_refuses_short_secrets() -> None:
    with pytest.raises(ConfigError, match="at least 32 bytes"):
        load_settings(
            env="production",
            database_url="postgresql://x/y",
            secret_key=base64.b64encode(b"short").decode(),
            pii_key=GOOD,
            log_signing_key=GOOD,
        )


def test_production_with_strong_secrets_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUAN_ENV", "production")
    monkeypatch.setenv("QUAN_DATABASE_URL", "postgresql://db/quan")
    for name in ("SECRET_KEY", "PII_KEY", "LOG_SIGNING_KEY"):
        monkeypatch.setenv(f"QUAN_{name}", base64.b64encode(os.urandom(32)).decode())
    settings = load_settings()
    assert settings.is_production
