"""The war room's top line: environment, estate, incident clock and severity."""

from __future__ import annotations

from datetime import datetime, timedelta

from textual.content import Content
from textual.reactive import var

from widgets.lines import Lines


def format_clock(elapsed: timedelta) -> str:
    """``T+00:05:10`` (or ``T-00:01:00`` before the incident began)."""
    seconds = int(elapsed.total_seconds())
    sign = "+" if seconds >= 0 else "-"
    seconds = abs(seconds)
    return f"T{sign}{seconds // 3600:02d}:{(seconds % 3600) // 60:02d}:{seconds % 60:02d}"


class IncidentHeader(Lines):
    """One line, always visible: what estate this is and how long the incident has run.

    Set the attributes, then call :meth:`paint`: the row is compared cell by cell with
    what is on screen, so a clock that ticks repaints the digits that changed, not the
    line (and nothing at all when the second has not changed).
    """

    DEFAULT_CSS = """
    IncidentHeader {
        dock: top;
        height: 1;
        background: $panel;
        color: $text;
    }
    """

    environment: var[str] = var("production")
    """Environment name from config or scenario."""
    estate: var[str] = var("")
    """``SIM bad-deploy x10`` or ``LIVE`` (plus ``READ-ONLY``)."""
    now: var[datetime | None] = var(None)
    """The estate's current time."""
    elapsed: var[timedelta] = var(timedelta(0))
    """Time since the incident clock started."""
    severity: var[str] = var("not set")
    """The incident severity as set by the engineer."""
    incident: var[str] = var("")
    """The incident ID (what ``cockpit resume`` and ``cockpit export`` take)."""
    recording: var[str] = var("")
    """``NOT RECORDING`` when the journal cannot be written; empty while it can."""

    def on_mount(self) -> None:
        self.paint()

    def paint(self) -> bool:
        """Show the attributes; True when a cell changed."""
        # Most important first: a narrow terminal cuts from the right.
        parts: list[str | tuple[str, str]] = []
        if self.recording:
            parts.append((f" !! {self.recording} !! ", "bold reverse"))
        parts += [(f" {self.environment.upper()} ", "bold reverse"), " SEV ",
                  (self.severity, "bold"), (f" │ {format_clock(self.elapsed)} ", "bold")]
        if self.now is not None:
            parts.append((f"{self.now:%H:%M:%S}Z ", "dim"))
        parts += [f"│ {self.estate} │ ", self.incident or "Rollback Cockpit"]
        return self.show_rows([Content.assemble(*parts)])
