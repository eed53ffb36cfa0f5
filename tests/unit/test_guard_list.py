"""The guard list of ``make mutants`` stays true to the code: every entry's snippets are found
exactly once and every test it names exists, so a move or a split breaks the suite (which runs
on every change) rather than the mutation run (which is run by hand)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.mutants import run

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("guard", run.load(), ids=lambda g: g.id)
def test_every_guard_is_found_once_and_names_real_tests(guard: run.Guard) -> None:
    path = run.resolve(ROOT, guard)
    assert path.is_file()
    for test in guard.tests:
        file, _, name = test.partition("::")
        assert (ROOT / file).is_file(), f"{guard.id}: {file} does not exist"
        if name:
            assert f"def {name.split('[')[0]}(" in (ROOT / file).read_text(encoding="utf-8"), (
                f"{guard.id}: {test} names no test"
            )
