"""Database health as the procedures look at it."""

from __future__ import annotations

import math

from textual.app import ComposeResult
from textual.content import Content

from cockpit.domain import DatabaseSnapshot
from widgets.lines import Lines
from widgets.source_panel import SourcePanel, label_rows


class DatabasePanel(SourcePanel):
    """Connections, connection errors, replication lag, longest transaction, blocked locks."""

    PANEL_TITLE = "Database"

    error_limit = 25.0
    """The connection-error share that fires the policy's trigger (``%``; the war room
    sets the policy's, this is the shipped one's)."""

    def set_error_limit(self, limit: float) -> None:
        """Say connection errors against ``limit`` (%); what is on screen is drawn again."""
        if limit == self.error_limit:
            return
        self.error_limit = limit
        if self.is_mounted and isinstance(self._shown, DatabaseSnapshot):
            self.show_snapshot(self._shown)

    def compose(self) -> ComposeResult:
        yield Lines(id="db-body")

    def show_snapshot(self, snapshot: object) -> None:
        assert isinstance(snapshot, DatabaseSnapshot)
        states = ", ".join(f"{state} {count}" for state, count in snapshot.connections_by_state)
        conn = Content(f"{snapshot.connections_used}/{snapshot.connections_max} "
                       f"({snapshot.connections_pct:.0f}%)")
        if snapshot.connections_pct > 90:
            conn = Content.assemble(conn, (" NEAR LIMIT", "bold $error"))
        limit = f"{self.error_limit:g}%" if math.isfinite(self.error_limit) else "none"
        over = snapshot.connection_error_pct > self.error_limit
        errors = Content.assemble(f"{snapshot.connection_error_pct:.1f}%",
                                  (f" OVER {limit}", "bold $error") if over
                                  else (f" (limit {limit})", "dim"))
        lag = "n/a" if snapshot.replication_lag_s is None else f"{snapshot.replication_lag_s:.2f}s"
        locks = Content.styled(str(snapshot.blocked_locks),
                               "bold $error" if snapshot.blocked_locks else "")
        self.set_class(over, "-breach")
        self.query_one("#db-body", Lines).show_rows(label_rows([
            ("connections", conn), ("by state", states), ("conn errors", errors),
            ("repl lag", lag), ("longest tx", f"{snapshot.longest_transaction_s:.1f}s"),
            ("blocked locks", locks)]))
