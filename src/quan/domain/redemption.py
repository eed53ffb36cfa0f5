"""The redemption rule evaluator (核销规则): may this voucher pay for this order, and how much?

Pure: it takes plain facts — the voucher and its type, the program, the merchant, the order, what
the same order already used, the holder's redemptions today, blacklist entries — and returns an
:class:`Applied` (discount and what the customer pays, in int fen) or a :class:`Refusal` naming the
failing rule with structured fields (``BELOW_MIN_SPEND`` with ``min_spend_fen``, ``OUT_OF_SCOPE``
with ``rule="category"``...). The service loads the facts under a row lock and writes the outcome;
the terminal library applies the subset it can check offline.

Rules run in a fixed order (:data:`RULES`), so one order always gets the same answer:

1. ``voucher_status`` — claimed (bound to a holder), not redeemed, not expired, not deactivated;
2. ``program_status`` — the program is active;
3. ``merchant_status`` — approved, of the program's issuer, not blacklisted;
4. ``holder_blacklist`` — the voucher's holder is not blacklisted;
5. ``validity`` — within ``[valid_from, valid_until)``;
6. ``usage_window`` — weekday, hours and excluded dates, read in the program's time zone;
7. ``category`` and ``scene`` — allowed by the voucher type and served by the merchant;
8. ``merchant_scope`` — all merchants, a region list, or an explicit merchant list;
9. ``stacking`` — at most ``max_per_order`` vouchers in one order, all on the same order amount;
10. ``min_spend`` — the order reaches the minimum spend of every voucher stacked on it;
11. ``daily_cap`` — the holder's redemptions today stay under the program's daily cap;
12. the discount: fixed (面额, at most what is left to pay) or percent (floor, at most ``cap_fen``).

Refusal tree (codes): ``VOUCHER_NOT_CLAIMED`` · ``ALREADY_REDEEMED`` · ``VOUCHER_EXPIRED`` ·
``VOUCHER_NOT_YET_VALID`` · ``VOUCHER_DEACTIVATED`` · ``PROGRAM_NOT_ACTIVE`` ·
``MERCHANT_NOT_APPROVED`` · ``BLACKLISTED`` (merchant) · ``VOUCHER_HOLDER_BLACKLISTED`` ·
``OUTSIDE_USAGE_WINDOW`` · ``OUT_OF_SCOPE`` · ``MAX_PER_ORDER_EXCEEDED`` ·
``ORDER_AMOUNT_MISMATCH`` · ``BELOW_MIN_SPEND`` · ``DAILY_CAP_REACHED`` · ``ZERO_DISCOUNT``.
"""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from quan.domain.batches import PROGRAM_NOT_ACTIVE
from quan.domain.blacklist import BLACKLISTED
from quan.domain.merchants import MERCHANT_NOT_APPROVED, MerchantStatus, region_within
from quan.domain.programs import ProgramStatus
from quan.domain.redemption_situation import (
    ACTIVE,
    ALREADY_REDEEMED,
    BELOW_MIN_SPEND,
    DAILY_CAP_REACHED,
    EXPIRED,
    MAX_PER_ORDER_EXCEEDED,
    ORDER_AMOUNT_MISMATCH,
    OUT_OF_SCOPE,
    OUTSIDE_USAGE_WINDOW,
    REDEEMED,
    VOUCHER_DEACTIVATED,
    VOUCHER_EXPIRED,
    VOUCHER_HOLDER_BLACKLISTED,
    VOUCHER_NOT_CLAIMED,
    VOUCHER_NOT_YET_VALID,
    ZERO_DISCOUNT,
    Applied,
    Refusal,
    Situation,
    _iso,
)
from quan.domain.voucher_types import Discount, DiscountKind, ScopeKind

Rule = Callable[[Situation], Refusal | None]


