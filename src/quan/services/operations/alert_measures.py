"""What alert rules measure: Quan's own figures, each computed by one aggregate query.

A measure is a function ``(tx, scope, params, cut) -> samples``: the value of a figure for each
label set (a merchant, a citizen, a job …) in the rule's program or, for the platform's measures,
overall. Grouped measures put the rule's comparison in SQL (``HAVING``), so a program with a
million citizens returns only those over the line, and every measure reads an index range (a
time window, a program's active vouchers) rather than a program's rows.

Rates are per minute over ``window_minutes``; shares are fractions (0.3 = 30 %).

**Several rules, one read.** A program has several rules on one measure (the built-in one and
an operator's copies with other windows or thresholds). :func:`measure_many` measures all of a
program's rules on a measure that has a ``shared`` form in one query: one range scan over the
widest window counts each label set in every rule's window at once (``HAVING`` any rule's line),
and one pass over the program's active vouchers sums every rule's horizon. Each rule's samples
are exactly what its own query would give; the evaluation cost no longer grows with the number
of rules on a measure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, Connection, and_, case, func, or_, select

from quan.domain.ledger import Budget
from quan.services.delivery.status import queue_summary
from quan.services.operations.alert_scope import (
    Asked,
    Cut,
    Measure,
    Sample,
    Scope,
)
from quan.store import ledger
from quan.store.log_tables import log_queue
from quan.store.merchant_tables import merchants
from quan.store.redemption_tables import redemptions
from quan.store.refusal_tables import refusal_tallies
from quan.store.tables import events, job_runs
from quan.store.voucher_tables import batches, status_is, vouchers


def _window(scope: Scope, params: Mapping[str, Any]) -> tuple[datetime, int]:
    minutes = max(int(params.get("window_minutes", 10)), 1)
    return scope.now - timedelta(minutes=minutes), minutes


def _grouped(
    tx: Connection, key: ColumnElement[Any], value: ColumnElement[Any], where: list[Any],
    cut: Cut, label: str, scale: float = 1.0,
) -> list[Sample]:  # fmt: skip
    query = select(key, value).where(*where).group_by(key).having(cut.sql(value * scale))
    return [Sample(((label, str(k)),), float(v) * scale) for k, v in tx.execute(query)]


def _grouped_windows(
    tx: Connection, key: ColumnElement[Any], at: ColumnElement[Any], where: list[Any],
    scope: Scope, asked: Sequence[Asked], label: str, per_minute: bool,
) -> list[list[Sample]]:  # fmt: skip
    """:func:`_grouped` for several windows in one range scan over the widest: per key, the
    count in each rule's window; the keys over at least one rule's line."""
    windows = [_window(scope, params) for params, _ in asked]
    scales = [1.0 / minutes if per_minute else 1.0 for _, minutes in windows]
    counts = [func.sum(case((at >= since, 1), else_=0)) for since, _ in windows]
    query = (
        select(key, *counts)
        .where(*where, at >= min(since for since, _ in windows))
        .group_by(key)
        .having(
            or_(
                *(
                    and_(c > 0, cut.sql(c * k))  # alone, a key shows only with rows in its window
                    for c, k, (_, cut) in zip(counts, scales, asked, strict=True)
                )
            )
        )
    )
    out: list[list[Sample]] = [[] for _ in asked]
    for row in tx.execute(query):
        for i, ((_, cut), k) in enumerate(zip(asked, scales, strict=True)):
            count = int(row[i + 1] or 0)
            value = count * k
            if count > 0 and cut.holds(value):
                out[i].append(Sample(((label, str(row[0])),), value))
    return out


def refusals_per_merchant(
    tx: Connection, scope: Scope, params: Mapping[str, Any], cut: Cut
) -> list[Sample]:
    """Refused redemptions at a merchant of the program's issuer per minute (``code``: which
    refusal, by default ``OUT_OF_SCOPE``). Redemption refusals name the merchant, not the
    program: a merchant of the issuer is one that may serve the program."""
    since, minutes = _window(scope, params)
    t = refusal_tallies.c
    own = select(merchants.c.id).where(merchants.c.issuer_id == scope.issuer_id)
    where = [
        t.minute >= since.replace(second=0, microsecond=0),
        t.action == "redeem",
        t.code == str(params.get("code", "OUT_OF_SCOPE")),
        t.merchant_id.in_(own),
        or_(t.program_id == scope.program_id, t.program_id == ""),
    ]
    return _grouped(tx, t.merchant_id, func.sum(t.count), where, cut, "merchant_id", 1.0 / minutes)


def claims_per_citizen(
    tx: Connection, scope: Scope, params: Mapping[str, Any], cut: Cut
) -> list[Sample]:
    """Vouchers of the program a citizen claimed within the window."""
    since, _ = _window(scope, params)
    v = vouchers.c
    where = [v.program_id == scope.program_id, v.claimed_at >= since]
    return _grouped(tx, v.citizen_id, func.count(), where, cut, "citizen_id")


def redemptions_per_citizen(
    tx: Connection, scope: Scope, params: Mapping[str, Any], cut: Cut
) -> list[Sample]:
    """Redemptions of the program's vouchers held by one citizen within the window."""
    since, _ = _window(scope, params)
    r = redemptions.c
    where = [r.program_id == scope.program_id, r.recorded_at >= since]
    return _grouped(tx, r.citizen_id, func.count(), where, cut, "citizen_id")


