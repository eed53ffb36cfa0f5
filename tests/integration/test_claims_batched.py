"""Claims committed together (micro-batches), on SQLite and PostgreSQL.

The lean claim route queues the claims that arrive together and commits them in one transaction
(:mod:`quan.api.claim_route`, :func:`quan.services.issuance.claim_batch.claim_together`). These
tests
race it for real: many requests at once on one event loop (so micro-batches form), several
threads each committing micro-batches that overlap in citizens (so uniqueness races between
transactions happen and fall back claim by claim), and worker processes. Outcomes are read back
from the database: exactly the quantity, one per citizen within the limit, one voucher per key.
"""

from __future__ import annotations

import asyncio
import dataclasses
import multiprocessing
from collections import Counter
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from quan.api.app import create_app
from quan.clock import FixedClock
from quan.domain.canonical import canonical_json
from quan.domain.claims import Channel
from quan.services.issuance.claim_batch import ClaimRequest, claim_together
from quan.services.issuance.claim_cache import ClaimCache
from quan.services.issuance.claims import ClaimOutcome, claim_payload, issued_from_row
from quan.store.db import Database
from quan.store.tables import events
from quan.store.voucher_tables import vouchers
from tests import aio
from tests.conftest import START, World
from tests.integration.issuance_fixtures import (
    assert_ledger_ok,
    citizen_headers,
    claim,
    iso,
    open_fcfs_batch,
    register,
    register_many,
)
from tests.integration.test_claims_concurrency import held, outcome_codes, wide  # noqa: F401
from tests.race import race

NOW = START + timedelta(minutes=1)


