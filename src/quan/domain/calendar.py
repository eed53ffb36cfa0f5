"""The calendar Quan accepts: instants and days a program can meaningfully name.

Python's ``datetime`` reaches from year 1 to 9999, but at the ends a time zone or a day added
overflows (``9999-12-31T23:59:59-23:59`` has no UTC instant; settling up to ``9999-12-31``
needs the midnight after it). Input is refused outside these bounds, at the edge, so that no
arithmetic later can overflow.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

EARLIEST = date(1900, 1, 1)  # birth dates of the oldest citizens
LATEST = date(2999, 12, 31)  # far beyond any program, far from the end of the calendar


def day_in_range(day: date) -> bool:
    return EARLIEST <= day <= LATEST


def instant_in_range(at: datetime) -> bool:
    """Naive instants are judged as given; aware ones in UTC (which is where they overflow)."""
    if at.tzinfo is not None:
        try:
            at = at.astimezone(UTC)
        except OverflowError:
            return False
    return day_in_range(at.date())
