"""The war room's top line: environment, estate, incident clock and severity."""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget


def format_clock(elapsed: timedelta) -> str:
    """``T+00:05:10`` (or ``T-00:01:00`` before the incident began)."""
    seconds = int(elapsed.total_seconds())
    sign = "+" if seconds >= 0 else "-"
    seconds = abs(seconds)
    return f"T{sign}{seconds // 3600:02d}:{(seconds % 3600) // 60:02d}:{seconds % 60:02d}"


class IncidentHeader(Widget):
    """One line, always visible: what estate this is and how long the incident has run.

    The clock lives in its own small widget so a once-a-second update repaints
    one line, not the board.
    """

    DEFAULT_CSS = """
    IncidentHeader {
        dock: top;
        height: 1;
        background: $panel;
        color: $text;
    }
    """

    environment: reactive[str] = reactive("production")
    """Environment name from config or scenario."""
    estate: reactive[str] = reactive("")
    """``SIM bad-deploy x10`` or ``LIVE`` (plus ``READ-ONLY``)."""
    now: reactive[datetime | None] = reactive(None)
    """The estate's current time."""
    elapsed: reactive[timedelta] = reactive(timedelta(0))
    """Time since the incident clock started."""
    severity: reactive[str] = reactive("not set")
    """The incident severity as set by the engineer."""
    incident: reactive[str] = reactive("")
    """The incident ID (what ``cockpit resume`` and ``cockpit export`` take)."""
    recording: reactive[str] = reactive("")
    """``NOT RECORDING`` when the journal cannot be written; empty while it can."""

    def render(self) -> Text:
        # Most important first: a narrow terminal cuts from the right.
        text = Text(no_wrap=True, overflow="ellipsis")
        if self.recording:
            text.append(f" !! {self.recording} !! ", "bold reverse blink")
        text.append(f" {self.environment.upper()} ", "bold reverse")
        text.append(" SEV ")
        text.append(self.severity, "bold")
        text.append(f" │ {format_clock(self.elapsed)} ", "bold")
        if self.now is not None:
            text.append(f"{self.now:%H:%M:%S}Z ", "dim")
        text.append(f"│ {self.estate} │ ")
        text.append(self.incident or "Rollback Cockpit")
        return text
