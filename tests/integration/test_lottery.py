"""Lottery batches: registration, commitment, the draw, verification (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
import typer
from sqlalchemy import select

from quan.cli.lottery import run, verify_with
from quan.domain.errors import QuanError
from quan.services.issuance import lottery as lottery_service
from quan.store.db import Database
from quan.store.lottery_tables import lottery_registrations
from tests.conftest import START, World
from tests.integration.issuance_fixtures import (
    DAY,
    advance,
    assert_ledger_ok,
    batch,
    batch_body,
    citizen_headers,
    event_count,
    funded_program,
    iso,
    open_batch,
    register,
    register_many,
    statements,
    voucher_count,
    voucher_type,
)
from tests.race import race

ELDERLY_BIRTH = date(1950, 3, 1)


def lottery_batch(world: World, quantity: int = 5, **overrides: Any) -> str:
    pid = funded_program(world, amount_fen=max(1_000_000, quantity * 3000))
    vt = voucher_type(world, pid)
    created = batch(world, pid, vt["id"], quantity=quantity, allocation="lottery", **overrides)
    open_batch(world, created["id"])
    return str(created["id"])


def elderly_quota(quantity: int) -> list[dict[str, Any]]:
    return [{"group": "elderly", "quantity": quantity, "release_at": iso(START + DAY)}]


def enter(world: World, citizen_id: str, bid: str) -> Any:
    return world.client.post(
        f"/api/v1/batches/{bid}/registrations", headers=citizen_headers(world, citizen_id)
    )


def public(world: World, bid: str) -> dict[str, Any]:
    response = world.client.get(f"/api/v1/batches/{bid}/lottery")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def draw(world: World, bid: str) -> Any:
    return world.post("operator", f"/batches/{bid}/lottery/draw")


def outcomes(world: World, bid: str) -> dict[str, int]:
    """How many registrations have each outcome (``None`` before the draw)."""
    with world.runtime.db.read() as tx:
        found = lottery_service.registrations(tx, bid)
    return dict(Counter(str(reg.outcome) for reg in found))


def test_a_lottery_commits_before_registration_and_reveals_the_seed_at_the_draw(
    world: World,
) -> None:
    bid = lottery_batch(world, quantity=5, reserved=elderly_quota(2))
    before = public(world, bid)
    assert before["algorithm"] == "quan-lottery-v1"
    assert before["seed"] is None
    assert before["winners"] is None
    assert len(before["commitment"]) == 64
    people = register_many(world, 8) + register_many(world, 4, birth=ELDERLY_BIRTH)
    for person in people:
        assert enter(world, person, bid).status_code == 201
    refused = draw(world, bid)
    assert refused.status_code == 409
    assert refused.json()["code"] == "LOTTERY_REGISTRATION_STILL_OPEN"
    assert public(world, bid)["seed"] is None
    advance(world, DAY)
    drawn = draw(world, bid)
    assert drawn.status_code == 200, drawn.text
    assert drawn.json()["issued"] == 5
    after = public(world, bid)
    assert after["commitment"] == before["commitment"]
    assert hashlib.sha256(bytes.fromhex(after["seed"])).hexdigest() == after["commitment"]
    assert len(after["winners"]["elderly"]) == 2
    assert len(after["winners"]["general"]) == 3
    assert voucher_count(world, bid, status="active") == 5
    assert voucher_count(world, bid, channel="lottery") == 5
    assert outcomes(world, bid) == {"won": 5, "lost": 7}
    again = draw(world, bid)
    assert again.status_code == 409
    assert again.json()["code"] == "LOTTERY_ALREADY_DRAWN"
    assert event_count(world, "lottery.drawn") == 1
    assert verify_with(world.client, bid) == []
    assert_ledger_ok(world)


def test_the_commitment_exists_from_the_lottery_batch_creation(world: World) -> None:
    pid = funded_program(world)
    vt = voucher_type(world, pid)
    created = batch(world, pid, vt["id"], quantity=3, allocation="lottery")
    with world.runtime.db.read() as tx:
        assert lottery_service.has_lottery(tx, created["id"])
    assert event_count(world, "lottery.committed") == 1
    record = public(world, created["id"])
    assert len(record["commitment"]) == 64
    assert record["seed"] is None
    open_batch(world, created["id"])
    assert public(world, created["id"])["commitment"] == record["commitment"]
    assert event_count(world, "lottery.committed") == 1


def test_reserved_winners_are_members_of_their_group(world: World) -> None:
    bid = lottery_batch(world, quantity=4, reserved=elderly_quota(2))
    elderly = register_many(world, 5, birth=ELDERLY_BIRTH)
    others = register_many(world, 6)
    for person in elderly + others:
        assert enter(world, person, bid).status_code == 201
    advance(world, DAY)
    assert draw(world, bid).status_code == 200
    r = lottery_registrations.c
    with world.runtime.db.read() as tx:
        citizen_of = dict(tx.execute(select(r.id, r.citizen_id).where(r.batch_id == bid)).all())
        found = lottery_service.registrations(tx, bid)
    won = [(citizen_of[reg.id], reg.pool) for reg in found if reg.outcome == "won"]
    reserved_winners = {c for c, pool in won if pool == "elderly"}
    assert len(reserved_winners) == 2
    assert reserved_winners <= set(elderly)
    assert len(won) == 4
    assert verify_with(world.client, bid) == []
    assert_ledger_ok(world)


def test_unfilled_reserved_places_are_released_to_the_general_pool(world: World) -> None:
    bid = lottery_batch(world, quantity=6, reserved=elderly_quota(3))
    elderly = register(world, birth=ELDERLY_BIRTH)
    for person in [elderly, *register_many(world, 8)]:
        assert enter(world, person, bid).status_code == 201
    advance(world, DAY)
    drawn = draw(world, bid)
    assert drawn.status_code == 200, drawn.text
    after = public(world, bid)
    general = next(p for p in after["pools"] if p["name"] == "general")
    assert general["base_k"] == 3
    assert general["k"] == 5
    assert after["winners"]["elderly"] != []
    assert len(after["winners"]["general"]) == 5
    assert drawn.json()["issued"] == 6
    assert voucher_count(world, bid, status="active") == 6
    assert verify_with(world.client, bid) == []
    assert_ledger_ok(world)


def test_winners_get_their_vouchers_one_statement_per_pool_and_each_from_its_pool(
    world: World, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The elderly winner takes from the reserved pool, the general winners from general and
    then from the reserved places left over; each winner holds one voucher. On PostgreSQL the
    vouchers go out in one statement per pool, however small the slices."""
    from quan.services.issuance import issuing
    from quan.store.voucher_tables import vouchers

    monkeypatch.setattr(issuing, "SLICE", 2)
    bid = lottery_batch(world, quantity=6, reserved=elderly_quota(3))
    elderly = register(world, birth=ELDERLY_BIRTH)
    for person in [elderly, *register_many(world, 8)]:
        assert enter(world, person, bid).status_code == 201
    advance(world, DAY)
    with statements(world, "UPDATE vouchers") as updates:
        drawn = draw(world, bid)
    assert drawn.status_code == 200, drawn.text
    assert drawn.json()["issued"] == 6
    v = vouchers.c
    with world.runtime.db.read() as tx:
        held = tx.execute(
            select(v.citizen_id, v.pool).where(v.batch_id == bid, v.citizen_id.is_not(None))
        ).all()
    pools = Counter(pool for _, pool in held)
    assert pools == {"elderly": 3, "general": 3}  # one elderly winner, two released places
    assert len({citizen for citizen, _ in held}) == 6
    assert (elderly, "elderly") in {(c, p) for c, p in held}
    if db.dialect == "postgresql":
        assert len(updates) == 2
    assert verify_with(world.client, bid) == []
    assert_ledger_ok(world)