def voucher_status(s: Situation) -> Refusal | None:
    v = s.voucher
    if v.status == REDEEMED:
        return Refusal(ALREADY_REDEEMED, {"rule": "voucher_status", "voucher_id": v.id})
    if v.status == EXPIRED:
        return Refusal(
            VOUCHER_EXPIRED, {"rule": "voucher_status", "valid_until": _iso(v.valid_until)}
        )
    if v.status != ACTIVE or v.holder_id is None:
        # Unclaimed stock and recycled rows have no holder: a code is only spendable once it is
        # bound to a citizen (the owner binding every voucher requires).
        return Refusal(VOUCHER_NOT_CLAIMED, {"rule": "owner", "voucher_status": v.status})
    if v.deactivated:
        return Refusal(VOUCHER_DEACTIVATED, {"rule": "voucher_status"})
    return None


def program_status(s: Situation) -> Refusal | None:
    if s.program.status is not ProgramStatus.ACTIVE:
        return Refusal(
            PROGRAM_NOT_ACTIVE, {"rule": "program_status", "program_status": s.program.status.value}
        )
    return None


def merchant_status(s: Situation) -> Refusal | None:
    m = s.merchant
    if m.status is not MerchantStatus.APPROVED:
        return Refusal(
            MERCHANT_NOT_APPROVED, {"rule": "merchant_status", "merchant_status": m.status.value}
        )
    if m.issuer_id != s.program.issuer_id:
        # A merchant joins one issuer's scheme and accepts that issuer's programs only.
        return Refusal(OUT_OF_SCOPE, {"rule": "issuer", "program_id": s.program.id})
    if s.merchant_block is not None:
        until = _iso(s.merchant_block.ends_at)
        return Refusal(
            BLACKLISTED,
            {"rule": "merchant_blacklist", "entry_id": s.merchant_block.id, "until": until},
        )
    return None


def holder_blacklist(s: Situation) -> Refusal | None:
    if s.holder_block is not None:
        return Refusal(
            VOUCHER_HOLDER_BLACKLISTED,
            {"rule": "holder_blacklist", "until": _iso(s.holder_block.ends_at)},
        )
    return None


def validity(s: Situation) -> Refusal | None:
    v, at = s.voucher, s.order.at
    if v.valid_from is not None and at < v.valid_from:
        return Refusal(
            VOUCHER_NOT_YET_VALID, {"rule": "validity", "valid_from": _iso(v.valid_from)}
        )
    if v.valid_until is not None and at >= v.valid_until:
        return Refusal(VOUCHER_EXPIRED, {"rule": "validity", "valid_until": _iso(v.valid_until)})
    return None


def usage_window(s: Situation) -> Refusal | None:
    usage = s.voucher.spec.usage
    local = s.order.at.astimezone(ZoneInfo(s.program.timezone))
    if local.date() in usage.excluded_dates:
        return Refusal(
            OUTSIDE_USAGE_WINDOW, {"rule": "excluded_date", "date": local.date().isoformat()}
        )
    if local.isoweekday() not in usage.weekdays:
        return Refusal(
            OUTSIDE_USAGE_WINDOW,
            {"rule": "weekday", "weekday": local.isoweekday(), "weekdays": list(usage.weekdays)},
        )
    minute = local.hour * 60 + local.minute
    if usage.hours and not any(w.start_minute <= minute < w.end_minute for w in usage.hours):
        return Refusal(
            OUTSIDE_USAGE_WINDOW,
            {
                "rule": "hours",
                "local_time": f"{local.hour:02d}:{local.minute:02d}",
                "hours": [str(w) for w in usage.hours],
            },
        )
    return None


def category(s: Situation) -> Refusal | None:
    wanted, allowed = s.order.category, s.voucher.spec.categories
    if wanted not in allowed:
        return Refusal(
            OUT_OF_SCOPE, {"rule": "category", "category": wanted, "allowed": list(allowed)}
        )
    if wanted not in s.merchant.categories:
        return Refusal(OUT_OF_SCOPE, {"rule": "merchant_category", "category": wanted})
    return None


def scene(s: Situation) -> Refusal | None:
    wanted, allowed = s.order.scene, s.voucher.spec.scenes
    if wanted not in allowed:
        return Refusal(
            OUT_OF_SCOPE,
            {"rule": "scene", "scene": wanted.value, "allowed": [x.value for x in allowed]},
        )
    if wanted not in s.merchant.scenes:
        return Refusal(OUT_OF_SCOPE, {"rule": "merchant_scene", "scene": wanted.value})
    return None


