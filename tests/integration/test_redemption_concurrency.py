"""Redemption under real concurrency, on SQLite and PostgreSQL: threads released together through
the HTTP API (each request on its own connection), outcomes read back from the database.

These fail if a voucher could be spent twice, a key act twice, an order stack past its limit, a
holder pass the daily cap, or a deactivation and a redemption both succeed.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from quan.domain.ledger import Bucket
from quan.store.ledger import account_balance
from tests.conftest import World
from tests.integration import issuance_fixtures as issuance
from tests.integration.redemption_fixtures import (
    another_terminal,
    assert_books_ok,
    open_shop,
    race,
    redeem,
    rows,
    scene,
    voucher_status,
)


def codes_of(responses: list[Any]) -> Counter[str]:
    """``201`` per success, else the problem code; an exception or a 5xx fails the test."""
    out: Counter[str] = Counter()
    for r in responses:
        assert not isinstance(r, Exception), repr(r)
        assert r.status_code < 500, r.text
        out["201" if r.status_code == 201 else r.json()["code"]] += 1
    return out


def test_many_terminals_racing_on_one_voucher_redeem_it_exactly_once(world: World) -> None:
    s = scene(world, holders=1)
    shops = [s.shop] + [open_shop(world) for _ in range(5)]
    responses = race(len(shops), lambda i: redeem(world, shops[i], code=s.codes[0]))
    assert codes_of(responses) == Counter({"201": 1, "ALREADY_REDEEMED": len(shops) - 1})
    winner = next(r.json() for r in responses if r.status_code == 201)
    assert rows(world, "redemptions", voucher_id=s.vouchers[0]["id"]) == 1
    assert rows(world, "journal_entries", kind="redemption") == 1
    assert voucher_status(world, s.vouchers[0]["id"]) == "redeemed"
    with world.runtime.db.read() as tx:
        owed = {
            shop.merchant_id: account_balance(tx, s.program_id, Bucket.PAYABLE, shop.merchant_id)
            for shop in shops
        }
    assert owed == {
        shop.merchant_id: (3000 if shop.merchant_id == winner["merchant_id"] else 0)
        for shop in shops
    }
    assert_books_ok(world)


def test_one_request_retried_at_once_with_its_key_redeems_once(world: World) -> None:
    s = scene(world, holders=1)
    responses = race(6, lambda _: redeem(world, s.shop, code=s.codes[0], key="till-7-order-42"))
    outcome = codes_of(responses)
    # Each copy either gets the stored answer or is told the first is still running.
    assert set(outcome) <= {"201", "IDEMPOTENCY_IN_PROGRESS"}
    assert outcome["201"] >= 1
    assert len({r.json()["id"] for r in responses if r.status_code == 201}) == 1
    assert rows(world, "redemptions") == 1
    assert_books_ok(world)


def test_two_terminals_stacking_on_one_order_cannot_pass_max_per_order(world: World) -> None:
    s = scene(world, holders=2)  # max_per_order is 1
    tills = [s.shop, another_terminal(world, s.shop)]
    responses = race(
        2, lambda i: redeem(world, tills[i], code=s.codes[i], amount_fen=30000, order_ref="R-1")
    )
    assert codes_of(responses) == Counter({"201": 1, "MAX_PER_ORDER_EXCEEDED": 1})
    assert rows(world, "redemptions") == 1
    assert_books_ok(world)


def test_a_holder_spending_two_vouchers_at_once_cannot_pass_the_daily_cap(world: World) -> None:
    pid = issuance.funded_program(world)
    vt = issuance.voucher_type(world, pid)
    created = issuance.batch(world, pid, vt["id"], quantity=2, per_citizen_limit=2)
    issuance.open_batch(world, created["id"])
    citizen = issuance.register(world)
    codes = [issuance.claim(world, citizen, created["id"]).json()["code"] for _ in range(2)]
    response = world.client.put(
        f"/api/v1/programs/{pid}/redemption-policy",
        json={"daily_cap": 1},
        headers=world.headers("operator"),
    )
    assert response.status_code == 200
    tills = [open_shop(world), open_shop(world)]
    responses = race(2, lambda i: redeem(world, tills[i], code=codes[i]))
    assert codes_of(responses) == Counter({"201": 1, "DAILY_CAP_REACHED": 1})
    assert_books_ok(world)


def test_a_deactivation_and_a_redemption_racing_never_both_succeed(world: World) -> None:
    s = scene(world, holders=1)
    voucher_id = s.vouchers[0]["id"]

    def attempt(i: int) -> Any:
        if i == 0:
            return redeem(world, s.shop, code=s.codes[0])
        return world.post("operator", f"/vouchers/{voucher_id}/deactivate", {"reason": "核查"})

    redemption, deactivation = race(2, attempt)
    assert redemption.status_code < 500
    assert deactivation.status_code < 500
    if redemption.status_code == 201:
        assert deactivation.json()["code"] == "VOUCHER_NOT_ACTIVE"
    else:
        assert deactivation.status_code == 200
        assert redemption.json()["code"] == "VOUCHER_DEACTIVATED"
    assert_books_ok(world)
