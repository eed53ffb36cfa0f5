"""The PostgreSQL pair of quan.bench.pg_pair for tests: skipped where the server binaries are
missing, failed instead with QUAN_REQUIRE_SERVICES=1."""

from __future__ import annotations

from pathlib import Path

import pytest

from quan.bench.pg_pair import Pair, binaries
from tests.conftest import REQUIRE_SERVICES

__all__ = ["Pair", "new_pair"]


def new_pair(root: Path) -> Pair:
    if binaries() is None:
        message = "PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup) are not installed"
        if REQUIRE_SERVICES:
            pytest.fail(message + " (QUAN_REQUIRE_SERVICES=1)")
        pytest.skip(message)
    return Pair(root)
