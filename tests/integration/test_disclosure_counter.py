"""The disclosure page's additions (issue 16, point 14): the merchants taking part, the funders
and their shares, consumption driven and leverage, the lottery's verification, and rule changes
that are rule changes only (a citizen's lottery entry is not one), in words."""

from __future__ import annotations

from tests.conftest import World
from tests.integration.issuance_fixtures import (
    batch,
    citizen_headers,
    claim,
    funded_program,
    open_batch,
    register,
    voucher_type,
)
from tests.integration.merchant_fixtures import approved, post_as, terminal


def test_the_public_page_shows_merchants_funders_leverage_and_rule_changes_only(
    world: World,
) -> None:
    pid = funded_program(world, amount_fen=600_000)
    vt = voucher_type(world, pid)
    fcfs = batch(world, pid, vt["id"], quantity=5)
    open_batch(world, fcfs["id"])
    lottery = batch(world, pid, vt["id"], quantity=3, allocation="lottery", name="摇号轮")
    open_batch(world, lottery["id"])
    entered = world.client.post(
        f"/api/v1/batches/{lottery['id']}/registrations",
        headers=citizen_headers(world, register(world)),
    )
    assert entered.status_code == 201, entered.text
    merchant, owner_key = approved(world, name="湖滨小馆")
    key = terminal(world, merchant["id"], owner_key)["api_key"]
    code = claim(world, register(world), fcfs["id"]).json()["code"]
    spent = post_as(
        world,
        key,
        "/redemptions",
        {"voucher_code": code, "order_amount_fen": 12_000, "category": "catering"},
    )
    assert spent.status_code == 201, spent.text

    answer = world.client.get(f"/api/v1/public/programs/{pid}").json()
    types = [c["type"] for c in answer["rule_changes"]]
    assert "batch.opened" in types
    assert not any(t.startswith("lottery.") for t in types)  # the entry is not a rule change
    assert answer["merchant_count"] >= 1
    assert "湖滨小馆" in [m["name"] for m in answer["merchants"]]
    assert [f["net_fen"] for f in answer["funders"]] == [600_000]

    world.client.cookies.set("quan_lang", "en")
    page = world.client.get(f"/disclosure/{pid}").text
    assert 'data-test="leverage">1 : 4.00<' in page  # ¥120 of orders on ¥30 of subsidy
    assert "湖滨小馆" in page
    assert "330106 Xihu District" in page
    assert 'data-test="funder-share">100.0%<' in page
    assert f"/api/v1/batches/{lottery['id']}/lottery" in page
    assert f"quan lottery verify --url http://testserver --batch {lottery['id']}" in page
    assert "Batch opened" in page  # in words, not batch.opened
    assert 'tabindex="0" role="region" aria-labelledby="rules-heading"' in page
    assert "/openapi.json" not in world.client.get("/").text  # no API links for the public
