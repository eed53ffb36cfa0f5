"""Targeted grants: to a segment or a list, once per citizen, never beyond the batch."""

from __future__ import annotations

import os
import time
from datetime import date
from typing import Any

import pytest

from quan.domain.auth import Actor
from quan.services.issuance import grants as grant_service
from quan.store.db import Database
from tests.conftest import World
from tests.integration.issuance_fixtures import (
    assert_ledger_ok,
    batch,
    event_count,
    funded_program,
    open_batch,
    register_many,
    statements,
    voucher_count,
    voucher_type,
)
from tests.race import race

ELDERLY = date(1950, 3, 1)


def grant_batch(world: World, quantity: int = 10, **overrides: Any) -> str:
    pid = funded_program(world, amount_fen=max(1_000_000, quantity * 3000))
    vt = voucher_type(world, pid)
    created = batch(world, pid, vt["id"], quantity=quantity, allocation="grant", **overrides)
    open_batch(world, created["id"])
    return str(created["id"])


def grant(world: World, bid: str, body: dict[str, Any]) -> Any:
    return world.post("operator", f"/batches/{bid}/grants", body)


def test_a_list_grant_issues_once_per_citizen_and_rerunning_it_adds_nothing(
    world: World,
) -> None:
    bid = grant_batch(world)
    people = register_many(world, 4)
    first = grant(world, bid, {"citizen_ids": people})
    assert first.status_code == 200, first.text
    assert first.json()["issued"] == 4
    again = grant(world, bid, {"citizen_ids": [*people, "cit_unknown"]})
    assert again.status_code == 200, again.text
    assert again.json()["issued"] == 0
    assert again.json()["already_granted"] == 4
    assert again.json()["skipped"] == 1
    assert voucher_count(world, bid, status="active") == 4
    assert voucher_count(world, bid, channel="grant") == 4
    assert sorted(holders_of(world, bid).values()) == sorted(people)
    assert event_count(world, "batch.granted") == 2
    assert_ledger_ok(world)


def test_a_segment_grant_reaches_only_the_segment(world: World) -> None:
    bid = grant_batch(world, quantity=20)
    elderly = register_many(world, 3, birth=ELDERLY)
    register_many(world, 3)
    response = grant(world, bid, {"segment": {"age_between": {"min": 60}}})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["targeted"], body["issued"], body["unserved"]) == (3, 3, 0)
    # Exactly the elderly: the three others hold nothing of the batch.
    assert sorted(holders_of(world, bid).values()) == sorted(elderly)
    assert voucher_count(world, bid, status="active") == 3
    assert voucher_count(world, bid, status="unclaimed") == 17
    assert_ledger_ok(world)


def test_a_segment_grant_also_applies_the_batch_eligibility(world: World) -> None:
    """Segment ∧ the batch's own rule: an elderly citizen outside the batch's region, and a
    young one inside it, both get nothing."""
    bid = grant_batch(world, quantity=20, eligibility={"region_in": ["330100"]})
    inside = register_many(world, 2, birth=ELDERLY, region="330106")
    register_many(world, 2, birth=ELDERLY, region="110101")
    register_many(world, 2, region="330106")
    response = grant(world, bid, {"segment": {"age_between": {"min": 60}}})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["targeted"], body["issued"], body["skipped"], body["unserved"]) == (2, 2, 0, 0)
    assert sorted(holders_of(world, bid).values()) == sorted(inside)
    assert voucher_count(world, bid, status="active") == 2
    assert_ledger_ok(world)


