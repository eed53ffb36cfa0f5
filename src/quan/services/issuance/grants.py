"""Targeted grants (定向发放): vouchers of a ``grant`` batch to a segment or a list of citizens.

* The segment is an eligibility rule over citizens' attributes (the same rule language as a
  batch's eligibility); a list is citizen ids. Either way the batch's own eligibility also
  applies, blacklisted citizens are skipped, and so are unknown ids.
* Once per batch: citizens already holding a voucher of the batch are left out in SQL
  (``NOT EXISTS``), so re-running a grant issues nothing twice; a grant racing another one for
  the same citizen fails on the unique ``(batch_id, citizen_id, claim_seq)`` and rolls back whole.
* Vouchers are taken from the batch's pre-generated rows through
:mod:`quan.services.issuance.issuing`
  (never more than the batch holds); who is left over is reported as ``unserved``.
* Set-based, for a million citizens in seconds: the segment and the batch's eligibility are
  compiled to SQL (:func:`rule_sql`; a predicate with no SQL form would be checked in Python).
  On PostgreSQL a segment is chosen, given its vouchers and logged by one statement
  (:meth:`Issuance.assign_selected`): the recipients never travel to Python and the batch's
  vouchers are joined to them once, not once per slice. A list, a residual predicate, or
  SQLite: citizens are streamed by pages of one query, each page issued with a few statements.
* Grants run while the batch is open, without regard to the claim window (an operator act).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Select, and_, exists, false, not_, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from quan.domain.auth import Actor
from quan.domain.batches import GENERAL, Allocation, BatchStatus
from quan.domain.citizens import (
    ELDERLY_AGE,
    CitizenProfile,
    IncomeGroup,
    PriorityGroup,
    local_date,
    priority_groups,
)
from quan.domain.claims import BATCH_NOT_OPEN, WRONG_ALLOCATION, Channel
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
    holds,
)
from quan.domain.eligibility_json import parse_rule
from quan.domain.errors import Kind, QuanError, define
from quan.services.issuance.batches import visible_batch
from quan.services.issuance.issued_rows import Recipient
from quan.services.issuance.issuing import Issuance
from quan.services.people import blacklist
from quan.services.people.citizens import profile_of
from quan.store.citizen_tables import blacklist_entries, citizens
from quan.store.events import record_event
from quan.store.tables import programs
from quan.store.voucher_tables import vouchers

INVALID_GRANT = define(
    "INVALID_GRANT",
    Kind.INVALID,
    zh="定向发放须指定人群条件或居民名单（二选一）",
    en="A grant needs exactly one of a segment or a list of citizen ids ({reason})",
)

_CHUNK = 5000
# Citizens read per round of a segment grant (a page of the cursor), then issued in one go.
SEGMENT_PAGE = 50_000


@dataclass(frozen=True, slots=True)
class GrantReport:
    batch_id: str
    targeted: int
    issued: int
    already_granted: int
    skipped: int
    unserved: int


def rule_sql(rule: Rule, today: date) -> tuple[ColumnElement[bool] | None, Rule | None]:
    """Split ``rule`` into a SQL condition on ``citizens`` and what SQL cannot say.

    Answers ``(condition, residual)``: a citizen satisfies ``rule`` iff the condition holds (None:
    no condition) and the residual holds in Python (None: nothing left). ``all`` splits by its
    members; any other node goes whole to one side. Every predicate of the rule language today
    compiles (ages become birth-date bounds for ``today``), so the residual is for predicates
    added later.
    """
    if isinstance(rule, All):
        conditions: list[ColumnElement[bool]] = []
        residual: list[Rule] = []
        for sub in rule.rules:
            condition, rest = rule_sql(sub, today)
            if condition is not None:
                conditions.append(condition)
            if rest is not None:
                residual.append(rest)
        return (
            and_(*conditions) if conditions else None,
            All(tuple(residual)) if residual else None,
        )
    condition = _whole_sql(rule, today)
    return (condition, None) if condition is not None else (None, rule)


def _whole_sql(rule: Rule, today: date) -> ColumnElement[bool] | None:
    """The SQL condition equivalent to ``rule``, or None when some part has none."""
    c = citizens.c
    match rule:
        case All(rules) | AnyOf(rules):
            parts = [_whole_sql(sub, today) for sub in rules]
            if any(p is None for p in parts):
                return None
            kept = [p for p in parts if p is not None]
            if isinstance(rule, All):
                return and_(true(), *kept)
            return or_(false(), *kept)
        case Not(inner):
            part = _whole_sql(inner, today)
            return None if part is None else not_(part)
        case RegionIn(codes):
            return or_(*(c.region_code.startswith(_region_prefix(code)) for code in codes))
        case AgeBetween(low, high):
            conditions: list[ColumnElement[bool]] = []
            if low is not None and low > 0:
                conditions.append(c.birth_date <= _born_by(today, low))
            if high is not None:
                conditions.append(c.birth_date > _born_by(today, high + 1))
            return and_(true(), *conditions)
        case IncomeGroupIn(groups):
            return c.income_group.in_([g.value for g in groups])
        case Disabled(value):
            return c.disabled.is_(true()) if value else c.disabled.is_(false())
        case PriorityGroupIn(groups):
            alternatives: list[ColumnElement[bool]] = []
            for group in groups:
                if group is PriorityGroup.ELDERLY:
                    alternatives.append(c.birth_date <= _born_by(today, ELDERLY_AGE))
                elif group is PriorityGroup.LOW_INCOME:
                    alternatives.append(c.income_group.in_(_LOW_INCOME_VALUES))
                elif group is PriorityGroup.DISABLED:
                    alternatives.append(c.disabled.is_(true()))
                else:
                    return None
            return or_(false(), *alternatives)
    return None


def _low_income_values() -> list[str]:
    """The income groups that make a citizen a member of the low-income priority group (as
    :func:`quan.domain.citizens.priority_groups` decides)."""
    day = date(2000, 1, 1)
    return [
        g.value
        for g in IncomeGroup
        if PriorityGroup.LOW_INCOME
        in priority_groups(CitizenProfile(day, "110000", g, False, None), day)
    ]


_LOW_INCOME_VALUES = _low_income_values()


def _region_prefix(code: str) -> str:
    """What :func:`quan.domain.eligibility.region_within` compares region codes with."""
    prefix = code
    while prefix.endswith("00") and len(prefix) > 2:
        prefix = prefix[:-2]
    return prefix


def _born_by(today: date, years: int) -> date:
    """The last birth date with ``age_on(birth, today) >= years`` (:func:`age_on`'s rule: the
    birthday is reached when (month, day) of today is not before the birthday's)."""
    year = today.year - years
    try:
        return today.replace(year=year)
    except ValueError:  # 29 February in a year without one: born up to 28 February
        return date(year, 2, 28)


def _candidates(
    batch_id: str, now: datetime, condition: ColumnElement[bool] | None, *, profiles: bool
) -> Select[Any]:
    """Citizens (id, and the profile when ``profiles``) meeting ``condition``, not blacklisted
    and holding no voucher of the batch."""
    c, v, e = citizens.c, vouchers.c, blacklist_entries.c
    columns = [c.id]
    if profiles:
        columns += [c.birth_date, c.region_code, c.income_group, c.disabled, c.disability_grade]
    base = select(*columns).where(
        ~exists().where(v.batch_id == batch_id, v.citizen_id == c.id),
        ~exists().where(
            e.subject_type == "citizen", e.subject_id == c.id, blacklist.in_force_at(now)
        ),
    )
    return base if condition is None else base.where(condition)


def _targets(
    tx: Connection,
    batch_id: str,
    now: datetime,
    ids: Sequence[str] | None,
    condition: ColumnElement[bool] | None,
    *,
    profiles: bool,
) -> Iterator[Sequence[Any]]:
    """:func:`_candidates` read in pages."""
    c = citizens.c
    base = _candidates(batch_id, now, condition, profiles=profiles)
    if ids is not None:
        for start in range(0, len(ids), _CHUNK):
            yield tx.execute(base.where(c.id.in_(ids[start : start + _CHUNK]))).all()
        return
    # One query (one anti-join over the batch's vouchers), read in pages through a server-side
    # cursor: re-running the query per page would scan the batch's vouchers again each time.
    result = tx.execute(
        base.order_by(c.id).execution_options(stream_results=True, yield_per=SEGMENT_PAGE)
    )
    yield from result.partitions()


def grant(
    tx: Connection,
    now: datetime,
    actor: Actor,
    batch_id: str,
    *,
    segment: Any | None = None,
    citizen_ids: Sequence[str] | None = None,
) -> GrantReport:
    """Grant one voucher each to a segment or a list, in the caller's one transaction.

    The segment and the batch's eligibility are evaluated in SQL (:func:`rule_sql`). On
    PostgreSQL a segment wholly in SQL is issued by one statement; otherwise citizens are
    streamed by pages and each page is issued at once (:class:`issuing.Issuance`).
    """
    if (segment is None) == (citizen_ids is None):
        raise QuanError(INVALID_GRANT, reason="segment_xor_list")
    rule: Rule | None = parse_rule(segment) if segment is not None else None
    batch = visible_batch(tx, actor, batch_id)
    if batch.allocation is not Allocation.GRANT:
        raise QuanError(WRONG_ALLOCATION, allocation=batch.allocation.value)
    if batch.status is not BatchStatus.OPEN:
        raise QuanError(BATCH_NOT_OPEN, batch_status=batch.status.value)
    tz = tx.execute(select(programs.c.timezone).where(programs.c.id == batch.program_id)).scalar()
    today = local_date(now, tz) if tz else local_date(now)
    whole = All((rule, batch.eligibility)) if rule is not None else batch.eligibility
    condition, residual = rule_sql(whole, today)
    ids = sorted(set(citizen_ids)) if citizen_ids is not None else None
    issuance = Issuance.start(tx, now, actor, batch_id, Channel.GRANT)
    if ids is None and residual is None and tx.dialect.name == "postgresql":
        # The whole segment in one statement: chosen, given and logged inside the database.
        chosen, issued = issuance.assign_selected(
            GENERAL, _candidates(batch_id, now, condition, profiles=False)
        )
        unserved = chosen - issued
    else:
        chosen_ids: set[str] = set()
        chosen, issued, unserved = _grant_by_pages(
            tx, issuance, now, ids, condition, residual, today, chosen_ids
        )
    if ids is not None:
        # Accounted from sets, not counts, so that a grant racing this one cannot make a citizen
        # count twice: whoever holds a voucher now and not from this grant is "already granted"
        # (also one this grant chose while the other served them first); whoever was chosen and
        # holds nothing is "unserved"; the rest were never eligible ("skipped").
        targeted = len(ids)
        held = _holding(tx, batch_id, ids)
        already = len(held) - issued
        unserved = len(chosen_ids - held)
        skipped = targeted - len(chosen_ids | held)
    else:
        targeted = chosen
        already = 0
        skipped = 0
    result = GrantReport(
        batch_id=batch_id,
        targeted=targeted,
        issued=issued,
        already_granted=already,
        skipped=skipped,
        unserved=unserved,
    )
    record_event(
        tx,
        type="batch.granted",
        actor=actor,
        subject_type="batch",
        subject_id=batch_id,
        program_id=batch.program_id,
        at=now,
        payload={
            "by": "segment" if rule is not None else "list",
            "targeted": result.targeted,
            "issued": result.issued,
            "already_granted": result.already_granted,
            "skipped": result.skipped,
            "unserved": result.unserved,
        },
    )
    return result


def _grant_by_pages(
    tx: Connection,
    issuance: Issuance,
    now: datetime,
    ids: Sequence[str] | None,
    condition: ColumnElement[bool] | None,
    residual: Rule | None,
    today: date,
    chosen_ids: set[str],
) -> tuple[int, int, int]:
    """Citizens read by pages (a list, a residual checked in Python, or SQLite), each page
    issued at once; answers ``(chosen, issued, unserved)``. For a list, the ids chosen are
    added to ``chosen_ids`` (a list is bounded by what the caller sent; a segment is not)."""
    chosen = issued = unserved = 0
    pages = _targets(tx, issuance.batch_id, now, ids, condition, profiles=residual is not None)
    for rows in pages:
        if residual is not None:
            rows = [row for row in rows if holds(residual, profile_of(row), today)]
        recipients = [Recipient(row.id) for row in rows]
        chosen += len(recipients)
        if ids is not None:
            chosen_ids.update(r.citizen_id for r in recipients)
        if not recipients:
            continue
        report = issuance.count(recipients, holding_none=True)
        issued += report.issued
        unserved += report.unserved + report.at_limit
    return chosen, issued, unserved


def _holding(tx: Connection, batch_id: str, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` hold a voucher of the batch now."""
    v = vouchers.c
    held: set[str] = set()
    for start in range(0, len(ids), _CHUNK):
        held.update(
            tx.execute(
                select(v.citizen_id)
                .where(v.batch_id == batch_id, v.citizen_id.in_(ids[start : start + _CHUNK]))
                .distinct()
            ).scalars()
        )
    return held
