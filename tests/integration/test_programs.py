"""Programs through the API: creation rules and the lifecycle."""

from __future__ import annotations

import pytest

from tests.conftest import World


def test_operator_creates_a_draft_program_for_their_issuer(world: World) -> None:
    program = world.program()
    assert program["status"] == "draft"
    assert program["issuer_id"] == world.issuer.id
    assert program["timezone"] == "Asia/Shanghai"
    assert program["starts_at"].endswith(("Z", "+00:00"))


def test_lifecycle_runs_draft_active_paused_active_closed(world: World) -> None:
    pid = world.program()["id"]
    for action, status in [
        ("activate", "active"),
        ("pause", "paused"),
        ("activate", "active"),
        ("close", "closed"),
    ]:
        response = world.post("operator", f"/programs/{pid}/{action}")
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status
    refused = world.post("operator", f"/programs/{pid}/activate")
    assert refused.status_code == 409
    assert refused.json()["code"] == "INVALID_TRANSITION"


def test_lifecycle_changes_are_events(world: World) -> None:
    pid = world.program()["id"]
    world.post("operator", f"/programs/{pid}/activate")
    events = world.get("auditor", "/events", program_id=pid).json()["items"]
    assert [e["type"] for e in events] == ["program.created", "program.active"]
    assert events[1]["payload"] == {"from": "draft", "to": "active"}
    assert events[1]["actor"] == f"staff:{world.users['operator'].id}"


def test_naive_times_and_unknown_zones_are_refused(world: World) -> None:
    naive = world.post(
        "operator",
        "/programs",
        {"name": "x", "starts_at": "2026-12-01T00:00:00", "ends_at": "2027-01-01T00:00:00+08:00"},
    )
    assert naive.status_code == 422
    assert naive.json()["code"] == "VALIDATION_FAILED"
    assert naive.json()["errors"][0]["field"] == "starts_at"
    zone = world.post(
        "operator",
        "/programs",
        {
            "name": "x",
            "timezone": "Asia/Atlantis",
            "starts_at": "2026-12-01T00:00:00+08:00",
            "ends_at": "2027-01-01T00:00:00+08:00",
        },
    )
    assert zone.json()["code"] == "INVALID_TIMEZONE"


def test_operator_cannot_create_a_program_for_another_issuer(world: World) -> None:
    response = world.post(
        "operator",
        "/programs",
        {
            "name": "x",
            "issuer_id": world.other_issuer.id,
            "starts_at": "2026-12-01T00:00:00+08:00",
            "ends_at": "2027-01-01T00:00:00+08:00",
        },
    )
    assert response.status_code == 403
    assert response.json()["code"] == "OTHER_ISSUER"


def test_operators_list_only_their_issuers_programs(world: World) -> None:
    mine = world.program()
    theirs = world.program(who="admin", issuer_id=world.other_issuer.id)
    listed = {p["id"] for p in world.get("operator", "/programs").json()["items"]}
    assert mine["id"] in listed
    assert theirs["id"] not in listed
    everything = {p["id"] for p in world.get("auditor", "/programs").json()["items"]}
    assert {mine["id"], theirs["id"]} <= everything


@pytest.mark.parametrize(
    "zone", ["localtime", "Factory", "Etc/GMT+8", "PRC", "posix/Asia/Shanghai"]
)
def test_a_program_time_zone_must_be_an_area_city_zone(world: World, zone: str) -> None:
    response = world.post(
        "operator",
        "/programs",
        {
            "name": "x",
            "timezone": zone,
            "starts_at": "2026-12-01T00:00:00+08:00",
            "ends_at": "2027-01-01T00:00:00+08:00",
        },
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "INVALID_TIMEZONE"
