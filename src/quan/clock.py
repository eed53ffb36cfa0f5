"""Where the time comes from: injected everywhere so that tests can fix or move it."""

from __future__ import annotations

import contextlib
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until told to move (tests, simulations)."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware instant")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at

    def advance(self, delta: timedelta) -> None:
        self._at += delta

    def set(self, at: datetime) -> None:
        self._at = at.astimezone(UTC)


# --- the development clock ----------------------------------------------------------------------

OFFSET_FILE = "dev-clock-offset"  # under var/: written by `quan dev clock`, read by every process
_UNITS = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1),
          "m": timedelta(minutes=1), "s": timedelta(seconds=1)}  # fmt: skip
_OFFSET = re.compile(r"([+-]?)((?:\d+[wdhms])+)")
_PART = re.compile(r"(\d+)([wdhms])")
MAX_OFFSET = timedelta(days=3660)  # ten years: further is a typo, not a rehearsal


def parse_offset(text: str) -> timedelta:
    """``+3d``, ``-2h``, ``1d12h30m``, ``+1w``, ``0`` → a timedelta; ValueError otherwise."""
    value = text.strip().lower()
    if value in ("", "0", "+0", "-0"):
        return timedelta(0)
    match = _OFFSET.fullmatch(value)
    if match is None:
        raise ValueError(
            f"not a clock offset: {text!r} (write e.g. +3d, -2h, +1d12h; units w d h m s)"
        )
    total = sum((int(n) * _UNITS[u] for n, u in _PART.findall(match.group(2))), timedelta(0))
    if total > MAX_OFFSET:
        raise ValueError(f"clock offset {text!r} is more than ten years")
    return -total if match.group(1) == "-" else total


def format_offset(delta: timedelta) -> str:
    """The inverse of :func:`parse_offset` (``+1d2h``, ``-30m``, ``0``)."""
    if not delta:
        return "0"
    sign = "-" if delta < timedelta(0) else "+"
    seconds = int(abs(delta).total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return sign + "".join(parts)


def read_offset_file(path: Path) -> timedelta:
    try:
        return parse_offset(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return timedelta(0)


def write_offset_file(path: Path, delta: timedelta) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(format_offset(delta) + "\n", encoding="utf-8")
    tmp.replace(path)  # atomic: a process reading meanwhile sees the old or the new offset


class OffsetClock:
    """Development only: the system time moved by ``QUAN_DEV_CLOCK_OFFSET`` plus the offset that
    ``quan dev clock advance`` keeps in ``var/dev-clock-offset``, so that a cut-off, a lottery
    window's close or an expiry can be reached in one sitting. The file is read again at most once
    a second, so a running server follows the CLI without a restart; every process (server
    workers, CLI, jobs) reads the same file and so agrees on the time."""

    REREAD_SECONDS = 1.0

    def __init__(self, base: timedelta, path: Path) -> None:
        self._base = base
        self._path = path
        self._file = read_offset_file(path)
        self._read_at = time.monotonic()

    @property
    def offset(self) -> timedelta:
        if time.monotonic() - self._read_at >= self.REREAD_SECONDS:
            # A file being written or mangled: keep the last good offset.
            with contextlib.suppress(OSError, ValueError):
                self._file = read_offset_file(self._path)
            self._read_at = time.monotonic()
        return self._base + self._file

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset
