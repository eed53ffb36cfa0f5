"""Settlement rules: local cut-offs, consecutive windows, holds, maker-checker, safe CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quan.domain.errors import QuanError
from quan.domain.merchants import MerchantStatus
from quan.domain.settlement import (
    SAFETY_MARGIN,
    HoldReason,
    PayoutStatus,
    Window,
    check_payer,
    cut_off_for,
    default_cut_off_date,
    next_window,
    payout_row,
    statement,
    to_csv,
)

SHANGHAI = "Asia/Shanghai"
STARTED = datetime(2026, 11, 1, tzinfo=UTC)  # the program's start


def test_a_cut_off_is_the_local_midnight_after_the_day() -> None:
    assert cut_off_for(date(2026, 11, 25), SHANGHAI) == datetime(2026, 11, 25, 16, tzinfo=UTC)
    assert cut_off_for(date(2026, 11, 25), "Europe/Berlin") == datetime(
        2026, 11, 25, 23, tzinfo=UTC
    )


def test_the_default_cut_off_is_yesterday_in_the_programs_time_zone() -> None:
    # 01:00 on the 26th in Shanghai is still the 25th in UTC.
    now = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
    assert default_cut_off_date(now, SHANGHAI) == date(2026, 11, 25)


def test_a_day_is_settled_only_once_it_is_over_by_the_safety_margin() -> None:
    cut_off = cut_off_for(date(2026, 11, 25), SHANGHAI)
    with pytest.raises(QuanError) as caught:
        next_window(
            date(2026, 11, 25), SHANGHAI, now=cut_off, starts_at=STARTED,
            last_cut_off_date=None, last_cut_off=None
        )
    assert caught.value.code == "CUT_OFF_NOT_PASSED"
    window = next_window(
        date(2026, 11, 25),
        SHANGHAI,
        now=cut_off + SAFETY_MARGIN,
        starts_at=STARTED,
        last_cut_off_date=None,
        last_cut_off=None,
    )
    assert window == Window(None, cut_off)


def test_the_next_window_starts_where_the_last_ended_and_must_move_forward() -> None:
    last = cut_off_for(date(2026, 11, 24), SHANGHAI)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    window = next_window(
        date(2026, 11, 26),
        SHANGHAI,
        now=now,
        starts_at=STARTED,
        last_cut_off_date=date(2026, 11, 24),
        last_cut_off=last,
    )
    assert window.start == last
    assert window.cut_off == cut_off_for(date(2026, 11, 26), SHANGHAI)
    with pytest.raises(QuanError) as caught:
        next_window(
            date(2026, 11, 24),
            SHANGHAI,
            now=now,
            starts_at=STARTED,
            last_cut_off_date=date(2026, 11, 24),
            last_cut_off=last,
        )
    assert caught.value.params["last_cut_off_date"] == "2026-11-24"


@pytest.mark.parametrize(
    ("day", "code"),
    [
        (date(1, 1, 1), "CUT_OFF_BEFORE_START"),
        (date(2026, 10, 31), "CUT_OFF_BEFORE_START"),  # the day before the local start date
        (date(9999, 12, 31), "CUT_OFF_NOT_PASSED"),
        (date(2026, 12, 2), "CUT_OFF_NOT_PASSED"),
    ],
)
def test_cut_offs_outside_the_programs_life_are_refused_without_overflow(
    day: date, code: str
) -> None:
    with pytest.raises(QuanError) as caught:
        next_window(
            day,
            "Pacific/Kiritimati",  # +14:00: 0001-01-01 there is before year 1 in UTC
            now=datetime(2026, 12, 1, tzinfo=UTC),
            starts_at=STARTED,
            last_cut_off_date=None,
            last_cut_off=None,
        )
    assert caught.value.code == code


def test_a_window_is_half_open() -> None:
    start = datetime(2026, 11, 24, 16, tzinfo=UTC)
    window = Window(start, start + timedelta(days=1))
    assert start in window
    assert start + timedelta(days=1) not in window
    assert start - timedelta(microseconds=1) not in window
    assert start - timedelta(days=100) in Window(None, start)


def test_an_approved_merchant_without_cases_is_paid_in_full() -> None:
    amounts = statement(9000, 1000, MerchantStatus.APPROVED, False, 0)
    assert (amounts.total_fen, amounts.held_fen, amounts.payout_fen) == (10000, 0, 10000)
    assert amounts.hold_reason is None
    assert amounts.payout_status is PayoutStatus.PENDING


def test_a_suspended_or_blacklisted_merchant_is_held_in_full() -> None:
    suspended = statement(9000, 0, MerchantStatus.SUSPENDED, False, 0)
    assert (suspended.held_fen, suspended.hold_reason) == (9000, HoldReason.MERCHANT_SUSPENDED)
    assert suspended.payout_status is PayoutStatus.NONE
    blacklisted = statement(9000, 0, MerchantStatus.APPROVED, True, 0)
    assert blacklisted.hold_reason is HoldReason.MERCHANT_BLACKLISTED


def test_an_open_case_holds_its_amount_and_never_more_than_is_owed() -> None:
    partial = statement(9000, 0, MerchantStatus.APPROVED, False, 3000)
    assert (partial.held_fen, partial.payout_fen) == (3000, 6000)
    assert statement(2000, 0, MerchantStatus.APPROVED, False, 3000).held_fen == 2000


@given(
    window=st.integers(min_value=0, max_value=10**12),
    carried=st.integers(min_value=0, max_value=10**12),
    status=st.sampled_from(list(MerchantStatus)),
    blacklisted=st.booleans(),
    cases=st.integers(min_value=0, max_value=10**12),
)
def test_held_and_paid_always_add_up_to_what_is_owed(
    window: int, carried: int, status: MerchantStatus, blacklisted: bool, cases: int
) -> None:
    amounts = statement(window, carried, status, blacklisted, cases)
    assert 0 <= amounts.held_fen <= amounts.total_fen
    assert amounts.held_fen + amounts.payout_fen == window + carried
    assert (amounts.held_fen > 0) == (amounts.hold_reason is not None)


def test_whoever_ran_a_settlement_cannot_confirm_its_payouts() -> None:
    with pytest.raises(QuanError) as caught:
        check_payer("staff:usr_1", "staff:usr_1")
    assert caught.value.code == "PAYOUT_SAME_PERSON"
    check_payer("staff:usr_1", "staff:usr_2")
    check_payer("system:quan", "system:quan")  # a scheduled run; the payer is recorded anyway


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_defused() -> None:
    text = to_csv(("receipt_no", "amount_fen"), [{"receipt_no": "=HYPERLINK(1)", "amount_fen": -5}])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["receipt_no", "amount_fen"], ["'=HYPERLINK(1)", "-5"]]


def test_a_payout_row_carries_yuan_without_separators_and_the_settlement_reference() -> None:
    row = payout_row("stl_1", "mch_1", "知味小吃", "工商银行", "6222021234567890123", 123456789)
    assert row["amount_yuan"] == "1234567.89"
    assert row["reference"] == "QUAN stl_1"
