"""Merchant rules: the review workflow, re-review dates, what an application may hold, and who
may see a merchant."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quan.domain.auth import Actor
from quan.domain.errors import QuanError
from quan.domain.merchants import (
    INVALID_BANK_ACCOUNT,
    INVALID_CONTACT_PHONE,
    MERCHANT_NOT_APPROVED,
    REASON_REQUIRED,
    REGION_OUTSIDE_ISSUER,
    REVIEW_INTERVAL_MONTHS,
    TRANSITION_NOT_ALLOWED,
    TRANSITIONS,
    Decision,
    MerchantStatus,
    Scene,
    add_months,
    check_name,
    check_region,
    check_scenes,
    parse_bank_account,
    parse_contact_phone,
    region_within,
    require_approved,
    require_merchant_access,
    review,
)

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
S = MerchantStatus
D = Decision


def _refusal(call: object, *args: object, **kwargs: object) -> QuanError:
    with pytest.raises(QuanError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return caught.value


@pytest.mark.parametrize(
    ("status", "decision", "target"),
    [
        (S.SUBMITTED, D.APPROVE, S.APPROVED),
        (S.SUBMITTED, D.REJECT, S.REJECTED),
        (S.APPROVED, D.SUSPEND, S.SUSPENDED),
        (S.APPROVED, D.RENEW, S.APPROVED),
        (S.SUSPENDED, D.REINSTATE, S.APPROVED),
    ],
)
def test_each_allowed_decision_leads_where_the_workflow_says(
    status: MerchantStatus, decision: Decision, target: MerchantStatus
) -> None:
    assert review(status, decision, "理由", now=NOW).status is target


def test_exactly_five_decisions_are_allowed_and_rejected_is_final() -> None:
    allowed = {(s, d) for s, moves in TRANSITIONS.items() for d in moves}
    assert len(allowed) == 5
    assert TRANSITIONS[S.REJECTED] == {}
    for status in S:
        for decision in D:
            if (status, decision) in allowed:
                continue
            error = _refusal(review, status, decision, "理由", now=NOW)
            assert error.spec is TRANSITION_NOT_ALLOWED
            assert error.params == {"merchant_status": status.value, "decision": decision.value}


@pytest.mark.parametrize(("status", "decision"), [(S.SUBMITTED, D.REJECT), (S.APPROVED, D.SUSPEND)])
@pytest.mark.parametrize("reason", ["", "  ", "\n\t"])
def test_rejecting_and_suspending_need_a_reason(
    status: MerchantStatus, decision: Decision, reason: str
) -> None:
    assert _refusal(review, status, decision, reason, now=NOW).spec is REASON_REQUIRED


def test_approving_reinstating_and_renewing_need_no_reason() -> None:
    for status, decision in ((S.SUBMITTED, D.APPROVE), (S.SUSPENDED, D.REINSTATE)):
        assert review(status, decision, "", now=NOW).status is S.APPROVED
    assert review(S.APPROVED, D.RENEW, "", now=NOW).status is S.APPROVED


def test_becoming_approved_sets_the_next_review_a_year_ahead_and_leaving_it_clears_it() -> None:
    due = datetime(2027, 11, 25, 2, 0, tzinfo=UTC)
    assert REVIEW_INTERVAL_MONTHS == 12
    for status, decision in ((S.SUBMITTED, D.APPROVE), (S.APPROVED, D.RENEW)):
        assert review(status, decision, "", now=NOW).next_review_due_at == due
    assert review(S.SUSPENDED, D.REINSTATE, "", now=NOW).next_review_due_at == due
    assert review(S.APPROVED, D.SUSPEND, "x", now=NOW).next_review_due_at is None
    assert review(S.SUBMITTED, D.REJECT, "x", now=NOW).next_review_due_at is None


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [
        (datetime(2028, 2, 29, tzinfo=UTC), 12, datetime(2029, 2, 28, tzinfo=UTC)),
        (datetime(2026, 1, 31, tzinfo=UTC), 1, datetime(2026, 2, 28, tzinfo=UTC)),
        (datetime(2026, 11, 30, tzinfo=UTC), 3, datetime(2027, 2, 28, tzinfo=UTC)),
        (datetime(2026, 12, 15, 8, 30, tzinfo=UTC), 12, datetime(2027, 12, 15, 8, 30, tzinfo=UTC)),
        (datetime(2026, 5, 31, tzinfo=UTC), 1, datetime(2026, 6, 30, tzinfo=UTC)),
    ],
)
def test_adding_months_keeps_the_day_or_takes_the_months_last(
    moment: datetime, months: int, expected: datetime
) -> None:
    assert add_months(moment, months) == expected


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)), st.integers(0, 60)
)
def test_adding_months_moves_exactly_that_many_calendar_months(
    moment: datetime, months: int
) -> None:
    later = add_months(moment, months)
    assert (later.year * 12 + later.month) - (moment.year * 12 + moment.month) == months
    assert later.day <= moment.day
    assert later.time() == moment.time()


@pytest.mark.parametrize(
    ("region", "area", "inside"),
    [
        ("330106", "330100", True),  # a district of the city
        ("330100", "330100", True),
        ("330182", "330100", True),  # a county-level city under it
        ("330203", "330100", False),  # another city of the province
        ("330203", "330000", True),  # the province contains it
        ("110101", "110000", True),
        ("330106", "330106", True),
        ("330108", "330106", False),  # a district issuer covers itself only
        ("999999", "330100", False),
    ],
)
def test_a_region_is_inside_an_area_by_its_division_prefix(
    region: str, area: str, inside: bool
) -> None:
    assert region_within(region, area) is inside


def test_a_region_outside_the_issuers_area_is_refused_naming_both() -> None:
    error = _refusal(check_region, "330203", "330100")
    assert error.spec is REGION_OUTSIDE_ISSUER
    assert error.params == {"region_code": "330203", "issuer_region_code": "330100"}


@pytest.mark.parametrize(
    ("number", "digits"),
    [
        ("6222 0212 3456 7890 123", "6222021234567890123"),
        ("1202-0213-0900-0123-456", "1202021309000123456"),
        ("12345678", "12345678"),
        ("9" * 32, "9" * 32),
    ],
)
def test_a_bank_account_keeps_only_its_digits(number: str, digits: str) -> None:
    assert parse_bank_account("  工商银行  杭州分行 ", number).account_number == digits
    assert parse_bank_account("  工商银行  杭州分行 ", number).bank_name == "工商银行 杭州分行"


@pytest.mark.parametrize(
    ("bank", "number", "reason"),
    [
        ("工商银行", "1234567", "length"),
        ("工商银行", "9" * 33, "length"),
        ("工商银行", "", "characters"),
        ("工商银行", "6222O212345678", "characters"),
        ("工商银行", "６２２２０２１２３４５６", "characters"),
        ("工商银行", "622202.12345678", "characters"),
        ("", "62220212345678", "bank_name"),
        ("行" * 101, "62220212345678", "bank_name"),
    ],
)
def test_a_malformed_bank_account_is_refused_with_the_reason(
    bank: str, number: str, reason: str
) -> None:
    error = _refusal(parse_bank_account, bank, number)
    assert error.spec is INVALID_BANK_ACCOUNT
    assert error.params == {"reason": reason}


@pytest.mark.parametrize(
    "text", ["13812345678", "+86 138 1234 5678", "0086-138-1234-5678", " 138-1234-5678 "]
)
def test_a_mobile_number_is_read_with_or_without_the_country_code(text: str) -> None:
    assert parse_contact_phone(text) == "13812345678"


@pytest.mark.parametrize(
    "text", ["", "1381234567", "138123456789", "12812345678", "0571-87654321", "1381234567a"]
)
def test_anything_but_a_mainland_mobile_number_is_refused(text: str) -> None:
    assert _refusal(parse_contact_phone, text).spec is INVALID_CONTACT_PHONE


def test_names_are_trimmed_and_bounded() -> None:
    assert check_name("  知味  小吃店 ") == "知味 小吃店"
    for bad in ("", "   ", "店" * 201):
        assert _refusal(check_name, bad).code == "INVALID_MERCHANT_NAME"


def test_a_merchant_accepts_at_least_one_scene() -> None:
    assert check_scenes([Scene.ONLINE, Scene.ONLINE]) == frozenset({Scene.ONLINE})
    assert _refusal(check_scenes, []).code == "MERCHANT_SCENE_REQUIRED"


def _merchant_actor(role: str, merchant_id: str | None) -> Actor:
    return Actor(kind=role, id="x", role=role, merchant_id=merchant_id)


def test_merchant_principals_see_their_own_merchant_and_nothing_else() -> None:
    for role in ("merchant", "terminal"):
        require_merchant_access(_merchant_actor(role, "mch_a"), "mch_a", "iss_1")
        error = _refusal(require_merchant_access, _merchant_actor(role, "mch_a"), "mch_b", "iss_1")
        assert error.code == "NOT_FOUND"
        unbound = _refusal(require_merchant_access, _merchant_actor(role, None), "mch_a", "iss_1")
        assert unbound.code == "NOT_FOUND"


def test_staff_see_merchants_by_issuer() -> None:
    operator = Actor(kind="staff", id="u1", role="operator", issuer_id="iss_1")
    require_merchant_access(operator, "mch_a", "iss_1")
    assert _refusal(require_merchant_access, operator, "mch_a", "iss_2").code == "OTHER_ISSUER"
    for role in ("admin", "auditor"):
        require_merchant_access(Actor(kind="staff", id="u", role=role), "mch_a", "iss_2")
    agent = Actor(kind="staff", id="u2", role="agent", issuer_id="iss_1")
    assert _refusal(require_merchant_access, agent, "mch_a", "iss_1").code == "FORBIDDEN"


def test_only_an_approved_merchant_passes_the_approved_check() -> None:
    require_approved(S.APPROVED)
    for status in (S.SUBMITTED, S.REJECTED, S.SUSPENDED):
        error = _refusal(require_approved, status)
        assert error.spec is MERCHANT_NOT_APPROVED
        assert error.params == {"merchant_status": status.value}
