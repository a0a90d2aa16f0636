"""Redis: ping latency and the procedures' keys."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from cockpit.domain import CacheSnapshot
from widgets.source_panel import SourcePanel


class CachePanel(SourcePanel):
    """Ping latency, maintenance mode, rate limiting and active users."""

    PANEL_TITLE = "Cache"

    def compose(self) -> ComposeResult:
        yield Static("", id="cache-body")

    def show_snapshot(self, snapshot: object) -> None:
        assert isinstance(snapshot, CacheSnapshot)
        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True, style="dim")
        grid.add_column(no_wrap=True)
        grid.add_row("ping", f"{snapshot.ping_ms:.2f} ms")
        for key, value in snapshot.keys:
            shown = Text("(unset)", "dim") if value is None else Text(value)
            if key == "maintenance_mode" and value == "true":
                shown = Text("true  MAINTENANCE ON", "bold yellow")
            grid.add_row(key, shown)
        self.query_one("#cache-body", Static).update(grid)
