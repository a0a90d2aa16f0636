"""Health endpoints: each endpoint's status, in words and codes, and the failing share."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from cockpit.domain import HealthSnapshot
from widgets.source_panel import SourcePanel


class HealthPanel(SourcePanel):
    """One line per health endpoint: OK/FAIL, HTTP status and latency."""

    PANEL_TITLE = "Endpoints"

    def compose(self) -> ComposeResult:
        yield Static("", id="health-body")

    def show_snapshot(self, snapshot: object) -> None:
        assert isinstance(snapshot, HealthSnapshot)
        table = Table.grid(padding=(0, 1), expand=True)
        table.add_column(ratio=2, no_wrap=True)
        table.add_column(width=4, no_wrap=True)
        table.add_column(width=3, no_wrap=True)
        table.add_column(justify="right", no_wrap=True)
        for endpoint in snapshot.endpoints:
            marker = Text("OK", "green") if endpoint.ok else Text("FAIL", "bold red")
            latency = f"{endpoint.latency_ms:.0f}ms" if endpoint.latency_ms is not None else "-"
            table.add_row(endpoint.name, marker, str(endpoint.status_code or "-"), latency)
        failing = sum(1 for e in snapshot.endpoints if not e.ok)
        summary = Text(f"{failing}/{len(snapshot.endpoints)} failing "
                       f"({snapshot.failing_pct:.0f}%; rollback at > 50%)",
                       "bold red" if snapshot.failing_pct > 50 else "dim")
        table.add_row(summary)
        self.set_class(snapshot.failing_pct > 50, "-breach")
        self.query_one("#health-body", Static).update(table)
