"""Redis: ping latency and the procedures' keys."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.content import Content

from cockpit.domain import CacheSnapshot
from widgets.lines import Lines
from widgets.source_panel import SourcePanel, label_rows


class CachePanel(SourcePanel):
    """Ping latency, maintenance mode, rate limiting and active users."""

    PANEL_TITLE = "Cache"

    def compose(self) -> ComposeResult:
        yield Lines(id="cache-body")

    def show_snapshot(self, snapshot: object) -> None:
        assert isinstance(snapshot, CacheSnapshot)
        rows: list[tuple[str, Content | str]] = [("ping", f"{snapshot.ping_ms:.2f} ms")]
        for key, value in snapshot.keys:
            shown = Content.styled("(unset)", "dim") if value is None else Content(value)
            if key == "maintenance_mode" and value == "true":
                shown = Content.styled("true  MAINTENANCE ON", "bold $warning")
            rows.append((key, shown))
        self.query_one("#cache-body", Lines).show_rows(label_rows(rows))
