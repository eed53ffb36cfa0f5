"""The fairness report of a batch or a program (R1.6): who is eligible, who got vouchers.

Every figure comes from set-based SQL grouped by region (``GROUP BY citizens.region_code``), with
the priority groups as ``SUM(CASE …)`` columns, so the cost does not depend on Python looping
over citizens; only the per-region rows (a few hundred at most) are summed here.

- **Eligible population**: citizens satisfying the batch's eligibility rule on the report's local
  date (for a program: any of its batches' rules). The rule is compiled to a SQL predicate by
  :func:`rule_predicate`, mirroring :func:`quan.domain.eligibility.evaluate`.
- **Vouchers**: vouchers of the batch (or of every batch of the program) that have a holder;
  **claims** are those that arrived by any channel but the lottery, **wins** those won in a
  draw, **redemptions** those with a redemption in status ``redeemed`` (``redemptions`` table).
- Groups and regions are those of the holder today. Shares, flags and the Gini coefficient
  are :mod:`quan.domain.fairness`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    case,
    exists,
    false,
    func,
    not_,
    or_,
    select,
    true,
)

from quan.domain.auth import Actor
from quan.domain.citizens import ELDERLY_AGE, IncomeGroup, PriorityGroup, local_date
from quan.domain.eligibility import (
    AgeBetween,
    All,
    AnyOf,
    Disabled,
    IncomeGroupIn,
    Not,
    PriorityGroupIn,
    RegionIn,
    Rule,
)
from quan.domain.fairness import UNDER_SERVED_RATIO, GroupFigures, figures, gini
from quan.services.issuance.batches import get_batch, visible_batch
from quan.services.money.programs import visible_program
from quan.store.citizen_tables import citizens
from quan.store.redemption_tables import redemptions
from quan.store.voucher_tables import batches, vouchers

_c = citizens.c
LOW_INCOME_GROUPS = (IncomeGroup.LOW_INCOME.value, IncomeGroup.SUBSISTENCE.value)


def born_by(years: int, on: date) -> date:
    """The latest birth date of someone at least ``years`` old on ``on`` (29 Feb → 28 Feb)."""
    year = on.year - years
    try:
        return on.replace(year=year)
    except ValueError:  # 29 February in a common year
        return date(year, 2, 28)


def group_predicate(group: PriorityGroup, on: date) -> ColumnElement[bool]:
    """Membership of a priority group (:func:`quan.domain.citizens.priority_groups`) in SQL."""
    if group is PriorityGroup.ELDERLY:
        return _c.birth_date <= born_by(ELDERLY_AGE, on)
    if group is PriorityGroup.LOW_INCOME:
        return _c.income_group.in_(LOW_INCOME_GROUPS)
    return _c.disabled.is_(True)


def _region_prefix(area_code: str) -> str:
    prefix = area_code
    while prefix.endswith("00") and len(prefix) > 2:
        prefix = prefix[:-2]
    return prefix


def rule_predicate(rule: Rule, on: date) -> ColumnElement[bool]:
    """An eligibility rule as a SQL predicate on ``citizens`` (same meaning as ``evaluate``)."""
    match rule:
        case All(rules):
            return and_(true(), *(rule_predicate(r, on) for r in rules))
        case AnyOf(rules):
            return or_(false(), *(rule_predicate(r, on) for r in rules))
        case Not(inner):
            return not_(rule_predicate(inner, on))
        case RegionIn(codes):
            return or_(false(), *(_c.region_code.startswith(_region_prefix(c)) for c in codes))
        case AgeBetween(low, high):
            parts: list[ColumnElement[bool]] = []
            if low is not None:
                parts.append(_c.birth_date <= born_by(low, on))
            if high is not None:
                parts.append(_c.birth_date > born_by(high + 1, on))
            return and_(true(), *parts)
        case IncomeGroupIn(groups):
            return _c.income_group.in_([g.value for g in groups])
        case Disabled(value):
            return _c.disabled.is_(value)
        case PriorityGroupIn(groups):
            return or_(false(), *(group_predicate(g, on) for g in groups))
    raise TypeError(f"not a rule: {rule!r}")


def _count_if(predicate: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((predicate, 1), else_=0)), 0)


@dataclass(frozen=True, slots=True)
class RegionFigures:
    region_code: str
    population: int
    vouchers: int
    claims: int
    wins: int
    redemptions: int
    population_share: float
    voucher_share: float
    vouchers_per_1000: float  # vouchers per thousand eligible residents
    under_served: bool


@dataclass(frozen=True, slots=True)
class FairnessReport:
    scope: str  # "batch" or "program"
    program_id: str
    batch_ids: tuple[str, ...]
    as_of: datetime
    local_date: date
    eligible_population: int
    vouchers: int
    claims: int
    wins: int
    redemptions: int
    groups: tuple[GroupFigures, ...]  # the priority groups, vouchers against population share
    regions: tuple[RegionFigures, ...]
    gini_regions: float
    under_served_ratio: float
    flags: tuple[str, ...]  # "group:elderly", "region:330106", … that are under-served

    def to_json(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "program_id": self.program_id,
            "batch_ids": list(self.batch_ids),
            "as_of": self.as_of.isoformat(),
            "local_date": self.local_date.isoformat(),
            "eligible_population": self.eligible_population,
            "vouchers": self.vouchers,
            "claims": self.claims,
            "wins": self.wins,
            "redemptions": self.redemptions,
            "groups": [
                {
                    "group": g.key,
                    "population": g.population,
                    "vouchers": g.claims,
                    "wins": g.wins,
                    "redemptions": g.redemptions,
                    "population_share": g.population_share,
                    "voucher_share": g.claim_share,
                    "under_served": g.under_served,
                }
                for g in self.groups
            ],
            "regions": [
                {
                    "region_code": r.region_code,
                    "population": r.population,
                    "vouchers": r.vouchers,
                    "claims": r.claims,
                    "wins": r.wins,
                    "redemptions": r.redemptions,
                    "population_share": r.population_share,
                    "voucher_share": r.voucher_share,
                    "vouchers_per_1000": r.vouchers_per_1000,
                    "under_served": r.under_served,
                }
                for r in self.regions
            ],
            "gini_regions": self.gini_regions,
            "under_served_ratio": self.under_served_ratio,
            "flags": list(self.flags),
        }


GROUPS = tuple(PriorityGroup)


def batch_report(tx: Connection, now: datetime, actor: Actor, batch_id: str) -> FairnessReport:
    batch = visible_batch(tx, actor, batch_id)
    program = visible_program(tx, actor, batch.program_id)
    on = local_date(now, program.timezone)
    return _report(tx, now, on, "batch", program.id, (batch.id,), batch.eligibility)


def program_report(tx: Connection, now: datetime, actor: Actor, program_id: str) -> FairnessReport:
    program = visible_program(tx, actor, program_id)
    on = local_date(now, program.timezone)
    ids = tuple(
        tx.execute(
            select(batches.c.id).where(batches.c.program_id == program.id).order_by(batches.c.id)
        ).scalars()
    )
    rule = AnyOf(tuple(get_batch(tx, bid).eligibility for bid in ids))
    return _report(tx, now, on, "program", program.id, ids, rule)


def _report(
    tx: Connection,
    now: datetime,
    on: date,
    scope: str,
    program_id: str,
    batch_ids: tuple[str, ...],
    rule: Rule,
) -> FairnessReport:
    group_cols = [group_predicate(g, on) for g in GROUPS]
    # Eligible population per region, with each priority group's count.
    population = {
        row[0]: row[1:]
        for row in tx.execute(
            select(
                _c.region_code,
                func.count(),
                *(_count_if(p) for p in group_cols),
            )
            .where(rule_predicate(rule, on))
            .group_by(_c.region_code)
        )
    }
    # Vouchers held, per holder's region: all, lottery wins, redeemed — overall and per group.
    v = vouchers.c
    is_win = v.channel == "lottery"
    is_redeemed = exists().where(
        redemptions.c.voucher_id == v.id, redemptions.c.status == "redeemed"
    )
    measures = (true(), is_win, is_redeemed)
    columns = [_count_if(m) for m in measures]
    for member in group_cols:
        columns.extend(_count_if(and_(member, m)) for m in measures)
    held = {
        row[0]: [int(x) for x in row[1:]]
        for row in tx.execute(
            select(_c.region_code, *columns)
            .select_from(vouchers.join(citizens, citizens.c.id == v.citizen_id))
            .where(v.batch_id.in_(batch_ids), v.citizen_id.is_not(None))
            .group_by(_c.region_code)
        )
    }
    width = len(measures) * (1 + len(GROUPS))
    zero = [0] * width

    def total(index: int) -> int:
        return sum(row[index] for row in held.values())

    total_pop = sum(int(p[0]) for p in population.values())
    total_vouchers, total_wins, total_redeemed = total(0), total(1), total(2)
    groups = []
    for i, g in enumerate(GROUPS):
        base = len(measures) * (i + 1)
        g_vouchers, g_wins, g_redeemed = total(base), total(base + 1), total(base + 2)
        groups.append(
            figures(
                g.value,
                sum(int(p[i + 1]) for p in population.values()),
                g_vouchers,
                g_wins,
                g_redeemed,
                total_pop,
                total_vouchers,
            )
        )
    regions = []
    for code in sorted(set(population) | set(held)):
        pop = int(population[code][0]) if code in population else 0
        row = held.get(code, zero)
        fig = figures(code, pop, row[0], row[1], row[2], total_pop, total_vouchers)
        regions.append(
            RegionFigures(
                region_code=code,
                population=pop,
                vouchers=row[0],
                claims=row[0] - row[1],
                wins=row[1],
                redemptions=row[2],
                population_share=fig.population_share,
                voucher_share=fig.claim_share,
                vouchers_per_1000=round(1000 * row[0] / pop, 3) if pop else 0.0,
                under_served=fig.under_served,
            )
        )
    with_pop = [r for r in regions if r.population > 0]
    coefficient = gini(
        [r.vouchers / r.population for r in with_pop], [r.population for r in with_pop]
    )
    flags = tuple(
        [f"group:{g.key}" for g in groups if g.under_served]
        + [f"region:{r.region_code}" for r in regions if r.under_served]
    )
    return FairnessReport(
        scope=scope,
        program_id=program_id,
        batch_ids=batch_ids,
        as_of=now,
        local_date=on,
        eligible_population=total_pop,
        vouchers=total_vouchers,
        claims=total_vouchers - total_wins,
        wins=total_wins,
        redemptions=total_redeemed,
        groups=tuple(groups),
        regions=tuple(regions),
        gini_regions=round(coefficient, 6),
        under_served_ratio=float(UNDER_SERVED_RATIO),
        flags=flags,
    )
