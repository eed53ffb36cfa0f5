"""The last day a voucher can be used, said one way everywhere.

A voucher is valid on ``[valid_from, valid_until)``. Relative validity ends at local midnight
after the last day, so printing ``valid_until`` reads one day late ("至 2027-03-07 00:00" for a
voucher whose last day is 03-06). People count days they can use it: the last day is the local
date of the last instant inside the window, and only when the window ends during a day (a
fixed end such as 18:00) is that time worth saying.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class LastDay:
    day: date
    ends: time | None  # None: usable until the end of ``day``; else until (before) this time

    def __str__(self) -> str:
        text = self.day.isoformat()
        return text if self.ends is None else f"{text} {self.ends:%H:%M}"


def last_day(valid_until: datetime, zone: str) -> LastDay:
    """The local day (and, when it ends mid-day, the time) up to which a voucher is usable."""
    local = valid_until.astimezone(ZoneInfo(zone))
    if local.time() == time(0):
        return LastDay(local.date() - timedelta(days=1), None)
    return LastDay(local.date(), local.time().replace(second=0, microsecond=0))
