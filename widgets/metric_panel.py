"""A metric panel: current value, the procedures' threshold, and a 30-minute sparkline."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from cockpit.domain import MetricsSnapshot, Series
from widgets.source_panel import SourcePanel

BARS = " ▁▂▃▄▅▆▇█"


class Spark(Widget):
    """Bars of the last 30 minutes, scaled from zero so the threshold means the same height."""

    DEFAULT_CSS = """
    Spark { height: 1fr; min-height: 1; width: 1fr; }
    Spark > .spark--over { color: $error; }
    Spark > .spark--under { color: $success; }
    """
    COMPONENT_CLASSES = {"spark--over", "spark--under"}

    values: reactive[tuple[float, ...]] = reactive(tuple)
    """The points, oldest first."""
    threshold: reactive[float] = reactive(0.0)
    """Values strictly above this are drawn with the over style."""

    def render(self) -> Text:
        width, height = self.size.width, self.size.height
        if not self.values or width <= 0 or height <= 0:
            return Text("no data yet")
        values = list(self.values)
        buckets: list[float] = []
        for column in range(width):
            lo = column * len(values) // width
            hi = max(lo + 1, (column + 1) * len(values) // width)
            buckets.append(max(values[lo:hi]))
        top = max(max(buckets), self.threshold * 1.25) or 1.0
        over = self.get_component_rich_style("spark--over")
        under = self.get_component_rich_style("spark--under")
        text = Text()
        levels = height * 8
        for row in range(height):
            if row:
                text.append("\n")
            floor = (height - 1 - row) * 8
            for value in buckets:
                level = round(value / top * levels)
                cell = min(8, max(0, level - floor))
                char = BARS[cell] if cell else (" " if row < height - 1 else "▁")
                text.append(char, over if value > self.threshold else under)
        return text


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

    def compose(self) -> ComposeResult:
        yield Static("", classes="metric-value")
        yield Spark()

    def _fmt(self, value: float) -> str:
        if self.unit == "%":
            return f"{value:.2f}%"
        return f"{value:,.0f} {self.unit}"

    def show_snapshot(self, snapshot: object) -> None:
        assert isinstance(snapshot, MetricsSnapshot)
        series: Series = getattr(snapshot, self.metric)
        spark = self.query_one(Spark)
        spark.threshold = self.threshold
        spark.values = tuple(series.values)
        value = series.latest
        line = Text()
        if value is None:
            line.append("no data", "dim")
        else:
            breach = value > self.threshold
            line.append(self._fmt(value), "bold")
            if breach:
                line.append(f"  ▲ OVER {self._fmt(self.threshold)}", "bold red")
            else:
                line.append(f"  ok (limit {self._fmt(self.threshold)})", "green")
            line.append(f" · {self.sustain}", "dim")
            self.set_class(breach, "-breach")
        self.query_one(".metric-value", Static).update(line)