def claims_per_citizen_shared(
    tx: Connection, scope: Scope, asked: Sequence[Asked]
) -> list[list[Sample]]:
    v = vouchers.c
    where = [v.program_id == scope.program_id]
    return _grouped_windows(tx, v.citizen_id, v.claimed_at, where, scope, asked, "citizen_id",
                            per_minute=False)  # fmt: skip


def redemptions_per_citizen_shared(
    tx: Connection, scope: Scope, asked: Sequence[Asked]
) -> list[list[Sample]]:
    r = redemptions.c
    where = [r.program_id == scope.program_id]
    return _grouped_windows(tx, r.citizen_id, r.recorded_at, where, scope, asked, "citizen_id",
                            per_minute=False)  # fmt: skip


def redemptions_per_merchant_shared(
    tx: Connection, scope: Scope, asked: Sequence[Asked]
) -> list[list[Sample]]:
    r = redemptions.c
    where = [r.program_id == scope.program_id]
    return _grouped_windows(tx, r.merchant_id, r.recorded_at, where, scope, asked, "merchant_id",
                            per_minute=True)  # fmt: skip


def redemptions_per_merchant(
    tx: Connection, scope: Scope, params: Mapping[str, Any], cut: Cut
) -> list[Sample]:
    """Redemptions of the program's vouchers at one merchant per minute over the window."""
    since, minutes = _window(scope, params)
    r = redemptions.c
    where = [r.program_id == scope.program_id, r.recorded_at >= since]
    return _grouped(tx, r.merchant_id, func.count(), where, cut, "merchant_id", 1.0 / minutes)


def merchant_rise(
    tx: Connection, scope: Scope, params: Mapping[str, Any], cut: Cut
) -> list[Sample]:
    """A merchant's redemptions in the window against its own baseline: the window's count
    divided by what the previous ``baseline_days`` averaged per window (at least one), for
    merchants with at least ``min_count`` redemptions in the window."""
    since, minutes = _window(scope, params)
    days = max(int(params.get("baseline_days", 7)), 1)
    min_count = int(params.get("min_count", 20))
    r = redemptions.c
    recent: dict[str, int] = dict(
        tx.execute(
            select(r.merchant_id, func.count())
            .where(r.program_id == scope.program_id, r.recorded_at >= since)
            .group_by(r.merchant_id)
            .having(func.count() >= min_count)
        ).all()
    )
    if not recent:
        return []
    start = since - timedelta(days=days)
    before: dict[str, int] = dict(
        tx.execute(
            select(r.merchant_id, func.count())
            .where(
                r.program_id == scope.program_id,
                r.recorded_at >= start,
                r.recorded_at < since,
                r.merchant_id.in_(list(recent)),
            )
            .group_by(r.merchant_id)
        ).all()
    )
    windows = days * 24 * 60 / minutes
    out = []
    for merchant_id, count in recent.items():
        expected = max(before.get(merchant_id, 0) / windows, 1.0)
        value = count / expected
        if cut.holds(value):
            out.append(Sample((("merchant_id", merchant_id),), value))
    return out


def outstanding_expiring_share(
    tx: Connection, scope: Scope, params: Mapping[str, Any], cut: Cut
) -> list[Sample]:
    """Of the value of the program's active (claimed, unused) vouchers, the share whose
    validity ends within ``days`` — money that will lapse unless people are reminded. Read
    per batch from the active-vouchers index, priced by the batch's voucher value."""
    horizon = scope.now + timedelta(days=int(params.get("days", 7)))
    v = vouchers.c
    soon = func.sum(case((v.valid_until <= horizon, 1), else_=0))
    rows = tx.execute(
        select(batches.c.unit_fen, func.count(), soon)
        .select_from(vouchers.join(batches, batches.c.id == v.batch_id))
        .where(v.program_id == scope.program_id, status_is("active"))
        .group_by(v.batch_id, batches.c.unit_fen)
    ).all()
    total = sum(int(unit) * int(n) for unit, n, _ in rows)
    expiring = sum(int(unit) * int(s or 0) for unit, _, s in rows)
    if total == 0:
        return []
    return [Sample((), expiring / total)]