async def _flood(world: World, bid: str, requests: list[dict[str, str]]) -> list[httpx.Response]:
    """Send every request at once to the app on one event loop: the claims queue together."""
    transport = httpx.ASGITransport(app=world.client.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://quan") as client:
        return await asyncio.gather(
            *(client.post(f"/api/v1/batches/{bid}/claims", headers=h) for h in requests)
        )


def _answers(responses: list[httpx.Response]) -> Counter[str]:
    out: Counter[str] = Counter()
    for r in responses:
        out["claimed" if r.status_code == 201 else r.json()["code"]] += 1
    return out


def test_a_flood_of_requests_is_committed_in_few_transactions_without_oversell(
    world: World,
) -> None:
    pid, bid = open_fcfs_batch(world, quantity=40)
    people = register_many(world, 120)
    lane = world.client.app.state.claim_lane
    responses = aio.run(_flood(world, bid, [citizen_headers(world, c) for c in people]))
    assert _answers(responses) == {"claimed": 40, "SOLD_OUT": 80}
    assert held(world.runtime.db, bid) == {"active": 40, "holders": 40}
    # The 120 requests were served by far fewer runs (transactions or reads) than requests.
    assert lane.runs() < 60
    winners = [r.json() for r in responses if r.status_code == 201]
    assert len({w["id"] for w in winners}) == 40
    assert all(w["qr_payload"].startswith("QV1:") for w in winners)
    with world.runtime.db.read() as tx:
        recorded = tx.execute(
            select(events.c.subject_id, events.c.actor, events.c.payload, events.c.program_id)
            .where(events.c.type == "voucher.claimed")
            .order_by(events.c.id)
        ).all()
        claimed = {
            row.id: issued_from_row(row)
            for row in tx.execute(select(vouchers).where(vouchers.c.batch_id == bid))
        }
    # One event per claim, exactly as the per-claim path writes it (the transparency log
    # hashes these bytes, so the two paths must agree to the byte).
    assert len(recorded) == 40
    for subject_id, actor, payload, program_id in recorded:
        voucher = claimed[subject_id]
        assert payload == canonical_json(claim_payload(voucher))
        assert actor == f"citizen:{voucher.citizen_id}"
        assert program_id == pid
    assert world.budget(pid)["reserved_fen"] == 40 * 3000
    assert_ledger_ok(world)


def test_one_citizen_flooding_with_one_key_gets_one_voucher_and_replays(world: World) -> None:
    _, bid = open_fcfs_batch(world, quantity=10, per_citizen_limit=3)
    cid = register(world)
    headers = citizen_headers(world, cid, **{"Idempotency-Key": "tap-tap"})
    responses = aio.run(_flood(world, bid, [headers] * 15))
    assert _answers(responses) == {"claimed": 15}
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 14
    assert held(world.runtime.db, bid) == {"active": 1, "unclaimed": 9, "holders": 1}


def test_one_citizen_flooding_without_keys_gets_exactly_the_limit(world: World) -> None:
    _, bid = open_fcfs_batch(world, quantity=10, per_citizen_limit=2)
    cid = register(world)
    responses = aio.run(_flood(world, bid, [citizen_headers(world, cid)] * 12))
    assert _answers(responses) == {"claimed": 2, "ALREADY_CLAIMED": 10}
    assert held(world.runtime.db, bid) == {"active": 2, "unclaimed": 8, "holders": 1}


def test_after_the_sell_out_a_retry_with_its_key_gets_its_voucher_back(world: World) -> None:
    _, bid = open_fcfs_batch(world, quantity=1)
    first, second = register_many(world, 2)
    won = claim(world, first, bid, **{"Idempotency-Key": "k-1"})
    assert won.status_code == 201
    assert claim(world, second, bid).json()["code"] == "SOLD_OUT"  # the process now knows
    again = claim(world, first, bid, **{"Idempotency-Key": "k-1"})
    assert again.status_code == 201, again.text
    assert again.json()["id"] == won.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    late = claim(world, second, bid, **{"Idempotency-Key": "k-2"})
    assert late.json()["code"] == "SOLD_OUT"


def test_priority_citizens_take_their_reserved_pool_in_a_flood(world: World) -> None:
    release = iso(START + timedelta(hours=6))
    _, bid = open_fcfs_batch(
        world, quantity=10, reserved=[{"group": "elderly", "quantity": 4, "release_at": release}]
    )
    elderly = register_many(world, 6, birth=date(1950, 1, 1))
    young = register_many(world, 12)
    headers = [citizen_headers(world, c) for c in young + elderly]
    responses = aio.run(_flood(world, bid, headers))
    assert _answers(responses) == {"claimed": 10, "SOLD_OUT": 8}
    with world.runtime.db.read() as tx:
        rows = tx.execute(
            select(vouchers.c.pool, vouchers.c.citizen_id).where(
                vouchers.c.batch_id == bid, vouchers.c.status == "active"
            )
        ).all()
    in_reserve = {cid for pool, cid in rows if pool == "elderly"}
    assert len(in_reserve) == 4
    assert in_reserve <= set(elderly)  # the young never took the reserve before its release
    # The other 6 went to the general pool (the young may only hold those), 10 distinct holders.
    assert sorted(pool for pool, _ in rows) == ["elderly"] * 4 + ["general"] * 6
    assert {pool for pool, cid in rows if cid in set(young)} <= {"general"}
    assert len({cid for _, cid in rows}) == 10


def _together(db: Database, bid: str, citizen_ids: list[str], cache: ClaimCache) -> Any:
    requests = [ClaimRequest(citizen_id=c, key=f"key-{c}") for c in citizen_ids]
    return lambda: claim_together(db, FixedClock(NOW), cache.facts(db, bid), requests, cache)


def test_overlapping_micro_batches_racing_in_threads_never_oversell_or_double_claim(
    world: World,
    wide: Database,  # noqa: F811
) -> None:
    _, bid = open_fcfs_batch(world, quantity=30)
    people = register_many(world, 60)
    # Eight micro-batches of 15 citizens each; every citizen is in two of them, so
    # transactions race on the same citizens (uniqueness races, retried claim by claim).
    groups = [[people[(i * 8 + j) % 60] for j in range(15)] for i in range(8)]
    # Each thread is its own process-like worker, with its own memory of the batch.
    results = race(*(_together(wide, bid, g, ClaimCache()) for g in groups))
    flat = [answer for answers in results for answer in answers]
    codes = outcome_codes(flat)
    assert set(codes) <= {"claimed", "SOLD_OUT"}
    assert held(wide, bid) == {"active": 30, "holders": 30}
    # A citizen in two racing micro-batches got one voucher: the second answer is its replay.
    claimed = [r for r in flat if isinstance(r, ClaimOutcome)]
    assert len({r.voucher.id for r in claimed}) == 30
    assert_ledger_ok(world)


def _batches_in_process(
    url: str, schema: str | None, bid: str, groups: list[list[str]], barrier: Any, out: Any
) -> None:
    db = Database(url, pool_size=4, schema=schema)
    cache = ClaimCache()
    facts = cache.facts(db, bid)
    barrier.wait(timeout=120)
    codes: list[str] = []
    for group in groups:
        requests = [ClaimRequest(citizen_id=c, channel=Channel.APP) for c in group]
        for answer in claim_together(db, FixedClock(NOW), facts, requests, cache):
            codes.append("claimed" if isinstance(answer, ClaimOutcome) else answer.code)
    db.dispose()
    out.put(codes)


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[j : j + size] for j in range(0, len(items), size)]


