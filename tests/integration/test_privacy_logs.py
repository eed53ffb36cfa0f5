"""I5: no value of a failed statement (personal data) reaches an exception's text or a log line."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from quan.store.citizen_tables import citizens
from quan.store.db import Database

NAME = "诸葛孔明"
PHONE = "13912345678"
RESIDENT_ID = "330106196611260123"


def _refused_citizen(db: Database) -> IntegrityError:
    """A citizen row the database refuses (an unknown income group), carrying clear values."""
    row = {
        "id": "cit_refused",
        "resident_id_hash": RESIDENT_ID,
        "resident_id_enc": RESIDENT_ID,
        "resident_id_masked": "330*************23",
        "name_enc": NAME,
        "name_masked": "诸*",
        "phone_hash": PHONE,
        "phone_enc": PHONE,
        "phone_masked": "139****5678",
        "region_code": "330106",
        "birth_date": datetime(1966, 11, 26, tzinfo=UTC).date(),
        "income_group": "not-a-group",
        "disabled": False,
        "registered_via": "agent",
        "registered_by": "staff:usr_x",
        "created_at": datetime(2026, 12, 1, tzinfo=UTC),
    }
    with pytest.raises(IntegrityError) as caught, db.write() as tx:
        tx.execute(insert(citizens).values(**row))
    return caught.value


def _values_in(text: str) -> list[str]:
    return [v for v in (NAME, PHONE, RESIDENT_ID, "not-a-group") if v in text]


def test_a_refused_statement_carries_no_parameter_values(db: Database) -> None:
    exc = _refused_citizen(db)
    assert _values_in(str(exc)) == [], str(exc)


def test_an_unexpected_database_error_is_logged_without_values(
    db: Database, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    def failing() -> None:
        # What a service that wraps the driver's error looks like to the handler.
        exc = _refused_citizen(db)
        raise RuntimeError("registration failed") from exc

    client.app.add_api_route("/api/v1/test-failing", failing)  # type: ignore[attr-defined]
    with caplog.at_level(logging.INFO):
        response = client.get("/api/v1/test-failing")
    assert response.status_code == 500
    logged = "\n".join(
        r.getMessage() + (logging.Formatter().formatException(r.exc_info) if r.exc_info else "")
        for r in caplog.records
    )
    assert "unexpected error" in logged
    assert "IntegrityError" in logged  # the class and constraint are kept for the operators
    assert _values_in(logged) == [], logged


def test_every_exception_log_goes_through_log_failure() -> None:
    """The class of fault: a new ``log.exception`` would log a driver's message again."""
    src = Path(__file__).parents[2] / "src" / "quan"
    offenders = [
        f"{path.relative_to(src)}:{n}"
        for path in src.rglob("*.py")
        if path.name != "db.py" or path.parent.name != "store"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\.exception\(|exc_info=(True|exc|e\b)", line)
        and "task.exception()" not in line
    ]
    assert offenders == []
