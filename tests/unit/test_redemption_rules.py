"""The redemption rule evaluator: each rule refuses with its own code and fields; money is exact."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quan.domain.blacklist import BlacklistEntry, ReasonCode, Subject, SubjectType
from quan.domain.errors import QuanError
from quan.domain.merchants import MerchantStatus, Scene
from quan.domain.programs import ProgramStatus
from quan.domain.redemption import check, discount_fen, evaluate
from quan.domain.redemption_situation import (
    Applied,
    MerchantFacts,
    Order,
    OrderSoFar,
    ProgramFacts,
    Refusal,
    Situation,
    VoucherFacts,
)
from quan.domain.voucher_type_json import parse_voucher_type

# Wednesday 25 Nov 2026, 10:00 in Shanghai.
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)

FIXED: dict[str, Any] = {
    "name": "餐饮满100减30",
    "kind": "fixed",
    "face_value_fen": 3000,
    "min_spend_fen": 10000,
    "categories": ["catering"],
    "scenes": ["offline"],
    "validity_preset": "short",
}
PERCENT: dict[str, Any] = {
    "name": "体育8折",
    "kind": "percent",
    "percent_off": 20,
    "cap_fen": 5000,
    "categories": ["sports"],
    "scenes": ["offline", "online"],
    "validity_preset": "short",
}


def situation(definition: dict[str, Any] | None = None, **changes: Any) -> Situation:
    # A definition naming its kind stands alone; otherwise it amends the fixed one.
    definition = definition or {}
    spec = parse_voucher_type(definition if "kind" in definition else {**FIXED, **definition})
    base = Situation(
        voucher=VoucherFacts(
            id="vch_1",
            status="active",
            holder_id="cit_1",
            valid_from=NOW - timedelta(days=1),
            valid_until=NOW + timedelta(days=30),
            spec=spec,
        ),
        program=ProgramFacts("prg_1", "iss_1", ProgramStatus.ACTIVE, "Asia/Shanghai"),
        merchant=MerchantFacts(
            id="mch_1",
            issuer_id="iss_1",
            status=MerchantStatus.APPROVED,
            region_code="330106",
            categories=frozenset({"catering", "sports"}),
            scenes=frozenset({Scene.OFFLINE, Scene.ONLINE}),
        ),
        order=Order(amount_fen=12000, category=spec.categories[0], scene=Scene.OFFLINE, at=NOW),
    )
    return replace(base, **changes)


def refusal(s: Situation) -> Refusal:
    outcome = evaluate(s)
    assert isinstance(outcome, Refusal), outcome
    return outcome


def voucher(s: Situation, **changes: Any) -> VoucherFacts:
    return replace(s.voucher, **changes)


def order(s: Situation, **changes: Any) -> Order:
    return replace(s.order, **changes)


def entry(subject: SubjectType, subject_id: str) -> BlacklistEntry:
    return BlacklistEntry(
        "blk_1", Subject(subject, subject_id), ReasonCode.CASH_OUT, NOW - timedelta(days=1), None
    )


def test_a_fixed_voucher_takes_its_face_value_off_an_order_above_the_minimum() -> None:
    assert evaluate(situation()) == Applied(discount_fen=3000, customer_pays_fen=9000, order_seq=1)


def test_an_order_below_the_minimum_spend_is_refused_with_the_minimum() -> None:
    s = situation()
    r = refusal(replace(s, order=order(s, amount_fen=9999)))
    assert r.code == "BELOW_MIN_SPEND"
    assert r.params["min_spend_fen"] == 10000
    assert r.params["order_amount_fen"] == 9999


def test_a_percent_voucher_rounds_down_and_stops_at_its_cap() -> None:
    s = situation(PERCENT)
    assert check(replace(s, order=order(s, amount_fen=999))).discount_fen == 199
    capped = check(replace(s, order=order(s, amount_fen=100_000)))
    assert capped.discount_fen == 5000
    assert capped.customer_pays_fen == 95_000


def test_a_fixed_voucher_without_minimum_never_pays_more_than_the_order() -> None:
    s = situation({"min_spend_fen": 0})
    applied = check(replace(s, order=order(s, amount_fen=1200)))
    assert (applied.discount_fen, applied.customer_pays_fen) == (1200, 0)


@pytest.mark.parametrize(
    ("status", "code"),
    [
        ("redeemed", "ALREADY_REDEEMED"),
        ("expired", "VOUCHER_EXPIRED"),
        ("unclaimed", "VOUCHER_NOT_CLAIMED"),
        ("recycled", "VOUCHER_NOT_CLAIMED"),
    ],
)
def test_only_an_active_voucher_can_be_redeemed(status: str, code: str) -> None:
    s = situation()
    holder = None if status in ("unclaimed", "recycled") else "cit_1"
    assert refusal(replace(s, voucher=voucher(s, status=status, holder_id=holder))).code == code


def test_a_voucher_without_a_holder_is_refused_as_not_claimed() -> None:
    s = situation()
    r = refusal(replace(s, voucher=voucher(s, holder_id=None)))
    assert (r.code, r.rule) == ("VOUCHER_NOT_CLAIMED", "owner")


def test_a_deactivated_voucher_is_refused() -> None:
    s = situation()
    assert refusal(replace(s, voucher=voucher(s, deactivated=True))).code == "VOUCHER_DEACTIVATED"


def test_validity_is_half_open_from_valid_from_until_valid_until() -> None:
    s = situation()
    early = replace(s, voucher=voucher(s, valid_from=NOW + timedelta(seconds=1)))
    assert refusal(early).code == "VOUCHER_NOT_YET_VALID"
    at_end = replace(s, voucher=voucher(s, valid_until=NOW))
    r = refusal(at_end)
    assert (r.code, r.params["valid_until"]) == ("VOUCHER_EXPIRED", NOW.isoformat())
    assert isinstance(evaluate(replace(s, voucher=voucher(s, valid_from=NOW))), Applied)


def test_a_paused_program_refuses_redemption() -> None:
    s = situation()
    r = refusal(replace(s, program=replace(s.program, status=ProgramStatus.PAUSED)))
    assert (r.code, r.params["program_status"]) == ("PROGRAM_NOT_ACTIVE", "paused")


def test_a_suspended_merchant_cannot_redeem() -> None:
    s = situation()
    r = refusal(replace(s, merchant=replace(s.merchant, status=MerchantStatus.SUSPENDED)))
    assert (r.code, r.params["merchant_status"]) == ("MERCHANT_NOT_APPROVED", "suspended")


def test_a_merchant_of_another_issuer_is_out_of_scope() -> None:
    s = situation()
    r = refusal(replace(s, merchant=replace(s.merchant, issuer_id="iss_2")))
    assert (r.code, r.rule) == ("OUT_OF_SCOPE", "issuer")


def test_a_blacklisted_merchant_and_a_blacklisted_holder_are_refused_apart() -> None:
    s = situation()
    merchant = refusal(replace(s, merchant_block=entry(SubjectType.MERCHANT, "mch_1")))
    assert (merchant.code, merchant.params["entry_id"]) == ("BLACKLISTED", "blk_1")
    holder = refusal(replace(s, holder_block=entry(SubjectType.CITIZEN, "cit_1")))
    assert holder.code == "VOUCHER_HOLDER_BLACKLISTED"
    assert "entry_id" not in holder.params  # the cashier is not told the citizen's case


def test_weekdays_are_read_in_the_programs_time_zone() -> None:
    # 23:30 UTC on Tuesday is 07:30 on Wednesday in Shanghai.
    tuesday_night_utc = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)
    s = situation({"weekdays": [3]})
    assert isinstance(evaluate(replace(s, order=order(s, at=tuesday_night_utc))), Applied)
    r = refusal(replace(situation({"weekdays": [2]}), order=order(s, at=tuesday_night_utc)))
    assert (r.code, r.rule, r.params["weekday"]) == ("OUTSIDE_USAGE_WINDOW", "weekday", 3)


def test_hours_are_local_and_their_end_is_exclusive() -> None:
    s = situation({"hours": [{"start": "11:00", "end": "14:00"}]})
    at = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)  # 14:00 local
    r = refusal(replace(s, order=order(s, at=at)))
    assert (r.rule, r.params["local_time"], r.params["hours"]) == (
        "hours",
        "14:00",
        ["11:00-14:00"],
    )
    lunch = datetime(2026, 11, 25, 5, 59, tzinfo=UTC)
    assert isinstance(evaluate(replace(s, order=order(s, at=lunch))), Applied)


def test_an_excluded_date_is_refused_on_its_local_day() -> None:
    s = situation({"excluded_dates": ["2026-11-25"]})
    r = refusal(s)
    assert (r.rule, r.params["date"]) == ("excluded_date", "2026-11-25")


def test_a_category_the_voucher_does_not_cover_is_out_of_scope() -> None:
    s = situation()
    r = refusal(replace(s, order=order(s, category="tourism")))
    assert (r.code, r.rule, r.params["allowed"]) == ("OUT_OF_SCOPE", "category", ["catering"])


def test_a_category_the_merchant_does_not_serve_is_out_of_scope() -> None:
    s = situation()
    r = refusal(replace(s, merchant=replace(s.merchant, categories=frozenset({"sports"}))))
    assert r.rule == "merchant_category"


def test_scenes_of_the_voucher_and_of_the_merchant_must_both_allow_the_order() -> None:
    s = situation()
    assert refusal(replace(s, order=order(s, scene=Scene.ONLINE))).rule == "scene"
    online_voucher = situation({"scenes": ["online"]})
    offline_only = replace(online_voucher.merchant, scenes=frozenset({Scene.OFFLINE}))
    online_order = order(online_voucher, scene=Scene.ONLINE)
    r = refusal(replace(online_voucher, merchant=offline_only, order=online_order))
    assert r.rule == "merchant_scene"


def test_a_region_scope_admits_merchants_inside_the_listed_divisions() -> None:
    inside = situation({"merchant_scope": {"kind": "regions", "region_codes": ["330100"]}})
    assert isinstance(evaluate(inside), Applied)
    outside = situation({"merchant_scope": {"kind": "regions", "region_codes": ["330200"]}})
    r = refusal(outside)
    assert (r.rule, r.params["region_code"]) == ("region", "330106")


def test_a_merchant_list_admits_only_the_merchants_on_it() -> None:
    listed = situation({"merchant_scope": {"kind": "merchants", "merchant_ids": ["mch_1"]}})
    assert isinstance(evaluate(listed), Applied)
    other = situation({"merchant_scope": {"kind": "merchants", "merchant_ids": ["mch_9"]}})
    assert refusal(other).rule == "merchant"


def test_stacking_beyond_max_per_order_is_refused_with_the_limit() -> None:
    s = situation({"max_per_order": 2})
    one_used = OrderSoFar(
        count=1,
        order_amount_fen=30000,
        min_spend_fen=10000,
        discount_fen=3000,
        max_per_order=2,
        next_seq=2,
    )
    second = check(replace(s, order=order(s, amount_fen=30000), so_far=one_used))
    assert (second.discount_fen, second.customer_pays_fen, second.order_seq) == (3000, 24000, 2)
    two_used = replace(one_used, count=2, min_spend_fen=20000, discount_fen=6000, next_seq=3)
    r = refusal(replace(s, order=order(s, amount_fen=30000), so_far=two_used))
    assert (r.code, r.params["max_per_order"]) == ("MAX_PER_ORDER_EXCEEDED", 2)


def test_the_strictest_limit_of_the_vouchers_on_an_order_applies() -> None:
    s = situation({"max_per_order": 5})
    strict = OrderSoFar(
        count=1,
        order_amount_fen=30000,
        min_spend_fen=10000,
        discount_fen=3000,
        max_per_order=1,
        next_seq=2,
    )
    r = refusal(replace(s, order=order(s, amount_fen=30000), so_far=strict))
    assert r.params["max_per_order"] == 1


def test_stacked_vouchers_each_need_their_own_minimum_spend() -> None:
    s = situation({"max_per_order": 3})
    so_far = OrderSoFar(
        count=1,
        order_amount_fen=15000,
        min_spend_fen=10000,
        discount_fen=3000,
        max_per_order=3,
        next_seq=2,
    )
    r = refusal(replace(s, order=order(s, amount_fen=15000), so_far=so_far))
    assert (r.code, r.params["min_spend_fen"]) == ("BELOW_MIN_SPEND", 20000)


def test_an_order_keeps_one_amount_across_its_vouchers() -> None:
    s = situation({"max_per_order": 3})
    so_far = OrderSoFar(
        count=1,
        order_amount_fen=30000,
        min_spend_fen=10000,
        discount_fen=3000,
        max_per_order=3,
        next_seq=2,
    )
    r = refusal(replace(s, order=order(s, amount_fen=31000), so_far=so_far))
    assert (r.code, r.params["expected_order_amount_fen"]) == ("ORDER_AMOUNT_MISMATCH", 30000)


def test_the_daily_cap_counts_the_holders_redemptions_today() -> None:
    s = situation()
    assert isinstance(evaluate(replace(s, daily_cap=2, used_today=1)), Applied)
    r = refusal(replace(s, daily_cap=2, used_today=2))
    assert (r.code, r.params["daily_cap"]) == ("DAILY_CAP_REACHED", 2)


def test_nothing_left_to_pay_is_a_zero_discount_refusal() -> None:
    s = situation({"min_spend_fen": 0, "max_per_order": 2})
    paid_in_full = OrderSoFar(
        count=1, order_amount_fen=2000, discount_fen=2000, max_per_order=2, next_seq=2
    )
    r = refusal(replace(s, order=order(s, amount_fen=2000), so_far=paid_in_full))
    assert r.code == "ZERO_DISCOUNT"


def test_the_first_failing_rule_in_order_is_the_answer() -> None:
    s = situation()
    both = replace(
        s,
        voucher=voucher(s, valid_until=NOW - timedelta(days=1)),
        order=order(s, amount_fen=1, category="tourism"),
    )
    assert refusal(both).code == "VOUCHER_EXPIRED"


def test_check_raises_the_refusal_as_a_quan_error_with_its_fields() -> None:
    s = situation()
    with pytest.raises(QuanError) as caught:
        check(replace(s, order=order(s, amount_fen=500)))
    assert caught.value.code == "BELOW_MIN_SPEND"
    assert caught.value.params["min_spend_fen"] == 10000
    assert "10000" in caught.value.message("en")


amounts = st.integers(min_value=1, max_value=10**12)


@given(
    amount=amounts,
    already=st.integers(min_value=0, max_value=10**12),
    percent=st.integers(min_value=1, max_value=100),
    cap=amounts,
)
def test_a_discount_never_exceeds_the_cap_nor_what_is_left_to_pay(
    amount: int, already: int, percent: int, cap: int
) -> None:
    spec = parse_voucher_type({**PERCENT, "percent_off": percent, "cap_fen": cap})
    off = discount_fen(spec.discount, amount, already)
    assert 0 <= off <= cap
    assert off <= max(amount - already, 0)
    assert off <= amount * percent // 100


@given(amount=st.integers(min_value=10000, max_value=10**12))
def test_discount_and_customer_payment_add_up_to_the_order(amount: int) -> None:
    s = situation()
    applied = check(replace(s, order=order(s, amount_fen=amount)))
    assert applied.discount_fen + applied.customer_pays_fen == amount
    assert isinstance(applied.discount_fen, int)
