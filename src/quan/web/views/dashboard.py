"""The operator dashboard's figures: claims and redemptions over time, where claims come from,
and how the budget is being used — read in one snapshot for one program.

Redemptions come from the redemption records (live ones: reversed redemptions do not count),
dated by their service day in the program's time zone; spend is what the vouchers took off
(``discount_fen``, the program's money) next to the orders they were used on, by the order's
category and by the merchant's region.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from quan.domain.citizens import local_date
from quan.domain.eligibility import region_name
from quan.domain.ledger import Bucket, Budget
from quan.services.money.programs import Program
from quan.store import ledger
from quan.store.citizen_tables import citizens
from quan.store.merchant_tables import merchants
from quan.store.redemption_tables import redemptions
from quan.store.tables import journal_entries, postings
from quan.store.voucher_tables import batches, voucher_types, vouchers
from quan.web.i18n import category_name
from quan.web.views.timeseries import by_local_day, day_range, hour_key

# Buckets whose money has left the available budget for vouchers (reserved, then owed, then paid).
COMMITTED = (Bucket.RESERVED.value, Bucket.PAYABLE.value, Bucket.PAID.value)


@dataclass(frozen=True, slots=True)
class DayFigures:
    day: date
    claims: int
    redeemed: int
    funded_fen: int  # cumulative, end of day
    committed_fen: int  # cumulative reserved + payable + paid, end of day


@dataclass(frozen=True, slots=True)
class Share:
    label: str
    count: int


@dataclass(frozen=True, slots=True)
class Spend:
    label: str
    redemptions: int
    discount_fen: int  # what the vouchers took off: the program's money
    order_fen: int  # the orders they were used on


@dataclass(frozen=True, slots=True)
class Dashboard:
    budget: Budget
    issued: int  # vouchers in opened batches
    claimed: int
    redeemed: int
    days: list[DayFigures]
    claims_by_region: list[Share]
    claims_by_type: list[Share]
    spend_by_category: list[Spend]
    spend_by_region: list[Spend]


def _claims_by_hour(tx: Connection, program_id: str) -> list[tuple[str, int]]:
    key = hour_key(tx, vouchers.c.claimed_at)
    rows = tx.execute(
        select(key, func.count())
        .where(vouchers.c.program_id == program_id, vouchers.c.claimed_at.is_not(None))
        .group_by(key)
    )
    return [(r[0], int(r[1])) for r in rows]


LIVE = "redeemed"  # a redemption's status until it is reversed


def _redeemed_by_day(tx: Connection, program_id: str) -> dict[date, int]:
    rows = tx.execute(
        select(redemptions.c.local_day, func.count())
        .where(redemptions.c.program_id == program_id, redemptions.c.status == LIVE)
        .group_by(redemptions.c.local_day)
    )
    return {day: int(n) for day, n in rows}


def _spend(tx: Connection, program_id: str, by: Any, label: Callable[[str], str]) -> list[Spend]:
    rows = tx.execute(
        select(
            by,
            func.count(),
            func.sum(redemptions.c.discount_fen),
            func.sum(redemptions.c.order_amount_fen),
        )
        .select_from(redemptions.join(merchants, merchants.c.id == redemptions.c.merchant_id))
        .where(redemptions.c.program_id == program_id, redemptions.c.status == LIVE)
        .group_by(by)
        .order_by(func.sum(redemptions.c.discount_fen).desc())
        .limit(12)
    )
    return [Spend(label(str(key)), int(n), int(off), int(order)) for key, n, off, order in rows]


def _ledger_by_hour(tx: Connection, program_id: str) -> dict[str, list[tuple[str, int]]]:
    key = hour_key(tx, journal_entries.c.created_at)
    rows = tx.execute(
        select(key, postings.c.bucket, func.sum(postings.c.amount_fen))
        .join(journal_entries, journal_entries.c.id == postings.c.entry_id)
        .where(postings.c.program_id == program_id)
        .group_by(key, postings.c.bucket)
    )
    out: dict[str, list[tuple[str, int]]] = {}
    for hour, bucket, amount in rows:
        out.setdefault(bucket, []).append((hour, int(amount)))
    return out


def _cumulative(days: list[date], per_day: dict[date, int], before: int) -> list[int]:
    total, out = before, []
    for day in days:
        total += per_day.get(day, 0)
        out.append(total)
    return out


def _regions(tx: Connection, program_id: str, lang: str) -> list[Share]:
    rows = tx.execute(
        select(citizens.c.region_code, func.count())
        .join(citizens, citizens.c.id == vouchers.c.citizen_id)
        .where(vouchers.c.program_id == program_id)
        .group_by(citizens.c.region_code)
        .order_by(func.count().desc())
        .limit(12)
    )
    return [Share(_region_label(code, lang), int(count)) for code, count in rows]


def _region_label(code: str, lang: str) -> str:
    """``330106 西湖区`` in Chinese; the code alone in English (the table has Chinese names)."""
    name = region_name(code) if lang == "zh" else None
    return f"{code} {name}" if name else code


def _types(tx: Connection, program_id: str) -> list[Share]:
    rows = tx.execute(
        select(voucher_types.c.name, func.count())
        .join(voucher_types, voucher_types.c.id == vouchers.c.voucher_type_id)
        .where(vouchers.c.program_id == program_id, vouchers.c.claimed_at.is_not(None))
        .group_by(voucher_types.c.name)
        .order_by(func.count().desc())
        .limit(12)
    )
    return [Share(str(name), int(count)) for name, count in rows]


def dashboard(tx: Connection, program: Program, now: datetime, lang: str) -> Dashboard:
    zone = program.timezone
    claims = by_local_day(_claims_by_hour(tx, program.id), zone)
    redeemed = _redeemed_by_day(tx, program.id)
    flows = _ledger_by_hour(tx, program.id)
    funded = {d: -v for d, v in by_local_day(flows.get(Bucket.FUNDING.value, []), zone).items()}
    committed: dict[date, int] = {}
    for bucket in COMMITTED:
        for d, v in by_local_day(flows.get(bucket, []), zone).items():
            committed[d] = committed.get(d, 0) + v
    today = local_date(now, zone)
    days = day_range({**claims, **redeemed, **funded, **committed}, until=today)
    first = days[0]
    funded_line = _cumulative(days, funded, sum(v for d, v in funded.items() if d < first))
    committed_line = _cumulative(
        days, committed, sum(v for d, v in committed.items() if d < first)
    )
    issued = tx.execute(
        select(func.coalesce(func.sum(batches.c.quantity), 0)).where(
            batches.c.program_id == program.id, batches.c.status != "draft"
        )
    ).scalar_one()
    return Dashboard(
        budget=ledger.budget(tx, program.id),
        issued=int(issued),
        claimed=sum(claims.values()),
        redeemed=sum(redeemed.values()),
        days=[
            DayFigures(d, claims.get(d, 0), redeemed.get(d, 0), funded_line[i], committed_line[i])
            for i, d in enumerate(days)
        ],
        claims_by_region=_regions(tx, program.id, lang),
        claims_by_type=_types(tx, program.id),
        spend_by_category=_spend(
            tx, program.id, redemptions.c.category, lambda code: category_name(code, lang)
        ),
        spend_by_region=_spend(
            tx, program.id, merchants.c.region_code, lambda code: _region_label(code, lang)
        ),
    )

