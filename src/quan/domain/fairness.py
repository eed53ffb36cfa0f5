"""Fairness arithmetic: shares, the under-served flag and the Gini coefficient (R1.6).

Pure functions over counts; :mod:`quan.services.issuance.fairness` gathers the counts with
set-based SQL.

- A group's **population share** is its eligible citizens over all eligible citizens; its
  **claim share** is the vouchers its members hold over all vouchers held.
- A group is **under-served** when its claim share is below ``UNDER_SERVED_RATIO`` (0.8) times
  its population share — the "four-fifths" rule of disparate-impact practice. Groups with no
  eligible member, or reports with no claim yet, are never flagged (there is nothing to compare).
- The **Gini coefficient** of vouchers across regions is computed on vouchers *per eligible
  resident* of each region, weighted by the region's eligible population: 0 when every region's
  residents hold vouchers at the same rate, approaching 1 when one small region holds them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

UNDER_SERVED_RATIO = Fraction(4, 5)


def share(part: int, whole: int) -> float:
    """``part / whole``, 0.0 when ``whole`` is 0."""
    return part / whole if whole else 0.0


def under_served(
    claims: int,
    total_claims: int,
    population: int,
    total_population: int,
    ratio: Fraction = UNDER_SERVED_RATIO,
) -> bool:
    """Whether claim share < ``ratio`` × population share (exact rational arithmetic)."""
    if total_claims <= 0 or total_population <= 0 or population <= 0:
        return False
    return Fraction(claims, total_claims) < ratio * Fraction(population, total_population)


def gini(values: Sequence[float], weights: Sequence[float] | None = None) -> float:
    """The (weighted) Gini coefficient of non-negative ``values``.

    ``G = Σᵢ Σⱼ wᵢ wⱼ |xᵢ − xⱼ| / (2 W² μ)`` with ``W = Σ w`` and ``μ`` the weighted mean;
    with unit weights it is the usual Gini of a list (``(n − 1) / n`` when one of ``n`` holds
    everything). Entries with zero weight are ignored; 0.0 for an empty list or a zero total.
    Computed in O(n log n) on the values sorted ascending.
    """
    if weights is None:
        weights = [1.0] * len(values)
    if len(weights) != len(values):
        raise ValueError("values and weights differ in length")
    pairs = sorted((float(x), float(w)) for x, w in zip(values, weights, strict=True) if w > 0)
    if any(x < 0 for x, _ in pairs):
        raise ValueError("gini needs non-negative values")
    total_w = sum(w for _, w in pairs)
    if total_w <= 0:
        return 0.0
    mean = sum(x * w for x, w in pairs) / total_w
    if mean <= 0:
        return 0.0
    # Σᵢ Σⱼ wᵢwⱼ|xᵢ−xⱼ| = 2 Σᵢ wᵢ (xᵢ·Wᵢ − Sᵢ) with Wᵢ, Sᵢ the weight and weighted sum below i.
    acc = 0.0
    cum_w = 0.0
    cum_xw = 0.0
    for x, w in pairs:
        acc += w * (x * cum_w - cum_xw)
        cum_w += w
        cum_xw += x * w
    return max(0.0, min(1.0, (2 * acc) / (2 * total_w * total_w * mean)))


@dataclass(frozen=True, slots=True)
class GroupFigures:
    """One row of the report: a priority group, a region, or everyone."""

    key: str
    population: int
    claims: int
    wins: int
    redemptions: int
    population_share: float
    claim_share: float
    under_served: bool


def figures(
    key: str,
    population: int,
    claims: int,
    wins: int,
    redemptions: int,
    total_population: int,
    total_claims: int,
) -> GroupFigures:
    return GroupFigures(
        key=key,
        population=population,
        claims=claims,
        wins=wins,
        redemptions=redemptions,
        population_share=round(share(population, total_population), 6),
        claim_share=round(share(claims, total_claims), 6),
        under_served=under_served(claims, total_claims, population, total_population),
    )
