"""Medians and percentiles over the short runs a figure is made of (the machine is noisy)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else math.nan


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` in 0–100) of unsorted ``values``."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return float(ordered[min(rank, len(ordered)) - 1])


def medians(runs: Sequence[dict[str, float]]) -> dict[str, float]:
    """Per figure, the median over the runs that have it."""
    names: list[str] = []
    for run in runs:
        names.extend(name for name in run if name not in names)
    return {name: median([run[name] for run in runs if name in run]) for name in names}


def ratio(value: float | None, ceiling: float | None) -> float | None:
    if value is None or ceiling is None or ceiling <= 0 or math.isnan(value):
        return None
    return value / ceiling
