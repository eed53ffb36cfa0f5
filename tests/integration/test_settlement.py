"""Settlement on SQLite and PostgreSQL: windows cut at local midnight, statements that equal the
ledger, holds that carry until released, maker-checker payouts, and merchants reading their own."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import update

from quan.domain.ledger import Bucket
from quan.services.money.ledger_check import check_ledger
from quan.store.ledger import account_balance
from quan.store.redemption_tables import redemptions, settlement_statements
from tests.conftest import World
from tests.integration import issuance_fixtures as issuance
from tests.integration import merchant_fixtures as shops
from tests.integration.redemption_fixtures import (
    SPORTS_20_OFF,
    Scene,
    Shop,
    assert_books_ok,
    open_shop,
    race,
    redeem,
    reverse,
    rows,
    scene,
    wallet_tokens,
)

TO_MIDNIGHT = timedelta(hours=14, minutes=2)  # 10:00 → 00:02 the next day in Shanghai


def settle(
    world: World, s: Scene, day: str | None = "2026-11-25", who: str = "operator", **headers: str
) -> Any:
    body = {} if day is None else {"cut_off_date": day}
    return world.post(who, f"/programs/{s.program_id}/settlements", body, **headers)


def statements(world: World, settlement_id: str, headers: dict[str, str] | None = None) -> Any:
    path = f"/api/v1/settlements/{settlement_id}/statements"
    return world.client.get(path, headers=headers or world.headers("operator"))


def money(world: World, s: Scene, shop: Shop | None = None) -> dict[str, int]:
    merchant = (shop or s.shop).merchant_id
    with world.runtime.db.read() as tx:
        return {
            b.value: account_balance(tx, s.program_id, b, merchant)
            for b in (Bucket.PAYABLE, Bucket.PAID)
        }


def test_a_day_is_settled_into_one_statement_per_merchant(world: World) -> None:
    s = scene(world, holders=3)
    other = open_shop(world)
    assert redeem(world, s.shop, code=s.codes[0]).status_code == 201
    assert redeem(world, s.shop, code=s.codes[1], amount_fen=20000).status_code == 201
    assert redeem(world, other, code=s.codes[2]).status_code == 201
    issuance.advance(world, TO_MIDNIGHT)
    response = settle(world, s)
    assert response.status_code == 201, response.text
    run = response.json()
    assert (run["merchants"], run["redemption_count"], run["window_fen"]) == (2, 3, 9000)
    assert (run["held_fen"], run["payout_fen"], run["seq"]) == (0, 9000, 1)
    assert run["cut_off"] == "2026-11-25T16:00:00Z"
    items = {x["merchant_id"]: x for x in statements(world, run["id"]).json()["items"]}
    assert items[s.shop.merchant_id]["window_fen"] == 6000
    assert items[s.shop.merchant_id]["redemption_count"] == 2
    assert items[other.merchant_id]["payout_status"] == "pending"
    assert rows(world, "events", type="settlement.completed") == 1
    assert_books_ok(world)


def test_the_default_cut_off_is_yesterday_in_the_programs_time_zone(world: World) -> None:
    s = scene(world)
    redeem(world, s.shop, code=s.codes[0])
    issuance.advance(world, TO_MIDNIGHT)
    response = settle(world, s, day=None)
    assert response.status_code == 201, response.text
    assert response.json()["cut_off_date"] == "2026-11-25"


def test_a_day_not_yet_over_cannot_be_settled(world: World) -> None:
    s = scene(world)
    response = settle(world, s)  # it is 10:00 on the 25th
    assert (response.status_code, response.json()["code"]) == (409, "CUT_OFF_NOT_PASSED")
    assert rows(world, "settlement_runs") == 0


def test_a_settled_day_is_not_settled_again_and_a_retry_replays(world: World) -> None:
    s = scene(world)
    redeem(world, s.shop, code=s.codes[0])
    issuance.advance(world, TO_MIDNIGHT)
    first = settle(world, s, **{"Idempotency-Key": "settle-1125"})
    again = settle(world, s, **{"Idempotency-Key": "settle-1125"})
    assert again.json() == first.json()
    twice = settle(world, s)
    assert (twice.status_code, twice.json()["code"]) == (409, "SETTLEMENT_EXISTS")
    assert twice.json()["settlement_id"] == first.json()["id"]
    earlier = settle(world, s, day="2026-11-24")
    assert (earlier.json()["code"], earlier.json()["last_cut_off_date"]) == (
        "CUT_OFF_NOT_AFTER_LAST",
        "2026-11-25",
    )
    assert rows(world, "settlement_runs") == 1


def test_consecutive_runs_settle_each_redemption_exactly_once(world: World) -> None:
    s = scene(world, holders=3)
    redeem(world, s.shop, code=s.codes[0])
    issuance.advance(world, timedelta(days=1))
    redeem(world, s.shop, code=s.codes[1])
    made = redeem(world, s.shop, code=s.codes[2]).json()
    assert reverse(world, s.shop.headers(), made["id"]).status_code == 201  # never settled
    issuance.advance(world, TO_MIDNIGHT)
    first = settle(world, s, day="2026-11-25").json()
    second = settle(world, s, day="2026-11-26").json()
    assert (first["redemption_count"], second["redemption_count"]) == (1, 1)
    assert second["window_start"] == first["cut_off"]
    assert_books_ok(world)


def test_the_reserve_a_percent_voucher_did_not_use_is_released_at_settlement(
    world: World,
) -> None:
    s = scene(world, voucher=SPORTS_20_OFF)
    redeem(world, s.shop, code=s.codes[0], category="sports", amount_fen=10000)  # 2000 of 5000
    with world.runtime.db.read() as tx:
        available = account_balance(tx, s.program_id, Bucket.AVAILABLE)
    issuance.advance(world, TO_MIDNIGHT)
    run = settle(world, s).json()
    assert run["remainder_fen"] == 3000
    with world.runtime.db.read() as tx:
        assert account_balance(tx, s.program_id, Bucket.AVAILABLE) == available + 3000
    assert_books_ok(world)


def test_payouts_are_confirmed_by_someone_other_than_whoever_settled(world: World) -> None:
    s = scene(world)
    redeem(world, s.shop, code=s.codes[0])
    issuance.advance(world, TO_MIDNIGHT)
    run = settle(world, s).json()
    path = f"/settlements/{run['id']}/payouts"
    same = world.post("operator", path, {"payment_ref": "ICBC-20261126-001"})
    assert (same.status_code, same.json()["code"]) == (403, "PAYOUT_SAME_PERSON")
    paid = world.post("checker", path, {"payment_ref": "ICBC-20261126-001"})
    assert paid.status_code == 201, paid.text
    assert (paid.json()["statements"], paid.json()["amount_fen"]) == (1, 3000)
    assert money(world, s) == {"payable": 0, "paid": 3000}
    again = world.post("checker", path, {"payment_ref": "ICBC-20261126-001"})
    assert (again.status_code, again.json()["code"]) == (409, "NOTHING_TO_PAY")
    statement = statements(world, run["id"]).json()["items"][0]
    assert (statement["payout_status"], statement["payout_id"]) == ("paid", paid.json()["id"])
    assert_books_ok(world)


def test_the_payout_file_lists_pending_payouts_with_accounts_for_operators_only(
    world: World,
) -> None:
    s = scene(world)
    redeem(world, s.shop, code=s.codes[0])
    issuance.advance(world, TO_MIDNIGHT)
    run = settle(world, s).json()
    response = world.get("operator", f"/settlements/{run['id']}/payout-file")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert [(r["merchant_id"], r["amount_fen"], r["amount_yuan"]) for r in table] == [
        (s.shop.merchant_id, "3000", "30.00")
    ]
    assert table[0]["account_number"] == shops.ACCOUNT_DIGITS
    assert rows(world, "events", type="settlement.payout_file_exported") == 1
    owner = {"Authorization": f"Bearer {s.shop.owner_key}"}
    denied = world.client.get(f"/api/v1/settlements/{run['id']}/payout-file", headers=owner)
    assert denied.status_code == 403
    assert world.get("auditor", f"/settlements/{run['id']}/payout-file").status_code == 403


def test_a_merchant_reads_its_own_statement_with_its_lines_and_no_one_elses(
    world: World,
) -> None:
    s = scene(world, holders=2)
    other = open_shop(world)
    details = {"cashier": "王五", "receipt_no": "=1+2", "branch": "湖滨店"}
    redeem(world, s.shop, code=s.codes[0], metadata=details)
    redeem(world, other, code=s.codes[1])
    issuance.advance(world, TO_MIDNIGHT)
    run = settle(world, s).json()
    owner = {"Authorization": f"Bearer {s.shop.owner_key}"}
    listed = statements(world, run["id"], owner).json()["items"]
    assert [x["merchant_id"] for x in listed] == [s.shop.merchant_id]
    mine = world.client.get(
        f"/api/v1/settlements/{run['id']}/statements/{s.shop.merchant_id}", headers=s.shop.headers()
    ).json()
    assert mine["lines"][0]["metadata"] == details
    theirs = world.client.get(
        f"/api/v1/settlements/{run['id']}/statements/{other.merchant_id}", headers=owner
    )
    assert theirs.status_code == 404
    lines_csv = world.client.get(
        f"/api/v1/settlements/{run['id']}/statements/{s.shop.merchant_id}",
        params={"format": "csv"},
        headers=owner,
    )
    line = next(csv.DictReader(io.StringIO(lines_csv.text.lstrip("\ufeff"))))
    assert (line["cashier"], line["receipt_no"], line["discount_fen"]) == ("王五", "'=1+2", "3000")
    summary_csv = world.client.get(
        f"/api/v1/settlements/{run['id']}/statements", params={"format": "csv"}, headers=owner
    )
    assert len(list(csv.DictReader(io.StringIO(summary_csv.text.lstrip("\ufeff"))))) == 1
    assert world.client.get(f"/api/v1/settlements/{run['id']}", headers=owner).status_code == 403


def test_a_suspended_merchant_is_held_and_paid_after_reinstatement(world: World) -> None:
    s = scene(world, holders=2)
    redeem(world, s.shop, code=s.codes[0])
    shops.review(world, s.shop.merchant_id, "suspend", "资质复核")
    issuance.advance(world, TO_MIDNIGHT)
    first = settle(world, s).json()
    held = statements(world, first["id"]).json()["items"][0]
    assert (held["held_fen"], held["hold_reason"], held["payout_status"]) == (
        3000,
        "merchant_suspended",
        "none",
    )
    shops.review(world, s.shop.merchant_id, "reinstate")
    redeem(world, s.shop, code=s.codes[1])
    issuance.advance(world, timedelta(days=1))
    second = settle(world, s, day="2026-11-26").json()
    carried = statements(world, second["id"]).json()["items"][0]
    assert (carried["window_fen"], carried["carried_fen"], carried["payout_fen"]) == (
        3000,
        3000,
        6000,
    )
    assert (
        world.post(
            "checker", f"/settlements/{second['id']}/payouts", {"payment_ref": "B-2"}
        ).status_code
        == 201
    )
    assert money(world, s) == {"payable": 0, "paid": 6000}
    assert_books_ok(world)


def test_a_blacklisted_merchant_is_held_in_full(world: World) -> None:
    s = scene(world)
    redeem(world, s.shop, code=s.codes[0])
    bar = {
        "subject_type": "merchant",
        "subject_id": s.shop.merchant_id,
        "reason_code": "fake_transaction",
        "reason": "虚假交易调查",
    }
    assert world.post("operator", "/blacklist", bar).status_code == 201
    issuance.advance(world, TO_MIDNIGHT)
    run = settle(world, s).json()
    item = statements(world, run["id"]).json()["items"][0]
    assert (item["held_fen"], item["hold_reason"]) == (3000, "merchant_blacklisted")
    assert_books_ok(world)


def test_an_open_offline_case_holds_its_amount_until_resolved(world: World) -> None:
    s = scene(world, holders=2)
    token = wallet_tokens(world, s.citizen_ids[0])[s.vouchers[0]["id"]]
    redeem(world, s.shop, code=s.codes[1], amount_fen=20000)
    assert redeem(world, s.shop, code=s.codes[0]).status_code == 201
    offline = {
        "records": [
            {
                "record_id": "r1",
                "token": token,
                "order_amount_fen": 12000,
                "category": "catering",
                "redeemed_at": world.runtime.clock.now().isoformat(),
            }
        ]
    }
    other_till = open_shop(world)
    dup = world.client.post(
        "/api/v1/offline-redemptions", json=offline, headers=other_till.headers()
    ).json()["results"][0]
    assert dup["outcome"] == "duplicate"
    issuance.advance(world, TO_MIDNIGHT)
    first = settle(world, s).json()
    item = statements(world, first["id"]).json()["items"][0]
    assert (item["total_fen"], item["held_fen"], item["hold_reason"], item["payout_fen"]) == (
        6000,
        3000,
        "offline_case",
        3000,
    )
    resolve = {"resolution": "cleared", "note": "顾客重复出示，已核实"}
    assert (
        world.post("operator", f"/offline-cases/{dup['case_id']}/resolve", resolve).status_code
        == 200
    )
    issuance.advance(world, timedelta(days=1))
    second = settle(world, s, day="2026-11-26").json()
    released = statements(world, second["id"]).json()["items"][0]
    assert (released["carried_fen"], released["held_fen"], released["payout_fen"]) == (
        3000,
        0,
        3000,
    )
    assert_books_ok(world)


def test_reconciliation_catches_a_statement_that_disagrees_with_the_redemptions(
    world: World,
) -> None:
    s = scene(world)
    redeem(world, s.shop, code=s.codes[0])
    issuance.advance(world, TO_MIDNIGHT)
    run = settle(world, s).json()
    assert_books_ok(world)
    with world.runtime.db.write() as tx:
        tx.execute(
            update(settlement_statements)
            .where(settlement_statements.c.settlement_id == run["id"])
            .values(window_fen=4000, total_fen=4000, payout_fen=4000)
        )
    with world.runtime.db.read() as tx:
        report = check_ledger(tx)
    assert not report.ok
    assert any("the window holds 1 of 3000 fen" in v for v in report.violations)


def test_reconciliation_catches_a_redemption_whose_money_was_never_posted(
    world: World,
) -> None:
    s = scene(world)
    redeem(world, s.shop, code=s.codes[0])
    with world.runtime.db.write() as tx:
        tx.execute(update(redemptions).values(discount_fen=2000))
    with world.runtime.db.read() as tx:
        report = check_ledger(tx)
    assert any("redemption entries 1 of 3000 fen" in v for v in report.violations)


def test_two_runs_of_the_same_day_racing_settle_it_once(world: World) -> None:
    s = scene(world)
    redeem(world, s.shop, code=s.codes[0])
    issuance.advance(world, TO_MIDNIGHT)
    world.token("operator")  # sign in before the threads share the token cache
    responses = race(3, lambda _: settle(world, s))
    outcome = Counter(
        r.status_code if r.status_code == 201 else r.json()["code"] for r in responses
    )
    assert outcome[201] == 1
    assert set(outcome) <= {201, "SETTLEMENT_EXISTS", "CONFLICT"}
    assert rows(world, "settlement_runs") == 1
    assert rows(world, "journal_entries", kind="redemption_remainder") == 0
    assert_books_ok(world)


def test_a_reversal_racing_a_settlement_is_either_excluded_or_netted(world: World) -> None:
    s = scene(world)
    made = redeem(world, s.shop, code=s.codes[0]).json()
    issuance.advance(world, TO_MIDNIGHT)
    world.token("operator")

    def attempt(i: int) -> Any:
        return settle(world, s) if i == 0 else reverse(world, s.shop.headers(), made["id"])

    run, reversal = race(2, attempt)
    assert reversal.status_code == 201, reversal.text
    if reversal.json()["outcome"] == "restored":  # first: the run never saw it
        # … and found nothing to settle, so it recorded no (empty) run.
        assert (run.status_code, run.json()["code"]) == (409, "NOTHING_TO_SETTLE"), run.text
        assert rows(world, "settlement_runs") == 0
        assert rows(world, "settlement_deductions") == 0
    else:  # after the run: netted by the merchant's next statement
        assert run.status_code == 201, run.text
        assert run.json()["redemption_count"] == 1
        assert rows(world, "settlement_deductions") == 1
    assert_books_ok(world)


def test_the_database_holds_one_run_per_program_and_day(world: World) -> None:
    """``UNIQUE (program_id, cut_off_date)``: whatever lock or check above it is got round, a
    second run of a settled day is refused by the database."""
    import pytest
    from sqlalchemy import insert, select
    from sqlalchemy.exc import IntegrityError

    from quan.store.redemption_tables import settlement_runs

    s = scene(world)
    redeem(world, s.shop, code=s.codes[0])
    issuance.advance(world, TO_MIDNIGHT)
    run = settle(world, s).json()
    with world.runtime.db.read() as tx:
        row = dict(
            tx.execute(select(settlement_runs).where(settlement_runs.c.id == run["id"]))
            .one()
            ._mapping
        )
    row.update(id=f"{run['id']}x", seq=row["seq"] + 1)
    refused = r"uq_settlement_runs_date|settlement_runs\.program_id, settlement_runs\.cut_off_date"
    with pytest.raises(IntegrityError, match=refused), world.runtime.db.write() as tx:
        tx.execute(insert(settlement_runs).values(**row))
    assert rows(world, "settlement_runs") == 1
