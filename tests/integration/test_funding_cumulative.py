"""Maker-checker on cumulative amounts: splitting a movement never avoids the second person.

The threshold holds on what goes through without a checker per person, per funder, per program
and per local day of the program, by direction; proven sequentially on both databases and with
threads racing on PostgreSQL (the sums are read under the program's row lock).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from quan.domain.funding import Direction, MovementStatus
from quan.services.money import funding
from quan.services.money.funding import MovementRequest
from quan.store.db import Database
from tests.conftest import World
from tests.race import race

THRESHOLD = 1_000_000  # the test settings' approval threshold (¥10,000)
HALF = THRESHOLD // 2


def move(world: World, who: str, kind: str, program: str, funder: str, amount: int) -> Any:
    text = {"reason": "拆分"} if kind == "returns" else {"note": "拆分"}
    body = {"funder_id": funder, "amount_fen": amount, **text}
    response = world.post(who, f"/programs/{program}/{kind}", body)
    assert response.status_code == 201, response.text
    return response.json()["status"]


def test_three_contributions_under_the_threshold_wait_once_their_sum_exceeds_it(
    world: World,
) -> None:
    program, funder = world.program()["id"], world.funder()["id"]
    statuses = [move(world, "operator", "contributions", program, funder, HALF) for _ in range(3)]
    assert statuses == ["approved", "approved", "pending_approval"]
    assert world.budget(program)["funded_fen"] == THRESHOLD


def test_a_second_person_cannot_split_around_the_threshold_for_the_same_funder(
    world: World,
) -> None:
    program, funder = world.program()["id"], world.funder()["id"]
    assert move(world, "operator", "contributions", program, funder, THRESHOLD) == "approved"
    # Another operator, same funder, same day: the funder's unchecked total is already full.
    assert move(world, "checker", "contributions", program, funder, 1) == "pending_approval"
    other = world.funder("浙江省财政厅")["id"]
    # The first operator, another funder: the person's unchecked total is already full.
    assert move(world, "operator", "contributions", program, other, 1) == "pending_approval"
    assert move(world, "checker", "contributions", program, other, THRESHOLD) == "approved"


def test_returns_are_counted_apart_from_contributions_and_split_returns_wait(
    world: World,
) -> None:
    program, funder = world.program()["id"], world.funder()["id"]
    big = world.post(
        "operator",
        f"/programs/{program}/contributions",
        {"funder_id": funder, "amount_fen": THRESHOLD * 3, "note": "x"},
    ).json()
    assert world.post("checker", f"/contributions/{big['id']}/approve", {}).status_code == 200
    # The checked contribution does not use up anyone's unchecked allowance for returns.
    statuses = [move(world, "operator", "returns", program, funder, HALF) for _ in range(3)]
    assert statuses == ["approved", "approved", "pending_approval"]
    assert world.budget(program)["returned_fen"] == THRESHOLD


def test_the_allowance_starts_again_on_the_programs_next_local_day(world: World) -> None:
    program, funder = world.program()["id"], world.funder()["id"]
    assert move(world, "operator", "contributions", program, funder, THRESHOLD) == "approved"
    assert move(world, "operator", "contributions", program, funder, 1) == "pending_approval"
    clock = world.runtime.clock
    now = clock.now()  # 10:00 in Asia/Shanghai; local midnight is 16:00 UTC
    clock.advance(timedelta(hours=11, minutes=59))  # 21:59 local
    world._tokens.clear()
    clock.advance(timedelta(hours=2))  # 23:59 local: still the same day
    assert move(world, "operator", "contributions", program, funder, 1) == "pending_approval"
    clock.advance(timedelta(minutes=1))  # 00:00 local, 16:00 UTC
    world._tokens.clear()  # the morning's tokens (12 h) have expired: sign in again
    assert clock.now() - now == timedelta(hours=14)
    assert move(world, "operator", "contributions", program, funder, THRESHOLD) == "approved"


@pytest.fixture
def wide(db: Database) -> Iterator[Database]:
    database = Database(db.url, pool_size=10, schema=db.schema)
    yield database
    database.dispose()


def test_concurrent_split_contributions_cannot_all_slip_under_the_threshold(
    world: World, wide: Database
) -> None:
    if wide.dialect != "postgresql":
        pytest.skip("SQLite runs one writer at a time; the race is PostgreSQL's")
    program, funder = world.program()["id"], world.funder()["id"]
    actor = world.users["operator"].actor()
    now = world.runtime.clock.now()
    cmd = MovementRequest(program, funder, Direction.CONTRIBUTION, HALF, "并发拆分")

    def one() -> MovementStatus:
        with wide.write() as tx:
            return funding.request_movement(tx, now, actor, cmd, threshold_fen=THRESHOLD).status

    results = race(*[one for _ in range(10)])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert Counter(results) == {MovementStatus.APPROVED: 2, MovementStatus.PENDING_APPROVAL: 8}
    assert world.budget(program)["funded_fen"] == THRESHOLD
