"""The daily chart as inline SVG, drawn on the server: no script, no library. Only geometry
here; the numbers come from `goodword.analytics`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from goodword.analytics.activity import Day

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 28
SERIES = (  # (field, label, CSS class): told apart by dash pattern as well as colour
    ("clicks", "Clicks", "ov-clicks"),
    ("referrals", "Friends who came", "ov-referrals"),
    ("conversions", "Conversions", "ov-conversions"),
)


@dataclass(frozen=True)
class Line:
    label: str
    css: str
    points: str  # the polyline's "x,y x,y ..."
    dots: tuple[tuple[float, float], ...]  # a single day has no line: its points are dots
    total: int


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    lines: tuple[Line, ...]
    grid: tuple[tuple[float, int], ...]  # (y, value)
    ticks: tuple[tuple[float, str, str], ...]  # (x, label, text-anchor)
    left: int
    right: int
    bottom: float


def _ceiling(value: int) -> int:
    """The smallest of 2, 4, 10, 20, 40, 100... at or above `value`: even, so half is a
    whole number for the middle grid line."""
    step = 2
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def _day(d: Day) -> str:
    return f"{d.day.day} {d.day:%b}"


def daily_chart(days: Sequence[Day]) -> Chart | None:
    if not days:
        return None
    top = _ceiling(max(max(d.clicks, d.referrals, d.conversions) for d in days))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = len(days)

    def x(i: int) -> float:
        return round(LEFT + (i * plot_w / (n - 1) if n > 1 else plot_w / 2), 1)

    def y(value: int) -> float:
        return round(TOP + plot_h * (1 - value / top), 1)

    lines = []
    for field, label, css in SERIES:
        values = [int(getattr(d, field)) for d in days]
        coords = [(x(i), y(v)) for i, v in enumerate(values)]
        lines.append(
            Line(
                label=label,
                css=css,
                points=" ".join(f"{a},{b}" for a, b in coords) if n > 1 else "",
                dots=tuple(coords) if n == 1 else (),
                total=sum(values),
            )
        )
    marks = sorted({0, n // 2, n - 1})
    anchors = {0: "start", n - 1: "end"} if n > 1 else {0: "middle"}
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        lines=tuple(lines),
        grid=tuple((y(v), v) for v in (0, top // 2, top)),
        ticks=tuple((x(i), _day(days[i]), anchors.get(i, "middle")) for i in marks),
        left=LEFT,
        right=WIDTH - RIGHT,
        bottom=HEIGHT - 8,
    )


def busiest(days: Sequence[Day]) -> Day | None:
    """The day with the most clicks, friends and conversions together (the first of ties)."""
    best = max(days, key=lambda d: d.clicks + d.referrals + d.conversions, default=None)
    if best is None or not (best.clicks + best.referrals + best.conversions):
        return None
    return best


SHADES = 4  # cohort cells: levels 1 to 4 above the empty 0


def shade(value: int, top: int) -> int:
    """A cohort cell's shading level, 0 (nothing) to `SHADES` (the table's largest value):
    only a hint, the cell shows its amount as text."""
    if value <= 0 or top <= 0:
        return 0
    return max(1, min(SHADES, -(-value * SHADES // top)))
