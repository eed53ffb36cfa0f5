"""The abuse rules as data: when each fires, the score, and the reviewer's sentence."""

from __future__ import annotations

import pytest

from quan.domain.abuse import (
    CASE_THRESHOLD,
    RULES,
    RULES_BY_ID,
    Feature,
    Subject,
    assess,
    explain,
)
from quan.domain.merchants import MerchantStatus
from quan.domain.settlement import HoldReason, hold

CASH_OUT = {
    Feature.REDEMPTIONS.value: 6.0,
    Feature.NEAR_MIN_SHARE.value: 5 / 6,
    Feature.ROUND_SHARE.value: 5 / 6,
    Feature.FAST_SHARE.value: 5 / 6,
    Feature.MAX_PAIR.value: 1.0,
}


def test_a_merchant_cashing_out_fires_three_rules_and_reaches_the_threshold() -> None:
    a = assess(Subject.MERCHANT, "mch_1", CASH_OUT)
    assert [f.rule_id for f in a.findings] == ["M-NEAR-MIN", "M-ROUND", "M-FAST"]
    assert a.score == pytest.approx(1.2)
    assert a.opens_case


def test_one_pattern_alone_does_not_open_a_case() -> None:
    bakery = {**CASH_OUT, Feature.NEAR_MIN_SHARE.value: 0.1, Feature.FAST_SHARE.value: 0.0}
    a = assess(Subject.MERCHANT, "mch_2", bakery)
    assert [f.rule_id for f in a.findings] == ["M-ROUND"]
    assert not a.opens_case


def test_too_few_redemptions_say_nothing() -> None:
    a = assess(Subject.MERCHANT, "mch_3", {**CASH_OUT, Feature.REDEMPTIONS.value: 4.0})
    assert a.findings == ()


def test_rules_read_only_their_own_subject() -> None:
    found = assess(Subject.CITIZEN, "cit_1", CASH_OUT).findings
    assert [f.rule_id for f in found] == ["C-FAST"]  # not the merchants' amount rules


def test_refusals_count_without_redemptions() -> None:
    a = assess(Subject.CITIZEN, "cit_2", {Feature.REFUSED_CLAIMS.value: 25.0})
    assert [f.rule_id for f in a.findings] == ["C-REFUSED"]


def test_every_rule_explains_itself_in_both_languages() -> None:
    for rule in RULES:
        zh, en = explain(rule.id, rule.threshold, "zh"), explain(rule.id, rule.threshold, "en")
        assert "{" not in zh + en
        assert zh != en
    assert explain("M-FAST", 0.5, "en").startswith("50% of vouchers were redeemed here")
    assert explain("X-GONE", 3.0, "en") == "X-GONE: 3"  # a rule of an older version
    assert len(RULES_BY_ID) == len(RULES)
    assert CASE_THRESHOLD == 1.0


def test_held_redemptions_hold_exactly_their_sum_and_never_more_than_owed() -> None:
    approved = MerchantStatus.APPROVED
    assert hold(10000, approved, False, 0, 3000) == (3000, HoldReason.REDEMPTION_HOLD)
    assert hold(2000, approved, False, 0, 3000) == (2000, HoldReason.REDEMPTION_HOLD)
    assert hold(10000, approved, False, 1000, 3000) == (4000, HoldReason.OFFLINE_CASE)
    assert hold(10000, approved, True, 0, 3000) == (10000, HoldReason.MERCHANT_BLACKLISTED)
