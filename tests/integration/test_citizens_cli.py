"""`quan citizens import FILE`: the server-side way to load an eligibility list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from quan.cli import app
from quan.store.citizen_tables import citizen_imports, citizens
from quan.store.db import Database
from tests.citizen_samples import HEADER, csv_bytes, people

runner = CliRunner()
CROWD = list(people(50, seed=3))


@pytest.fixture
def env(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("QUAN_DATABASE_URL", db.url)
    monkeypatch.setenv("QUAN_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("QUAN_ENV", "development")
    if db.schema:
        monkeypatch.setenv("PGOPTIONS", f"-csearch_path={db.schema}")
    return tmp_path


def rows_in(db: Database) -> tuple[int, int]:
    with db.read() as tx:
        return (
            tx.execute(select(func.count()).select_from(citizens)).scalar_one(),
            tx.execute(select(func.count()).select_from(citizen_imports)).scalar_one(),
        )


def test_import_applies_the_list_reports_the_rate_and_refuses_a_silent_repeat(
    env: Path, db: Database
) -> None:
    path = env / "list.csv"
    path.write_bytes(csv_bytes(CROWD))
    first = runner.invoke(app, ["citizens", "import", str(path)])
    assert first.exit_code == 0, first.output
    assert "50 rows: 50 created, 0 duplicates, 0 refused" in first.output
    assert "rows/s" in first.output
    assert rows_in(db) == (50, 1)
    repeat = runner.invoke(app, ["citizens", "import", str(path)])
    assert repeat.exit_code == 1
    assert "IMPORT_ALREADY_APPLIED" in repeat.output
    confirmed = runner.invoke(app, ["citizens", "import", str(path), "--confirm"])
    assert confirmed.exit_code == 0, confirmed.output
    assert "0 created, 50 duplicates" in confirmed.output
    assert rows_in(db) == (50, 2)
    history = runner.invoke(app, ["citizens", "imports"])
    assert history.exit_code == 0
    assert "cli:" in history.output


def test_a_dry_run_writes_nothing_and_the_report_file_names_rows_not_values(
    env: Path, db: Database
) -> None:
    broken = CROWD[1].resident_id[:-1] + ("1" if CROWD[1].resident_id[-1] != "1" else "2")
    lines = [",".join(HEADER), ",".join(CROWD[0].row()), ",".join((broken, *CROWD[1].row()[1:]))]
    path = env / "list.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = env / "report.json"
    result = runner.invoke(
        app, ["citizens", "import", str(path), "--dry-run", "--report", str(report)]
    )
    assert result.exit_code == 0, result.output
    assert "dry run: nothing written" in result.output
    assert "INVALID_RESIDENT_ID" in result.output
    assert rows_in(db) == (0, 0)
    saved = json.loads(report.read_text())
    assert saved["error_rows"] == [
        {"row": 3, "field": "resident_id", "code": "INVALID_RESIDENT_ID", "reason": "check_digit"}
    ]
    assert broken not in report.read_text()
    assert broken not in result.output


def test_a_bad_file_exits_non_zero_with_its_code(env: Path, db: Database) -> None:
    path = env / "list.csv"
    path.write_bytes("身份证号,姓名\n".encode("gbk"))
    result = runner.invoke(app, ["citizens", "import", str(path)])
    assert result.exit_code == 1
    assert "IMPORT_NOT_UTF8" in result.output
    assert rows_in(db) == (0, 0)