def test_worker_processes_committing_micro_batches_never_oversell(
    world: World, db: Database
) -> None:
    _, bid = open_fcfs_batch(world, quantity=50)
    people = register_many(world, 120)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(3)
    out = context.Queue()
    # Each process commits micro-batches of 20; a fifth of the citizens appear in every process.
    shared = people[:24]
    slices = [[*shared, *people[24 + i :: 3]] for i in range(3)]
    processes = [
        context.Process(
            target=_batches_in_process,
            args=(
                db.url,
                db.schema,
                bid,
                [s[j : j + 20] for j in range(0, len(s), 20)],
                barrier,
                out,
            ),
        )
        for s in slices
    ]
    for p in processes:
        p.start()
    codes: Counter[str] = Counter()
    for _ in processes:
        codes.update(out.get(timeout=180))
    for p in processes:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert codes["claimed"] == 50
    assert set(codes) <= {"claimed", "SOLD_OUT", "ALREADY_CLAIMED"}
    assert held(db, bid) == {"active": 50, "holders": 50}
    assert_ledger_ok(world)


@pytest.mark.parametrize("who", ["operator", "auditor"])
def test_staff_tokens_are_forbidden_and_bad_tokens_unauthorized(world: World, who: str) -> None:
    _, bid = open_fcfs_batch(world, quantity=1)
    assert world.post(who, f"/batches/{bid}/claims").status_code == 403
    bad = world.client.post(
        f"/api/v1/batches/{bid}/claims", headers={"Authorization": "Bearer nonsense"}
    )
    assert bad.status_code == 401
    assert bad.json()["code"] == "UNAUTHORIZED"
    assert world.client.post(f"/api/v1/batches/{bid}/claims").status_code == 401


def _answers_of_both_routes(world: World, send: Any) -> list[tuple[int, Any]]:
    """What the lean route and the documented route (batching off) answer to the same call."""
    plain = dataclasses.replace(
        world.runtime,
        settings=world.runtime.settings.model_copy(update={"claim_batching": False}),
    )
    out = []
    for client in (world.client, TestClient(create_app(runtime=plain))):
        response = send(client)
        body = response.json()
        body.pop("detail", None) if response.status_code >= 400 else None
        out.append((response.status_code, body))
    return out


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        (b'{"channel": "partner"}', {"Content-Type": "text/plain"}, 422, "VALIDATION_FAILED"),
        (b"", {"Authorization": "Bearer \u00e9t\u00e9"}, 401, "UNAUTHORIZED"),
        (b'{"channel": "carrier-pigeon"}', {}, 422, "VALIDATION_FAILED"),
        (b'{"channel": 7}', {}, 422, "VALIDATION_FAILED"),
        (b'{"chanel": "app"}', {}, 422, "VALIDATION_FAILED"),
        (b"{", {}, 400, "MALFORMED_REQUEST"),
        (b"[]", {}, 422, "VALIDATION_FAILED"),
        (b"", {"Idempotency-Key": "with space"}, 422, "INVALID_IDEMPOTENCY_KEY"),
        (b"", {"Idempotency-Key": "x" * 256}, 422, "INVALID_IDEMPOTENCY_KEY"),
    ],
)
def test_bad_input_gets_the_same_problem_from_both_routes_and_writes_nothing(
    world: World, body: bytes, headers: dict[str, str], status: int, code: str
) -> None:
    _, bid = open_fcfs_batch(world, quantity=2)
    cid = register(world)
    plain = {**citizen_headers(world, cid), "Content-Type": "application/json", **headers}
    sent = {k.encode(): v.encode() for k, v in plain.items()}  # bytes: UTF-8 tokens too
    lean, documented = _answers_of_both_routes(
        world, lambda c: c.post(f"/api/v1/batches/{bid}/claims", content=body, headers=sent)
    )
    assert lean == documented
    assert lean[0] == status
    assert lean[1]["code"] == code
    assert held(world.runtime.db, bid) == {"unclaimed": 2, "holders": 0}


