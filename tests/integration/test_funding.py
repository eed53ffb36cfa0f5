"""Programs are funded through contributions; big ones wait for a second person."""

from __future__ import annotations

from tests.conftest import World


def test_contribution_at_or_below_threshold_counts_at_once(world: World) -> None:
    program = world.program()
    funder = world.funder()
    response = world.post(
        "operator",
        f"/programs/{program['id']}/contributions",
        {"funder_id": funder["id"], "amount_fen": 1_000_000},
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "approved"
    budget = world.budget(program["id"])
    assert budget["funded_fen"] == 1_000_000
    assert budget["available_fen"] == 1_000_000
    assert budget["identity_holds"] is True