def test_a_list_grant_skips_citizens_the_batch_does_not_admit(world: World) -> None:
    """docs/lottery.md: the batch's own eligibility applies to a list too; whoever it does not
    admit is counted as skipped and gets nothing."""
    bid = grant_batch(world, quantity=20, eligibility={"disabled": True})
    admitted = register_many(world, 2, disabled=True)
    refused = register_many(world, 3)
    response = grant(world, bid, {"citizen_ids": [*admitted, *refused]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {
        "batch_id": bid,
        "targeted": 5,
        "issued": 2,
        "already_granted": 0,
        "skipped": 3,
        "unserved": 0,
    }
    assert sorted(holders_of(world, bid).values()) == sorted(admitted)
    only_refused = grant(world, bid, {"citizen_ids": refused})
    assert (only_refused.json()["issued"], only_refused.json()["skipped"]) == (0, 3)
    assert voucher_count(world, bid, status="active") == 2
    assert_ledger_ok(world)


def test_a_grant_never_issues_beyond_the_batch_quantity(world: World) -> None:
    bid = grant_batch(world, quantity=5)
    people = register_many(world, 8)
    response = grant(world, bid, {"citizen_ids": people})
    assert response.status_code == 200, response.text
    assert response.json()["issued"] == 5
    assert response.json()["unserved"] == 3
    assert voucher_count(world, bid, status="active") == 5
    assert_ledger_ok(world)


def test_a_grant_needs_exactly_one_of_segment_and_list(world: World) -> None:
    bid = grant_batch(world)
    refused = grant(world, bid, {})
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "INVALID_GRANT"


def test_a_grant_is_refused_for_a_batch_of_another_allocation(world: World) -> None:
    pid = funded_program(world)
    vt = voucher_type(world, pid)
    created = batch(world, pid, vt["id"], quantity=3)
    open_batch(world, created["id"])
    refused = grant(world, created["id"], {"citizen_ids": register_many(world, 1)})
    assert refused.status_code == 409
    assert refused.json()["code"] == "WRONG_ALLOCATION"


def test_two_grants_racing_stay_within_the_batch_and_never_double(
    world: World, db: Database
) -> None:
    bid = grant_batch(world, quantity=30)
    people = register_many(world, 40)
    actor: Actor = world.users["operator"].actor()
    now = world.runtime.clock.now()
    wide = Database(db.url, pool_size=4, schema=db.schema)
    try:

        def run(ids: list[str]) -> Any:
            with wide.write() as tx:
                return grant_service.grant(tx, now, actor, bid, citizen_ids=ids)

        results = race(lambda: run(people[:25]), lambda: run(people[15:]))
    finally:
        wide.dispose()
    issued = sum(r.issued for r in results if isinstance(r, grant_service.GrantReport))
    for r in results:
        if not isinstance(r, grant_service.GrantReport):
            assert "uq_vouchers_claimant" in str(r), r
    reports = [r for r in results if isinstance(r, grant_service.GrantReport)]
    assert reports, results
    for r in reports:  # everyone targeted is accounted for, exactly once
        assert r.issued + r.already_granted + r.skipped + r.unserved == r.targeted == 25, r
    if len(reports) == 2:  # both done: the 40 distinct people shared all of the batch's 30
        assert issued == 30, results
    held = list(holders_of(world, bid).values())
    assert len(held) == len(set(held)) == issued
    assert set(held) <= set(people)
    assert voucher_count(world, bid, status="active") == issued
    assert_ledger_ok(world)


def bulk_citizens(world: World, n: int) -> None:
    """``n`` synthetic citizen rows inserted directly (sealed fields are placeholders)."""
    import secrets

    from sqlalchemy import insert

    from quan.store.citizen_tables import citizens
    from quan.store.ids import new_id

    now = world.runtime.clock.now()
    tag = secrets.token_hex(4)
    rows = [
        {
            "id": new_id("cit"),
            "resident_id_hash": f"bench-{tag}-{i}",
            "resident_id_enc": "x",
            "resident_id_masked": "x",
            "name_enc": "x",
            "name_masked": "x",
            "region_code": "330106",
            "birth_date": date(1990, 1, 1),
            "income_group": "normal",
            "disabled": False,
            "registered_via": "operator",
            "registered_by": "staff:bench",
            "created_at": now,
        }
        for i in range(n)
    ]
    with world.runtime.db.write() as tx:
        for start in range(0, n, 10_000):
            tx.execute(insert(citizens), rows[start : start + 10_000])


@pytest.mark.skipif(not os.environ.get("QUAN_GRANT_BENCH"), reason="set QUAN_GRANT_BENCH=N")
def test_measure_a_large_segment_grant(world: World) -> None:
    """Not a timed test: prints the rate of a segment grant to QUAN_GRANT_BENCH citizens."""
    n = int(os.environ["QUAN_GRANT_BENCH"])
    bid = grant_batch(world, quantity=n)
    bulk_citizens(world, n)
    actor: Actor = world.users["operator"].actor()
    started = time.perf_counter()
    with world.runtime.db.write() as tx:
        report = grant_service.grant(
            tx, world.runtime.clock.now(), actor, bid, segment={"region_in": ["330106"]}
        )
    elapsed = time.perf_counter() - started
    kind = world.runtime.db.url.split(":")[0]
    print(f"\nGRANT {kind}: {report.issued} in {elapsed:.1f}s = {report.issued / elapsed:,.0f}/s")
    assert report.issued == n


def test_segment_rules_select_in_sql_exactly_whom_python_would(world: World) -> None:
    """rule_sql agrees with quan.domain.eligibility.holds, around every boundary."""
    import itertools
    import secrets

    from sqlalchemy import insert, select

    from quan.domain.citizens import CitizenProfile, IncomeGroup, local_date
    from quan.domain.eligibility import holds, parse_rule
    from quan.store.citizen_tables import citizens
    from quan.store.ids import new_id

    now = world.runtime.clock.now()
    today = local_date(now)
    births = [date(1940, 2, 29), date(2000, 2, 29), date(2008, 3, 1)]
    for years in (0, 17, 18, 59, 60, 61, 64, 65):
        base = date(today.year - years, today.month, min(today.day, 28))
        births += [base, base.replace(day=max(base.day - 1, 1)), base.replace(day=base.day + 1)]
    tag = secrets.token_hex(4)
    rows = [
        {
            "id": new_id("cit"),
            "resident_id_hash": f"sql-{tag}-{i}",
            "resident_id_enc": "x",
            "resident_id_masked": "x",
            "name_enc": "x",
            "name_masked": "x",
            "region_code": region,
            "birth_date": birth,
            "income_group": income,
            "disabled": disabled,
            "registered_via": "operator",
            "registered_by": "staff:test",
            "created_at": now,
        }
        for i, (birth, region, income, disabled) in enumerate(
            itertools.product(
                births,
                ("330106", "330211", "110101"),
                ("normal", "low_income", "subsistence"),
                (False, True),
            )
        )
    ]
    with world.runtime.db.write() as tx:
        tx.execute(insert(citizens), rows)
    rules = [
        {"age_between": {"min": 60}},
        {"age_between": {"min": 18, "max": 64}},
        {"age_between": {"max": 17}},
        {"age_between": {"min": 0, "max": 0}},
        {"region_in": ["330100"]},
        {"region_in": ["330000", "110101"]},
        {"income_group_in": ["subsistence"]},
        {"disabled": True},
        {"disabled": False},
        {"priority_group_in": ["elderly"]},
        {"priority_group_in": ["low_income", "disabled"]},
        {"not": {"priority_group_in": ["elderly", "low_income"]}},
        {"any": [{"region_in": ["330106"]}, {"age_between": {"min": 65}}]},
        {"all": [{"region_in": ["330000"]}, {"not": {"disabled": True}}]},
        {"all": []},
    ]
    ids = {row["id"] for row in rows}
    for data in rules:
        rule = parse_rule(data)
        condition, residual = grant_service.rule_sql(rule, today)
        assert residual is None, data
        query = select(citizens.c.id)
        if condition is not None:  # None: no condition (everyone)
            query = query.where(condition)
        with world.runtime.db.read() as tx:
            chosen = set(tx.execute(query).scalars()) & ids
        expected = {
            row["id"]
            for row in rows
            if holds(
                rule,
                CitizenProfile(
                    row["birth_date"],
                    row["region_code"],
                    IncomeGroup(row["income_group"]),
                    row["disabled"],
                    None,
                ),
                today,
            )
        }
        assert chosen == expected, data


def test_a_grant_writes_one_issued_event_per_voucher_with_the_claim_payload(
    world: World,
) -> None:
    import json

    from sqlalchemy import select

    from quan.services.issuance.claims import issued_from_row
    from quan.services.issuance.issuing import issued_payload
    from quan.store.tables import events
    from quan.store.voucher_tables import vouchers

    bid = grant_batch(world, quantity=6)
    people = register_many(world, 4)
    outside = register_many(world, 2, region="110101")
    response = grant(world, bid, {"segment": {"region_in": ["330100"]}})
    assert response.status_code == 200, response.text
    assert response.json()["issued"] == 4
    with world.runtime.db.read() as tx:
        given = {
            row.id: issued_from_row(row)
            for row in tx.execute(
                select(vouchers).where(vouchers.c.batch_id == bid, vouchers.c.status == "active")
            )
        }
        logged = tx.execute(
            select(events.c.subject_id, events.c.payload, events.c.actor).where(
                events.c.type == "voucher.issued", events.c.subject_id.in_(list(given))
            )
        ).all()
    assert sorted(v.citizen_id for v in given.values()) == sorted(people)
    assert not set(outside) & {v.citizen_id for v in given.values()}
    assert sorted(subject for subject, _, _ in logged) == sorted(given)
    for subject, payload, actor in logged:
        assert json.loads(payload) == issued_payload(given[subject])
        assert payload == json.dumps(
            issued_payload(given[subject]), sort_keys=True, separators=(",", ":")
        )
        assert actor == world.users["operator"].actor().label


def test_a_segment_grant_read_and_issued_in_many_pages_serves_everyone_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from quan.services.issuance import issuing

    monkeypatch.setattr(grant_service, "SEGMENT_PAGE", 2)
    monkeypatch.setattr(issuing, "SLICE", 3)
    bid = grant_batch(world, quantity=9)
    people = register_many(world, 7, region="330211")
    response = grant(world, bid, {"segment": {"region_in": ["330211"]}})
    assert response.status_code == 200, response.text
    assert response.json()["issued"] == 7
    with world.runtime.db.read() as tx:
        from sqlalchemy import select

        from quan.store.voucher_tables import vouchers

        holders = list(
            tx.execute(
                select(vouchers.c.citizen_id).where(
                    vouchers.c.batch_id == bid, vouchers.c.citizen_id.is_not(None)
                )
            ).scalars()
        )
    assert sorted(holders) == sorted(people)
    again = grant(world, bid, {"segment": {"region_in": ["330211"]}})
    assert again.json()["issued"] == 0
    assert voucher_count(world, bid, status="active") == 7
    assert_ledger_ok(world)


def holders_of(world: World, bid: str) -> dict[str, str]:
    """voucher id -> citizen id, for the batch's vouchers that have a holder."""
    from sqlalchemy import select

    from quan.store.voucher_tables import vouchers

    v = vouchers.c
    with world.runtime.db.read() as tx:
        rows = tx.execute(
            select(v.id, v.citizen_id).where(v.batch_id == bid, v.citizen_id.is_not(None))
        ).all()
    return {row.id: row.citizen_id for row in rows}


def test_a_segment_larger_than_the_batch_serves_citizens_in_id_order_and_reports_the_rest(
    world: World,
) -> None:
    from sqlalchemy import select

    from quan.store.voucher_tables import vouchers

    bid = grant_batch(world, quantity=3)
    people = sorted(register_many(world, 5, region="330109"))
    response = grant(world, bid, {"segment": {"region_in": ["330109"]}})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["targeted"], body["issued"], body["unserved"]) == (5, 3, 2)
    with world.runtime.db.read() as tx:
        free_order = list(
            tx.execute(
                select(vouchers.c.id).where(vouchers.c.batch_id == bid).order_by(vouchers.c.id)
            ).scalars()
        )
    held = holders_of(world, bid)
    # The n-th citizen (by id) holds the n-th voucher (by id): the same on both paths.
    assert [held[voucher_id] for voucher_id in free_order] == people[:3]
    assert voucher_count(world, bid, status="unclaimed") == 0
    assert_ledger_ok(world)


def test_a_segment_grant_skips_blacklisted_citizens_and_a_rerun_issues_nothing(
    world: World,
) -> None:
    bid = grant_batch(world, quantity=10)
    people = register_many(world, 4, region="330110")
    barred = world.post(
        "operator",
        "/blacklist",
        {
            "subject_type": "citizen",
            "subject_id": people[1],
            "reason_code": "cash_out",
            "reason": "与商户串通套现",
        },
    )
    assert barred.status_code == 201, barred.text
    response = grant(world, bid, {"segment": {"region_in": ["330110"]}})
    assert response.status_code == 200, response.text
    assert (response.json()["targeted"], response.json()["issued"]) == (3, 3)
    assert sorted(holders_of(world, bid).values()) == sorted(set(people) - {people[1]})
    again = grant(world, bid, {"segment": {"region_in": ["330110"]}})
    assert (again.json()["targeted"], again.json()["issued"]) == (0, 0)
    assert voucher_count(world, bid, status="active") == 3
    assert event_count(world, "voucher.issued") == 3
    assert_ledger_ok(world)


def test_a_segment_grant_on_postgresql_gives_the_whole_segment_in_one_statement(
    world: World, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """However small the pages and slices, PostgreSQL assigns a segment with one UPDATE (the
    recipients stay in the database; a statement per slice joined the vouchers per slice)."""
    from quan.services.issuance import issuing

    if db.dialect == "sqlite":
        pytest.skip("SQLite issues by pages of recipients (one writer, no set-based UPDATE)")
    monkeypatch.setattr(grant_service, "SEGMENT_PAGE", 2)
    monkeypatch.setattr(issuing, "SLICE", 2)
    bid = grant_batch(world, quantity=9)
    people = register_many(world, 7, region="330111")
    with statements(world, "UPDATE vouchers") as updates:
        response = grant(world, bid, {"segment": {"region_in": ["330111"]}})
    assert response.status_code == 200, response.text
    assert response.json()["issued"] == 7
    assert len(updates) == 1
    assert sorted(holders_of(world, bid).values()) == sorted(people)


def test_two_segment_grants_racing_give_each_citizen_one_voucher(
    world: World, db: Database
) -> None:
    bid = grant_batch(world, quantity=30)
    people = register_many(world, 12, region="330112")
    actor: Actor = world.users["operator"].actor()
    now = world.runtime.clock.now()
    wide = Database(db.url, pool_size=4, schema=db.schema)
    try:

        def run() -> Any:
            with wide.write() as tx:
                return grant_service.grant(tx, now, actor, bid, segment={"region_in": ["330112"]})

        results = race(run, run)
    finally:
        wide.dispose()
    for r in results:
        if not isinstance(r, grant_service.GrantReport):
            assert "uq_vouchers_claimant" in str(r), r
    issued = sum(r.issued for r in results if isinstance(r, grant_service.GrantReport))
    assert issued == 12
    assert sorted(holders_of(world, bid).values()) == sorted(people)
    assert voucher_count(world, bid, status="active") == 12
    assert_ledger_ok(world)


def test_a_list_grant_read_and_issued_in_many_slices_serves_everyone_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lists go by pages on both databases (the set-based path is for segments)."""
    from quan.services.issuance import issuing

    monkeypatch.setattr(grant_service, "_CHUNK", 2)
    monkeypatch.setattr(issuing, "SLICE", 3)
    bid = grant_batch(world, quantity=6)
    people = register_many(world, 8, region="330108")
    response = grant(world, bid, {"citizen_ids": people})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["targeted"], body["issued"], body["unserved"]) == (8, 6, 2)
    assert sorted(holders_of(world, bid).values()) == sorted(people)[:6]
    assert voucher_count(world, bid, status="active") == 6
    assert_ledger_ok(world)


@pytest.mark.parametrize("by", ["list", "segment"])
def test_a_second_grant_to_others_takes_free_vouchers_and_leaves_the_first_holders_theirs(
    world: World, by: str
) -> None:
    """By list and by segment (on PostgreSQL two different statements give the vouchers)."""
    bid = grant_batch(world, quantity=10)
    first = register_many(world, 4, region="330109")
    second = register_many(world, 4, region="330110")

    def body(people: list[str], region: str) -> dict[str, Any]:
        return {"citizen_ids": people} if by == "list" else {"segment": {"region_in": [region]}}

    before = grant(world, bid, body(first, "330109"))
    assert before.json()["issued"] == 4, before.text
    held_before = holders_of(world, bid)
    after = grant(world, bid, body(second, "330110"))
    assert after.json()["issued"] == 4, after.text
    held = holders_of(world, bid)
    assert sorted(held.values()) == sorted(first + second)
    assert {v: held[v] for v in held_before} == held_before  # nobody's voucher changed hands
    assert voucher_count(world, bid, status="active") == 8
    assert voucher_count(world, bid, status="unclaimed") == 2
    assert_ledger_ok(world)