def merchant_scope(s: Situation) -> Refusal | None:
    scope, m = s.voucher.spec.scope, s.merchant
    if scope.kind is ScopeKind.REGIONS and not any(
        region_within(m.region_code, r) for r in scope.region_codes
    ):
        return Refusal(
            OUT_OF_SCOPE,
            {"rule": "region", "region_code": m.region_code, "allowed": list(scope.region_codes)},
        )
    if scope.kind is ScopeKind.MERCHANTS and m.id not in scope.merchant_ids:
        return Refusal(OUT_OF_SCOPE, {"rule": "merchant", "merchant_id": m.id})
    return None


def stacking(s: Situation) -> Refusal | None:
    so_far, amount = s.so_far, s.order.amount_fen
    if so_far.count == 0:
        return None
    if so_far.order_amount_fen is not None and so_far.order_amount_fen != amount:
        return Refusal(
            ORDER_AMOUNT_MISMATCH,
            {"rule": "stacking", "expected_order_amount_fen": so_far.order_amount_fen},
        )
    limit = s.voucher.spec.max_per_order
    if so_far.max_per_order is not None:
        limit = min(limit, so_far.max_per_order)
    if so_far.count + 1 > limit:
        return Refusal(MAX_PER_ORDER_EXCEEDED, {"rule": "stacking", "max_per_order": limit})
    return None


def min_spend(s: Situation) -> Refusal | None:
    # Stacked vouchers each need their own threshold: two "spend 100, 30 off" need 200.
    needed = s.so_far.min_spend_fen + s.voucher.spec.discount.min_spend_fen
    if s.order.amount_fen < needed:
        return Refusal(
            BELOW_MIN_SPEND,
            {"rule": "min_spend", "min_spend_fen": needed, "order_amount_fen": s.order.amount_fen},
        )
    return None


def daily_cap(s: Situation) -> Refusal | None:
    if s.daily_cap is not None and s.used_today >= s.daily_cap:
        return Refusal(DAILY_CAP_REACHED, {"rule": "daily_cap", "daily_cap": s.daily_cap})
    return None


RULES: tuple[Rule, ...] = (
    voucher_status,
    program_status,
    merchant_status,
    holder_blacklist,
    validity,
    usage_window,
    category,
    scene,
    merchant_scope,
    stacking,
    min_spend,
    daily_cap,
)


def discount_fen(d: Discount, order_amount_fen: int, already_discounted_fen: int) -> int:
    """What the voucher takes off: never more than is left to pay on the order.

    Percent discounts round down to the fen, so the program never pays a fraction more than the
    rule says; the cap bounds them. A fixed voucher without a minimum spend on a small order
    pays only the order (the rest of its face value stays in the batch reserve).
    """
    left = max(order_amount_fen - already_discounted_fen, 0)
    if d.kind is DiscountKind.FIXED:
        assert d.face_value_fen is not None
        return min(d.face_value_fen, left)
    assert d.percent_off is not None
    assert d.cap_fen is not None
    return min(order_amount_fen * d.percent_off // 100, d.cap_fen, left)


def evaluate(s: Situation) -> Applied | Refusal:
    """Every rule in order; the first that fails is the answer."""
    for rule in RULES:
        refusal = rule(s)
        if refusal is not None:
            return refusal
    off = discount_fen(s.voucher.spec.discount, s.order.amount_fen, s.so_far.discount_fen)
    if off <= 0:
        return Refusal(ZERO_DISCOUNT, {"rule": "discount"})
    pays = s.order.amount_fen - s.so_far.discount_fen - off
    return Applied(discount_fen=off, customer_pays_fen=pays, order_seq=s.so_far.next_seq)


def check(s: Situation) -> Applied:
    """:func:`evaluate`, raising the refusal as a :class:`QuanError`."""
    outcome = evaluate(s)
    if isinstance(outcome, Refusal):
        raise outcome.error()
    return outcome
