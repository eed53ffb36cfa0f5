"""The report's days: counted and summed by hour in SQL, then by local day in Python, on both
databases.

SQL groups by the UTC hour (cheap, and the same text on SQLite and PostgreSQL); Python turns
each hour into the program's local date, so a day means midnight to midnight in the program's
time zone whatever zone the database or server runs in.
"""

from __future__ import annotations

from collections.abc import Iterable
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


MAX_DAYS = 400  # a program longer than this shows its last 400 days


def day_range(start: date, until: date, data: Iterable[date] = ()) -> list[date]:
    """Every local day from the program's start (or an earlier day with data) to ``until``,
    quiet days included as zero, so the time axis begins where the program began."""
    first = min([start, *data])
    last = max(until, first)
    first = max(first, last - timedelta(days=MAX_DAYS - 1))
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
