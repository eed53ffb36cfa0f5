"""Abuse detection and cases on SQLite and PostgreSQL: the features a scan stores, the case it
opens with its explanation, holds on exactly the redemptions concerned, and a hold and a
settlement run that never both take the same redemption."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from quan.domain.abuse import Subject, explain
from quan.domain.auth import SYSTEM
from quan.domain.errors import QuanError
from quan.services.abuse import cases, clawback, holds
from quan.services.settlement import running
from quan.store.abuse_tables import (
    redemption_holds,
    risk_actor_features,
    risk_cases,
    risk_redemption_features,
)
from quan.store.redemption_tables import settlement_statements
from tests.conftest import World
from tests.integration import issuance_fixtures as issuance
from tests.integration.abuse_fixtures import CASHED, CashOut, cash_out, operator, scan
from tests.integration.redemption_fixtures import assert_books_ok, race, redeem, rows

TO_MIDNIGHT = timedelta(hours=13, minutes=2)  # 11:00 (an hour after the scene) → 00:02


def statement(world: World, c: CashOut) -> dict[str, object]:
    st = settlement_statements.c
    with world.runtime.db.read() as tx:
        row = tx.execute(
            select(st.window_fen, st.carried_fen, st.held_fen, st.hold_reason, st.payout_fen)
            .where(st.merchant_id == c.s.shop.merchant_id)
            .order_by(st.settlement_id.desc())
        ).first()
    assert row is not None
    return dict(row._mapping)


def settle(world: World, c: CashOut, day: str) -> None:
    rt = world.runtime
    running.settle(rt.db, rt.clock, SYSTEM, c.s.program_id, date.fromisoformat(day))


def test_a_scan_stores_the_features_and_opens_a_case_with_its_explanation(world: World) -> None:
    c = cash_out(world)
    found = scan(world, c)
    assert [(x.subject_type, x.subject_id, x.status) for x in found] == [
        (Subject.MERCHANT, c.s.shop.merchant_id, "open")
    ]
    case = found[0]
    assert {f.rule_id for f in case.findings} == {"M-NEAR-MIN", "M-ROUND", "M-FAST"}
    assert case.score == pytest.approx(1.2)
    assert sorted(case.redemption_ids) == sorted(c.flagged)  # not the honest one
    near = next(f for f in case.findings if f.rule_id == "M-NEAR-MIN")
    assert explain(near.rule_id, near.value, "zh-CN").startswith("83% 的订单金额紧贴满减门槛")
    assert explain(near.rule_id, near.value, "en").startswith("83% of orders hug the minimum")
    assert rows(world, "risk_redemption_features") == CASHED + 1
    with world.runtime.db.read() as tx:
        f = risk_redemption_features.c
        honest = tx.execute(
            select(f.near_min_spend, f.round_amount, f.claim_seconds, f.pair_seq).where(
                f.redemption_id == c.honest
            )
        ).one()
        a = risk_actor_features.c
        features = dict(
            tx.execute(select(a.feature, a.value).where(a.subject_id == c.s.shop.merchant_id)).all()
        )
    assert tuple(honest) == (0, 0, 3600, 1)
    assert (features["redemptions"], features["citizens"]) == (CASHED + 1, CASHED + 1)
    assert rows(world, "events", type="risk_case.opened") == 1
    assert scan(world, c) == found  # an open case is not opened again


def test_two_scans_at_once_open_one_case(world: World) -> None:
    c = cash_out(world)
    rt = world.runtime
    race(2, lambda _: cases.scan(rt.db, rt.clock.now(), [c.s.program_id]))
    assert rows(world, "risk_cases") == 1


def test_a_confirmed_case_holds_exactly_its_redemptions_and_the_rest_is_paid(
    world: World,
) -> None:
    c = cash_out(world)
    case = scan(world, c)[0]
    rt = world.runtime
    with rt.db.write() as tx:
        decided = cases.decide(
            tx, rt.clock.now(), operator(world), case.id, cases.Decision.CONFIRMED,
            "订单金额全部为 100 元且领券即核销", blacklist=True,
        )  # fmt: skip
    assert decided.status == "confirmed"
    assert decided.blacklist_entry_id is not None
    assert rows(world, "redemption_holds") == CASHED
    issuance.advance(world, TO_MIDNIGHT)
    settle(world, c, "2026-11-25")
    # Blacklisted, the merchant's whole payout is held by the blacklist, as before.
    assert statement(world, c)["hold_reason"] == "merchant_blacklisted"
    assert_books_ok(world)


def test_holds_keep_only_the_held_redemptions_until_dismissed(world: World) -> None:
    c = cash_out(world)
    case = scan(world, c)[0]
    rt = world.runtime
    with rt.db.write() as tx:
        outcome = holds.hold_many(tx, rt.clock.now(), operator(world), case.id, c.flagged)
    assert sorted(outcome.held) == sorted(c.flagged)
    issuance.advance(world, TO_MIDNIGHT)
    settle(world, c, "2026-11-25")
    held = CASHED * 3000
    assert statement(world, c) == {
        "window_fen": held + 3000, "carried_fen": 0, "held_fen": held,
        "hold_reason": "redemption_hold", "payout_fen": 3000,
    }  # fmt: skip
    # Settled now: a later hold on the honest redemption is refused (that is a clawback).
    with rt.db.write() as tx, pytest.raises(QuanError) as refused:
        holds.hold_redemption(tx, rt.clock.now(), operator(world), case.id, c.honest)
    assert refused.value.code == "REDEMPTION_ALREADY_SETTLED"
    with rt.db.write() as tx:
        cases.decide(
            tx, rt.clock.now(), operator(world), case.id, cases.Decision.DISMISSED,
            "核实为团购活动，订单真实",
        )  # fmt: skip
    assert rows(world, "events", type="redemption.hold_released") == CASHED
    issuance.advance(world, timedelta(days=1))
    settle(world, c, "2026-11-26")
    assert statement(world, c) == {
        "window_fen": 0, "carried_fen": held, "held_fen": 0, "hold_reason": None,
        "payout_fen": held,
    }  # fmt: skip
    assert_books_ok(world)
    with rt.db.write() as tx, pytest.raises(QuanError) as again:
        cases.decide(tx, rt.clock.now(), operator(world), case.id, cases.Decision.CONFIRMED, "x")
    assert again.value.code == "RISK_CASE_NOT_OPEN"


def test_a_hold_and_a_settlement_run_never_both_take_a_redemption(world: World) -> None:
    c = cash_out(world)
    case = scan(world, c)[0]
    target = c.flagged[0]
    issuance.advance(world, TO_MIDNIGHT)
    rt = world.runtime

    def attempt(i: int) -> object:
        if i == 0:
            settle(world, c, "2026-11-25")
            return "settled"
        with rt.db.write() as tx:
            return holds.hold_redemption(tx, rt.clock.now(), operator(world), case.id, target)

    settled, held = race(2, attempt)
    assert settled == "settled", settled
    got = statement(world, c)
    if isinstance(held, QuanError):  # the run came first: paid, and the hold refused
        assert held.code == "REDEMPTION_ALREADY_SETTLED"
        assert (got["held_fen"], rows(world, "redemption_holds")) == (0, 0)
    else:  # the hold came first: the run held exactly that redemption
        assert isinstance(held, str), held
        assert (got["held_fen"], got["hold_reason"]) == (3000, "redemption_hold")
    assert_books_ok(world)


def test_the_database_refuses_a_second_open_case_for_a_subject(world: World) -> None:
    c = cash_out(world)
    scan(world, c)
    rt = world.runtime
    with rt.db.read() as tx:
        row = tx.execute(select(risk_cases)).one()._mapping
    with pytest.raises(IntegrityError), rt.db.write() as tx:
        tx.execute(risk_cases.insert().values({**row, "id": "rsk_second"}))


def test_the_database_refuses_a_second_hold_in_force_on_a_redemption(world: World) -> None:
    c = cash_out(world)
    case = scan(world, c)[0]
    rt = world.runtime
    with rt.db.write() as tx:
        holds.hold_redemption(tx, rt.clock.now(), operator(world), case.id, c.flagged[0])
    with rt.db.read() as tx:
        row = tx.execute(select(redemption_holds)).one()._mapping
    with pytest.raises(IntegrityError), rt.db.write() as tx:
        tx.execute(redemption_holds.insert().values({**row, "id": "hld_second"}))


def test_a_confirmed_case_claws_back_its_settled_redemptions_from_later_payouts(
    world: World,
) -> None:
    c = cash_out(world, spare=CASHED)
    rt = world.runtime
    issuance.advance(world, TO_MIDNIGHT)
    settle(world, c, "2026-11-25")  # paid before anyone looked
    case = scan(world, c)[0]
    with rt.db.write() as tx, pytest.raises(QuanError) as early:
        clawback.claw_back(tx, rt.clock, operator(world), case.id)
    assert early.value.code == "RISK_CASE_NOT_CONFIRMED"
    with rt.db.write() as tx:
        cases.decide(
            tx, rt.clock.now(), operator(world), case.id, cases.Decision.CONFIRMED,
            "领券即以门槛金额核销，确认套现",
        )  # fmt: skip
    assert rows(world, "redemption_holds") == 0  # all settled: nothing to hold
    with rt.db.write() as tx:
        done = clawback.claw_back(tx, rt.clock, operator(world), case.id)
    assert (len(done.reversal_ids), done.amount_fen) == (CASHED, CASHED * 3000)
    assert rows(world, "settlement_deductions") == CASHED
    assert_books_ok(world)
    with rt.db.write() as tx, pytest.raises(QuanError) as again:
        clawback.claw_back(tx, rt.clock, operator(world), case.id)
    assert again.value.code == "NOTHING_TO_CLAW_BACK"
    for code in c.spare:  # the merchant's next day owes as much as it must pay back
        assert redeem(world, c.s.shop, code=code, amount_fen=12345).status_code == 201
    issuance.advance(world, timedelta(days=1))
    settle(world, c, "2026-11-26")
    assert statement(world, c) == {
        "window_fen": 0, "carried_fen": 0, "held_fen": 0, "hold_reason": None, "payout_fen": 0,
    }  # fmt: skip
    assert rows(world, "events", type="risk_case.clawed_back") == 1
    assert_books_ok(world)


def test_the_worker_runs_the_risk_scan_as_a_job(world: World) -> None:
    from quan.jobs.registry import default_jobs

    cash_out(world)
    job = next(j for j in default_jobs() if j.name == "risk-scan")
    assert job.exclusive
    assert job.run(world.runtime, "test-worker") == 1
    assert job.run(world.runtime, "test-worker") == 0
