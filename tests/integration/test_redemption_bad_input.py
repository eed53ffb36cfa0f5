"""Every bad redemption gets a clear problem code, writes nothing, and leaves the books whole."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from quan.domain import base45, offline_token
from quan.domain.voucher_code import new_code
from tests.conftest import World
from tests.integration import issuance_fixtures as issuance
from tests.integration import merchant_fixtures as shops
from tests.integration.redemption_fixtures import (
    Scene,
    assert_books_ok,
    forged_token,
    open_shop,
    redeem,
    rows,
    scene,
    voucher_status,
    wallet_tokens,
)


def refused(world: World, s: Scene, response: Any, status: int, code: str) -> dict[str, Any]:
    """The refusal has the status and code; no redemption or journal entry was written."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert rows(world, "redemptions") == 0
    assert rows(world, "journal_entries", kind="redemption") == 0
    assert all(voucher_status(world, v["id"]) == "active" for v in s.vouchers)
    assert_books_ok(world)
    return body


def test_an_unknown_code_with_a_valid_check_character_is_not_found(world: World) -> None:
    s = scene(world)
    body = refused(
        world, s, redeem(world, s.shop, code=new_code(bytes(10))), 404, "VOUCHER_NOT_FOUND"
    )
    assert "detail" in body


@pytest.mark.parametrize("code", ["7K3M-Q9XD-2HVB-T4NX", "hello", ""])
def test_a_mistyped_code_is_refused_before_the_database_is_asked(world: World, code: str) -> None:
    s = scene(world)
    body = refused(world, s, redeem(world, s.shop, code=code), 422, "INVALID_VOUCHER_CODE")
    assert body["reason"] in ("format", "check_digit")


def test_an_expired_voucher_is_refused_with_its_end_of_validity(world: World) -> None:
    s = scene(world)
    issuance.advance(world, timedelta(days=91))
    body = refused(world, s, redeem(world, s.shop, code=s.codes[0]), 422, "VOUCHER_EXPIRED")
    assert body["valid_until"] == s.vouchers[0]["valid_until"].replace("Z", "+00:00")


def test_a_category_outside_the_voucher_is_out_of_scope(world: World) -> None:
    s = scene(world, categories=["catering", "sports"])
    body = refused(
        world, s, redeem(world, s.shop, code=s.codes[0], category="sports"), 422, "OUT_OF_SCOPE"
    )
    assert (body["rule"], body["allowed"]) == ("category", ["catering"])


def test_an_order_below_the_minimum_spend_names_the_minimum(world: World) -> None:
    s = scene(world)
    body = refused(
        world, s, redeem(world, s.shop, code=s.codes[0], amount_fen=9999), 422, "BELOW_MIN_SPEND"
    )
    assert (body["min_spend_fen"], body["order_amount_fen"], body["rule"]) == (
        10000,
        9999,
        "min_spend",
    )


def test_an_online_order_for_an_offline_voucher_is_out_of_scope(world: World) -> None:
    s = scene(world)
    body = refused(
        world, s, redeem(world, s.shop, code=s.codes[0], scene="online"), 422, "OUT_OF_SCOPE"
    )
    assert body["rule"] == "scene"


def test_a_merchant_not_on_the_vouchers_list_is_out_of_scope(world: World) -> None:
    listed = open_shop(world)
    s = scene(
        world,
        voucher={"merchant_scope": {"kind": "merchants", "merchant_ids": [listed.merchant_id]}},
    )
    body = refused(world, s, redeem(world, s.shop, code=s.codes[0]), 422, "OUT_OF_SCOPE")
    assert (body["rule"], body["merchant_id"]) == ("merchant", s.shop.merchant_id)


def test_a_merchant_of_another_issuer_is_out_of_scope(world: World) -> None:
    s = scene(world)
    elsewhere = open_shop(
        world, reviewer="admin", issuer_id=world.other_issuer.id, region_code="330203"
    )
    body = refused(world, s, redeem(world, elsewhere, code=s.codes[0]), 422, "OUT_OF_SCOPE")
    assert body["rule"] == "issuer"


def test_a_suspended_merchant_cannot_redeem(world: World) -> None:
    s = scene(world)
    response = shops.review(world, s.shop.merchant_id, "suspend", "调查中")
    assert response.status_code == 200
    body = refused(world, s, redeem(world, s.shop, code=s.codes[0]), 409, "MERCHANT_NOT_APPROVED")
    assert body["merchant_status"] == "suspended"


def test_a_blacklisted_merchant_and_a_blacklisted_holder_are_refused(world: World) -> None:
    s = scene(world)
    bar = {
        "subject_type": "merchant",
        "subject_id": s.shop.merchant_id,
        "reason_code": "cash_out",
        "reason": "套现调查",
    }
    assert world.post("operator", "/blacklist", bar).status_code == 201
    refused(world, s, redeem(world, s.shop, code=s.codes[0]), 403, "BLACKLISTED")
    other = open_shop(world)
    bar = {
        "subject_type": "citizen",
        "subject_id": s.citizen_ids[1],
        "reason_code": "abuse",
        "reason": "恶意刷券",
    }
    assert world.post("operator", "/blacklist", bar).status_code == 201
    body = refused(
        world, s, redeem(world, other, code=s.codes[1]), 422, "VOUCHER_HOLDER_BLACKLISTED"
    )
    assert "entry_id" not in body