def outstanding_expiring_share_shared(
    tx: Connection, scope: Scope, asked: Sequence[Asked]
) -> list[list[Sample]]:
    """:func:`outstanding_expiring_share` for several horizons in one pass over the program's
    active vouchers."""
    horizons = sorted({int(params.get("days", 7)) for params, _ in asked})
    v = vouchers.c
    soon = [
        func.sum(case((v.valid_until <= scope.now + timedelta(days=d), 1), else_=0))
        for d in horizons
    ]
    rows = tx.execute(
        select(batches.c.unit_fen, func.count(), *soon)
        .select_from(vouchers.join(batches, batches.c.id == v.batch_id))
        .where(v.program_id == scope.program_id, status_is("active"))
        .group_by(v.batch_id, batches.c.unit_fen)
    ).all()
    total = sum(int(row[0]) * int(row[1]) for row in rows)
    if total == 0:
        return [[] for _ in asked]
    share = {
        d: sum(int(row[0]) * int(row[2 + i] or 0) for row in rows) / total
        for i, d in enumerate(horizons)
    }
    return [[Sample((), share[int(params.get("days", 7))])] for params, _ in asked]


def budget_burn_ahead(
    tx: Connection, scope: Scope, params: Mapping[str, Any], cut: Cut
) -> list[Sample]:
    """How far the money redeemed runs ahead of the calendar: the share of the funded budget
    redeemed (payable and paid) less the share of the program's period gone (0.2: twenty
    points ahead of an even pace)."""
    if scope.program_id is None or scope.starts_at is None or scope.ends_at is None:
        return []
    b: Budget = ledger.budget(tx, scope.program_id)
    if b.funded_fen <= 0:
        return []
    period = (scope.ends_at - scope.starts_at).total_seconds()
    gone = min(max((scope.now - scope.starts_at).total_seconds() / period, 0.0), 1.0)
    return [Sample((), (b.payable_fen + b.paid_fen) / b.funded_fen - gone)]


def outbox_oldest_due_seconds(
    tx: Connection, scope: Scope, params: Mapping[str, Any], cut: Cut
) -> list[Sample]:
    """How long the longest-waiting due outbox message has waited (0: none)."""
    return [Sample((), queue_summary(tx, scope.now).oldest_due_seconds)]


def sequencer_lag_seconds(
    tx: Connection, scope: Scope, params: Mapping[str, Any], cut: Cut
) -> list[Sample]:
    """Age of the oldest event not yet appended to the transparency log (0: none waiting)."""
    oldest = tx.execute(
        select(func.min(events.c.occurred_at)).select_from(
            log_queue.join(events, events.c.id == log_queue.c.event_id)
        )
    ).scalar()
    return [Sample((), max((scope.now - oldest).total_seconds(), 0.0) if oldest else 0.0)]


def job_overdue_seconds(
    tx: Connection, scope: Scope, params: Mapping[str, Any], cut: Cut
) -> list[Sample]:
    """Per job that has ever run: how long past its interval it has gone without a success."""
    j = job_runs.c
    out = []
    for name, interval, success, started in tx.execute(
        select(j.name, j.interval_seconds, j.last_success_at, j.last_started_at)
    ):
        since = success or started
        if since is None:
            continue
        value = max((scope.now - since).total_seconds() - float(interval or 0), 0.0)
        if cut.holds(value):
            out.append(Sample((("job", name),), value))
    return out


MEASURES: Final[dict[str, Measure]] = {
    m.name: m
    for m in (
        Measure("refusals_per_merchant", refusals_per_merchant, True, "per_minute"),
        Measure("claims_per_citizen", claims_per_citizen, True, "count", claims_per_citizen_shared),
        Measure(
            "redemptions_per_citizen",
            redemptions_per_citizen,
            True,
            "count",
            redemptions_per_citizen_shared,
        ),
        Measure(
            "redemptions_per_merchant",
            redemptions_per_merchant,
            True,
            "per_minute",
            redemptions_per_merchant_shared,
        ),
        Measure("merchant_rise", merchant_rise, True, "ratio"),
        Measure(
            "outstanding_expiring_share",
            outstanding_expiring_share,
            True,
            "share",
            outstanding_expiring_share_shared,
        ),
        Measure("budget_burn_ahead", budget_burn_ahead, True, "share"),
        Measure("outbox_oldest_due_seconds", outbox_oldest_due_seconds, False, "seconds"),
        Measure("sequencer_lag_seconds", sequencer_lag_seconds, False, "seconds"),
        Measure("job_overdue_seconds", job_overdue_seconds, False, "seconds"),
    )
}


def measure(tx: Connection, name: str, scope: Scope, params: Mapping[str, Any], cut: Cut) -> list[
    Sample
]:  # fmt: skip
    """The samples of ``name`` that meet ``cut`` (those the rule is about)."""
    samples = MEASURES[name].fn(tx, scope, params, cut)
    return [s for s in samples if cut.holds(s.value)]


def measure_many(
    tx: Connection, name: str, scope: Scope, asked: Sequence[Asked]
) -> list[list[Sample]]:
    """For each (params, cut) asked of ``name`` in one scope, the samples that meet the cut:
    one shared read where the measure has one, else one read per rule."""
    m = MEASURES[name]
    if m.shared is None or len(asked) == 1:
        return [measure(tx, name, scope, params, cut) for params, cut in asked]
    found = m.shared(tx, scope, asked)
    return [
        [s for s in samples if cut.holds(s.value)]
        for samples, (_, cut) in zip(found, asked, strict=True)
    ]
