"""The development clock: an offset for trying time-bound steps, refused in production."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from quan.clock import (
    OffsetClock,
    SystemClock,
    format_offset,
    parse_offset,
    read_offset_file,
    write_offset_file,
)
from quan.config import ConfigError, dev_clock_path, load_settings
from quan.services.runtime import runtime_clock

GOOD = base64.b64encode(os.urandom(32)).decode()
# Production refuses one key reused for several secrets: each gets its own.
OTHER, THIRD = (base64.b64encode(os.urandom(32)).decode() for _ in range(2))


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("QUAN_"):
            monkeypatch.delenv(name)


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("+3d", timedelta(days=3)),
        ("3d", timedelta(days=3)),
        ("-2h", timedelta(hours=-2)),
        ("+1d12h30m", timedelta(days=1, hours=12, minutes=30)),
        ("1w", timedelta(weeks=1)),
        ("0", timedelta(0)),
        (" +90s ", timedelta(seconds=90)),
    ],
)
def test_offsets_parse_and_print_back(text: str, delta: timedelta) -> None:
    assert parse_offset(text) == delta
    assert parse_offset(format_offset(delta)) == delta


@pytest.mark.parametrize("text", ["3", "+3 days", "d", "+-3d", "1.5d", "99999d"])
def test_bad_offsets_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="clock offset"):
        parse_offset(text)


def test_production_refuses_to_start_with_a_dev_clock_offset_in_both_languages() -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(
            env="production",
            database_url="postgresql://x/y",
            secret_key=GOOD,
            pii_key=GOOD,
            log_signing_key=GOOD,
            dev_clock_offset="+3d",
        )
    assert "QUAN_DEV_CLOCK_OFFSET" in str(refused.value)
    assert "生产环境拒绝启动" in str(refused.value)


def test_production_runs_on_the_system_clock_even_with_an_offset_file(tmp_path: Path) -> None:
    settings = load_settings(
        env="production", var_dir=tmp_path, database_url="postgresql://x/y",
        secret_key=GOOD, pii_key=OTHER, log_signing_key=THIRD,
    )
    write_offset_file(dev_clock_path(settings), timedelta(days=30))
    assert isinstance(runtime_clock(settings), SystemClock)


def test_a_malformed_setting_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="QUAN_DEV_CLOCK_OFFSET"):
        load_settings(var_dir=tmp_path, dev_clock_offset="three days")


def test_development_clock_adds_the_setting_and_the_advanced_offset(tmp_path: Path) -> None:
    settings = load_settings(var_dir=tmp_path, dev_clock_offset="+3d")
    clock = runtime_clock(settings)
    ahead = clock.now() - datetime.now(UTC)
    assert timedelta(days=3) - timedelta(seconds=5) < ahead <= timedelta(days=3, seconds=5)
    write_offset_file(dev_clock_path(settings), timedelta(hours=2))
    assert read_offset_file(dev_clock_path(settings)) == timedelta(hours=2)
    assert isinstance(clock, OffsetClock)
    clock._read_at -= OffsetClock.REREAD_SECONDS  # as if a second had passed
    ahead = clock.now() - datetime.now(UTC)
    assert timedelta(days=3, hours=2) - timedelta(seconds=5) < ahead


def test_without_any_offset_the_development_clock_is_the_system_time(tmp_path: Path) -> None:
    clock = runtime_clock(load_settings(var_dir=tmp_path))
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)