@pytest.mark.parametrize("amount", [-1, 0, 1.5, "12000", True, 10**13, None])
def test_negative_fractional_textual_and_absurd_amounts_are_refused(
    world: World, amount: Any
) -> None:
    s = scene(world)
    body = refused(
        world,
        s,
        redeem(world, s.shop, code=s.codes[0], amount_fen=amount),
        422,
        "VALIDATION_FAILED",
    )
    assert body["errors"][0]["field"] == "order_amount_fen"


def test_a_code_and_a_token_together_or_neither_are_refused(world: World) -> None:
    s = scene(world)
    token = wallet_tokens(world, s.citizen_ids[0])[s.vouchers[0]["id"]]
    refused(
        world,
        s,
        redeem(world, s.shop, code=s.codes[0], token=token),
        422,
        "VOUCHER_CODE_OR_TOKEN_REQUIRED",
    )
    refused(world, s, redeem(world, s.shop), 422, "VOUCHER_CODE_OR_TOKEN_REQUIRED")


def test_an_unknown_category_is_refused_by_name(world: World) -> None:
    s = scene(world)
    body = refused(
        world, s, redeem(world, s.shop, code=s.codes[0], category="casino"), 422, "UNKNOWN_CATEGORY"
    )
    assert body["category"] == "casino"


def test_a_forged_token_is_refused(world: World) -> None:
    s = scene(world)
    body = refused(
        world,
        s,
        redeem(world, s.shop, token=forged_token(s.vouchers[0]["id"])),
        422,
        "INVALID_OFFLINE_TOKEN",
    )
    assert body["reason"] == "unknown_key"


def test_a_tampered_token_is_refused(world: World) -> None:
    s = scene(world)
    token = wallet_tokens(world, s.citizen_ids[0])[s.vouchers[0]["id"]]
    raw = bytearray(base45.decode(token[len(offline_token.PREFIX) :]))
    raw[30] ^= 0x01  # inside the signed body: the value, say
    tampered = offline_token.PREFIX + base45.encode(bytes(raw))
    body = refused(world, s, redeem(world, s.shop, token=tampered), 422, "INVALID_OFFLINE_TOKEN")
    assert body["reason"] == "signature"


def test_order_details_beyond_their_bounds_are_refused(world: World) -> None:
    s = scene(world)
    refused(
        world,
        s,
        redeem(world, s.shop, code=s.codes[0], metadata={"cashier": "x" * 121}),
        422,
        "INVALID_ORDER_DETAILS",
    )
    refused(
        world,
        s,
        redeem(world, s.shop, code=s.codes[0], metadata={"Bad Key": "x"}),
        422,
        "INVALID_ORDER_DETAILS",
    )
    many = {f"k{i}": "x" for i in range(9)}
    refused(
        world, s, redeem(world, s.shop, code=s.codes[0], metadata=many), 422, "VALIDATION_FAILED"
    )


@pytest.mark.parametrize("who", ["operator", "admin", "auditor"])
def test_only_a_terminal_redeems(world: World, who: str) -> None:
    s = scene(world)
    body = {"voucher_code": s.codes[0], "order_amount_fen": 12000, "category": "catering"}
    refused(world, s, world.post(who, "/redemptions", body), 403, "FORBIDDEN")


def test_a_merchant_owner_key_is_not_a_terminal(world: World) -> None:
    s = scene(world)
    body = {"voucher_code": s.codes[0], "order_amount_fen": 12000, "category": "catering"}
    headers = {"Authorization": f"Bearer {s.shop.owner_key}"}
    refused(
        world,
        s,
        world.client.post("/api/v1/redemptions", json=body, headers=headers),
        403,
        "FORBIDDEN",
    )


def test_a_revoked_terminal_cannot_redeem(world: World) -> None:
    s = scene(world)
    path = f"/merchants/{s.shop.merchant_id}/terminals/{s.shop.terminal_id}/revoke"
    response = shops.post_as(world, s.shop.owner_key, path)
    assert response.status_code in (200, 204), response.text
    refused(world, s, redeem(world, s.shop, code=s.codes[0]), 401, "UNAUTHORIZED")


def test_an_already_redeemed_voucher_is_refused_and_nothing_is_written_twice(
    world: World,
) -> None:
    s = scene(world)
    assert redeem(world, s.shop, code=s.codes[0]).status_code == 201
    again = redeem(world, s.shop, code=s.codes[0])
    assert (again.status_code, again.json()["code"]) == (409, "ALREADY_REDEEMED")
    assert rows(world, "redemptions") == 1
    assert rows(world, "journal_entries", kind="redemption") == 1
    assert_books_ok(world)


def test_a_paused_program_refuses_redemption(world: World) -> None:
    s = scene(world)
    assert world.post("operator", f"/programs/{s.program_id}/pause").status_code == 200
    body = refused(world, s, redeem(world, s.shop, code=s.codes[0]), 409, "PROGRAM_NOT_ACTIVE")
    assert body["program_status"] == "paused"
