"""The public disclosure counts issued, claimed and redeemed vouchers by category and region."""

from __future__ import annotations

from tests.conftest import World
from tests.integration import redemption_fixtures as fx


def test_disclosure_counts_issued_claimed_and_redeemed_vouchers(world: World) -> None:
    scene = fx.scene(world, holders=3, quantity=5)
    first = fx.redeem(world, scene.shop, code=scene.codes[0], amount_fen=12_000)
    assert first.status_code == 201, first.text
    second = fx.redeem(world, scene.shop, code=scene.codes[1], amount_fen=15_000)
    assert second.status_code == 201, second.text
    reversed_ = fx.reverse(world, scene.shop.headers(), second.json()["id"], reason="顾客退单")
    assert reversed_.status_code in (200, 201), reversed_.text

    page = world.client.get(f"/api/v1/public/programs/{scene.program_id}")
    assert page.status_code == 200, page.text
    figures = page.json()["vouchers"]
    unit = figures["issued"]["subsidy_fen"] // 5
    assert figures["issued"]["count"] == 5
    assert figures["claimed"] == {"key": "", "count": 3, "subsidy_fen": 3 * unit, "order_fen": 0}
    # The reversed redemption no longer counts; the first one does, with its discount.
    assert figures["redeemed"]["count"] == 1
    assert figures["redeemed"]["order_fen"] == 12_000
    assert figures["redeemed"]["subsidy_fen"] == first.json()["discount_fen"]
    assert [t["key"] for t in figures["redeemed_by_category"]] == ["catering"]
    assert sum(t["count"] for t in figures["claimed_by_region"]) == 3
    assert sum(t["count"] for t in figures["redeemed_by_region"]) == 1
    types = {change["type"] for change in page.json()["rule_changes"]}
    assert any(t.startswith("batch.") for t in types)
