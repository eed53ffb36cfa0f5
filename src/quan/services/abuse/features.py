"""Risk features, computed by SQL aggregates and stored for the rules and the reviewer.

Per redemption (``risk_redemption_features``, written once when first seen, since what it says is
fixed at recording): the order's margin over the minimum spend, a round amount, seconds from the
claim to the redemption, and the k-th redemption of its citizen at its merchant. Per merchant and
citizen of a program (``risk_actor_features``, recomputed each scan over the last
:data:`~quan.domain.abuse.LOOKBACK_DAYS`): the shares and counts the rules read, with the refused
attempts recorded in ``refusal_tallies``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Float,
    and_,
    case,
    cast,
    delete,
    exists,
    extract,
    func,
    insert,
    literal,
    select,
)

from quan.domain.abuse import (
    FAST_SECONDS,
    LOOKBACK_DAYS,
    NEAR_MIN_PERCENT,
    ROUND_FEN,
    RULES,
    Feature,
    Subject,
)
from quan.store.abuse_tables import risk_actor_features, risk_redemption_features
from quan.store.redemption_tables import redemptions
from quan.store.refusal_tables import refusal_tallies
from quan.store.voucher_tables import vouchers

Features = dict[str, dict[str, float]]  # subject id → feature → value


def _seconds_between(tx: Connection, later: Any, earlier: Any) -> Any:
    if tx.dialect.name == "postgresql":
        return cast(extract("epoch", later - earlier), BigInteger)
    return cast(func.round((func.julianday(later) - func.julianday(earlier)) * 86400), BigInteger)


def record_redemptions(tx: Connection, now: datetime, program_id: str) -> int:
    """Write the features of the program's redemptions not yet seen; answers how many."""
    r, v, f = redemptions.c, vouchers.c, risk_redemption_features.c
    earlier = redemptions.alias("earlier")
    e = earlier.c
    pair_seq = (
        select(func.count())
        .where(
            e.program_id == r.program_id,
            e.citizen_id == r.citizen_id,
            e.merchant_id == r.merchant_id,
            e.id <= r.id,
        )
        .scalar_subquery()
    )
    near_min = case(
        (
            and_(
                r.min_spend_fen > 0,
                r.order_amount_fen * 100 <= r.min_spend_fen * (100 + NEAR_MIN_PERCENT),
            ),
            1,
        ),
        else_=0,
    )
    rows = (
        select(
            r.id,
            r.program_id,
            r.merchant_id,
            r.citizen_id,
            r.recorded_at,
            r.order_amount_fen,
            r.min_spend_fen,
            near_min,
            case((r.order_amount_fen % ROUND_FEN == 0, 1), else_=0),
            _seconds_between(tx, r.redeemed_at, v.claimed_at),
            pair_seq,
            literal(now, risk_redemption_features.c.computed_at.type),
        )
        .select_from(redemptions.join(vouchers, v.id == r.voucher_id))
        .where(
            r.program_id == program_id,
            r.recorded_at >= now - timedelta(days=LOOKBACK_DAYS),
            ~exists().where(f.redemption_id == r.id),
        )
    )
    columns = [
        "redemption_id", "program_id", "merchant_id", "citizen_id", "recorded_at",
        "order_amount_fen", "min_spend_fen", "near_min_spend", "round_amount", "claim_seconds",
        "pair_seq", "computed_at",
    ]  # fmt: skip
    result = tx.execute(insert(risk_redemption_features).from_select(columns, rows))
    return max(result.rowcount or 0, 0)


def _share(flag: Any) -> Any:
    return func.avg(cast(flag, Float))


