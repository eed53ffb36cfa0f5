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


def _production(**secrets: str) -> dict[str, object]:
    keys = {"secret_key": GOOD, "pii_key": _good(), "log_signing_key": _good()}
    keys.update(secrets)
    return {"env": "production", "database_url": "postgresql://x/y", **keys}


def _good() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@pytest.mark.parametrize("spelling", ["Production", "PRODUCTION", " production "])
def test_environment_name_is_read_in_any_case(
    monkeypatch: pytest.MonkeyPatch, spelling: str
) -> None:
    monkeypatch.setenv("QUAN_ENV", spelling)
    monkeypatch.setenv("QUAN_DATABASE_URL", "postgresql://db/quan")
    for name in ("SECRET_KEY", "PII_KEY", "LOG_SIGNING_KEY"):
        monkeypatch.setenv(f"QUAN_{name}", _good())
    assert load_settings().is_production


def test_an_unknown_environment_is_a_configuration_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QUAN_ENV", "prod")
    with pytest.raises(ConfigError, match="QUAN_ENV must be one of") as caught:
        load_settings()
    assert "只能是" in str(caught.value)


@pytest.mark.parametrize(
    "weak",
    [
        base64.b64encode(bytes(32)).decode(),  # all zero
        base64.b64encode(b"\xff" * 48).decode(),  # one byte repeated
        base64.b64encode(b"ab" * 32).decode(),  # a pattern
        base64.b64encode(bytes(range(12)) * 3).decode(),  # a short cycle
        "0" * 44,  # typed, not base64 of random bytes
    ],
)
def test_production_refuses_low_entropy_secrets(weak: str) -> None:
    with pytest.raises(ConfigError, match="QUAN_PII_KEY is not random") as caught:
        load_settings(**_production(pii_key=weak))
    assert "不是随机密钥" in str(caught.value)


def test_production_refuses_one_key_reused_for_several_secrets() -> None:
    key = _good()
    with pytest.raises(ConfigError) as caught:
        load_settings(**_production(secret_key=key, pii_key=key, log_signing_key=key))
    message = str(caught.value)
    assert "QUAN_PII_KEY is the same key as QUAN_SECRET_KEY" in message
    assert "QUAN_LOG_SIGNING_KEY is the same key as QUAN_SECRET_KEY" in message


def test_the_cli_reports_a_bad_environment_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from quan.cli import app

    monkeypatch.setenv("QUAN_ENV", "Production")
    monkeypatch.setenv("QUAN_DATABASE_URL", "postgresql://db/quan")
    for name in ("SECRET_KEY", "PII_KEY", "LOG_SIGNING_KEY"):
        monkeypatch.setenv(f"QUAN_{name}", base64.b64encode(bytes(32)).decode())
    result = CliRunner().invoke(app, ["ledger", "check"])
    assert result.exit_code == 2
    assert "QUAN_SECRET_KEY is not random" in result.output
    assert "Traceback" not in result.output