def test_registration_is_idempotent_and_one_per_citizen(world: World) -> None:
    bid = lottery_batch(world)
    person = register(world)
    first = enter(world, person, bid)
    second = enter(world, person, bid)
    assert first.status_code == 201
    assert second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    assert outcomes(world, bid) == {"None": 1}
    page = world.client.get(f"/api/v1/batches/{bid}/lottery/registrants").json()
    assert [i["pseudonym"] for i in page["items"]] == [first.json()["pseudonym"]]
    assert person not in json.dumps(page)


def test_registration_outside_the_window_is_refused(world: World) -> None:
    bid = lottery_batch(world)
    advance(world, DAY)
    refused = enter(world, register(world), bid)
    assert refused.status_code == 409
    assert refused.json()["code"] == "LOTTERY_REGISTRATION_CLOSED"


def test_an_ineligible_citizen_cannot_register(world: World) -> None:
    bid = lottery_batch(world, eligibility={"disabled": True})
    refused = enter(world, register(world), bid)
    assert refused.status_code == 403
    assert refused.json()["code"] == "NOT_ELIGIBLE"
    assert outcomes(world, bid) == {}


def test_lottery_endpoints_refuse_a_batch_of_another_allocation(world: World) -> None:
    pid = funded_program(world)
    vt = voucher_type(world, pid)
    created = batch(world, pid, vt["id"], quantity=3)
    open_batch(world, created["id"])
    bid = created["id"]
    refused = enter(world, register(world), bid)
    assert refused.status_code == 409
    assert refused.json()["code"] == "WRONG_ALLOCATION"
    advance(world, DAY)
    refused = draw(world, bid)
    assert refused.status_code == 409
    assert refused.json()["code"] == "WRONG_ALLOCATION"


def test_verify_exits_zero_on_a_true_draw_and_non_zero_on_a_tampered_winner_list(
    world: World,
) -> None:
    bid = lottery_batch(world, quantity=2)
    for person in register_many(world, 6):
        assert enter(world, person, bid).status_code == 201
    advance(world, DAY)
    assert draw(world, bid).status_code == 200
    run(world.client, bid)  # returns (exit code 0) when the draw verifies

    losers = [
        i["pseudonym"]
        for i in world.client.get(f"/api/v1/batches/{bid}/lottery/registrants").json()["items"]
        if i["pseudonym"] not in public(world, bid)["winners"]["general"]
    ]

    def tampered(request: httpx.Request) -> httpx.Response:
        real = world.client.get(request.url.path, params=dict(request.url.params))
        body = real.json()
        if request.url.path.endswith("/lottery"):
            body["winners"]["general"][0] = losers[0]
        return httpx.Response(real.status_code, json=body)

    with httpx.Client(transport=httpx.MockTransport(tampered), base_url="http://x") as liar:
        problems = verify_with(liar, bid)
        assert any("should have won" in p for p in problems)
        with pytest.raises(typer.Exit) as bad:
            run(liar, bid)
    assert bad.value.exit_code == 1


@pytest.fixture
def wide(db: Database) -> Iterator[Database]:
    database = Database(db.url, pool_size=4, schema=db.schema)
    yield database
    database.dispose()


def test_two_draws_racing_draw_once(world: World, wide: Database) -> None:
    bid = lottery_batch(world, quantity=3)
    for person in register_many(world, 7):
        assert enter(world, person, bid).status_code == 201
    advance(world, DAY)
    actor = world.users["operator"].actor()
    now = START + DAY + timedelta(minutes=1)
    settings = world.runtime.settings

    def attempt() -> Any:
        with wide.write() as tx:
            return lottery_service.draw(tx, now, settings, actor, bid)

    results = race(attempt, attempt)
    drawn = [r for r in results if isinstance(r, lottery_service.DrawOutcome)]
    refused = [r for r in results if isinstance(r, QuanError)]
    assert len(drawn) == 1, results
    assert len(refused) == 1, results
    assert refused[0].code == "LOTTERY_ALREADY_DRAWN"
    assert voucher_count(world, bid, status="active") == 3
    assert outcomes(world, bid) == {"won": 3, "lost": 4}
    assert verify_with(world.client, bid) == []
    assert_ledger_ok(world)