def _aggregate(tx: Connection, now: datetime, program_id: str, by: Any, other: Any) -> Features:
    f, r = risk_redemption_features.c, redemptions.c
    fast = case((f.claim_seconds < FAST_SECONDS, 1), else_=0)
    rows = tx.execute(
        select(
            by,
            func.count(),
            func.count(other.distinct()),
            _share(f.near_min_spend),
            _share(f.round_amount),
            _share(fast),
            func.max(f.pair_seq),
        )
        .select_from(risk_redemption_features.join(redemptions, r.id == f.redemption_id))
        .where(
            f.program_id == program_id,
            r.status == "redeemed",
            f.recorded_at >= now - timedelta(days=LOOKBACK_DAYS),
        )
        .group_by(by)
    ).all()
    distinct = Feature.CITIZENS if by is f.merchant_id else Feature.MERCHANTS
    out: Features = {}
    for subject_id, n, others, near, round_, fast_share, max_pair in rows:
        out[subject_id] = {
            Feature.REDEMPTIONS.value: float(n),
            distinct.value: float(others),
            Feature.NEAR_MIN_SHARE.value: float(near or 0),
            Feature.ROUND_SHARE.value: float(round_ or 0),
            Feature.FAST_SHARE.value: float(fast_share or 0),
            Feature.MAX_PAIR.value: float(max_pair or 0),
        }
    return out


def _refusals(tx: Connection, now: datetime, program_id: str, action: str) -> dict[str, float]:
    """Refused attempts per merchant (redemptions) or citizen (claims), from the tallies."""
    t = refusal_tallies.c
    key = t.merchant_id if action == "redeem" else t.subject
    found: dict[str, float] = defaultdict(float)
    for subject, n in tx.execute(
        select(key, func.sum(t.count))
        .where(
            t.action == action,
            t.program_id == program_id,
            t.minute >= now - timedelta(days=LOOKBACK_DAYS),
            key != "",
        )
        .group_by(key)
    ):
        if action == "claim":
            if not subject.startswith("citizen:"):
                continue
            subject = subject.removeprefix("citizen:")
        found[subject] += float(n)
    return found


def compute(tx: Connection, now: datetime, program_id: str) -> dict[Subject, Features]:
    """Record new redemptions' features, then recompute and store every actor's."""
    record_redemptions(tx, now, program_id)
    f = risk_redemption_features.c
    merchants = _aggregate(tx, now, program_id, f.merchant_id, f.citizen_id)
    citizens = _aggregate(tx, now, program_id, f.citizen_id, f.merchant_id)
    for merchant_id, n in _refusals(tx, now, program_id, "redeem").items():
        merchants.setdefault(merchant_id, {Feature.REDEMPTIONS.value: 0.0})
        merchants[merchant_id][Feature.REFUSED_REDEEMS.value] = n
    for citizen_id, n in _refusals(tx, now, program_id, "claim").items():
        citizens.setdefault(citizen_id, {Feature.REDEMPTIONS.value: 0.0})
        citizens[citizen_id][Feature.REFUSED_CLAIMS.value] = n
    # Most citizens redeem once or twice: no rule can fire on them, so their rows are not kept
    # (a program of a million residents would otherwise rewrite millions of rows each scan).
    least = min(
        (r.min_redemptions for r in RULES if r.subject is Subject.CITIZEN and r.min_redemptions),
        default=0,
    )
    citizens = {
        k: v
        for k, v in citizens.items()
        if v[Feature.REDEMPTIONS.value] >= least or Feature.REFUSED_CLAIMS.value in v
    }
    found = {Subject.MERCHANT: merchants, Subject.CITIZEN: citizens}
    tx.execute(delete(risk_actor_features).where(risk_actor_features.c.program_id == program_id))
    rows = [
        {
            "program_id": program_id,
            "subject_type": subject.value,
            "subject_id": subject_id,
            "feature": name,
            "value": value,
            "computed_at": now,
        }
        for subject, by_id in found.items()
        for subject_id, values in by_id.items()
        for name, value in values.items()
    ]
    if rows:
        tx.execute(insert(risk_actor_features), rows)
    return found


def stored(tx: Connection, program_id: str, subject: Subject, subject_id: str) -> dict[str, float]:
    """The features last computed for one actor (the case page shows them)."""
    a = risk_actor_features.c
    return {
        name: float(value)
        for name, value in tx.execute(
            select(a.feature, a.value)
            .where(
                a.program_id == program_id,
                a.subject_type == subject.value,
                a.subject_id == subject_id,
            )
            .order_by(a.feature)
        )
    }
