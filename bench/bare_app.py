"""The baseline of the terminal figures: a bare Textual app that redraws one sparkline and
one table cell a second (``python bench/bare_app.py``), what any Textual dashboard costs."""

from __future__ import annotations

import random

from textual.app import App, ComposeResult
from textual.widgets import DataTable, Footer, Header, Sparkline


class Bare(App[None]):
    """A header, a sparkline, a small table and a footer; one new point a second."""

    BINDINGS = [("q", "quit", "Quit")]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Sparkline([random.random() for _ in range(60)], id="spark")
        yield DataTable(id="table")
        yield Footer()

    def on_mount(self) -> None:
        table: DataTable[str] = self.query_one(DataTable)
        table.add_column("name", key="name")
        table.add_column("value", key="value")
        for n in range(10):
            table.add_row(f"row {n}", "0", key=str(n))
        self.rng = random.Random(7)
        self.set_interval(1.0, self.tick)

    def tick(self) -> None:
        spark = self.query_one(Sparkline)
        spark.data = [*list(spark.data or [])[1:], self.rng.random()]
        self.query_one(DataTable).update_cell("3", "value", f"{self.rng.random():.3f}")


if __name__ == "__main__":
    Bare().run()
