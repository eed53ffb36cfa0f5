"""The last day a voucher can be used: the day before a midnight end, the day itself (with the
time) when the window ends during it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from quan.domain.last_day import LastDay, last_day


def test_a_window_ending_at_local_midnight_has_the_day_before_as_its_last_day() -> None:
    until = datetime(2027, 3, 6, 16, 0, tzinfo=UTC)  # 2027-03-07 00:00 in Shanghai
    assert last_day(until, "Asia/Shanghai") == LastDay(date(2027, 3, 6), None)
    assert str(last_day(until, "Asia/Shanghai")) == "2027-03-06"


def test_a_window_ending_during_a_day_names_that_day_and_the_time() -> None:
    until = datetime(2027, 3, 7, 10, 0, tzinfo=UTC)  # 18:00 in Shanghai
    assert last_day(until, "Asia/Shanghai") == LastDay(date(2027, 3, 7), time(18, 0))
    assert str(last_day(until, "Asia/Shanghai")) == "2027-03-07 18:00"


def test_the_day_is_counted_in_the_programs_time_zone() -> None:
    until = datetime(2027, 3, 7, 0, 0, tzinfo=UTC)  # midnight in UTC, 08:00 in Shanghai
    assert last_day(until, "UTC").day == date(2027, 3, 6)
    assert last_day(until, "Asia/Shanghai") == LastDay(date(2027, 3, 7), time(8, 0))
