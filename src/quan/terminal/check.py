"""Judging an order against a verified token, on the terminal, with the rules the token carries.

The same codes and fields as the server (``VOUCHER_EXPIRED``, ``OUT_OF_SCOPE`` with ``rule``,
``BELOW_MIN_SPEND`` with ``min_spend_fen``...) and the same discount arithmetic
(:func:`quan.domain.redemption.discount_fen`), so a cashier sees offline what the server would say.
Rules the token does not carry — usage hours, daily caps, stacking, blacklists, and whether the
voucher was spent elsewhere — are the server's to judge at sync.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from quan.domain.merchants import Scene, region_within
from quan.domain.offline_token import TokenClaims, tag
from quan.domain.redemption import discount_fen
from quan.domain.redemption_situation import (
    BELOW_MIN_SPEND,
    OUT_OF_SCOPE,
    VOUCHER_EXPIRED,
    VOUCHER_NOT_YET_VALID,
    ZERO_DISCOUNT,
    Refusal,
)
from quan.domain.voucher_types import ScopeKind


@dataclass(frozen=True, slots=True)
class TerminalProfile:
    """What the device knows about its merchant (from ``GET /merchants/mine`` while online)."""

    merchant_id: str
    issuer_id: str
    region_code: str
    categories: frozenset[str]
    scenes: frozenset[Scene] = frozenset({Scene.OFFLINE})


@dataclass(frozen=True, slots=True)
class Decision:
    claims: TokenClaims
    discount_fen: int = 0
    customer_pays_fen: int = 0
    refusal: Refusal | None = None

    @property
    def accepted(self) -> bool:
        return self.refusal is None


def _refuse(claims: TokenClaims, refusal: Refusal) -> Decision:
    return Decision(claims=claims, refusal=refusal)


def _scope_refusal(claims: TokenClaims, profile: TerminalProfile) -> Refusal | None:
    if claims.issuer_tag != tag(profile.issuer_id):
        return Refusal(OUT_OF_SCOPE, {"rule": "issuer"})
    if not claims.scope_listed:
        return None  # a long list: the server decides at sync
    if claims.scope_kind is ScopeKind.REGIONS and not any(
        region_within(profile.region_code, r) for r in claims.region_codes
    ):
        return Refusal(OUT_OF_SCOPE, {"rule": "region", "region_code": profile.region_code})
    if claims.scope_kind is ScopeKind.MERCHANTS and tag(profile.merchant_id) not in (
        claims.merchant_tags
    ):
        return Refusal(OUT_OF_SCOPE, {"rule": "merchant", "merchant_id": profile.merchant_id})
    return None


def _order_refusal(
    claims: TokenClaims, profile: TerminalProfile, amount_fen: int, category: str, scene: Scene
) -> Refusal | None:
    if category not in claims.categories:
        return Refusal(
            OUT_OF_SCOPE,
            {"rule": "category", "category": category, "allowed": list(claims.categories)},
        )
    if category not in profile.categories:
        return Refusal(OUT_OF_SCOPE, {"rule": "merchant_category", "category": category})
    if scene not in claims.scenes:
        return Refusal(OUT_OF_SCOPE, {"rule": "scene", "scene": scene.value})
    if scene not in profile.scenes:
        return Refusal(OUT_OF_SCOPE, {"rule": "merchant_scene", "scene": scene.value})
    if amount_fen < claims.discount.min_spend_fen:
        return Refusal(
            BELOW_MIN_SPEND,
            {
                "rule": "min_spend",
                "min_spend_fen": claims.discount.min_spend_fen,
                "order_amount_fen": amount_fen,
            },
        )
    return None


def judge(
    claims: TokenClaims,
    profile: TerminalProfile,
    *,
    amount_fen: int,
    category: str,
    scene: Scene = Scene.OFFLINE,
    now: datetime,
) -> Decision:
    """Accept (with the discount) or refuse (with the failing rule) one order paid by a token."""
    if now < claims.valid_from:
        return _refuse(
            claims,
            Refusal(
                VOUCHER_NOT_YET_VALID,
                {"rule": "validity", "valid_from": claims.valid_from.isoformat()},
            ),
        )
    if now >= claims.valid_until:
        return _refuse(
            claims,
            Refusal(
                VOUCHER_EXPIRED, {"rule": "validity", "valid_until": claims.valid_until.isoformat()}
            ),
        )
    refusal = _scope_refusal(claims, profile) or _order_refusal(
        claims, profile, amount_fen, category, scene
    )
    if refusal is not None:
        return _refuse(claims, refusal)
    off = discount_fen(claims.discount, amount_fen, 0)
    if off <= 0:
        return _refuse(claims, Refusal(ZERO_DISCOUNT, {"rule": "discount"}))
    return Decision(claims=claims, discount_fen=off, customer_pays_fen=amount_fen - off)
