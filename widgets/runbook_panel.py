"""The runbook pane (frame): where the checklist of the open runbook lives."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static


class RunbookPanel(Vertical):
    """Holds the open runbook's checklist; until one is opened, says how to open one."""

    DEFAULT_CSS = """
    RunbookPanel {
        border: round $primary-darken-1;
        border-title-style: bold;
        padding: 0 1;
        height: 1fr;
    }
    """

    def compose(self) -> ComposeResult:
        yield Static("No runbook open.", id="runbook-empty")

    def on_mount(self) -> None:
        self.border_title = "Runbook"
