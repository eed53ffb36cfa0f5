"""Bad input gets a 4xx problem with a stable code, and the database is unchanged."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from quan.store.schema import metadata
from tests.conftest import World


def _snapshot(world: World) -> dict[str, int]:
    with world.runtime.db.read() as tx:
        return {
            t.name: int(tx.execute(select(func.count()).select_from(t)).scalar_one())
            for t in metadata.sorted_tables
        }


@pytest.fixture
def funded(world: World) -> tuple[World, str, str]:
    program = world.program()
    funder = world.funder()
    world.post(
        "operator",
        f"/programs/{program['id']}/contributions",
        {"funder_id": funder["id"], "amount_fen": 1000},
    )
    return world, program["id"], funder["id"]


BAD_CONTRIBUTIONS: list[tuple[str, Any, int, str]] = [
    ("negative amount", {"amount_fen": -1}, 422, "VALIDATION_FAILED"),
    ("zero amount", {"amount_fen": 0}, 422, "VALIDATION_FAILED"),
    ("huge amount", {"amount_fen": 10**13}, 422, "VALIDATION_FAILED"),
    ("beyond int64", {"amount_fen": 2**80}, 422, "VALIDATION_FAILED"),
    ("float amount", {"amount_fen": 10.5}, 422, "VALIDATION_FAILED"),
    ("string amount", {"amount_fen": "100"}, 422, "VALIDATION_FAILED"),
    ("boolean amount", {"amount_fen": True}, 422, "VALIDATION_FAILED"),
    ("missing amount", {"amount_fen": None}, 422, "VALIDATION_FAILED"),
    ("unknown field", {"amount_fen": 5, "bonus": 1}, 422, "VALIDATION_FAILED"),
    ("unknown funder", {"funder_id": "fdr_nope"}, 404, "NOT_FOUND"),
]


@pytest.mark.parametrize(
    ("case", "override", "status", "code"), BAD_CONTRIBUTIONS, ids=[c[0] for c in BAD_CONTRIBUTIONS]
)
def test_bad_contributions_are_refused_and_change_nothing(
    funded: tuple[World, str, str], case: str, override: dict[str, Any], status: int, code: str
) -> None:
    world, pid, fid = funded
    body: dict[str, Any] = {"funder_id": fid, "amount_fen": 5}
    body.update(override)
    body = {k: v for k, v in body.items() if v is not None}
    before = _snapshot(world)
    response = world.post("operator", f"/programs/{pid}/contributions", body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == code
    assert problem["status"] == status
    assert problem["detail"]
    assert _snapshot(world) == before


def test_malformed_json_is_a_400_problem(funded: tuple[World, str, str]) -> None:
    world, pid, _ = funded
    before = _snapshot(world)
    response = world.client.post(
        f"/api/v1/programs/{pid}/contributions",
        content=b'{"funder_id": ',
        headers={**world.headers("operator"), "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "MALFORMED_REQUEST"
    assert _snapshot(world) == before


def test_unknown_program_is_404(world: World) -> None:
    response = world.get("operator", "/programs/prg_doesnotexist/budget")
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"


def test_errors_speak_english_when_asked_and_chinese_by_default(
    funded: tuple[World, str, str],
) -> None:
    world = funded[0]
    zh = world.get("operator", "/programs/prg_nope")
    en = world.client.get(
        "/api/v1/programs/prg_nope",
        headers={**world.headers("operator"), "Accept-Language": "en-US,en;q=0.9"},
    )
    assert "未找到" in zh.json()["detail"]
    assert en.json()["detail"].startswith("Not found")
    assert zh.json()["code"] == en.json()["code"]


def test_oversized_body_is_refused_before_it_is_read(funded: tuple[World, str, str]) -> None:
    world, pid, _ = funded
    response = world.client.post(
        f"/api/v1/programs/{pid}/contributions",
        content=b"{" + b" " * (2 << 20) + b"}",
        headers={**world.headers("operator"), "content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["code"] == "PAYLOAD_TOO_LARGE"


def test_wrong_method_and_unknown_path_are_problems(world: World) -> None:
    assert world.client.delete("/api/v1/programs").json()["code"] == "METHOD_NOT_ALLOWED"
    assert world.client.get("/api/v1/nothing-here").json()["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    "body",
    [
        {
            "name": "",
            "starts_at": "2026-12-01T00:00:00+08:00",
            "ends_at": "2027-01-01T00:00:00+08:00",
        },
        {
            "name": "x" * 201,
            "starts_at": "2026-12-01T00:00:00+08:00",
            "ends_at": "2027-01-01T00:00:00+08:00",
        },
        {"name": "x", "starts_at": "not a date", "ends_at": "2027-01-01T00:00:00+08:00"},
        {
            "name": "x",
            "starts_at": "2027-01-01T00:00:00+08:00",
            "ends_at": "2026-12-01T00:00:00+08:00",
        },
        [1, 2, 3],
        "just a string",
    ],
)
def test_bad_programs_are_refused_and_change_nothing(world: World, body: Any) -> None:
    before = _snapshot(world)
    response = world.post("operator", "/programs", body)
    assert response.status_code == 422, response.text
    assert response.json()["code"] in {"VALIDATION_FAILED", "INVALID_WINDOW"}
    assert _snapshot(world) == before


def test_oversized_streamed_body_is_refused_too(funded: tuple[World, str, str]) -> None:
    world, pid, _ = funded
    before = _snapshot(world)

    def chunks() -> Any:
        yield b'{"funder_id": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'", "amount_fen": 1}'

    response = world.client.post(
        f"/api/v1/programs/{pid}/contributions",
        content=chunks(),
        headers={**world.headers("operator"), "content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["code"] == "PAYLOAD_TOO_LARGE"
    assert _snapshot(world) == before