def test_refusals_speak_the_callers_language(world: World) -> None:
    _, bid = open_fcfs_batch(world, quantity=1)
    first, second = register_many(world, 2)
    claim(world, first, bid)
    en = claim(world, second, bid, **{"Accept-Language": "en"})
    zh = claim(world, second, bid)
    assert en.json()["code"] == zh.json()["code"] == "SOLD_OUT"
    assert en.json()["detail"] != zh.json()["detail"]


def test_a_general_citizen_before_an_early_pool_opens_is_told_their_own_opening(
    world: World,
) -> None:
    opens = START + timedelta(hours=2)
    _, bid = open_fcfs_batch(
        world,
        quantity=3,
        claim_opens_at=iso(opens),
        reserved=[
            {
                "group": "elderly",
                "quantity": 1,
                "opens_at": iso(START + timedelta(hours=1)),
                "release_at": iso(START + timedelta(hours=3)),
            }
        ],
    )
    other = register(world)
    early = claim(world, other, bid)
    assert early.json()["code"] == "CLAIM_NOT_OPEN_YET"
    assert early.json()["claim_opens_at"] == iso(opens)


def test_a_client_gone_before_sending_its_body_claims_nothing(world: World) -> None:
    _, bid = open_fcfs_batch(world, quantity=1)
    cid = register(world)
    token = citizen_headers(world, cid)["Authorization"].encode()
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    path = f"/api/v1/batches/{bid}/claims"
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"authorization", token), (b"content-length", b"21")],
        "client": ("127.0.0.1", 1),
        "server": ("quan", 80),
        "state": {},
    }
    aio.run(world.client.app(scope, receive, send))
    assert held(world.runtime.db, bid) == {"unclaimed": 1, "holders": 0}


def test_a_database_failure_of_one_claim_is_that_claims_answer_only(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When a micro-batch falls back to one claim at a time, a claim whose transaction fails
    is answered with its failure; the others keep their vouchers and their answers."""
    _, bid = open_fcfs_batch(world, quantity=5)
    people = register_many(world, 3)
    unlucky = people[1]
    from quan.services.issuance import claim_batch

    def lost(*_: Any, **__: Any) -> Any:  # every shared attempt loses a race
        raise IntegrityError("UPDATE vouchers", {}, Exception("duplicate key"))

    real = claim_batch.claim_first_come

    def flaky(db: Database, clock: Any, citizen_id: str, *args: Any, **kw: Any) -> Any:
        if citizen_id == unlucky:
            raise OperationalError("UPDATE vouchers", {}, Exception("database is locked"))
        return real(db, clock, citizen_id, *args, **kw)

    monkeypatch.setattr(claim_batch, "_claim_in", lost)
    monkeypatch.setattr(claim_batch, "claim_first_come", flaky)
    responses = aio.run(_flood(world, bid, [citizen_headers(world, c) for c in people]))
    answers = [
        (r.status_code, r.json()["code"] if r.status_code >= 400 else None) for r in responses
    ]
    assert answers == [(201, None), (503, "SERVICE_BUSY"), (201, None)]
    assert responses[1].headers["Retry-After"] == "1"
    assert held(world.runtime.db, bid) == {"active": 2, "unclaimed": 3, "holders": 2}
