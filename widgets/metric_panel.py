"""A metric panel: current value, the procedures' threshold, and a 30-minute sparkline."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from itertools import groupby

from rich.segment import Segment
from rich.style import Style
from textual.app import ComposeResult
from textual.content import Content
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

from cockpit.domain import MetricsSnapshot, Series
from widgets.lines import Lines
from widgets.source_panel import SourcePanel

BARS = " ▁▂▃▄▅▆▇█"


#: The sparkline's span: the last 30 minutes, like the metrics source's query.
WINDOW_S = 1800


def bucket(points: Sequence[tuple[datetime, float]], width: int) -> list[float]:
    """The highest value in each of ``width`` columns of the window, oldest first.

    Columns are fixed slots of time (the window over the width, aligned to the epoch),
    not shares of the list: a new point lands in the last column and leaves the others
    as they were, so only that column is drawn again until the next slot begins. A slot
    with no point repeats the one before it (a line, not a gap)."""
    if not points or width <= 0:
        return []
    slot = max(1, -(-WINDOW_S // width))
    end = int(points[-1][0].timestamp()) // slot
    first = end - width + 1
    highest: dict[int, float] = {}
    for moment, value in points:
        index = int(moment.timestamp()) // slot
        if index >= first and (index not in highest or value > highest[index]):
            highest[index] = value
    start = min(highest, default=end)
    columns: list[float] = []
    last: float | None = None
    for index in range(max(first, start), end + 1):
        last = highest.get(index, last)
        columns.append(last if last is not None else 0.0)
    return columns


class Spark(Widget):
    """Bars of the last 30 minutes, scaled from zero so the threshold means the same height.

    Drawn with the Line API: each row is one run of text per colour, and a new point
    repaints only the columns whose bars changed."""

    DEFAULT_CSS = """
    Spark { height: 1fr; min-height: 1; width: 1fr; }
    Spark > .spark--over { color: $error; }
    Spark > .spark--under { color: $success; }
    """
    COMPONENT_CLASSES = {"spark--over", "spark--under"}

    def __init__(self) -> None:
        super().__init__()
        self._points: tuple[tuple[datetime, float], ...] = ()
        self._threshold = 0.0
        self._grid: list[list[tuple[str, bool]]] = []
        self._grid_size = Size(0, 0)
        self._styles: tuple[Style, Style, Style] | None = None
        self.refreshes = 0
        """How many times new points asked for a repaint (what tests watch)."""

    @property
    def values(self) -> tuple[float, ...]:
        """The points' values, oldest first."""
        return tuple(value for _, value in self._points)

    def show(self, points: Sequence[tuple[datetime, float]], threshold: float) -> bool:
        """Draw ``points`` against ``threshold``; repaints only the columns that changed."""
        points = tuple(points)
        if points == self._points and threshold == self._threshold:
            return False
        self._points, self._threshold = points, threshold
        before = self._grid
        self._grid = self._layout(self.size)
        if not self.is_mounted or self.size != self._grid_size or len(before) != len(self._grid):
            self._grid_size = self.size
            self.refreshes += 1
            self.refresh()
            return True
        regions = []
        for y, (old, new) in enumerate(zip(before, self._grid, strict=True)):
            changed = [x for x, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]
            if changed:
                regions.append(Region(changed[0], y, changed[-1] - changed[0] + 1, 1))
        if not regions:
            return False
        self.refreshes += 1
        self.refresh(*regions)
        return True

    def _layout(self, size: Size) -> list[list[tuple[str, bool]]]:
        """Each row's cells, top row first: (bar character, over the threshold)."""
        width, height = size
        columns = bucket(self._points, width)
        if not columns or height <= 0:
            return []
        limit = self._threshold if math.isfinite(self._threshold) else 0.0  # inf: no limit
        top = max(max(columns), limit * 1.25) or 1.0
        levels = height * 8
        pad = [(" ", False)] * (width - len(columns))
        grid = []
        for row in range(height):
            floor = (height - 1 - row) * 8
            cells = []
            for value in columns:
                cell = min(8, max(0, round(value / top * levels) - floor))
                char = BARS[cell] if cell else (" " if row < height - 1 else "▁")
                cells.append((char, value > self._threshold))
            grid.append(pad + cells)
        return grid

    def on_resize(self) -> None:
        self._grid = self._layout(self.size)
        self._grid_size = self.size

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if self._grid_size != self.size:
            self._grid = self._layout(self.size)
            self._grid_size = self.size
        if self._styles is None:
            base = self.rich_style
            self._styles = (base, base + self.get_component_rich_style("spark--over"),
                            base + self.get_component_rich_style("spark--under"))
        base, over, under = self._styles
        if not self._grid:
            text = "no data yet" if y == 0 else ""
            return Strip([Segment(text.ljust(width)[:width], base)], width)
        segments = []
        for is_over, run in groupby(self._grid[y], key=lambda cell: cell[1]):
            segments.append(Segment("".join(char for char, _ in run), over if is_over else under))
        return Strip(segments, width)


class MetricPanel(SourcePanel):
    """One metric from the metrics source, against the procedures' threshold."""

    DEFAULT_CSS = """
    MetricPanel { height: 6; }
    MetricPanel > .metric-value { height: 1; }
    MetricPanel > .metric-axis { height: 1; color: $text-muted; }
    """

    def __init__(self, title: str, metric: str, threshold: float, unit: str,
                 sustain: str, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.PANEL_TITLE = title
        self.metric = metric
        self.threshold = threshold
        self.unit = unit
        self.sustain = sustain

    def set_threshold(self, threshold: float, sustain: str) -> None:
        """Show the value against ``threshold`` with the rule ``sustain`` (the policy's:
        ``rollback if > 3% for 2m``); what is on screen is drawn again against it."""
        if (threshold, sustain) == (self.threshold, self.sustain):
            return
        self.threshold, self.sustain = threshold, sustain
        if self.is_mounted and isinstance(self._shown, MetricsSnapshot):
            self.show_snapshot(self._shown)

    def compose(self) -> ComposeResult:
        yield Lines(["no data"], classes="metric-value")
        yield Spark()

    def _fmt(self, value: float) -> str:
        if self.unit == "%":
            return f"{value:.2f}%"
        return f"{value:,.0f} {self.unit}"

    def show_snapshot(self, snapshot: object) -> None:
        assert isinstance(snapshot, MetricsSnapshot)
        series: Series = getattr(snapshot, self.metric)
        self.query_one(Spark).show(series.points, self.threshold)
        value = series.latest
        if value is None:
            line = Content.styled("no data", "dim")
        else:
            breach = value > self.threshold
            if breach:
                verdict = (f"  ▲ OVER {self._fmt(self.threshold)}", "bold $error")
            elif not math.isfinite(self.threshold):  # no trigger watches this metric
                verdict = ("  (no limit)", "dim")
            else:
                verdict = (f"  ok (limit {self._fmt(self.threshold)})", "$success")
            line = Content.assemble((self._fmt(value), "bold"), verdict,
                                    (f" · {self.sustain}", "dim"))
            self.set_class(breach, "-breach")
        self.query_one(".metric-value", Lines).show_rows([line])
