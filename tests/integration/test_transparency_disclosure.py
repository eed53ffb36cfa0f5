"""The public program page: ledger figures and rule changes, tied to a signed checkpoint."""

from __future__ import annotations

import base64
import json
from typing import Any

from fastapi.testclient import TestClient

from quan.domain.checkpoint import parse_and_verify, parse_verifier_key
from quan.store.db import Database
from tests.conftest import START, World
from tests.integration.transparency_fixtures import add_events, entry_bytes, sequence

THRESHOLD = 1_000_000  # the test settings' approval threshold


def public(client: TestClient, program_id: str) -> Any:
    response = client.get(f"/api/v1/public/programs/{program_id}")
    assert response.status_code == 200, response.text
    return response.json()


def funded_program(world: World) -> dict[str, Any]:
    program, funder = world.program(), world.funder()
    for amount in (300_000, 200_000):
        response = world.post(
            "operator",
            f"/programs/{program['id']}/contributions",
            {"funder_id": funder["id"], "amount_fen": amount},
        )
        assert response.status_code == 201, response.text
    world.post("operator", f"/programs/{program['id']}/activate")
    return program


def test_anyone_sees_the_money_figures_the_ledger_holds(world: World) -> None:
    program = funded_program(world)
    page = public(world.client, program["id"])  # no Authorization header
    budget = world.budget(program["id"])
    assert page["money"] == {
        key: budget[key]
        for key in (
            "funded_fen",
            "available_fen",
            "reserved_fen",
            "payable_fen",
            "paid_fen",
            "returned_fen",
        )
    }
    assert page["money"]["funded_fen"] == 500_000
    facts = page["program"]
    assert (facts["id"], facts["status"], facts["issuer_name"]) == (
        program["id"],
        "active",
        "杭州市商务局",
    )


def test_a_pending_contribution_is_not_counted_as_funded(world: World) -> None:
    program, funder = world.program(), world.funder()
    world.post(
        "operator",
        f"/programs/{program['id']}/contributions",
        {"funder_id": funder["id"], "amount_fen": THRESHOLD + 1},
    )
    assert public(world.client, program["id"])["money"]["funded_fen"] == 0


def test_rule_changes_are_listed_with_their_log_index_once_sequenced(world: World) -> None:
    program = funded_program(world)
    before = public(world.client, program["id"])
    assert [c["type"] for c in before["rule_changes"]] == ["program.created", "program.active"]
    assert all(c["log_index"] is None for c in before["rule_changes"])
    assert before["log"] is None

    sequence(world.runtime)
    after = public(world.client, program["id"])
    assert after["rule_changes_complete"] is True
    for change in after["rule_changes"]:
        index = change["log_index"]
        (leaf,) = entry_bytes(world.client, index, index)
        document = json.loads(leaf)
        assert (document["event_id"], document["type"]) == (change["event_id"], change["type"])
        assert document["payload"] == change["payload"]


def test_the_figures_come_with_the_signed_checkpoint_they_were_read_at(
    world: World, db: Database
) -> None:
    program = funded_program(world)
    sequence(world.runtime)
    page = public(world.client, program["id"])
    key = world.client.get("/api/v1/audit/public-key").json()
    name, public_key = parse_verifier_key(key["verifier_key"])
    checkpoint = parse_and_verify(page["log"]["checkpoint"], name, public_key)
    assert checkpoint.size == page["log"]["tree_size"]
    assert base64.b64encode(checkpoint.root).decode() == page["log"]["root_hash"]
    assert page["log"]["unsequenced_events"] == 0

    world.post("operator", f"/programs/{program['id']}/pause")
    add_events(db, 3, START)  # events of no program do not count against this one
    later = public(world.client, program["id"])
    assert later["log"]["tree_size"] == checkpoint.size
    assert later["log"]["unsequenced_events"] == 1
    paused = later["rule_changes"][-1]
    assert (paused["type"], paused["log_index"]) == ("program.paused", None)


def test_an_unknown_program_is_a_404_problem(client: TestClient) -> None:
    response = client.get("/api/v1/public/programs/prg_nope")
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"
