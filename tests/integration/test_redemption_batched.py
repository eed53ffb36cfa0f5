"""Redemptions committed together (the lean path of POST /redemptions), on SQLite and PostgreSQL.

The lean path (:mod:`quan.api.redeem_route`) queues the terminals' redemptions that arrive
together and records them in one transaction
(:func:`quan.services.redemption.redeem_batch.redeem_together`). These tests flood it on one event
loop so
micro-batches form, race it across threads, make a micro-batch fail as a whole, and compare its
answers with the documented route's (batching off) for the same calls.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections import Counter
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from quan.api.app import create_app
from quan.domain.canonical import canonical_json
from quan.services.redemption import redeem_batch
from quan.services.redemption.redemption import redemption_from_row
from quan.services.redemption.redemption_write import _payload
from quan.store.redemption_tables import redemptions
from quan.store.tables import events
from tests import aio
from tests.conftest import World
from tests.integration.redemption_fixtures import (
    another_terminal,
    assert_books_ok,
    race,
    redeem,
    rows,
    scene,
    voucher_status,
)

ORDER = {"order_amount_fen": 12000, "category": "catering", "scene": "offline"}


async def _flood(world: World, calls: list[tuple[dict[str, str], dict[str, Any]]]) -> list[Any]:
    """Send every call at once to the app on one event loop: the redemptions queue together."""
    transport = httpx.ASGITransport(app=world.client.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://quan") as client:
        return await asyncio.gather(
            *(client.post("/api/v1/redemptions", json=b, headers=h) for h, b in calls)
        )


def _answers(responses: list[Any]) -> Counter[str]:
    out: Counter[str] = Counter()
    for r in responses:
        out["redeemed" if r.status_code == 201 else r.json()["code"]] += 1
    return out


def test_a_flood_of_redemptions_is_recorded_in_few_transactions(world: World) -> None:
    s = scene(world, holders=30)
    lane = world.client.app.state.redeem_lane
    before = lane.runs()
    calls = [(s.shop.headers(), {**ORDER, "voucher_code": code}) for code in s.codes]
    responses = aio.run(_flood(world, calls))
    assert _answers(responses) == {"redeemed": 30}
    assert lane.runs() - before < 20  # far fewer transactions than requests
    assert {r.json()["voucher_id"] for r in responses} == {v["id"] for v in s.vouchers}
    assert all(r.json()["customer_pays_fen"] == 9000 for r in responses)
    assert rows(world, "redemptions") == 30
    # Each event as the per-voucher path writes it (the transparency log hashes these bytes).
    with world.runtime.db.read() as tx:
        recorded = tx.execute(
            select(events.c.subject_id, events.c.actor, events.c.payload).where(
                events.c.type == "voucher.redeemed"
            )
        ).all()
        made = {r.voucher_id: r for r in tx.execute(select(redemptions)).all()}
    assert len(recorded) == 30
    for subject_id, actor, payload in recorded:
        row = made[subject_id]
        assert actor == f"terminal:{s.shop.terminal_id}"
        assert payload == canonical_json(_payload(redemption_from_row(row)))
    assert all(voucher_status(world, v["id"]) == "redeemed" for v in s.vouchers)
    assert_books_ok(world)


def test_a_micro_batch_takes_the_same_few_statements_however_many_it_redeems(
    world: World,
) -> None:
    s = scene(world, holders=24)
    lane = world.client.app.state.redeem_lane
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(lane.db.engine, "before_cursor_execute", count)
    before = lane.runs()
    try:
        calls = [
            (s.shop.headers(**{"Idempotency-Key": f"k-{i}"}), {**ORDER, "voucher_code": code})
            for i, code in enumerate(s.codes)
        ]
        responses = aio.run(_flood(world, calls))
    finally:
        event.remove(lane.db.engine, "before_cursor_execute", count)
    assert _answers(responses) == {"redeemed": 24}
    runs = lane.runs() - before
    if world.runtime.db.dialect == "postgresql":
        # Per micro-batch: recording lock, keys of the terminals, idempotency keys, facts,
        # the write, the key rows.
        assert len(statements) <= 6 * runs, (runs, statements)
    else:  # SQLite: each redemption its own statements, in savepoints
        assert len(statements) >= 24 * 3
    assert_books_ok(world)


def test_one_voucher_flooded_from_two_terminals_is_redeemed_once(world: World) -> None:
    s = scene(world, holders=1)
    other = another_terminal(world, s.shop)
    body = {**ORDER, "voucher_code": s.codes[0]}
    calls = [(shop.headers(), body) for shop in (s.shop, other) for _ in range(8)]
    responses = aio.run(_flood(world, calls))
    assert _answers(responses) == {"redeemed": 1, "ALREADY_REDEEMED": 15}
    assert rows(world, "redemptions") == 1
    assert_books_ok(world)


def test_one_key_flooded_gets_one_redemption_and_its_replays(world: World) -> None:
    s = scene(world, holders=1)
    headers = s.shop.headers(**{"Idempotency-Key": "till-7-order-1"})
    responses = aio.run(_flood(world, [(headers, {**ORDER, "voucher_code": s.codes[0]})] * 12))
    assert _answers(responses) == {"redeemed": 12}
    assert len({r.json()["id"] for r in responses}) == 1
    assert len({r.content for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 11
    assert rows(world, "redemptions") == 1
    # The same key with another body in the same flood: refused, nothing written.
    other = {**ORDER, "voucher_code": s.codes[0], "order_amount_fen": 13000}
    again = aio.run(_flood(world, [(headers, other)]))
    assert again[0].status_code == 422
    assert again[0].json()["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_the_same_key_of_two_terminals_is_two_keys(world: World) -> None:
    s = scene(world, holders=2)
    other = another_terminal(world, s.shop)
    calls = [
        (shop.headers(**{"Idempotency-Key": "order-1"}), {**ORDER, "voucher_code": code})
        for shop, code in zip((s.shop, other), s.codes, strict=True)
    ]
    responses = aio.run(_flood(world, calls))
    assert _answers(responses) == {"redeemed": 2}
    assert not any(r.headers.get("Idempotent-Replayed") for r in responses)


def test_refusals_in_a_micro_batch_leave_the_others_recorded(world: World) -> None:
    s = scene(world, holders=4)
    calls = [
        (s.shop.headers(), {**ORDER, "voucher_code": s.codes[0]}),
        (s.shop.headers(), {**ORDER, "voucher_code": s.codes[1], "order_amount_fen": 5000}),
        (s.shop.headers(), {**ORDER, "voucher_code": s.codes[2], "category": "sports"}),
        (s.shop.headers(), {**ORDER, "voucher_code": "7K3M-Q9XD-2HVB-T4NW"}),
        (s.shop.headers(), {**ORDER, "voucher_code": s.codes[3]}),
    ]
    responses = aio.run(_flood(world, calls))
    codes = [r.status_code if r.status_code == 201 else r.json()["code"] for r in responses]
    assert codes[0] == codes[4] == 201
    assert codes[1] == "BELOW_MIN_SPEND"
    assert codes[2] == "OUT_OF_SCOPE"
    assert codes[3] in {"VOUCHER_NOT_FOUND", "INVALID_VOUCHER_CODE"}
    assert rows(world, "redemptions") == 2
    assert_books_ok(world)


def test_a_micro_batch_that_fails_whole_is_run_request_by_request(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = scene(world, holders=6)
    failed: list[int] = []

    def broken(*args: Any) -> Any:
        failed.append(len(args[3]))
        raise OperationalError("COMMIT", {}, Exception("deadlock detected"))

    monkeypatch.setattr(redeem_batch, "_together", broken)
    calls = [(s.shop.headers(), {**ORDER, "voucher_code": code}) for code in s.codes]
    calls.append((s.shop.headers(), {**ORDER, "voucher_code": s.codes[0]}))
    responses = aio.run(_flood(world, calls))
    assert failed
    assert sum(failed) == 7
    assert _answers(responses) == {"redeemed": 6, "ALREADY_REDEEMED": 1}
    assert rows(world, "redemptions") == 6
    assert_books_ok(world)


def test_threads_racing_one_voucher_through_the_lean_path_redeem_it_once(world: World) -> None:
    s = scene(world, holders=1)
    shops = [s.shop, another_terminal(world, s.shop)]
    outcomes = race(12, lambda i: redeem(world, shops[i % 2], code=s.codes[0]).status_code)
    assert sorted(outcomes).count(201) == 1
    assert rows(world, "redemptions") == 1
    assert_books_ok(world)


def _both_routes(world: World, send: Any) -> list[tuple[int, bytes]]:
    """What the lean path and the documented route (batching off) answer to the same call."""
    return [(r.status_code, r.content) for r in map(send, _clients(world))]


def _post(body: bytes, headers: dict[str, str]) -> Any:
    return lambda client: client.post("/api/v1/redemptions", content=body, headers=headers)


@pytest.mark.parametrize(
    ("body", "extra", "status", "code"),
    [
        (b'{"voucher_code": "7K3M-Q9XD-2HVB-T4NW"', {}, 400, "MALFORMED_REQUEST"),
        (b'{"order_amount_fen": 1.5, "category": "catering"}', {}, 422, "VALIDATION_FAILED"),
        (b"[]", {}, 422, "VALIDATION_FAILED"),
        (b'{"category": "catering"}', {"Content-Type": "text/plain"}, 422, "VALIDATION_FAILED"),
        (b'{"order_amount_fen": 100, "category": "x"}', {}, 422, "UNKNOWN_CATEGORY"),
        (b'{"order_amount_fen": 100, "category": "catering"}', {}, 422, "CODE_OR_TOKEN"),
        (
            b'{"order_amount_fen": 100, "category": "catering", "voucher_code": "nope"}',
            {"Accept-Language": "en"},
            422,
            "INVALID_VOUCHER_CODE",
        ),
        (
            b'{"order_amount_fen": 100, "category": "catering", "token": "QV1:AAAA"}',
            {},
            422,
            "INVALID_OFFLINE_TOKEN",
        ),
        (
            b'{"order_amount_fen": 100, "category": "catering", "voucher_code": "x"}',
            {"Idempotency-Key": "with space"},
            422,
            "INVALID_IDEMPOTENCY_KEY",
        ),
        (b"{}", {"Authorization": "Bearer qk_key_nope_secret"}, 401, "UNAUTHORIZED"),
        (b"{}", {"Authorization": "Basic abc"}, 401, "UNAUTHORIZED"),
    ],
)
def test_bad_input_gets_the_same_problem_from_both_paths_and_writes_nothing(
    world: World, body: bytes, extra: dict[str, str], status: int, code: str
) -> None:
    s = scene(world, holders=1)
    headers = {**s.shop.headers(), "Content-Type": "application/json", **extra}
    lean, documented = _both_routes(world, _post(body, headers))
    assert lean == documented
    assert lean[0] == status, lean
    assert code in lean[1].decode()
    assert rows(world, "redemptions") == 0


def test_refusals_and_keys_of_others_get_the_same_answer_from_both_paths(world: World) -> None:
    s = scene(world, holders=1)
    below = json_of({**ORDER, "voucher_code": s.codes[0], "order_amount_fen": 5000})
    headers = {**s.shop.headers(), "Content-Type": "application/json"}
    for lang in ("zh-CN", "en"):
        lean, documented = _both_routes(world, _post(below, {**headers, "Accept-Language": lang}))
        assert lean == documented
        assert lean[0] == 422
        assert b"BELOW_MIN_SPEND" in lean[1]
    # The merchant's owner key may not redeem (403), from either path.
    owner = {"Authorization": f"Bearer {s.shop.owner_key}", "Content-Type": "application/json"}
    lean, documented = _both_routes(world, _post(json_of({**ORDER, "voucher_code": "x"}), owner))
    assert lean == documented
    assert lean[0] == 403


def test_a_success_has_the_same_shape_from_both_paths(world: World) -> None:
    s = scene(world, holders=2)
    answers = []
    for code, client in zip(s.codes, _clients(world), strict=True):
        response = client.post(
            "/api/v1/redemptions",
            json={**ORDER, "voucher_code": code, "metadata": {"cashier": "王"}},
            headers=s.shop.headers(),
        )
        assert response.status_code == 201, response.text
        answers.append((dict(response.headers), response.json()))
    (lean_headers, lean), (doc_headers, doc) = answers
    assert lean_headers["content-type"] == doc_headers["content-type"]
    assert list(lean) == list(doc)  # the same fields in the same order
    different = {k for k in lean if lean[k] != doc[k]}
    assert different == {"id", "voucher_id"}


def test_a_revoked_terminal_is_turned_away_at_once(world: World) -> None:
    s = scene(world, holders=1)
    revoked = world.client.post(
        f"/api/v1/merchants/{s.shop.merchant_id}/terminals/{s.shop.terminal_id}/revoke",
        headers={"Authorization": f"Bearer {s.shop.owner_key}"},
    )
    assert revoked.status_code == 200, revoked.text
    response = redeem(world, s.shop, code=s.codes[0])
    assert response.status_code == 401
    assert rows(world, "redemptions") == 0


def _clients(world: World) -> list[Any]:
    """The app as served (lean path in front) and the same app with batching off."""
    plain = dataclasses.replace(
        world.runtime,
        settings=world.runtime.settings.model_copy(update={"redeem_batching": False}),
    )
    return [world.client, TestClient(create_app(runtime=plain))]


def json_of(data: dict[str, Any]) -> bytes:
    return json.dumps(data).encode()
