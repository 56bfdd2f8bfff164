"""Bar charts drawn on the server as SVG: no script, no build step, crisp in print and at any
width. This module computes the geometry; `templates/unbilled/_chart.html` writes the SVG
(escaping every text) beside a table of the same numbers, for screen readers and for
anybody who would rather read the figures.

Colours come from classes (`charts.css`), never inline styles (the content security policy),
and each series is also told apart by a pattern-free shape of its own (solid or outlined),
so a black-and-white print keeps them apart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

WIDTH = 640
LABEL_ROOM = 200  # left margin of horizontal bar charts, for names (22 characters)
AXIS_ROOM = 54  # left margin of column charts, for the scale
TOP = 12
BOTTOM = 40
COLUMN_HEIGHT = 220
ROW_HEIGHT = 26


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    css: str  # "a" | "b": the series' colour class
    values: Sequence[float]


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str  # "Week of 05.10.2026, client calls: 3 h 20 min"


@dataclass(frozen=True, slots=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "middle"


@dataclass(slots=True)
class Chart:
    """A chart's geometry in its own coordinates (the SVG's viewBox)."""

    id: str
    title: str
    description: str
    width: int
    height: int
    bars: list[Bar] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    grid: list[tuple[float, float, float, float]] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)  # (css, name)

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width} {self.height}"


def _scale(largest: float) -> tuple[float, list[float]]:
    """A round top of the scale above `largest`, and its ticks."""
    if largest <= 0:
        return 1.0, [0.0, 1.0]
    magnitude = 10 ** (len(str(int(largest))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        top = step * magnitude
        while top < largest:
            top += step * magnitude
        if top / (step * magnitude) <= 5:
            ticks = [step * magnitude * i for i in range(int(top / (step * magnitude)) + 1)]
            return float(top), ticks
    return float(largest), [0.0, float(largest)]  # pragma: no cover - the loop always returns


def columns(
    chart_id: str,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[Series],
    text: Callable[[float], str],
    every: int = 1,
) -> Chart:
    """Vertical bars, one group per category (weeks, hours), one bar per series; only every
    `every`-th category is labelled, so labels stay readable on a phone."""
    height = TOP + COLUMN_HEIGHT + BOTTOM
    chart = Chart(chart_id, title, description, WIDTH, height)
    chart.legend = [(s.css, s.name) for s in series]
    largest = max((v for s in series for v in s.values), default=0)
    top, ticks = _scale(largest)
    left, right = AXIS_ROOM, WIDTH - 8
    base = TOP + COLUMN_HEIGHT
    for tick in ticks:
        y = base - COLUMN_HEIGHT * tick / top
        chart.grid.append((left, y, right, y))
        chart.labels.append(Label(left - 6, y + 4, text(tick), "end"))
    slot = (right - left) / max(1, len(categories))
    bar_width = slot * 0.8 / max(1, len(series))
    for index, category in enumerate(categories):
        x0 = left + slot * index + slot * 0.1
        for number, one in enumerate(series):
            value = one.values[index]
            bar_height = COLUMN_HEIGHT * value / top
            chart.bars.append(
                Bar(
                    round(x0 + bar_width * number, 2),
                    round(base - bar_height, 2),
                    round(bar_width, 2),
                    round(bar_height, 2),
                    one.css,
                    f"{category}, {one.name}: {text(value)}",
                )
            )
        if index % every == 0:
            chart.labels.append(Label(round(left + slot * (index + 0.5), 2), base + 18, category))
    return chart


def rows(
    chart_id: str,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[Series],
    text: Callable[[float], str],
) -> Chart:
    """Horizontal bars, one row per category (users, callers): long names fit on a phone."""
    group = ROW_HEIGHT * max(1, len(series)) + 8
    height = TOP + group * max(1, len(categories)) + 8
    chart = Chart(chart_id, title, description, WIDTH, height)
    chart.legend = [(s.css, s.name) for s in series]
    largest = max((v for s in series for v in s.values), default=0)
    top, _ = _scale(largest)
    left, right = LABEL_ROOM, WIDTH - 90  # room for the value after the bar
    for index, category in enumerate(categories):
        y0 = TOP + group * index
        chart.labels.append(Label(left - 8, y0 + group / 2, _short(category), "end"))
        for number, one in enumerate(series):
            value = one.values[index]
            width = (right - left) * value / top
            y = y0 + ROW_HEIGHT * number
            chart.bars.append(
                Bar(left, y, round(width, 2), ROW_HEIGHT - 6, one.css, f"{category}, {one.name}")
            )
            chart.labels.append(Label(round(left + width + 6, 2), y + 15, text(value), "start"))
    return chart


def _short(name: str, limit: int = 22) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"