def test_the_cli_offers_lottery_verify() -> None:
    from typer.testing import CliRunner

    from quan.cli import app

    result = CliRunner().invoke(app, ["lottery", "verify", "--help"])
    assert result.exit_code == 0
    assert "--url" in result.output
    assert "--batch" in result.output


def test_the_cli_reports_an_unreachable_server_with_exit_code_2() -> None:
    from typer.testing import CliRunner

    from quan.cli import app

    result = CliRunner().invoke(
        app, ["lottery", "verify", "--url", "http://127.0.0.1:9", "--batch", "bat_x"]
    )
    assert result.exit_code == 2


@pytest.mark.skipif(not os.environ.get("QUAN_LOTTERY_BENCH"), reason="set QUAN_LOTTERY_BENCH=N")
def test_measure_a_large_draw(world: World) -> None:
    """Not a timed test: prints how long a draw among QUAN_LOTTERY_BENCH registrants takes."""
    from sqlalchemy import insert

    from quan.domain import lottery as algo
    from tests.integration.test_grants import bulk_citizens

    n = int(os.environ["QUAN_LOTTERY_BENCH"])
    bid = lottery_batch(world, quantity=1000)
    with world.runtime.db.write() as tx:
        lottery_service.public_lottery(tx, world.runtime.clock.now(), world.runtime.settings, bid)
    bulk_citizens(world, n)
    from quan.store.citizen_tables import citizens

    with world.runtime.db.read() as tx:
        ids = list(
            tx.execute(
                select(citizens.c.id).where(citizens.c.resident_id_hash.like("bench-%"))
            ).scalars()
        )[:n]
    key = lottery_service.pseudonym_key(world.runtime.settings, "bench")
    now = world.runtime.clock.now()
    rows = [
        {
            "id": f"lreg_{i:012d}_{bid[-6:]}",
            "batch_id": bid,
            "citizen_id": c,
            "pseudonym": algo.pseudonym(key, c),
            "tickets": 1,
            "groups": "",
            "registered_at": now,
        }
        for i, c in enumerate(ids)
    ]
    with world.runtime.db.write() as tx:
        for start in range(0, len(rows), 10_000):
            tx.execute(insert(lottery_registrations), rows[start : start + 10_000])
    advance(world, DAY)
    actor = world.users["operator"].actor()
    started = time.perf_counter()
    with world.runtime.db.write() as tx:
        outcome = lottery_service.draw(
            tx, world.runtime.clock.now(), world.runtime.settings, actor, bid
        )
    elapsed = time.perf_counter() - started
    kind = world.runtime.db.url.split(":")[0]
    print(f"\nDRAW {kind}: {len(rows)} registrants, {outcome.issued} winners in {elapsed:.1f}s")
    assert outcome.issued == 1000


def test_a_blacklisted_citizen_cannot_register(world: World) -> None:
    bid = lottery_batch(world)
    person = register(world)
    barred = world.post(
        "operator",
        "/blacklist",
        {
            "subject_type": "citizen",
            "subject_id": person,
            "reason_code": "cash_out",
            "reason": "测试",
        },
    )
    assert barred.status_code == 201, barred.text
    refused = enter(world, person, bid)
    assert refused.status_code == 403
    assert refused.json()["code"] == "BLACKLISTED"
    assert outcomes(world, bid) == {}


def test_a_priority_group_holds_more_tickets_and_the_draw_still_verifies(world: World) -> None:
    quota = [{**elderly_quota(1)[0], "tickets": 3}]
    bid = lottery_batch(world, quantity=3, reserved=quota)
    shown = world.get("operator", f"/batches/{bid}").json()
    assert shown["reserved"][0]["tickets"] == 3
    young = register_many(world, 6)
    old = register_many(world, 3, birth=ELDERLY_BIRTH)
    for person in young + old:
        assert enter(world, person, bid).status_code == 201
    listing = world.client.get(f"/api/v1/batches/{bid}/lottery/registrants").json()["items"]
    assert sorted(i["tickets"] for i in listing) == [1] * 6 + [3] * 3
    advance(world, DAY)
    assert draw(world, bid).status_code == 200
    assert verify_with(world.client, bid) == []  # the public tickets are what the draw used
    assert outcomes(world, bid) == {"won": 3, "lost": 6}
    assert_ledger_ok(world)


