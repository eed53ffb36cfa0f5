"""The program office's report: what a commerce bureau reads to judge a voucher program.

- **take-up**: vouchers claimed ÷ vouchers offered (the quantity of every opened batch);
- **redemption rate**: vouchers redeemed ÷ vouchers claimed;
- **leverage**: order value ÷ subsidy — how many yuan of spending each yuan of the program's
  money brought in;
- money (subsidy and order value) by order category, by the merchant's region, and the merchant
  ranking (by subsidy and by redemptions);
- day by day from the program's start, in its time zone: claims, redemptions, subsidy, and the
  funded and committed money.

Set-based SQL (one ``GROUP BY`` per figure, never a row per voucher in Python), read by the
caller in one read transaction, so every figure is of the same instant. Redemptions count while
they are live (a reversed redemption drops out); their subsidy is ``discount_fen``, which is
exactly what the ledger moved to *payable* for them (``tests/integration/test_report.py``
reconciles the two). Labels are codes and names as stored; the console words them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import Connection, func, select

from quan.domain.auth import Actor
from quan.domain.citizens import local_date
from quan.domain.ledger import Bucket, Budget
from quan.services.money import programs
from quan.services.money.programs import Program
from quan.services.operations.report_days import by_local_day, day_range, hour_key
from quan.store import ledger
from quan.store.citizen_tables import citizens
from quan.store.merchant_tables import merchants
from quan.store.redemption_tables import redemptions
from quan.store.tables import journal_entries, postings
from quan.store.voucher_tables import batches, voucher_types, vouchers

# Buckets whose money has left the available budget for vouchers (reserved, then owed, then paid).
COMMITTED = (Bucket.RESERVED.value, Bucket.PAYABLE.value, Bucket.PAID.value)
LIVE = "redeemed"  # a redemption's status until it is reversed
TOP = 12  # rows in each breakdown


@dataclass(frozen=True, slots=True)
class Day:
    day: date  # in the program's time zone
    claims: int
    redeemed: int
    subsidy_fen: int  # what that day's redemptions took off
    order_fen: int  # the orders they were used on
    funded_fen: int  # cumulative, end of day
    committed_fen: int  # cumulative reserved + payable + paid, end of day


@dataclass(frozen=True, slots=True)
class Count:
    key: str  # a region code, a voucher type's name
    count: int


@dataclass(frozen=True, slots=True)
class Money:
    key: str  # a category code, a region code
    redemptions: int
    subsidy_fen: int
    order_fen: int


@dataclass(frozen=True, slots=True)
class MerchantRow:
    merchant_id: str
    name: str
    region_code: str
    redemptions: int
    subsidy_fen: int
    order_fen: int


@dataclass(frozen=True, slots=True)
class Report:
    program: Program
    budget: Budget
    offered: int  # vouchers in opened batches
    claimed: int
    redeemed: int  # live redemptions
    subsidy_fen: int
    order_fen: int
    days: list[Day]
    claims_by_region: list[Count]
    claims_by_type: list[Count]
    by_category: list[Money]
    by_region: list[Money]
    merchants_by_subsidy: list[MerchantRow]
    merchants_by_redemptions: list[MerchantRow]

    @property
    def take_up(self) -> Fraction | None:
        return Fraction(self.claimed, self.offered) if self.offered else None

    @property
    def redemption_rate(self) -> Fraction | None:
        return Fraction(self.redeemed, self.claimed) if self.claimed else None

    @property
    def leverage(self) -> Fraction | None:
        return Fraction(self.order_fen, self.subsidy_fen) if self.subsidy_fen else None


def _live(program_id: str) -> Any:
    return (redemptions.c.program_id == program_id) & (redemptions.c.status == LIVE)


def _money_by(tx: Connection, program_id: str, by: Any) -> list[Money]:
    subsidy = func.sum(redemptions.c.discount_fen)
    rows = tx.execute(
        select(by, func.count(), subsidy, func.sum(redemptions.c.order_amount_fen))
        .select_from(redemptions.join(merchants, merchants.c.id == redemptions.c.merchant_id))
        .where(_live(program_id))
        .group_by(by)
        .order_by(subsidy.desc(), by)
        .limit(TOP)
    )
    return [Money(str(key), int(n), int(off), int(order)) for key, n, off, order in rows]


def _merchants(tx: Connection, program_id: str, *, by_count: bool) -> list[MerchantRow]:
    r = redemptions.c
    ranked = (
        select(
            r.merchant_id,
            func.count().label("n"),
            func.sum(r.discount_fen).label("off"),
            func.sum(r.order_amount_fen).label("orders"),
        )
        .where(_live(program_id))
        .group_by(r.merchant_id)
        .subquery("ranked")
    )
    order = (
        (ranked.c.n.desc(), ranked.c.off.desc())
        if by_count
        else (ranked.c.off.desc(), ranked.c.n.desc())
    )
    rows = tx.execute(
        select(
            merchants.c.id,
            merchants.c.name,
            merchants.c.region_code,
            ranked.c.n,
            ranked.c.off,
            ranked.c.orders,
        )
        .join(ranked, ranked.c.merchant_id == merchants.c.id)
        .order_by(*order, merchants.c.id)
        .limit(TOP)
    )
    return [
        MerchantRow(str(i), str(name), str(region), int(n), int(off), int(orders))
        for i, name, region, n, off, orders in rows
    ]


def _claims_by(tx: Connection, program_id: str, key: Any, join: Any) -> list[Count]:
    rows = tx.execute(
        select(key, func.count())
        .select_from(vouchers.join(*join))
        .where(vouchers.c.program_id == program_id, vouchers.c.claimed_at.is_not(None))
        .group_by(key)
        .order_by(func.count().desc(), key)
        .limit(TOP)
    )
    return [Count(str(k), int(n)) for k, n in rows]


def _claims_per_day(tx: Connection, program: Program) -> dict[date, int]:
    key = hour_key(tx, vouchers.c.claimed_at)
    rows = tx.execute(
        select(key, func.count())
        .where(vouchers.c.program_id == program.id, vouchers.c.claimed_at.is_not(None))
        .group_by(key)
    )
    return by_local_day(((k, int(n)) for k, n in rows), program.timezone)


def _redemptions_per_day(tx: Connection, program_id: str) -> dict[date, tuple[int, int, int]]:
    r = redemptions.c
    rows = tx.execute(
        select(r.local_day, func.count(), func.sum(r.discount_fen), func.sum(r.order_amount_fen))
        .where(_live(program_id))
        .group_by(r.local_day)
    )
    return {day: (int(n), int(off), int(order)) for day, n, off, order in rows}


def _ledger_per_day(tx: Connection, program: Program) -> tuple[dict[date, int], dict[date, int]]:
    """Money funded and committed per local day, from the ledger's postings."""
    key = hour_key(tx, journal_entries.c.created_at)
    rows = tx.execute(
        select(key, postings.c.bucket, func.sum(postings.c.amount_fen))
        .join(journal_entries, journal_entries.c.id == postings.c.entry_id)
        .where(postings.c.program_id == program.id)
        .group_by(key, postings.c.bucket)
    ).all()
    zone = program.timezone
    funded = by_local_day(((h, -int(v)) for h, b, v in rows if b == Bucket.FUNDING.value), zone)
    committed = by_local_day(((h, int(v)) for h, b, v in rows if b in COMMITTED), zone)
    return funded, committed


