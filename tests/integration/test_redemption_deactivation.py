"""An operator's brake on one voucher: deactivation needs a reason, the holder is told, a
deactivated voucher cannot be redeemed until it is reactivated."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from quan.store.tables import events
from tests.conftest import World
from tests.integration import citizen_fixtures as people
from tests.integration import issuance_fixtures as issuance
from tests.integration.redemption_fixtures import (
    Shop,
    assert_books_ok,
    open_shop,
    redeem,
    rows,
)


@dataclass(frozen=True)
class Holder:
    voucher: dict[str, Any]  # the claim receipt
    phone: str
    headers: dict[str, str]  # signed in by SMS code
    shop: Shop


def claimed_by_a_citizen_with_a_phone(world: World) -> Holder:
    """A voucher claimed through the API by a citizen registered with a phone, and a shop."""
    pid = issuance.funded_program(world)
    vt = issuance.voucher_type(world, pid)
    created = issuance.batch(world, pid, vt["id"], quantity=2)
    issuance.open_batch(world, created["id"])
    person = people.person(5)
    people.register(world, person)
    headers = people.sign_in(world, person.phone)
    claimed = world.client.post(f"/api/v1/batches/{created['id']}/claims", headers=headers)
    assert claimed.status_code == 201, claimed.text
    return Holder(claimed.json(), person.phone, headers, open_shop(world))


def deactivate(
    world: World, voucher_id: str, reason: str = "疑似转卖，核查中", who: str = "operator"
) -> Any:
    return world.post(who, f"/vouchers/{voucher_id}/deactivate", {"reason": reason})


def reactivate(
    world: World, voucher_id: str, reason: str = "核查无误", who: str = "operator"
) -> Any:
    return world.post(who, f"/vouchers/{voucher_id}/reactivate", {"reason": reason})


def test_a_deactivated_voucher_cannot_be_redeemed_until_reactivated(world: World) -> None:
    h = claimed_by_a_citizen_with_a_phone(world)
    voucher, shop = h.voucher, h.shop
    response = deactivate(world, voucher["id"])
    assert response.status_code == 200, response.text
    assert response.json()["deactivated_by"].startswith("staff:")
    refused = redeem(world, shop, code=voucher["code"])
    assert (refused.status_code, refused.json()["code"]) == (422, "VOUCHER_DEACTIVATED")
    assert rows(world, "redemptions") == 0
    lifted = reactivate(world, voucher["id"])
    assert lifted.status_code == 200
    assert lifted.json()["reactivation_reason"] == "核查无误"
    assert redeem(world, shop, code=voucher["code"]).status_code == 201
    assert_books_ok(world)


def test_the_holder_is_told_by_sms_with_the_reason_and_events_omit_it(world: World) -> None:
    h = claimed_by_a_citizen_with_a_phone(world)
    voucher, phone = h.voucher, h.phone
    deactivate(world, voucher["id"], reason="系统核查")
    reactivate(world, voucher["id"], reason="核查完毕")
    texts = [m["body"] for m in people.sms_to(world, phone)]
    assert any("系统核查" in t and voucher["code"][-4:] in t for t in texts)
    assert any("已恢复使用" in t for t in texts)
    with world.runtime.db.read() as tx:
        payloads = (
            tx.execute(select(events.c.payload).where(events.c.type.like("voucher.%activated")))
            .scalars()
            .all()
        )
    assert len(payloads) == 2
    assert not any("核查" in p for p in payloads)


def test_the_wallet_shows_a_deactivated_voucher_as_such(world: World) -> None:
    h = claimed_by_a_citizen_with_a_phone(world)
    voucher = h.voucher
    deactivate(world, voucher["id"])
    items = world.client.get("/api/v1/me/vouchers", headers=h.headers).json()["items"]
    shown = next(v for v in items if v["id"] == voucher["id"])
    assert shown["status"] == "deactivated"
    assert shown["qr_payload"] == voucher["code"]  # no spendable token for a stopped voucher


def test_a_reason_is_required(world: World) -> None:
    voucher = claimed_by_a_citizen_with_a_phone(world).voucher
    response = deactivate(world, voucher["id"], reason="   ")
    assert (response.status_code, response.json()["code"]) == (422, "DEACTIVATION_REASON_REQUIRED")
    assert rows(world, "voucher_deactivations") == 0


def test_only_a_claimed_unspent_voucher_can_be_deactivated_and_only_once(world: World) -> None:
    h = claimed_by_a_citizen_with_a_phone(world)
    voucher, shop = h.voucher, h.shop
    assert deactivate(world, voucher["id"]).status_code == 200
    twice = deactivate(world, voucher["id"])
    assert (twice.status_code, twice.json()["code"]) == (409, "VOUCHER_ALREADY_DEACTIVATED")
    reactivate(world, voucher["id"])
    again = reactivate(world, voucher["id"])
    assert (again.status_code, again.json()["code"]) == (409, "VOUCHER_NOT_DEACTIVATED")
    assert redeem(world, shop, code=voucher["code"]).status_code == 201
    spent = deactivate(world, voucher["id"])
    assert (spent.json()["code"], spent.json()["voucher_status"]) == (
        "VOUCHER_NOT_ACTIVE",
        "redeemed",
    )


def test_only_operators_of_the_issuer_and_admins_decide(world: World) -> None:
    h = claimed_by_a_citizen_with_a_phone(world)
    voucher, shop = h.voucher, h.shop
    assert deactivate(world, voucher["id"], who="outsider").json()["code"] == "OTHER_ISSUER"
    assert deactivate(world, voucher["id"], who="auditor").json()["code"] == "FORBIDDEN"
    terminal = world.client.post(
        f"/api/v1/vouchers/{voucher['id']}/deactivate", json={"reason": "x"}, headers=shop.headers()
    )
    assert terminal.json()["code"] == "FORBIDDEN"
    assert deactivate(world, "vch_unknown", who="admin").json()["code"] == "VOUCHER_NOT_FOUND"
    assert deactivate(world, voucher["id"], who="admin").status_code == 200
