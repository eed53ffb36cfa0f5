"""Refused claims and redemptions are recorded — who, where, which rule — through every path
(the lean micro-batched ones, the documented routes with batching off, the console), summed
correctly, and shown to the staff who may see them; on both databases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from quan.api.app import create_app
from quan.refusals import TALLIES, refused
from quan.services.runtime import Runtime
from tests.conftest import World
from tests.integration import issuance_fixtures as issuance
from tests.integration.redemption_fixtures import redeem, scene
from tests.race import race


def refusal_rows(world: World, who: str = "operator", **params: Any) -> list[dict[str, Any]]:
    TALLIES.flush(world.runtime.db)  # what the application's flusher does every two seconds
    response = world.client.get("/api/v1/refusals", params=params, headers=world.headers(who))
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


def test_an_out_of_scope_flood_is_recorded_per_terminal_and_merchant(world: World) -> None:
    s = scene(world, holders=1, quantity=1)
    answers = race(
        *[lambda: redeem(world, s.shop, code=s.codes[0], category="sports") for _ in range(12)]
    )
    codes = {a.json()["code"] for a in answers}
    assert len(codes) == 1
    (code,) = codes
    rows = refusal_rows(world, merchant_id=s.shop.merchant_id)
    assert len(rows) == 1
    row = rows[0]
    assert row["action"] == "redeem"
    assert row["code"] == code
    assert row["count"] == 12
    assert row["subject"] == f"terminal:{s.shop.terminal_id}"
    # Another issuer's operator sees nothing of it; the auditor sees it.
    assert refusal_rows(world, "outsider", merchant_id=s.shop.merchant_id) == []
    assert refusal_rows(world, "auditor", merchant_id=s.shop.merchant_id)[0]["count"] == 12


def test_claim_refusals_name_the_citizen_but_capacity_refusals_do_not(world: World) -> None:
    s = scene(world, holders=2, quantity=2)
    again = issuance.claim(world, s.citizen_ids[0], s.batch_id)
    assert again.status_code == 409
    late = issuance.register_many(world, 3)
    for citizen_id in late:
        assert issuance.claim(world, citizen_id, s.batch_id).json()["code"] == "SOLD_OUT"
    rows = {r["code"]: r for r in refusal_rows(world, batch_id=s.batch_id)}
    personal = rows[again.json()["code"]]
    assert personal["subject"] == f"citizen:{s.citizen_ids[0]}"
    assert personal["count"] == 1
    assert personal["program_id"] == s.program_id
    sold_out = rows["SOLD_OUT"]
    assert sold_out["subject"] is None
    assert sold_out["count"] == 3


def test_the_documented_routes_record_refusals_with_batching_off(
    runtime: Runtime, world: World
) -> None:
    settings = runtime.settings.model_copy(
        update={"claim_batching": False, "redeem_batching": False}
    )
    plain = Runtime.build(settings, clock=runtime.clock, db=runtime.db)
    with TestClient(create_app(settings, plain)) as client:
        world.client = client
        s = scene(world, holders=1, quantity=1)
        assert redeem(world, s.shop, code=s.codes[0], category="sports").status_code == 422
        assert issuance.claim(world, s.citizen_ids[0], s.batch_id).status_code == 409
        redeemed = refusal_rows(world, merchant_id=s.shop.merchant_id)
        claimed = refusal_rows(world, batch_id=s.batch_id, action="claim")
    assert [(r["action"], r["count"]) for r in redeemed] == [("redeem", 1)]
    assert [(r["subject"], r["count"]) for r in claimed] == [(f"citizen:{s.citizen_ids[0]}", 1)]


def test_tallies_from_several_flushes_add_up(world: World) -> None:
    """As several processes' flushes do: each adds its count to the minute's row."""
    db = world.runtime.db
    now = world.runtime.clock.now()
    for _ in range(3):
        refused(db, now, "claim", "NOT_ELIGIBLE", subject="citizen:cit_x", batch_id="bat_x")
    TALLIES.flush(db)
    refused(db, now + timedelta(seconds=1), "claim", "NOT_ELIGIBLE", subject="citizen:cit_x",
            batch_id="bat_x")
    TALLIES.flush(db)
    rows = refusal_rows(world, "admin", batch_id="bat_x")
    assert [(r["code"], r["count"]) for r in rows] == [("NOT_ELIGIBLE", 4)]
    assert TALLIES.take(db) == {}


def test_bad_ranges_and_filters_are_refused(world: World) -> None:
    headers = world.headers("operator")
    now = world.runtime.clock.now()
    for params in (
        {"since": now.isoformat(), "until": (now - timedelta(hours=1)).isoformat()},
        {"code": "not a code"},
        {"action": "steal"},
        {"limit": 0},
        {"merchant_id": "x" * 81},
    ):
        response = world.client.get("/api/v1/refusals", params=params, headers=headers)
        assert response.status_code == 422, (params, response.text)
    assert world.client.get("/api/v1/refusals").status_code == 401