def _cumulative(days: list[date], per_day: dict[date, int]) -> list[int]:
    total = sum(v for d, v in per_day.items() if d < days[0])
    out = []
    for day in days:
        total += per_day.get(day, 0)
        out.append(total)
    return out


def program_report(tx: Connection, actor: Actor, program_id: str, now: datetime) -> Report:
    """The report of a program ``actor`` may see, as of ``now``."""
    program = programs.visible_program(tx, actor, program_id)
    claims = _claims_per_day(tx, program)
    spent = _redemptions_per_day(tx, program.id)
    funded, committed = _ledger_per_day(tx, program)
    start = local_date(program.starts_at, program.timezone)
    days = day_range(start, local_date(now, program.timezone), [*claims, *spent])
    funded_line, committed_line = _cumulative(days, funded), _cumulative(days, committed)
    none = (0, 0, 0)
    offered = tx.execute(
        select(func.coalesce(func.sum(batches.c.quantity), 0)).where(
            batches.c.program_id == program.id, batches.c.status != "draft"
        )
    ).scalar_one()
    return Report(
        program=program,
        budget=ledger.budget(tx, program.id),
        offered=int(offered),
        claimed=sum(claims.values()),
        redeemed=sum(n for n, _, _ in spent.values()),
        subsidy_fen=sum(off for _, off, _ in spent.values()),
        order_fen=sum(order for _, _, order in spent.values()),
        days=[
            Day(d, claims.get(d, 0), *spent.get(d, none), funded_line[i], committed_line[i])
            for i, d in enumerate(days)
        ],
        claims_by_region=_claims_by(
            tx,
            program.id,
            citizens.c.region_code,
            (citizens, citizens.c.id == vouchers.c.citizen_id),
        ),
        claims_by_type=_claims_by(
            tx,
            program.id,
            voucher_types.c.name,
            (voucher_types, voucher_types.c.id == vouchers.c.voucher_type_id),
        ),
        by_category=_money_by(tx, program.id, redemptions.c.category),
        by_region=_money_by(tx, program.id, merchants.c.region_code),
        merchants_by_subsidy=_merchants(tx, program.id, by_count=False),
        merchants_by_redemptions=_merchants(tx, program.id, by_count=True),
    )
