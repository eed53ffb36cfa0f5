"""The dashboard's log scale: a series a thousand times smaller than the other still shows."""

from __future__ import annotations

import re

from quan.web.charts import HEIGHT, PAD_BOTTOM, Point, Series, line_chart


def _heights(svg: str) -> list[list[float]]:
    """Each polyline's heights above the x axis."""
    lines = re.findall(r'<polyline class="[^"]*" points="([^"]*)"', svg)
    return [[HEIGHT - PAD_BOTTOM - float(p.split(",")[1]) for p in line.split()] for line in lines]


def test_a_small_series_is_flat_on_a_linear_scale_and_visible_on_a_log_scale() -> None:
    big = Series("funded", [Point("d1", 1_000_000), Point("d2", 1_000_000)])
    small = Series("committed", [Point("d1", 0), Point("d2", 1_000)], alt=True)
    linear = _heights(str(line_chart("t", [big, small])))
    log = _heights(str(line_chart("t", [big, small], log=True)))
    assert linear[1][1] < 1  # under a pixel: invisible
    assert log[1][1] > 80  # half the plot's height
    assert log[1][0] == 0  # zero stays on the axis
    assert log[0][0] > log[1][1]  # and the order of the values is kept
    assert str(line_chart("t", [big, small], log=True)).count('class="grid"') == 5  # 10 … 10⁵
