"""Reversal (refund) of a redemption on SQLite and PostgreSQL: within the window, before
settlement, once however raced; the voucher comes back or, expired, its money is recycled."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from quan.domain.ledger import Bucket
from quan.store.ledger import account_balance
from tests.conftest import START, World
from tests.integration import issuance_fixtures as issuance
from tests.integration.redemption_fixtures import (
    SPORTS_20_OFF,
    Scene,
    another_terminal,
    assert_books_ok,
    open_shop,
    race,
    redeem,
    reverse,
    rows,
    scene,
    voucher_status,
)


def redeemed(world: World, **scene_args: Any) -> tuple[Scene, dict[str, Any]]:
    s = scene(world, **scene_args)
    category = s_category(scene_args)
    response = redeem(world, s.shop, code=s.codes[0], category=category)
    assert response.status_code == 201, response.text
    return s, response.json()


def s_category(scene_args: dict[str, Any]) -> str:
    voucher = scene_args.get("voucher") or {}
    return str((voucher.get("categories") or ["catering"])[0])


def money(world: World, s: Scene) -> tuple[int, int, int]:
    """``(reserved for the batch, owed to the shop, available)``."""
    with world.runtime.db.read() as tx:
        return (
            account_balance(tx, s.program_id, Bucket.RESERVED, s.batch_id),
            account_balance(tx, s.program_id, Bucket.PAYABLE, s.shop.merchant_id),
            account_balance(tx, s.program_id, Bucket.AVAILABLE),
        )


def test_a_terminal_reverses_its_redemption_and_the_voucher_returns_to_its_holder(
    world: World,
) -> None:
    s = scene(world)
    before = money(world, s)
    made = redeem(world, s.shop, code=s.codes[0]).json()
    response = reverse(world, s.shop.headers(), made["id"], reason="顾客退单")
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["outcome"], body["amount_fen"], body["redemption_id"]) == (
        "restored",
        3000,
        made["id"],
    )
    assert money(world, s) == before
    assert voucher_status(world, s.vouchers[0]["id"]) == "active"
    shown = world.client.get(f"/api/v1/redemptions/{made['id']}", headers=s.shop.headers())
    assert shown.json()["status"] == "reversed"
    assert redeem(world, s.shop, code=s.codes[0]).status_code == 201  # spendable again
    assert_books_ok(world)


def test_an_operator_of_the_issuer_may_reverse_and_others_may_not(world: World) -> None:
    s, made = redeemed(world)
    path = f"/redemptions/{made['id']}/reversal"
    assert world.post("outsider", path, {}).json()["code"] == "OTHER_ISSUER"
    assert world.post("auditor", path, {}).json()["code"] == "FORBIDDEN"
    owner = reverse(world, {"Authorization": f"Bearer {s.shop.owner_key}"}, made["id"])
    assert owner.json()["code"] == "FORBIDDEN"
    stranger = reverse(world, open_shop(world).headers(), made["id"])
    assert (stranger.status_code, stranger.json()["code"]) == (404, "REDEMPTION_NOT_FOUND")
    assert rows(world, "redemption_reversals") == 0
    assert world.post("operator", path, {"reason": "投诉处理"}).status_code == 201
    assert_books_ok(world)


def test_another_terminal_of_the_same_merchant_may_reverse(world: World) -> None:
    s, made = redeemed(world)
    assert reverse(world, another_terminal(world, s.shop).headers(), made["id"]).status_code == 201


def test_a_reversal_after_the_window_is_refused(world: World) -> None:
    s, made = redeemed(world)
    issuance.advance(world, timedelta(hours=24, seconds=1))
    response = reverse(world, s.shop.headers(), made["id"])
    assert (response.status_code, response.json()["code"]) == (409, "REVERSAL_WINDOW_OVER")
    assert response.json()["reversal_window_seconds"] == 86400
    assert voucher_status(world, s.vouchers[0]["id"]) == "redeemed"
    assert rows(world, "redemption_reversals") == 0
    assert_books_ok(world)


def test_a_second_reversal_is_refused_and_nothing_moves_twice(world: World) -> None:
    s, made = redeemed(world)
    first = reverse(world, s.shop.headers(), made["id"])
    again = reverse(world, s.shop.headers(), made["id"])
    assert (again.status_code, again.json()["code"]) == (409, "ALREADY_REVERSED")
    assert again.json()["reversal_id"] == first.json()["id"]
    assert rows(world, "journal_entries", kind="reversal") == 1
    assert_books_ok(world)


def test_a_retried_reversal_with_its_key_gets_the_first_answer(world: World) -> None:
    s, made = redeemed(world)
    headers = s.shop.headers(**{"Idempotency-Key": "refund-1"})
    first = reverse(world, headers, made["id"], reason="退单")
    again = reverse(world, headers, made["id"], reason="退单")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert rows(world, "redemption_reversals") == 1


def test_a_reversal_raced_from_many_places_happens_once(world: World) -> None:
    s, made = redeemed(world)
    tills = [s.shop] + [another_terminal(world, s.shop) for _ in range(4)]
    responses = race(len(tills), lambda i: reverse(world, tills[i].headers(), made["id"]))
    outcome = Counter(201 if r.status_code == 201 else r.json()["code"] for r in responses)
    assert outcome == Counter({201: 1, "ALREADY_REVERSED": len(tills) - 1})
    assert rows(world, "redemption_reversals") == 1
    assert rows(world, "journal_entries", kind="reversal") == 1
    assert voucher_status(world, s.vouchers[0]["id"]) == "active"
    assert_books_ok(world)


def test_a_voucher_expired_before_its_reversal_is_recycled_not_restored(world: World) -> None:
    validity = {
        "validity_preset": None,
        "valid_from": START.isoformat(),
        "valid_until": (START + timedelta(hours=2)).isoformat(),
    }
    s, made = redeemed(world, voucher=validity)
    reserved, _, available = money(world, s)
    issuance.advance(world, timedelta(hours=3))
    response = reverse(world, s.shop.headers(), made["id"])
    assert response.status_code == 201, response.text
    assert response.json()["outcome"] == "recycled"
    assert voucher_status(world, s.vouchers[0]["id"]) == "expired"
    # The discount came back from the merchant and, with the rest of the voucher's unit, went on
    # to the available budget: the batch keeps what it had after the redemption.
    assert money(world, s) == (reserved, 0, available + 3000)
    assert_books_ok(world)


def test_reversing_a_percent_voucher_restores_its_whole_cap(world: World) -> None:
    s, made = redeemed(world, voucher=SPORTS_20_OFF)
    assert reverse(world, s.shop.headers(), made["id"]).status_code == 201
    reserved, owed, _ = money(world, s)
    assert owed == 0
    assert reserved == 5000 * len(s.vouchers)  # quantity = holders: every voucher whole again
    assert_books_ok(world)


def _settle(world: World, s: Scene, day: str) -> Any:
    run = world.post("operator", f"/programs/{s.program_id}/settlements", {"cut_off_date": day})
    assert run.status_code == 201, run.text
    return run.json()


def _statement(world: World, run: dict[str, Any], merchant_id: str) -> dict[str, Any] | None:
    response = world.client.get(
        f"/api/v1/settlements/{run['id']}/statements", headers=world.headers("operator")
    )
    assert response.status_code == 200, response.text
    body = response.json()
    items = body["items"] if isinstance(body, dict) else body
    found = [st for st in items if st["merchant_id"] == merchant_id]
    return found[0] if found else None


def test_a_refund_after_settlement_is_netted_by_the_merchants_next_statement(
    world: World,
) -> None:
    s = scene(world, holders=4)
    made = [redeem(world, s.shop, code=code).json() for code in s.codes[:2]]
    issuance.advance(world, timedelta(hours=14, minutes=2))  # 00:02 on the 26th in Shanghai
    first = _settle(world, s, "2026-11-25")
    reserved, payable, available = money(world, s)
    assert payable == 6000
    response = reverse(world, s.shop.headers(), made[0]["id"], reason="顾客退货")
    assert response.status_code == 201, response.text
    assert response.json()["outcome"] == "recycled"  # its period is settled: not given back
    assert voucher_status(world, s.vouchers[0]["id"]) == "expired"
    # Nothing moves yet: the merchant is owed (or was paid) the first statement as it stands.
    assert money(world, s) == (reserved, payable, available)
    assert_books_ok(world)
    for code in s.codes[2:]:
        assert redeem(world, s.shop, code=code).status_code == 201
    issuance.advance(world, timedelta(days=1))
    second = _settle(world, s, "2026-11-26")
    statement = _statement(world, second, s.shop.merchant_id)
    assert statement is not None
    assert (statement["redemption_count"], statement["window_fen"]) == (2, 6000 - 3000)
    assert statement["payout_fen"] == 3000
    # The reversal entry is posted by the netting: payable −3000, available +3000.
    assert money(world, s) == (reserved - 6000, payable + 6000 - 3000, available + 3000)
    first_statement = _statement(world, first, s.shop.merchant_id)
    assert first_statement is not None
    assert first_statement["payout_fen"] == 6000  # unchanged
    assert_books_ok(world)


def test_a_deduction_waits_for_a_window_that_owes_the_merchant_enough(world: World) -> None:
    s = scene(world, holders=2)
    made = redeem(world, s.shop, code=s.codes[0]).json()
    issuance.advance(world, timedelta(hours=14, minutes=2))
    _settle(world, s, "2026-11-25")
    assert reverse(world, s.shop.headers(), made["id"]).status_code == 201
    issuance.advance(world, timedelta(days=1))
    # Nothing redeemed on the 26th: nothing to net against, so no (empty) run is recorded.
    quiet = world.post(
        "operator", f"/programs/{s.program_id}/settlements", {"cut_off_date": "2026-11-26"}
    )
    assert (quiet.status_code, quiet.json()["code"]) == (409, "NOTHING_TO_SETTLE")
    assert rows(world, "settlement_deductions", settlement_id=None) == 1
    assert_books_ok(world)
    assert redeem(world, s.shop, code=s.codes[1]).status_code == 201
    issuance.advance(world, timedelta(days=1))
    netted = _settle(world, s, "2026-11-27")
    statement = _statement(world, netted, s.shop.merchant_id)
    assert statement is not None
    assert (statement["window_fen"], statement["payout_fen"]) == (0, 0)  # 3000 − 3000
    assert rows(world, "settlement_deductions", settlement_id=netted["id"]) == 1
    assert_books_ok(world)


def test_a_refund_after_settlement_happens_once(world: World) -> None:
    s, made = redeemed(world)
    issuance.advance(world, timedelta(hours=14, minutes=2))
    _settle(world, s, "2026-11-25")
    outcomes = race(4, lambda i: reverse(world, s.shop.headers(), made["id"]))
    codes = Counter(r.status_code for r in outcomes)
    assert codes[201] == 1, [r.text for r in outcomes]
    assert rows(world, "settlement_deductions") == 1
    assert_books_ok(world)


def test_a_reason_longer_than_allowed_is_refused(world: World) -> None:
    s, made = redeemed(world)
    response = reverse(world, s.shop.headers(), made["id"], reason="x" * 501)
    assert (response.status_code, response.json()["code"]) == (422, "VALIDATION_FAILED")
    assert rows(world, "redemption_reversals") == 0


def test_a_reversal_of_an_unknown_redemption_is_not_found(world: World) -> None:
    s = scene(world, holders=1)
    response = reverse(world, s.shop.headers(), "rdm_nothing")
    assert (response.status_code, response.json()["code"]) == (404, "REDEMPTION_NOT_FOUND")
