"""The cashier's shift report: today's redemptions at this terminal (or at every terminal of its
merchant), with the totals the counter hands over at the end of a shift.

"Today" is the local day of the merchant's programs (their issuer's time zone; Asia/Shanghai
when the issuer has none yet). Redemptions reversed since are listed with their status and left
out of the totals, which are what the merchant will be paid for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from quan.store.merchant_tables import merchants, terminals
from quan.store.redemption_tables import redemptions
from quan.store.tables import programs
from quan.web.templating import DEFAULT_ZONE

MAX_ROWS = 1000  # a counter's day; more than this is a job for the merchant portal's export


@dataclass(frozen=True, slots=True)
class ShiftRow:
    id: str
    terminal_id: str
    terminal_label: str
    category: str
    order_amount_fen: int
    discount_fen: int
    redeemed_at: datetime
    status: str

    @property
    def customer_pays_fen(self) -> int:
        return self.order_amount_fen - self.discount_fen


@dataclass(frozen=True, slots=True)
class Shift:
    day: str  # the local date, YYYY-MM-DD
    zone: str
    rows: list[ShiftRow]
    complete: bool  # False when MAX_ROWS cut the list (the totals still count every row)
    count: int
    order_fen: int
    discount_fen: int
    reversed_count: int
    reversed_fen: int

    @property
    def customer_pays_fen(self) -> int:
        return self.order_fen - self.discount_fen


def merchant_zone(tx: Connection, merchant_id: str) -> str:
    """The time zone of the merchant's issuer's newest program (the counter's local day)."""
    zone: str | None = tx.execute(
        select(programs.c.timezone)
        .join(merchants, merchants.c.issuer_id == programs.c.issuer_id)
        .where(merchants.c.id == merchant_id)
        .order_by(programs.c.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    return zone or DEFAULT_ZONE


def day_bounds(now: datetime, zone: str) -> tuple[str, datetime, datetime]:
    """The local day holding ``now``: its date and its start and end in UTC."""
    tz = ZoneInfo(zone)
    day = now.astimezone(tz).date()
    start = datetime.combine(day, time(0), tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tz)
    return day.isoformat(), start.astimezone(UTC), end.astimezone(UTC)


def shift(tx: Connection, now: datetime, merchant_id: str, terminal_id: str | None) -> Shift:
    """Today's redemptions at the merchant, at one terminal when ``terminal_id`` is given."""
    zone = merchant_zone(tx, merchant_id)
    day, start, end = day_bounds(now, zone)
    r, t = redemptions.c, terminals.c
    where = [r.merchant_id == merchant_id, r.redeemed_at >= start, r.redeemed_at < end]
    if terminal_id is not None:
        where.append(r.terminal_id == terminal_id)
    rows = tx.execute(
        select(
            r.id,
            r.terminal_id,
            func.coalesce(t.label, r.terminal_id),
            r.category,
            r.order_amount_fen,
            r.discount_fen,
            r.redeemed_at,
            r.status,
        )
        .select_from(redemptions.outerjoin(terminals, t.id == r.terminal_id))
        .where(*where)
        .order_by(r.redeemed_at.desc(), r.id.desc())
        .limit(MAX_ROWS + 1)
    ).all()
    live = r.status == "redeemed"
    totals = tx.execute(
        select(
            func.count().filter(live),
            func.coalesce(func.sum(r.order_amount_fen).filter(live), 0),
            func.coalesce(func.sum(r.discount_fen).filter(live), 0),
            func.count().filter(~live),
            func.coalesce(func.sum(r.discount_fen).filter(~live), 0),
        ).where(*where)
    ).one()
    listed = [ShiftRow(*row) for row in rows[:MAX_ROWS]]
    count, order_fen, discount_fen, reversed_count, reversed_fen = (int(x) for x in totals)
    return Shift(
        day=day,
        zone=zone,
        rows=listed,
        complete=len(rows) <= MAX_ROWS,
        count=count,
        order_fen=order_fen,
        discount_fen=discount_fen,
        reversed_count=reversed_count,
        reversed_fen=reversed_fen,
    )


def terminal_label(tx: Connection, terminal_id: str) -> str | None:
    label: str | None = tx.execute(
        select(terminals.c.label).where(terminals.c.id == terminal_id)
    ).scalar_one_or_none()
    return label
