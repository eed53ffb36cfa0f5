"""Idempotency-Key: a retried money movement happens once and answers the same."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import func, select

from quan.store.tables import fund_movements, postings
from tests.conftest import World


def _setup(world: World) -> tuple[str, str]:
    return world.program()["id"], world.funder()["id"]


def _count(world: World, table: Any) -> int:
    with world.runtime.db.read() as tx:
        return int(tx.execute(select(func.count()).select_from(table)).scalar_one())


def test_retry_with_the_same_key_replays_the_first_answer_and_moves_money_once(
    world: World,
) -> None:
    pid, fid = _setup(world)
    body = {"funder_id": fid, "amount_fen": 12_345}
    first = world.post(
        "operator", f"/programs/{pid}/contributions", body, **{"Idempotency-Key": "k-1"}
    )
    second = world.post(
        "operator", f"/programs/{pid}/contributions", body, **{"Idempotency-Key": "k-1"}
    )
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert world.budget(pid)["funded_fen"] == 12_345
    assert _count(world, fund_movements) == 1


def test_same_key_with_another_body_is_refused_and_changes_nothing(world: World) -> None:
    pid, fid = _setup(world)
    world.post(
        "operator",
        f"/programs/{pid}/contributions",
        {"funder_id": fid, "amount_fen": 1},
        **{"Idempotency-Key": "k"},
    )
    before = _count(world, postings)
    reused = world.post(
        "operator",
        f"/programs/{pid}/contributions",
        {"funder_id": fid, "amount_fen": 2},
        **{"Idempotency-Key": "k"},
    )
    assert reused.status_code == 422
    assert reused.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert _count(world, postings) == before


def test_keys_of_different_callers_never_collide(world: World) -> None:
    pid, fid = _setup(world)
    body = {"funder_id": fid, "amount_fen": 100}
    a = world.post(
        "operator", f"/programs/{pid}/contributions", body, **{"Idempotency-Key": "same"}
    )
    b = world.post("checker", f"/programs/{pid}/contributions", body, **{"Idempotency-Key": "same"})
    assert a.json()["id"] != b.json()["id"]
    assert world.budget(pid)["funded_fen"] == 200


def test_a_refused_request_stores_nothing_so_a_retry_is_evaluated_again(world: World) -> None:
    pid, fid = _setup(world)
    body = {"funder_id": fid, "amount_fen": 500, "reason": "退回"}
    refused = world.post("operator", f"/programs/{pid}/returns", body, **{"Idempotency-Key": "r"})
    assert refused.json()["code"] == "INSUFFICIENT_BUDGET"
    world.post("operator", f"/programs/{pid}/contributions", {"funder_id": fid, "amount_fen": 500})
    retried = world.post("operator", f"/programs/{pid}/returns", body, **{"Idempotency-Key": "r"})
    assert retried.status_code == 201


def test_malformed_key_is_refused(world: World) -> None:
    pid, fid = _setup(world)
    body = {"funder_id": fid, "amount_fen": 1}
    for key in ("x" * 256, "has space", "tab\there"):
        response = world.client.post(
            f"/api/v1/programs/{pid}/contributions",
            json=body,
            headers={
                **world.headers("operator"),
                "Idempotency-Key": key.encode().decode("latin-1"),
            },
        )
        assert response.status_code == 422, key
        assert response.json()["code"] == "INVALID_IDEMPOTENCY_KEY"
    assert world.budget(pid)["funded_fen"] == 0


def test_concurrent_requests_with_one_key_move_money_once(world: World) -> None:
    pid, fid = _setup(world)
    body = {"funder_id": fid, "amount_fen": 777}
    threads = 8
    barrier = threading.Barrier(threads)
    results: list[tuple[int, dict[str, Any]]] = []
    lock = threading.Lock()
    headers = world.headers("operator", **{"Idempotency-Key": "race"})

    def attempt() -> None:
        barrier.wait()
        response = world.client.post(
            f"/api/v1/programs/{pid}/contributions", json=body, headers=headers
        )
        with lock:
            results.append((response.status_code, response.json()))

    workers = [threading.Thread(target=attempt) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()

    created = {r["id"] for status, r in results if status == 201}
    assert len(created) == 1, results
    assert {status for status, _ in results} <= {201, 409}
    assert all(r["code"] == "IDEMPOTENCY_IN_PROGRESS" for status, r in results if status == 409)
    assert world.budget(pid)["funded_fen"] == 777
    assert _count(world, fund_movements) == 1


def test_concurrent_approvals_of_one_contribution_post_it_once(world: World) -> None:
    pid, fid = _setup(world)
    pending = world.post(
        "operator", f"/programs/{pid}/contributions", {"funder_id": fid, "amount_fen": 5_000_000}
    ).json()
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def approve(who: str) -> None:
        barrier.wait()
        statuses.append(world.post(who, f"/contributions/{pending['id']}/approve", {}).status_code)

    workers = [threading.Thread(target=approve, args=(who,)) for who in ("checker", "admin")]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert sorted(statuses) == [200, 409]
    assert world.budget(pid)["funded_fen"] == 5_000_000


def test_the_database_keeps_one_answer_per_key(world: World) -> None:
    """``(scope, key)`` is the primary key of the stored answers: whatever serialises (or fails
    to serialise) two requests above it, a second answer for one key is refused."""
    import pytest
    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError

    from quan.services import idempotency
    from quan.store.tables import idempotency_keys

    key = idempotency.IdempotencyKey("staff:someone", "once", "0" * 64)
    clock = world.runtime.clock
    with world.runtime.db.write() as tx:
        tx.execute(insert(idempotency_keys).values(idempotency.stored_row(key, 201, {}, clock)))
    refused = r"pk_idempotency_keys|idempotency_keys\.scope"
    with pytest.raises(IntegrityError, match=refused), world.runtime.db.write() as tx:
        tx.execute(insert(idempotency_keys).values(idempotency.stored_row(key, 409, {}, clock)))
    with world.runtime.db.read() as tx:
        stored = tx.execute(select(func.count()).select_from(idempotency_keys)).scalar_one()
    assert stored == 1
