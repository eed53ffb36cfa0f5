"""Redemption through the API on SQLite and PostgreSQL: money, rules, idempotency, tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import event, select

from quan.domain.ledger import Bucket
from quan.store.ledger import account_balance
from quan.store.tables import events
from tests.conftest import World
from tests.integration import issuance_fixtures as issuance
from tests.integration.redemption_fixtures import (
    SPORTS_20_OFF,
    another_terminal,
    assert_books_ok,
    open_shop,
    redeem,
    rows,
    scene,
    voucher_status,
    wallet_tokens,
)


def balance(world: World, program_id: str, bucket: Bucket, ref: str = "") -> int:
    with world.runtime.db.read() as tx:
        return account_balance(tx, program_id, bucket, ref)


def test_a_claimed_voucher_pays_its_discount_and_the_merchant_is_owed_it(world: World) -> None:
    s = scene(world)
    reserved_before = balance(world, s.program_id, Bucket.RESERVED, s.batch_id)
    response = redeem(world, s.shop, code=s.codes[0], amount_fen=12000)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["discount_fen"], body["customer_pays_fen"]) == (3000, 9000)
    assert (body["voucher_id"], body["merchant_id"]) == (s.vouchers[0]["id"], s.shop.merchant_id)
    assert (body["channel"], body["status"], body["terminal_id"]) == (
        "online",
        "redeemed",
        s.shop.terminal_id,
    )
    assert voucher_status(world, s.vouchers[0]["id"]) == "redeemed"
    assert balance(world, s.program_id, Bucket.RESERVED, s.batch_id) == reserved_before - 3000
    assert balance(world, s.program_id, Bucket.PAYABLE, s.shop.merchant_id) == 3000
    assert_books_ok(world)


def test_the_redemption_event_carries_ids_and_amounts_but_no_order_details(world: World) -> None:
    s = scene(world)
    details = {"cashier": "张三", "receipt_no": "R-0001", "branch": "西湖店"}
    response = redeem(world, s.shop, code=s.codes[0], metadata=details)
    assert response.status_code == 201, response.text
    assert response.json()["metadata"] == details
    with world.runtime.db.read() as tx:
        payload = tx.execute(
            select(events.c.payload).where(events.c.type == "voucher.redeemed")
        ).scalar_one()
    assert '"discount_fen":3000' in payload
    assert "张三" not in payload
    assert "R-0001" not in payload


def test_a_typed_code_is_read_forgivingly(world: World) -> None:
    s = scene(world)
    sloppy = s.codes[0].replace("-", " ").lower()
    assert redeem(world, s.shop, code=sloppy).status_code == 201


def test_the_wallet_shows_a_signed_token_that_a_terminal_redeems(world: World) -> None:
    s = scene(world)
    tokens = wallet_tokens(world, s.citizen_ids[0])
    token = tokens[s.vouchers[0]["id"]]
    assert token.startswith("QV1:")
    response = redeem(world, s.shop, token=token)
    assert response.status_code == 201, response.text
    assert response.json()["voucher_id"] == s.vouchers[0]["id"]


def test_a_token_scanned_into_the_code_field_is_understood(world: World) -> None:
    s = scene(world)
    token = wallet_tokens(world, s.citizen_ids[0])[s.vouchers[0]["id"]]
    assert redeem(world, s.shop, code=token).status_code == 201


def test_a_retry_with_the_same_key_gets_the_first_answer_and_redeems_once(world: World) -> None:
    s = scene(world)
    first = redeem(world, s.shop, code=s.codes[0], key="order-1")
    again = redeem(world, s.shop, code=s.codes[0], key="order-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert rows(world, "redemptions") == 1
    other_body = redeem(world, s.shop, code=s.codes[0], key="order-1", amount_fen=13000)
    assert other_body.status_code == 422
    assert other_body.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert_books_ok(world)


def test_keys_are_scoped_to_the_terminal(world: World) -> None:
    s = scene(world)
    second = another_terminal(world, s.shop)
    assert redeem(world, s.shop, code=s.codes[0], key="k").status_code == 201
    # The same key from another terminal is another request: judged on its own.
    response = redeem(world, second, code=s.codes[0], key="k")
    assert response.json()["code"] == "ALREADY_REDEEMED"


def test_a_percent_voucher_pays_the_rounded_down_share_and_keeps_the_rest_reserved(
    world: World,
) -> None:
    s = scene(world, voucher=SPORTS_20_OFF)
    reserved = balance(world, s.program_id, Bucket.RESERVED, s.batch_id)
    response = redeem(world, s.shop, code=s.codes[0], amount_fen=9999, category="sports")
    assert response.status_code == 201, response.text
    assert (response.json()["discount_fen"], response.json()["customer_pays_fen"]) == (1999, 8000)
    # The 3001 fen of the cap not used stays reserved until settlement makes it final.
    assert balance(world, s.program_id, Bucket.RESERVED, s.batch_id) == reserved - 1999
    assert_books_ok(world)


def test_vouchers_stack_on_one_order_up_to_max_per_order(world: World) -> None:
    s = scene(world, holders=3, voucher={"max_per_order": 2})
    order: dict[str, Any] = {"amount_fen": 25000, "order_ref": "T-88"}
    first = redeem(world, s.shop, code=s.codes[0], **order)
    second = redeem(world, s.shop, code=s.codes[1], **order)
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json()["customer_pays_fen"] == 25000 - 6000
    assert second.json()["order_seq"] == 2
    third = redeem(world, s.shop, code=s.codes[2], **order)
    assert third.status_code == 422
    assert (third.json()["code"], third.json()["max_per_order"]) == ("MAX_PER_ORDER_EXCEEDED", 2)
    assert voucher_status(world, s.vouchers[2]["id"]) == "active"
    assert_books_ok(world)


def test_stacked_vouchers_each_need_their_minimum_spend(world: World) -> None:
    s = scene(world, holders=2, voucher={"max_per_order": 2})
    assert (
        redeem(world, s.shop, code=s.codes[0], amount_fen=15000, order_ref="A").status_code == 201
    )
    refused = redeem(world, s.shop, code=s.codes[1], amount_fen=15000, order_ref="A")
    assert (refused.json()["code"], refused.json()["min_spend_fen"]) == ("BELOW_MIN_SPEND", 20000)


def test_the_daily_cap_counts_a_holders_redemptions_per_local_day(world: World) -> None:
    pid = issuance.funded_program(world)
    vt = issuance.voucher_type(world, pid)
    created = issuance.batch(world, pid, vt["id"], quantity=2, per_citizen_limit=2)
    issuance.open_batch(world, created["id"])
    citizen = issuance.register(world)
    codes = [issuance.claim(world, citizen, created["id"]).json()["code"] for _ in range(2)]
    shop = open_shop(world)
    policy = world.client.put(
        f"/api/v1/programs/{pid}/redemption-policy",
        json={"daily_cap": 1},
        headers=world.headers("operator"),
    )
    assert policy.status_code == 200, policy.text
    assert redeem(world, shop, code=codes[0]).status_code == 201
    capped = redeem(world, shop, code=codes[1])
    assert (capped.json()["code"], capped.json()["daily_cap"]) == ("DAILY_CAP_REACHED", 1)
    issuance.advance(world, timedelta(hours=14))  # past local midnight
    assert redeem(world, shop, code=codes[1]).status_code == 201
    assert_books_ok(world)


def test_hours_outside_the_usage_window_are_refused_in_local_time(world: World) -> None:
    s = scene(world, voucher={"hours": [{"start": "11:00", "end": "14:00"}]})
    early = redeem(world, s.shop, code=s.codes[0])  # 10:00 in Shanghai
    assert (early.json()["code"], early.json()["rule"]) == ("OUTSIDE_USAGE_WINDOW", "hours")
    assert early.json()["local_time"] == "10:00"
    issuance.advance(world, timedelta(hours=1, minutes=30))
    assert redeem(world, s.shop, code=s.codes[0]).status_code == 201


def test_a_merchant_outside_a_region_scope_is_refused(world: World) -> None:
    s = scene(world, voucher={"merchant_scope": {"kind": "regions", "region_codes": ["330108"]}})
    response = redeem(world, s.shop, code=s.codes[0])
    assert (response.json()["code"], response.json()["rule"]) == ("OUT_OF_SCOPE", "region")
    inside = open_shop(world, region_code="330108")
    assert redeem(world, inside, code=s.codes[0]).status_code == 201


def test_a_merchant_sees_its_redemptions_and_no_other_merchants(world: World) -> None:
    s = scene(world)
    made = redeem(world, s.shop, code=s.codes[0]).json()
    path = f"/api/v1/redemptions/{made['id']}"
    mine = world.client.get(path, headers={"Authorization": f"Bearer {s.shop.owner_key}"})
    assert mine.status_code == 200
    assert mine.json()["discount_fen"] == 3000
    other = open_shop(world)
    theirs = world.client.get(path, headers=other.headers())
    assert (theirs.status_code, theirs.json()["code"]) == (404, "REDEMPTION_NOT_FOUND")
    assert world.get("auditor", f"/redemptions/{made['id']}").status_code == 200
    assert world.get("outsider", f"/redemptions/{made['id']}").status_code == 403


def test_the_offline_public_key_is_published(world: World) -> None:
    response = world.client.get("/api/v1/offline/keys")
    assert response.status_code == 200
    key = response.json()["keys"][0]
    assert key["algorithm"] == "Ed25519"
    assert len(key["key_id"]) == 8


def test_a_redemption_takes_a_bounded_number_of_statements(world: World) -> None:
    """Round trips are the redemption's cost (issue 7): on PostgreSQL its own work is the
    recording lock, one locking read of every fact and one write; authentication and the
    idempotency key add a read each and the key's row."""
    s = scene(world)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    # The lean path has its own connections on PostgreSQL (quan.api.lean.Lane).
    engines = {world.runtime.db.engine, world.client.app.state.redeem_lane.db.engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    try:
        response = redeem(world, s.shop, code=s.codes[0], key="one-statement-count")
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 201, response.text
    postgres = world.runtime.db.dialect == "postgresql"
    assert 5 <= len(statements) <= (6 if postgres else 14), statements
    assert_books_ok(world)
