"""``make`` alone lists every target; ``make run`` takes PORT and HOST."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _make(*args: str) -> str:
    done = subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), *args],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return done.stdout


def test_make_alone_lists_every_target_of_the_makefile() -> None:
    text = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z-]*):", text, flags=re.MULTILINE))
    assert {"help", "run", "test", "lint", "typecheck", "unit", "bench", "install"} <= targets
    listed = set(re.findall(r"^make ([a-z][a-z-]*):", _make(), flags=re.MULTILINE))
    assert listed == targets


def test_make_run_serves_on_the_given_host_and_port() -> None:
    planned = _make("-n", "run", "PORT=9123", "HOST=0.0.0.0")
    assert "quan serve --host 0.0.0.0 --port 9123" in planned
