"""When a blacklist entry bars its subject, and which new entries are allowed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quan.domain.blacklist import (
    BLACKLISTED,
    INVALID_BLACKLIST_PERIOD,
    BlacklistEntry,
    ReasonCode,
    Subject,
    SubjectType,
    blocking_entry,
    check_period,
    is_blocked,
    overlaps,
    refusal,
)
from quan.domain.errors import QuanError

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
DAY = timedelta(days=1)
ALICE = Subject(SubjectType.CITIZEN, "cit_alice")
SHOP = Subject(SubjectType.MERCHANT, "mch_shop")


def entry(
    starts: datetime = T0,
    ends: datetime | None = T0 + 30 * DAY,
    lifted: datetime | None = None,
    subject: Subject = ALICE,
    id: str = "blk_1",
) -> BlacklistEntry:
    return BlacklistEntry(id, subject, ReasonCode.CASH_OUT, starts, ends, lifted)


def test_an_entry_bars_from_its_start_until_just_before_its_end() -> None:
    e = entry()
    assert not is_blocked([e], ALICE, T0 - timedelta(microseconds=1))
    assert is_blocked([e], ALICE, T0)
    assert is_blocked([e], ALICE, T0 + 30 * DAY - timedelta(microseconds=1))
    assert not is_blocked([e], ALICE, T0 + 30 * DAY)


def test_an_open_ended_entry_bars_until_lifted() -> None:
    assert is_blocked([entry(ends=None)], ALICE, T0 + 3650 * DAY)
    lifted = entry(ends=None, lifted=T0 + 5 * DAY)
    assert not is_blocked([lifted], ALICE, T0 + 5 * DAY)


def test_a_lifted_entry_still_barred_everything_before_it_was_lifted() -> None:
    lifted = entry(lifted=T0 + 5 * DAY)
    assert is_blocked([lifted], ALICE, T0 + 4 * DAY)


def test_an_entry_bars_only_its_own_subject() -> None:
    entries = [entry(subject=SHOP)]
    assert is_blocked(entries, SHOP, T0)
    assert not is_blocked(entries, ALICE, T0)
    assert not is_blocked(entries, Subject(SubjectType.CITIZEN, "mch_shop"), T0)


def test_the_blocking_entry_is_the_earliest_started_among_those_in_force() -> None:
    early = entry(starts=T0, id="blk_early")
    late = entry(starts=T0 + DAY, id="blk_late")
    assert blocking_entry([late, early], ALICE, T0 + 2 * DAY) == early


def test_the_refusal_names_the_entry_and_its_end() -> None:
    error = refusal(entry())
    assert error.spec is BLACKLISTED
    assert error.params == {"entry_id": "blk_1", "until": (T0 + 30 * DAY).isoformat()}
    assert refusal(entry(ends=None)).params["until"] is None


def test_a_new_entry_may_not_be_backdated_nor_end_before_it_starts() -> None:
    check_period(T0, None, T0)
    check_period(T0 + DAY, T0 + 2 * DAY, T0)
    for starts, ends in ((T0 - DAY, None), (T0, T0), (T0 + 2 * DAY, T0 + DAY)):
        with pytest.raises(QuanError) as caught:
            check_period(starts, ends, T0)
        assert caught.value.spec is INVALID_BLACKLIST_PERIOD


def test_overlap_is_judged_only_against_entries_that_can_still_bar() -> None:
    current = entry(ends=T0 + 10 * DAY)
    assert overlaps(current, T0 + 5 * DAY, None, T0)
    assert not overlaps(current, T0 + 10 * DAY, None, T0)  # starts when the old one ends
    assert not overlaps(entry(lifted=T0), T0, None, T0)  # lifted: no longer counts
    assert not overlaps(entry(ends=T0 - DAY, starts=T0 - 2 * DAY), T0, None, T0)  # over


instants = st.integers(min_value=-40, max_value=40).map(lambda d: T0 + d * DAY)


@given(
    starts=instants,
    length=st.one_of(st.none(), st.integers(1, 30)),
    lift_after=st.one_of(st.none(), st.integers(0, 40)),
    at=instants,
)
def test_blocked_means_started_and_neither_ended_nor_lifted(
    starts: datetime, length: int | None, lift_after: int | None, at: datetime
) -> None:
    ends = starts + length * DAY if length is not None else None
    lifted = starts + lift_after * DAY if lift_after is not None else None
    expected = starts <= at and (ends is None or at < ends) and (lifted is None or at < lifted)
    assert is_blocked([entry(starts, ends, lifted)], ALICE, at) is expected
