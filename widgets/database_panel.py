"""Database health as the procedures look at it."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from cockpit.domain import DatabaseSnapshot
from widgets.source_panel import SourcePanel


class DatabasePanel(SourcePanel):
    """Connections, connection errors, replication lag, longest transaction, blocked locks."""

    PANEL_TITLE = "Database"

    def compose(self) -> ComposeResult:
        yield Static("", id="db-body")

    def show_snapshot(self, snapshot: object) -> None:
        assert isinstance(snapshot, DatabaseSnapshot)
        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True, style="dim")
        grid.add_column()
        states = ", ".join(f"{state} {count}" for state, count in snapshot.connections_by_state)
        conn = Text(f"{snapshot.connections_used}/{snapshot.connections_max} "
                    f"({snapshot.connections_pct:.0f}%)")
        if snapshot.connections_pct > 90:
            conn.append(" NEAR LIMIT", "bold red")
        grid.add_row("connections", conn)
        grid.add_row("by state", Text(states, overflow="ellipsis", no_wrap=True))
        errors = Text(f"{snapshot.connection_error_pct:.1f}%")
        errors.append(" OVER 25%" if snapshot.connection_error_pct > 25 else " (limit 25%)",
                      "bold red" if snapshot.connection_error_pct > 25 else "dim")
        grid.add_row("conn errors", errors)
        lag = "n/a" if snapshot.replication_lag_s is None else f"{snapshot.replication_lag_s:.2f}s"
        grid.add_row("repl lag", lag)
        grid.add_row("longest tx", f"{snapshot.longest_transaction_s:.1f}s")
        locks = Text(str(snapshot.blocked_locks), "bold red" if snapshot.blocked_locks else "")
        grid.add_row("blocked locks", locks)
        self.set_class(snapshot.connection_error_pct > 25, "-breach")
        self.query_one("#db-body", Static).update(grid)