@pytest.mark.parametrize(
    ("allocation", "tickets", "reason"),
    [
        ("lottery", 11, "tickets_1_to_10"),
        ("lottery", 0, "tickets_1_to_10"),
        ("fcfs", 2, "tickets_only_in_lotteries"),
    ],
)
def test_ticket_counts_outside_the_rules_are_refused(
    world: World, allocation: str, tickets: int, reason: str
) -> None:
    pid = funded_program(world)
    vt = voucher_type(world, pid)
    body = batch_body(
        vt["id"],
        allocation=allocation,
        reserved=[{**elderly_quota(1)[0], "tickets": tickets}],
    )
    refused = world.post("operator", f"/programs/{pid}/batches", body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "INVALID_QUOTA"
    assert refused.json()["reason"] == reason


def _registrants_inserted(world: World, bid: str, tickets: list[int]) -> None:
    """One registration per entry of ``tickets`` (that many tickets), inserted directly; every
    seventh is in the elderly group, every eleventh in the low-income group (some in both)."""
    from sqlalchemy import insert

    from quan.domain import lottery as algo
    from quan.store.citizen_tables import citizens
    from tests.integration.test_grants import bulk_citizens

    n = len(tickets)
    bulk_citizens(world, n)
    with world.runtime.db.read() as tx:
        ids = list(
            tx.execute(
                select(citizens.c.id)
                .where(citizens.c.resident_id_hash.like("bench-%"))
                .order_by(citizens.c.id)
            ).scalars()
        )[-n:]
    key = lottery_service.pseudonym_key(world.runtime.settings, "test")
    now = world.runtime.clock.now()
    rows = []
    for i, (citizen, count) in enumerate(zip(ids, tickets, strict=True)):
        groups = [g for g, every in (("elderly", 7), ("low_income", 11)) if i % every == 0]
        rows.append(
            {
                "id": f"lreg_{i:08d}_{bid[-6:]}",
                "batch_id": bid,
                "citizen_id": citizen,
                "pseudonym": algo.pseudonym(key, citizen),
                "tickets": count,
                "groups": ",".join(groups),
                "registered_at": now,
            }
        )
    with world.runtime.db.write() as tx:
        lottery_service.public_lottery(tx, now, world.runtime.settings, bid)  # the commitment
        tx.execute(insert(lottery_registrations), rows)


def _recomputed(world: World, bid: str) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
    """The published record, and the pools and digest the pure algorithm gives from the
    registrations and the revealed seed."""
    from quan.domain import lottery as algo

    r = lottery_registrations.c
    with world.runtime.db.read() as tx:
        rows = tx.execute(select(r.pseudonym, r.tickets, r.groups).where(r.batch_id == bid)).all()
    record = public(world, bid)
    entries = [(p, int(t), tuple(g for g in groups.split(",") if g)) for p, t, groups in rows]
    planned = [
        {"name": p["name"], "reserved": p["reserved"], "base_k": p["base_k"]}
        for p in _published_pools(world, bid)
    ]
    pools, _ = lottery_service.plan_pools(planned, entries, bytes.fromhex(record["seed"]))
    digest = algo.registrants_digest([algo.Registrant(p, t) for p, t, _ in entries])
    return record, pools, digest


def _published_pools(world: World, bid: str) -> list[dict[str, Any]]:
    with world.runtime.db.read() as tx:
        lot = lottery_service.public_lottery(
            tx, world.runtime.clock.now(), world.runtime.settings, bid
        )
    return lot.pools


def test_the_database_scores_draw_exactly_as_the_algorithm(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL computes the digest and the scores in SQL: the same winners, pool by pool, as
    quan.domain.lottery over the same list, with tickets and reserved pools (one without
    members, whose places go to the general pool)."""
    quotas = [
        {"group": "elderly", "quantity": 60, "release_at": iso(START + DAY), "tickets": 3},
        {"group": "low_income", "quantity": 80, "release_at": iso(START + DAY), "tickets": 10},
        {"group": "disabled", "quantity": 10, "release_at": iso(START + DAY)},  # no members
    ]
    bid = lottery_batch(world, quantity=400, reserved=quotas)
    tickets = [1 + (i * 7919) % 10 if i % 5 == 0 else 1 for i in range(3000)]
    _registrants_inserted(world, bid, tickets)
    if world.runtime.db.dialect == "postgresql":

        def python_draw(*args: Any) -> Any:
            raise AssertionError("PostgreSQL drew in Python")

        monkeypatch.setattr(lottery_service, "_draw_in_python", python_draw)
    advance(world, DAY)
    drawn = draw(world, bid)
    assert drawn.status_code == 200, drawn.text
    assert drawn.json()["issued"] == 400
    record, pools, digest = _recomputed(world, bid)
    assert record["registrants"] == 3000
    assert record["registrants_digest"] == digest
    assert _published_pools(world, bid) == pools
    assert sum(len(p["winners"]) for p in pools) == 400
    general = next(p for p in pools if p["name"] == "general")
    assert (general["base_k"], general["k"]) == (250, 260)
    assert verify_with(world.client, bid) == []
    assert outcomes(world, bid) == {"won": 400, "lost": 2600}
    assert_ledger_ok(world)


def test_tickets_beyond_the_sql_scores_fall_back_to_the_python_draw(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The algorithm allows any number of tickets; the SQL scores cover up to ten (the batch
    rules' maximum). A registration holding more still draws right (in Python)."""
    bid = lottery_batch(world, quantity=20, reserved=elderly_quota(5))
    _registrants_inserted(world, bid, [12 if i % 9 == 0 else 1 for i in range(200)])
    calls: list[str] = []
    in_python = lottery_service._draw_in_python

    def spy(*args: Any) -> Any:
        calls.append("python")
        return in_python(*args)

    monkeypatch.setattr(lottery_service, "_draw_in_python", spy)
    advance(world, DAY)
    assert draw(world, bid).status_code == 200
    assert calls == ["python"]
    record, pools, digest = _recomputed(world, bid)
    assert record["registrants_digest"] == digest
    assert _published_pools(world, bid) == pools
    assert verify_with(world.client, bid) == []


def test_losers_of_a_drawn_lottery_are_answered_lost_though_only_winners_are_recorded(
    world: World,
) -> None:
    from quan.store.lottery_tables import lottery_winners

    bid = lottery_batch(world, quantity=2)
    people = register_many(world, 5)
    for person in people:
        first = enter(world, person, bid).json()
        assert first["outcome"] is None
        assert first["pool"] is None
    advance(world, DAY)
    assert [enter(world, p, bid).json()["outcome"] for p in people] == [None] * 5
    assert draw(world, bid).status_code == 200
    answers = [enter(world, person, bid) for person in people]
    assert {a.status_code for a in answers} == {200}
    by_outcome = Counter(a.json()["outcome"] for a in answers)
    assert by_outcome == {"won": 2, "lost": 3}
    won = {a.json()["pseudonym"] for a in answers if a.json()["outcome"] == "won"}
    assert won == set(public(world, bid)["winners"]["general"])
    assert {a.json()["pool"] for a in answers if a.json()["outcome"] == "won"} == {"general"}
    assert {a.json()["pool"] for a in answers if a.json()["outcome"] == "lost"} == {None}
    with world.runtime.db.read() as tx:
        recorded = tx.execute(select(lottery_winners.c.pseudonym)).scalars().all()
    assert set(recorded) == won  # the three losers have no row of their own
