"""Batches: defined in draft, opened against the budget (money and vouchers in one transaction),
published with their rules, closed; bad input and overspending refused with nothing written."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from quan.domain.errors import QuanError
from quan.domain.ledger import Bucket
from quan.domain.voucher_code import validate
from quan.services.issuance import batches as batch_service
from quan.services.money.ledger_check import check_ledger
from quan.store.ledger import account_balance
from quan.store.schema import metadata
from quan.store.tables import events, journal_entries
from quan.store.voucher_tables import vouchers
from tests.conftest import START, World
from tests.integration.issuance_fixtures import (
    DAY,
    advance,
    assert_ledger_ok,
    batch,
    batch_body,
    funded_program,
    iso,
    open_batch,
    open_fcfs_batch,
    voucher_count,
    voucher_type,
)
from tests.race import Overlap


def _counts(world: World) -> dict[str, int]:
    with world.runtime.db.read() as tx:
        return {
            t.name: int(tx.execute(select(func.count()).select_from(t)).scalar_one())
            for t in metadata.sorted_tables
        }


def test_a_draft_batch_reserves_nothing_and_is_not_public(world: World) -> None:
    pid = funded_program(world)
    vt = voucher_type(world, pid)
    created = batch(world, pid, vt["id"], quantity=100)
    assert created["status"] == "draft"
    assert created["reserve_fen"] == 300_000
    assert created["remaining"] is None
    assert world.budget(pid)["reserved_fen"] == 0
    hidden = world.client.get(f"/api/v1/batches/{created['id']}")
    assert hidden.status_code == 404
    listed = world.get("auditor", f"/programs/{pid}/batches")
    assert [b["id"] for b in listed.json()["items"]] == [created["id"]]


def test_opening_reserves_quantity_times_face_value_and_generates_the_vouchers(
    world: World,
) -> None:
    pid = funded_program(world, 1_000_000)
    vt = voucher_type(world, pid)
    created = batch(world, pid, vt["id"], quantity=100)
    opened = open_batch(world, created["id"])
    assert opened["status"] == "open"
    budget = world.budget(pid)
    assert budget["reserved_fen"] == 300_000
    assert budget["available_fen"] == 700_000
    assert budget["identity_holds"]
    with world.runtime.db.read() as tx:
        assert account_balance(tx, pid, Bucket.RESERVED, created["id"]) == 300_000
        codes = tx.execute(
            select(vouchers.c.code).where(vouchers.c.batch_id == created["id"])
        ).scalars().all()
    assert len(codes) == 100
    assert len(set(codes)) == 100
    assert all(validate(code) == code for code in codes)
    assert voucher_count(world, created["id"], status="unclaimed") == 100
    assert_ledger_ok(world)


def test_a_percent_voucher_batch_reserves_the_cap_per_voucher(world: World) -> None:
    pid = funded_program(world)
    vt = voucher_type(
        world, pid, kind="percent", face_value_fen=None, min_spend_fen=0, percent_off=30,
        cap_fen=2000,
    )
    created = batch(world, pid, vt["id"], quantity=7)
    open_batch(world, created["id"])
    assert world.budget(pid)["reserved_fen"] == 14_000


def test_the_public_page_shows_rules_in_words_quotas_and_what_remains(world: World) -> None:
    pid = funded_program(world)
    vt = voucher_type(world, pid)
    created = batch(
        world,
        pid,
        vt["id"],
        quantity=50,
        eligibility={"all": [{"region_in": ["330100"]}, {"age_between": {"min": 18}}]},
        reserved=[
            {"group": "elderly", "quantity": 10, "release_at": iso(START + timedelta(hours=2))}
        ],
    )
    open_batch(world, created["id"])
    public = world.client.get(f"/api/v1/batches/{created['id']}")
    assert public.status_code == 200
    body = public.json()
    assert body["eligibility"] == {
        "all": [{"region_in": ["330100"]}, {"age_between": {"min": 18}}]
    }
    assert body["eligibility_text"] == {
        "zh": "所在地区属于 330100（杭州市），且年龄在 18 周岁及以上",
        "en": "lives in region 330100 (Hangzhou); and aged 18 or over",
    }
    assert body["remaining"] == 50
    assert body["remaining_by_pool"] == {"elderly": 10, "general": 40}
    assert body["reserved"][0]["group"] == "elderly"
    assert body["voucher_type"]["summary"]["zh"] == "满 ¥100.00 减 ¥30.00"


def test_events_record_the_rules_at_creation_and_the_money_at_opening(world: World) -> None:
    pid = funded_program(world)
    vt = voucher_type(world, pid)
    created = batch(world, pid, vt["id"], quantity=4, eligibility={"disabled": True})
    open_batch(world, created["id"])
    with world.runtime.db.read() as tx:
        rows = dict(
            tx.execute(
                select(events.c.type, events.c.payload).where(
                    events.c.subject_id == created["id"]
                )
            ).all()
        )
    assert json.loads(rows["batch.created"])["eligibility"] == {"disabled": True}
    assert json.loads(rows["batch.opened"]) == {
        "pools": {"general": 4},
        "quantity": 4,
        "reserved_fen": 12_000,
    }


def test_a_batch_beyond_the_available_budget_does_not_open_and_nothing_is_written(
    world: World,
) -> None:
    pid = funded_program(world, 299_999)
    vt = voucher_type(world, pid)
    created = batch(world, pid, vt["id"], quantity=100)
    before = _counts(world)
    response = world.post("operator", f"/batches/{created['id']}/open")
    assert response.status_code == 409
    assert response.json()["code"] == "INSUFFICIENT_BUDGET"
    assert response.json()["needed_fen"] == 300_000
    assert response.json()["available_fen"] == 299_999
    assert _counts(world) == before
    assert world.budget(pid)["available_fen"] == 299_999


@pytest.mark.parametrize("action", ["pause", None])
def test_a_batch_opens_only_in_an_active_program(world: World, action: str | None) -> None:
    program = world.program()
    pid = program["id"]
    vt = voucher_type(world, pid)
    created = batch(world, pid, vt["id"])
    if action:
        world.post("operator", f"/programs/{pid}/activate")
        world.post("operator", f"/programs/{pid}/{action}")
    response = world.post("operator", f"/batches/{created['id']}/open")
    assert response.status_code == 409
    assert response.json()["code"] == "PROGRAM_NOT_ACTIVE"


def test_opening_twice_is_refused_and_a_retry_with_the_key_replays(world: World) -> None:
    pid = funded_program(world)
    vt = voucher_type(world, pid)
    created = batch(world, pid, vt["id"], quantity=10)
    first = world.post("operator", f"/batches/{created['id']}/open", **{"Idempotency-Key": "o-1"})
    again = world.post("operator", f"/batches/{created['id']}/open", **{"Idempotency-Key": "o-1"})
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    twice = world.post("operator", f"/batches/{created['id']}/open")
    assert twice.status_code == 409
    assert twice.json()["code"] == "BATCH_TRANSITION_NOT_ALLOWED"
    assert world.budget(pid)["reserved_fen"] == 30_000
    assert voucher_count(world, created["id"]) == 10


def test_a_batch_whose_window_is_over_cannot_open(world: World) -> None:
    pid = funded_program(world)
    vt = voucher_type(world, pid)
    created = batch(world, pid, vt["id"])
    advance(world, DAY)
    response = world.post("operator", f"/batches/{created['id']}/open")
    assert response.status_code == 409
    assert response.json()["code"] == "CLAIM_WINDOW_OVER"


BAD: list[tuple[str, dict[str, Any], int, str]] = [
    ("zero quantity", {"quantity": 0}, 422, "INVALID_BATCH"),
    ("quantity as text", {"quantity": "10"}, 422, "VALIDATION_FAILED"),
    ("limit eleven", {"per_citizen_limit": 11}, 422, "INVALID_BATCH"),
    ("unknown allocation", {"allocation": "auction"}, 422, "VALIDATION_FAILED"),
    ("window backwards", {"claim_closes_at": iso(START - DAY)}, 422, "INVALID_BATCH"),
    ("window in the past", {"claim_opens_at": iso(START - 2 * DAY),
                            "claim_closes_at": iso(START - DAY)}, 422, "INVALID_BATCH"),
    ("naive window", {"claim_opens_at": "2026-11-25T10:00:00"}, 422, "VALIDATION_FAILED"),
    ("invalid rule", {"eligibility": {"age_between": {"min": 70, "max": 60}}}, 422,
     "INVALID_ELIGIBILITY_RULE"),
    ("rule not an object", {"eligibility": ["all"]}, 422, "VALIDATION_FAILED"),
    ("quota above quantity", {"reserved": [{"group": "elderly", "quantity": 11,
                                            "release_at": iso(START + DAY / 2)}]},
     422, "INVALID_QUOTA"),
    ("quota released after close", {"reserved": [{"group": "disabled", "quantity": 1,
                                                  "release_at": iso(START + 2 * DAY)}]},
     422, "INVALID_QUOTA"),
    ("unknown priority group", {"reserved": [{"group": "vip", "quantity": 1,
                                              "release_at": iso(START + DAY / 2)}]},
     422, "VALIDATION_FAILED"),
    ("unknown voucher type", {"voucher_type_id": "vtp_nope"}, 404, "NOT_FOUND"),
]


@pytest.mark.parametrize(("case", "change", "status", "code"), BAD, ids=[b[0] for b in BAD])
def test_an_invalid_batch_is_refused_and_nothing_is_written(
    world: World, case: str, change: dict[str, Any], status: int, code: str
) -> None:
    pid = funded_program(world)
    vt = voucher_type(world, pid)
    before = _counts(world)
    response = world.post("operator", f"/programs/{pid}/batches", batch_body(vt["id"], **change))
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert _counts(world) == before


def test_a_voucher_type_of_another_program_cannot_be_issued(world: World) -> None:
    pid, other = funded_program(world), funded_program(world)
    foreign = voucher_type(world, other)
    response = world.post("operator", f"/programs/{pid}/batches", batch_body(foreign["id"]))
    assert response.status_code == 404


def test_vouchers_that_expire_before_the_claim_window_opens_are_refused(world: World) -> None:
    pid = funded_program(world)
    vt = voucher_type(
        world, pid, validity_preset=None, valid_from=iso(START - 2 * DAY),
        valid_until=iso(START - DAY / 2),
    )
    response = world.post("operator", f"/programs/{pid}/batches", batch_body(vt["id"]))
    assert response.status_code == 422
    assert response.json()["reason"] == "validity_ends_before_claims"


def test_another_issuers_operator_cannot_open_or_close(world: World) -> None:
    pid = funded_program(world)
    created = batch(world, pid, voucher_type(world, pid)["id"])
    for action in ("open", "close"):
        response = world.post("outsider", f"/batches/{created['id']}/{action}")
        assert response.status_code == 403
        assert response.json()["code"] == "OTHER_ISSUER"


def test_closing_an_open_batch_stops_it_and_a_draft_cannot_be_closed(world: World) -> None:
    pid = funded_program(world)
    vt = voucher_type(world, pid)
    draft = batch(world, pid, vt["id"])
    refused = world.post("operator", f"/batches/{draft['id']}/close")
    assert refused.status_code == 409
    open_batch(world, draft["id"])
    closed = world.post("operator", f"/batches/{draft['id']}/close")
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"


def _race(*work: Callable[[], Any]) -> list[Any]:
    barrier = threading.Barrier(len(work))
    results: list[Any] = [None] * len(work)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work[i]()
        except Exception as exc:  # collected and asserted on by the test
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_two_batches_racing_for_one_budget_cannot_both_open(world: World) -> None:
    pid = funded_program(world, 500_000)
    vt = voucher_type(world, pid)
    first = batch(world, pid, vt["id"], quantity=100)  # 300,000 each; 500,000 available
    second = batch(world, pid, vt["id"], quantity=100)
    rt, actor = world.runtime, world.users["operator"].actor()

    def opener(batch_id: str) -> Callable[[], Any]:
        def work() -> Any:
            with rt.db.write() as tx:
                return batch_service.open_batch(tx, rt.clock.now(), actor, batch_id)

        return work

    results = _race(opener(first["id"]), opener(second["id"]))
    opened = [r for r in results if isinstance(r, batch_service.Batch)]
    refused = [r for r in results if isinstance(r, QuanError)]
    assert len(opened) == 1, results
    assert [r.code for r in refused] == ["INSUFFICIENT_BUDGET"]
    assert world.budget(pid)["reserved_fen"] == 300_000
    with rt.db.read() as tx:
        reserves = tx.execute(
            select(func.count()).select_from(journal_entries).where(
                journal_entries.c.kind == "reserve"
            )
        ).scalar_one()
    assert reserves == 1
    assert voucher_count(world, first["id"]) + voucher_count(world, second["id"]) == 100
    assert_ledger_ok(world)


def test_a_batch_opening_while_another_holds_the_budget_uncommitted_is_refused(
    world: World,
) -> None:
    """The program's row lock makes the second opening read the budget after the first commits.
    The first opening is held open until the second has finished or is waiting on a lock, so the
    two always overlap (the race above may run them one after the other)."""
    if world.runtime.db.dialect == "sqlite":
        pytest.skip("SQLite runs one writer at a time: the second opening starts after the commit")
    pid = funded_program(world, 500_000)
    vt = voucher_type(world, pid)
    first = batch(world, pid, vt["id"], quantity=100)  # 300,000 each; 500,000 available
    second = batch(world, pid, vt["id"], quantity=100)
    rt, actor = world.runtime, world.users["operator"].actor()
    overlap = Overlap(rt.db)
    outcome: dict[str, str] = {}

    def one() -> None:
        with rt.db.write() as tx:
            batch_service.open_batch(tx, rt.clock.now(), actor, first["id"])
            overlap.hold()

    def two() -> None:
        assert overlap.first_holds.wait(timeout=60)
        try:
            with rt.db.write() as tx:
                overlap.second_starts(tx)
                batch_service.open_batch(tx, rt.clock.now(), actor, second["id"])
            outcome["second"] = "opened"
        except QuanError as exc:
            outcome["second"] = exc.code
        finally:
            overlap.second_done.set()

    threads = [threading.Thread(target=one), threading.Thread(target=two)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert outcome == {"second": "INSUFFICIENT_BUDGET"}
    assert world.budget(pid)["reserved_fen"] == 300_000
    assert voucher_count(world, first["id"]) + voucher_count(world, second["id"]) == 100
    assert_ledger_ok(world)


def test_a_voucher_changed_behind_the_ledgers_back_breaks_the_ledger_check(
    world: World,
) -> None:
    _, bid = open_fcfs_batch(world, quantity=3)
    assert_ledger_ok(world)
    with world.runtime.db.write() as tx:
        one = tx.execute(select(vouchers.c.id).where(vouchers.c.batch_id == bid)).scalar()
        tx.execute(
            update(vouchers)
            .where(vouchers.c.id == one)
            .values(status="recycled", release_ref="nowhere")
        )
    with world.runtime.db.read() as tx:
        report = check_ledger(tx)
    assert not report.ok
    assert any(bid in violation for violation in report.violations)


def test_a_code_collision_rolls_the_whole_opening_back(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opening writes its vouchers in bulk (COPY on PostgreSQL); a duplicate code still fails
    the unique index, and the opening leaves nothing behind: no voucher, no reserve."""
    pid = funded_program(world, 1_000_000)
    vt = voucher_type(world, pid)
    created = batch(world, pid, vt["id"], quantity=3)
    monkeypatch.setattr(batch_service, "new_code", lambda _: "AAAA-AAAA-AAAA-AAAA")
    before = _counts(world)
    refused = world.post("operator", f"/batches/{created['id']}/open")
    assert refused.status_code == 409
    assert refused.json()["code"] == "CONFLICT"
    assert _counts(world) == before
    assert world.budget(pid)["reserved_fen"] == 0
    monkeypatch.undo()
    assert open_batch(world, created["id"])["status"] == "open"
    assert voucher_count(world, created["id"], status="unclaimed") == 3
    assert_ledger_ok(world)
