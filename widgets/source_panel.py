"""A bordered panel fed by one data source, showing its freshness or STALE state."""

from __future__ import annotations

import time
from collections.abc import Sequence

from textual.containers import Vertical
from textual.content import Content

from cockpit.sources.base import SourceStatus


def coarse_age(seconds: float | None) -> str:
    """``<1m``, ``3m``, ``1h02m``: an age that changes at most once a minute (a border
    redrawn every second for a ticking age costs the whole panel's bytes)."""
    if seconds is None:
        return "never"
    seconds = int(seconds)
    if seconds < 60:
        return "<1m"
    if seconds < 3600:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"


def format_age(seconds: float | None) -> str:
    """``42s``, ``3m05s``, ``1h02m`` — compact ages for borders."""
    if seconds is None:
        return "never"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"


def label_rows(rows: Sequence[tuple[str, Content | str]]) -> list[Content]:
    """``label  value`` rows with the labels (dim) in one column as wide as the longest."""
    width = max((len(label) for label, _ in rows), default=0)
    return [Content.assemble((f"{label:<{width}} ", "dim"),
                             Content(value) if isinstance(value, str) else value)
            for label, value in rows]


class SourcePanel(Vertical):
    """Base for panels that display a source's snapshot.

    The border subtitle always says where the data comes from and how fresh it
    is; a failing source keeps its last values on screen, dimmed, and says
    ``STALE`` with the age of the data and the reason, in words, not colour.

    The subtitle says the time of the data to the minute and a stale age coarsely
    (``STALE 3m``): Textual redraws the whole panel when its border changes, so a
    poll that brings the same numbers must change nothing on screen.
    """

    DEFAULT_CSS = """
    SourcePanel {
        border: round $primary-darken-1;
        border-title-color: $text;
        border-title-style: bold;
        border-subtitle-color: $text-muted;
        padding: 0 1;
        height: auto;
    }
    SourcePanel.-stale {
        border: round $error;
        border-subtitle-color: $error;
        border-subtitle-style: bold;
    }
    SourcePanel.-stale > * {
        text-opacity: 60%;
    }
    SourcePanel.-breach {
        border: heavy $error;
    }
    """

    PANEL_TITLE = "Panel"

    _latest: SourceStatus | None = None
    min_interval_s = 0.0
    """Draw new data at most this often (seconds; 0: as it comes). A low-bandwidth link
    sets it on the metric panels: their numbers change every poll."""
    _drawn_at = float("-inf")
    _pending = False
    _shown: object = None
    """The snapshot last drawn (a status that repeats it draws nothing)."""
    _subtitle_text: str | None = None

    def on_mount(self) -> None:
        self.border_title = self.PANEL_TITLE
        self._subtitle("waiting for data…")
        if self._latest is not None:  # a status that came before the panel existed
            self._draw(self._latest)

    def show_status(self, status: SourceStatus, now: float | None = None) -> None:
        """Reflect the source's state in the border and, when there is data, the body.

        Before the panel is mounted (its body does not exist yet) the status is kept and
        drawn when it mounts: a source can answer before the war room has composed."""
        self._latest = status
        if not self.is_mounted:
            return
        if self.min_interval_s and status.state == "ok":
            wait = self._drawn_at + self.min_interval_s - time.monotonic()
            if wait > 0:
                if not self._pending:  # one draw of the newest status when it is due
                    self._pending = True
                    self.set_timer(wait, self._draw_pending)
                return
            self._drawn_at = time.monotonic()
        self._draw(status, now)

    def _draw_pending(self) -> None:
        self._pending = False
        if self._latest is not None:
            self._drawn_at = time.monotonic()
            self._draw(self._latest)

    def _draw(self, status: SourceStatus, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self.set_class(status.state == "stale", "-stale")
        if status.state == "stale":
            self._subtitle(f"STALE {coarse_age(status.age(now))} · {status.reason}")
        elif status.state == "not_configured":
            self._subtitle("not configured")
        elif status.state == "waiting":
            self._subtitle("waiting for data…")
        elif status.snapshot is not None:
            self._subtitle(f"{status.label} · {status.snapshot.at:%H:%M}Z")
        if status.snapshot is not None and status.snapshot is not self._shown:
            self._shown = status.snapshot
            self.show_snapshot(status.snapshot)

    def _subtitle(self, text: str) -> None:
        # setting a border subtitle repaints the whole panel, even to the same text
        if self._subtitle_text != text:
            self._subtitle_text = text
            self.border_subtitle = text

    def show_snapshot(self, snapshot: object) -> None:
        """Render a snapshot; subclasses override."""
