"""Counting and summing by hour in SQL, then by local day in Python, on both databases.

SQL groups by the UTC hour (cheap, and the same text on SQLite and PostgreSQL); Python turns
each hour into the program's local date, so a day means midnight to midnight in the program's
time zone whatever zone the database or server runs in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func
from sqlalchemy.sql.elements import ColumnElement


def hour_key(tx: Connection, column: ColumnElement[datetime]) -> ColumnElement[str]:
    """``'YYYY-MM-DD HH'`` of a UTC timestamp column."""
    if tx.dialect.name == "sqlite":
        # Stored as naive UTC text 'YYYY-MM-DD HH:MM:SS.ffffff' (see store.tables.UtcDateTime).
        return func.substr(column, 1, 13)
    return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24")


def local_day(key: str, zone: str) -> date:
    at = datetime.strptime(key, "%Y-%m-%d %H").replace(tzinfo=UTC)
    return at.astimezone(ZoneInfo(zone)).date()


def by_local_day(rows: Iterable[tuple[str, int]], zone: str) -> dict[date, int]:
    """Hourly sums ``(hour key, value)`` added up per local day."""
    days: dict[date, int] = {}
    for key, value in rows:
        if key is None:
            continue
        day = local_day(key, zone)
        days[day] = days.get(day, 0) + int(value)
    return days


def day_range(days: Mapping[date, int], *, until: date, at_least: int = 7) -> list[date]:
    """Every day from the first with data (or ``at_least`` days back) to ``until``, so a
    chart shows quiet days as zero instead of skipping them; at most 60 days."""
    first = min(days, default=until)
    first = min(first, until - timedelta(days=at_least - 1))
    first = max(first, until - timedelta(days=59))
    count = (until - first).days + 1
    return [first + timedelta(days=i) for i in range(count)]
