"""Personal data stays out of events, logs and clear-text columns, whoever registers whom."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import select

from quan.store.citizen_tables import citizen_otps, citizens
from quan.store.tables import events
from tests.conftest import World
from tests.integration.citizen_fixtures import (
    ask_code,
    body,
    last_code,
    person,
    register,
    sign_in,
)

ALICE, BOB, CAROL = person(0), person(1), person(2)


def _everything_personal() -> list[str]:
    values = []
    for p in (ALICE, BOB, CAROL):
        values += [p.resident_id, p.resident_id.lower(), p.phone, p.name, p.resident_id[6:14]]
    return values


def _busy_day(world: World) -> None:
    """Every path that touches personal data, including refusals (each checked to happen)."""
    register(world, ALICE, who="agent")
    assert world.post("operator", "/citizens", body(ALICE)).status_code == 409
    bad = world.post("operator", "/citizens", body(BOB, resident_id=BOB.resident_id[:-1] + "Z"))
    assert bad.status_code == 422
    assert ask_code(world, CAROL.phone, "register").status_code == 202
    carol = world.client.post(
        "/api/v1/citizens", json=body(CAROL, otp_code=last_code(world, CAROL.phone))
    )
    assert carol.status_code == 201
    sign_in(world, ALICE.phone)
    wrong = world.client.post(
        "/api/v1/citizens/session", json={"phone": BOB.phone, "code": "000000"}
    )
    assert wrong.status_code == 401
    found = world.post("agent", "/citizens/lookup", {"resident_id": ALICE.resident_id})
    cid = found.json()["id"]
    revealed = world.post("admin", f"/citizens/{cid}/reveal", {"purpose": "dispute"})
    assert revealed.status_code == 200
    barred = world.post(
        "operator",
        "/blacklist",
        {"subject_type": "citizen", "subject_id": cid, "reason_code": "abuse", "reason": "x"},
    )
    assert barred.status_code == 201


def test_no_event_carries_an_id_number_phone_name_or_birth_date(world: World) -> None:
    _busy_day(world)
    with world.runtime.db.read() as tx:
        rows = tx.execute(select(events)).all()
    assert any(r.type == "citizen.registered" for r in rows)
    for row in rows:
        text = f"{row.type} {row.actor} {row.subject_id} {row.payload}"
        for value in _everything_personal():
            assert value not in text, f"{row.type} leaks personal data"


def test_no_log_line_carries_personal_data(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    _busy_day(world)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for value in _everything_personal()[:4]:
        assert value not in logged


def test_personal_data_is_never_stored_in_clear(world: World) -> None:
    _busy_day(world)
    with world.runtime.db.read() as tx:
        stored: list[Any] = [tuple(r) for r in tx.execute(select(citizens))]
        stored += [tuple(r) for r in tx.execute(select(citizen_otps))]
    dump = repr(stored)
    assert len(stored) >= 3
    for p in (ALICE, CAROL):
        assert p.resident_id not in dump
        assert p.phone not in dump
        assert p.name not in dump
