"""Settlement cut-offs that name no real day of the program, or would record an empty run, are
refused with their own code and leave nothing behind (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import World
from tests.integration import issuance_fixtures as issuance
from tests.integration.redemption_fixtures import redeem, rows, scene
from tests.integration.test_settlement import TO_MIDNIGHT, settle


@pytest.mark.parametrize(
    ("day", "status", "code"),
    [
        ("0001-01-01", 422, "CUT_OFF_BEFORE_START"),
        ("2026-11-24", 422, "CUT_OFF_BEFORE_START"),  # the program starts on the 25th
        ("9999-12-31", 409, "CUT_OFF_NOT_PASSED"),
    ],
)
def test_a_cut_off_outside_the_programs_life_is_refused(
    world: World, day: str, status: int, code: str
) -> None:
    s = scene(world)
    redeem(world, s.shop, code=s.codes[0])
    issuance.advance(world, TO_MIDNIGHT)
    response = settle(world, s, day=day)
    assert (response.status_code, response.json()["code"]) == (status, code), response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert rows(world, "settlement_runs") == 0


def test_a_run_with_nothing_to_settle_is_refused_and_the_next_covers_the_day(
    world: World,
) -> None:
    s = scene(world)
    issuance.advance(world, TO_MIDNIGHT)  # the 25th is over; nothing was redeemed on it
    empty = settle(world, s, day=None)
    assert (empty.status_code, empty.json()["code"]) == (409, "NOTHING_TO_SETTLE")
    assert empty.json()["cut_off_date"] == "2026-11-25"
    assert rows(world, "settlement_runs") == 0
    assert rows(world, "events", type="settlement.completed") == 0
    assert redeem(world, s.shop, code=s.codes[0]).status_code == 201  # 00:02 on the 26th
    issuance.advance(world, timedelta(days=1))
    run = settle(world, s, day=None)
    assert run.status_code == 201, run.text
    assert (run.json()["cut_off_date"], run.json()["redemption_count"]) == ("2026-11-26", 1)
    assert run.json()["window_start"] is None  # the first run: everything since the start
