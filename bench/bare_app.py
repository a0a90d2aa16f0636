"""The baseline of the terminal figures: a bare Textual app that redraws one sparkline and
one table cell a second (``python bench/bare_app.py``), what any Textual dashboard costs.

``--idle``: the same screen, never redrawn by itself (the baseline of a paused cockpit).
``k`` counts a key press in a one-line label (``key presses: N``): the baseline of
key-to-paint latency, a key answered by repainting one small widget.
"""

from __future__ import annotations

import random
import sys

from textual.app import App, ComposeResult
from textual.widgets import DataTable, Footer, Header, Sparkline, Static


class Bare(App[None]):
    """A header, a sparkline, a small table, a label and a footer; one new point a second."""

    BINDINGS = [("q", "quit", "Quit"), ("k", "press", "Count a key")]

    def __init__(self, *, tick: bool = True) -> None:
        super().__init__()
        self.ticking = tick
        self.presses = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Sparkline([random.random() for _ in range(60)], id="spark")
        yield Static("key presses: 0", id="label")
        yield DataTable(id="table")
        yield Footer()

    def on_mount(self) -> None:
        table: DataTable[str] = self.query_one(DataTable)
        table.add_column("name", key="name")
        table.add_column("value", key="value")
        for n in range(10):
            table.add_row(f"row {n}", "0", key=str(n))
        self.rng = random.Random(7)
        if self.ticking:
            self.set_interval(1.0, self.tick)

    def tick(self) -> None:
        spark = self.query_one(Sparkline)
        spark.data = [*list(spark.data or [])[1:], self.rng.random()]
        self.query_one(DataTable).update_cell("3", "value", f"{self.rng.random():.3f}")

    def action_press(self) -> None:
        self.presses += 1
        self.query_one("#label", Static).update(f"key presses: {self.presses}")


def main(argv: list[str]) -> int:
    """Run the bare app; ``--idle`` to never tick."""
    Bare(tick="--idle" not in argv).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
