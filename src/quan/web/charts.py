"""Charts as server-rendered SVG: no chart library, no script, readable without colour.

Each function returns an SVG element (as safe markup) with a ``<title>`` and ``<desc>`` for
screen readers; the pages print the same figures in a table under each chart. Coordinates are
in a fixed view box that scales to the width of the screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH = 640
HEIGHT = 240
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 88, 28, 12, 40


@dataclass(frozen=True, slots=True)
class Point:
    label: str  # shown under the axis (a day, a category)
    value: int


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    points: Sequence[Point]
    alt: bool = False  # the second series: red and dashed, so it differs without colour too


def _nice_max(value: int) -> int:
    """A round axis maximum at or above ``value`` (1, 2, 5 × 10ⁿ)."""
    if value <= 0:
        return 1
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step >= value:
                return m * step
        step *= 10


def _frame(
    title: str, desc: str, body: list[str], height: int = HEIGHT, css: str = "chart"
) -> Markup:
    return Markup(  # noqa: S704 - every value in it was escaped above
        f'<svg class="{css}" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        f"<desc>{escape(desc)}</desc>{''.join(body)}</svg>"
    )


def _axis(top: int, fmt: str) -> list[str]:
    """The y axis with its maximum and zero; the x axis line."""
    base = HEIGHT - PAD_BOTTOM
    return [
        f'<line class="axis" x1="{PAD_LEFT}" y1="{PAD_TOP}" x2="{PAD_LEFT}" y2="{base}"/>',
        f'<line class="axis" x1="{PAD_LEFT}" y1="{base}" x2="{WIDTH - PAD_RIGHT}" y2="{base}"/>',
        f'<text x="{PAD_LEFT - 6}" y="{PAD_TOP + 10}" text-anchor="end">'
        f"{escape(fmt.format(top))}</text>",
        f'<text x="{PAD_LEFT - 6}" y="{base}" text-anchor="end">0</text>',
    ]


def _labels(labels: Sequence[str], xs: Sequence[float]) -> list[str]:
    """At most about eight labels under the x axis, evenly picked, so they never overlap."""
    if not labels:
        return []
    every = max(1, -(-len(labels) // 8))
    out = []
    for i in range(0, len(labels), every):
        out.append(
            f'<text x="{xs[i]:.1f}" y="{HEIGHT - PAD_BOTTOM + 16}" text-anchor="middle">'
            f"{escape(labels[i])}</text>"
        )
    return out


def bar_chart(title: str, points: Sequence[Point], *, fmt: str = "{:,}") -> Markup:
    """Vertical bars, one per point (claims per day, say)."""
    top = _nice_max(max((p.value for p in points), default=0))
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    n = max(len(points), 1)
    slot = plot_w / n
    bar_w = max(min(slot * 0.7, 48), 1)
    body = _axis(top, fmt)
    xs = []
    for i, p in enumerate(points):
        h = plot_h * p.value / top
        x = PAD_LEFT + slot * i + (slot - bar_w) / 2
        xs.append(x + bar_w / 2)
        body.append(
            f'<rect class="bar" x="{x:.1f}" y="{HEIGHT - PAD_BOTTOM - h:.1f}" '
            f'width="{bar_w:.1f}" height="{h:.1f}"><title>{escape(p.label)}: '
            f"{escape(fmt.format(p.value))}</title></rect>"
        )
    body += _labels([p.label for p in points], xs)
    desc = "; ".join(f"{p.label}: {fmt.format(p.value)}" for p in points)
    return _frame(title, desc, body)


def line_chart(title: str, series: Sequence[Series], *, fmt: str = "{:,}") -> Markup:
    """Lines over shared x labels (cumulative budget burn against funding, say)."""
    values = [p.value for s in series for p in s.points]
    top = _nice_max(max(values, default=0))
    labels = [p.label for p in series[0].points] if series else []
    n = len(labels)
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    xs = [PAD_LEFT + (plot_w * i / (n - 1) if n > 1 else plot_w / 2) for i in range(n)]
    body = _axis(top, fmt)
    for s in series:
        coords = " ".join(
            f"{xs[i]:.1f},{HEIGHT - PAD_BOTTOM - plot_h * p.value / top:.1f}"
            for i, p in enumerate(s.points)
        )
        css = "line alt" if s.alt else "line"
        body.append(f'<polyline class="{css}" points="{coords}"><title>{escape(s.name)}</title>'
                    "</polyline>")
    body += _labels(labels, xs)
    desc = "; ".join(
        f"{s.name}: " + ", ".join(f"{p.label} {fmt.format(p.value)}" for p in s.points)
        for s in series
    )
    return _frame(title, desc, body)


def share_bar(title: str, parts: Sequence[tuple[str, int, str]]) -> Markup:
    """One horizontal bar split into named parts ``(name, value, swatch colour class)``: where
    a program's money is (available, reserved, payable, paid, returned)."""
    total = sum(v for _, v, _ in parts)
    colours = {"blue": "#0b4fb3", "red": "#a4161a", "green": "#1b6b2f", "grey": "#8a8f98",
               "amber": "#b36b00"}
    height = 36
    body = []
    x = 0.0
    for name, value, colour in parts:
        if total <= 0 or value <= 0:
            continue
        w = WIDTH * value / total
        body.append(
            f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="{height}" '
            f'fill="{colours.get(colour, "#8a8f98")}"><title>{escape(name)}</title></rect>'
        )
        x += w
    if not body:
        body.append(f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#e5e7eb"/>')
    desc = "; ".join(f"{name}: {value}" for name, value, _ in parts)
    return _frame(title, desc, body, height=height, css="chart share")


def horizontal_bars(title: str, points: Sequence[Point], *, fmt: str = "{:,}") -> Markup:
    """One bar per category or region, longest first, labels on the left."""
    row = 26
    label_w = 200
    height = max(row * len(points), row) + 8
    top = max((p.value for p in points), default=0) or 1
    body = []
    for i, p in enumerate(points):
        y = 4 + i * row
        w = (WIDTH - label_w - 90) * p.value / top
        body.append(
            f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end">{escape(p.label)}</text>'
            f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 8}"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 17}">{escape(fmt.format(p.value))}</text>'
        )
    desc = "; ".join(f"{p.label}: {fmt.format(p.value)}" for p in points)
    return _frame(title, desc, body, height=height)
