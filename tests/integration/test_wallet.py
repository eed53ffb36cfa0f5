"""The wallet: a citizen sees their own vouchers, with status, validity, code and QR payload."""

from __future__ import annotations

from datetime import timedelta

from quan.domain.voucher_code import validate
from tests.conftest import World
from tests.integration.issuance_fixtures import (
    DAY,
    advance,
    batch,
    citizen_headers,
    claim,
    open_batch,
    open_fcfs_batch,
    register_many,
    voucher_type,
)


def _wallet(world: World, cid: str, **params: object) -> dict[str, object]:
    response = world.client.get(
        "/api/v1/me/vouchers", params=params, headers=citizen_headers(world, cid)
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_the_wallet_shows_the_claimed_voucher_with_its_rules_and_qr_payload(
    world: World,
) -> None:
    _, bid = open_fcfs_batch(world)
    cid, other = register_many(world, 2)
    receipt = claim(world, cid, bid).json()
    items = _wallet(world, cid)["items"]
    assert isinstance(items, list)
    (voucher,) = items
    assert voucher["id"] == receipt["id"]
    assert validate(voucher["code"]) == voucher["code"]
    assert voucher["qr_payload"].startswith("QV1:")  # a signed offline token while active
    assert voucher["status"] == "active"
    assert voucher["name"] == "餐饮满100减30"
    assert voucher["summary"]["zh"] == "满 ¥100.00 减 ¥30.00"
    assert voucher["categories"] == ["catering"]
    assert voucher["valid_from"] == receipt["valid_from"]
    assert voucher["valid_until"] == receipt["valid_until"]
    assert _wallet(world, other)["items"] == []


def test_a_voucher_past_its_validity_shows_expired_before_the_job_runs(world: World) -> None:
    _, bid = open_fcfs_batch(world)
    (cid,) = register_many(world, 1)
    claim(world, cid, bid)
    advance(world, 90 * DAY)
    items = _wallet(world, cid)["items"]
    assert isinstance(items, list)
    assert items[0]["status"] == "expired"


def test_the_wallet_pages_through_many_vouchers(world: World) -> None:
    pid, first = open_fcfs_batch(world, per_citizen_limit=3)
    vt = voucher_type(world, pid, name="文旅券", categories=["tourism"])
    second = batch(world, pid, vt["id"])
    open_batch(world, second["id"])
    (cid,) = register_many(world, 1)
    claimed = [claim(world, cid, first).json()["id"] for _ in range(3)]
    claimed.append(claim(world, cid, second["id"]).json()["id"])
    page = _wallet(world, cid, limit=3)
    items = page["items"]
    assert isinstance(items, list)
    assert len(items) == 3
    rest = _wallet(world, cid, limit=3, cursor=page["next_cursor"])
    assert rest["next_cursor"] is None
    rest_items = rest["items"]
    assert isinstance(rest_items, list)
    assert sorted(v["id"] for v in items + rest_items) == sorted(claimed)
    assert {v["name"] for v in items + rest_items} == {"餐饮满100减30", "文旅券"}


def test_staff_have_no_wallet(world: World) -> None:
    response = world.get("operator", "/me/vouchers")
    assert response.status_code == 403
    assert response.json()["code"] == "FORBIDDEN"


def test_an_expired_citizen_token_opens_no_wallet(world: World) -> None:
    (cid,) = register_many(world, 1)
    headers = citizen_headers(world, cid)
    advance(world, timedelta(days=2))
    response = world.client.get("/api/v1/me/vouchers", headers=headers)
    assert response.status_code == 401
