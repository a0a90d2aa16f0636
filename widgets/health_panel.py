"""Health endpoints: each endpoint's status in words and codes, the failing share, and the
version each service runs (the first thing to check after a rollback).

An endpoint that gave no answer (timed out, refused) is UNKNOWN, never FAIL: the failing
share is over the endpoints that answered, and when none answered the last line says the
probe path is down (the services may be fine; the cockpit cannot see them)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.content import Content
from textual.events import Resize

from cockpit.domain import HealthSnapshot
from widgets.lines import Lines
from widgets.source_panel import SourcePanel

#: Assumed body width before the panel has been laid out (an 80-column terminal).
DEFAULT_WIDTH = 76


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def summary_line(failing: int, total: int, failing_pct: float | None,
                 versions: tuple[tuple[str, str], ...], width: int,
                 unknown: int = 0, rule: str = "rollback at > 50%") -> tuple[str, int]:
    """The panel's last line, fitted to ``width``: ``(text, length of the failing part)``.

    ``total`` counts the endpoints that answered, ``unknown`` those that did not. The
    panels' rows are budgeted (the 80x24 metrics group and the 160x48 top row are
    full), so the failing share and the versions (by service name) share one line: the
    longest of these forms that fits:
    ``1/5 failing (20%; rollback at > 50%) · versions: api 2.0.0 · frontend 3.4.1``,
    without the threshold, without the word ``versions:``, without the percentage;
    else as many whole versions as fit, then ``…``. Unknown endpoints add
    ``, 1 unknown`` to the failing part; when none answered (``failing_pct`` None) the
    failing part is ``probe path down: 0/5 answered``. ``rule`` is the policy's health
    check trigger in words (``rollback at > 50%``: the shipped policy's).
    """
    if failing_pct is None:
        full = short = shortest = f"probe path down: 0/{unknown} answered"
    else:
        extra = f", {unknown} unknown" if unknown else ""
        full = f"{failing}/{total} failing ({failing_pct:.0f}%; {rule}){extra}"
        short = f"{failing}/{total} failing ({failing_pct:.0f}%){extra}"
        shortest = f"{failing}/{total} failing{extra}"
    if not versions:
        return _cut(full, width), min(len(full), width)
    items = [f"{name} {version}" for name, version in sorted(versions)]
    listed = " · ".join(items)
    for head, tail in ((full, f"versions: {listed}"), (short, f"versions: {listed}"),
                       (short, listed), (shortest, listed)):
        if len(head) + 3 + len(tail) <= width:
            return f"{head} · {tail}", len(head)
    text = shortest
    for item in items:
        if len(text) + 3 + len(item) + 4 > width:
            break
        text += f" · {item}"
    text = _cut(f"{text} · …", width)
    return text, min(len(shortest), width)


#: Each endpoint state's word and style (the word carries the state; colour only helps).
MARKERS = {"OK": ("OK", "$success"), "FAIL": ("FAIL", "bold $error"),
           "UNKNOWN": ("UNKNOWN", "bold $warning")}


class HealthPanel(SourcePanel):
    """One line per health endpoint (OK/FAIL, HTTP status, latency), then the failing share
    and each service's version."""

    PANEL_TITLE = "Endpoints"

    threshold = 50.0
    """The failing share (%) that fires the policy's health-check trigger (the war room
    sets the policy's; this is the shipped one's)."""
    rule = "rollback at > 50%"
    """That trigger in words, on the summary line."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._snapshot: HealthSnapshot | None = None

    def set_threshold(self, threshold: float, rule: str) -> None:
        """Mark a failing share over ``threshold`` (%) as a breach and say ``rule``
        (``rollback at > 40%``); what is on screen is drawn again against it."""
        if (threshold, rule) == (self.threshold, self.rule):
            return
        self.threshold, self.rule = threshold, rule
        if self.is_mounted and self._snapshot is not None:
            self.show_snapshot(self._snapshot)

    def compose(self) -> ComposeResult:
        yield Lines(id="health-body")

    def on_resize(self, event: Resize) -> None:
        # the rows are fitted to the width: refit them
        if self._snapshot is not None:
            self.show_snapshot(self._snapshot)

    def show_snapshot(self, snapshot: object) -> None:
        assert isinstance(snapshot, HealthSnapshot)
        self._snapshot = snapshot
        width = self.content_region.width or DEFAULT_WIDTH
        marker_width = 7 if snapshot.unknown else 4
        rows: list[Content | str] = []
        for endpoint in snapshot.endpoints:
            word, style = MARKERS[endpoint.state]
            latency = f"{endpoint.latency_ms:.0f}ms" if endpoint.latency_ms is not None else "-"
            code = str(endpoint.status_code or "-")
            name_width = max(1, width - marker_width - 3 - 6 - 3)
            name = endpoint.name if len(endpoint.name) <= name_width else \
                endpoint.name[: name_width - 1] + "…"
            rows.append(Content.assemble(f"{name:<{name_width}} ",
                                         (f"{word:<{marker_width}}", style),
                                         f" {code:>3} {latency:>6}"))
        failing_pct = snapshot.failing_pct
        breach = failing_pct is not None and failing_pct > self.threshold
        text, head = summary_line(snapshot.failing, len(snapshot.answered), failing_pct,
                                  snapshot.versions, width, unknown=snapshot.unknown,
                                  rule=self.rule)
        style = "bold $error" if breach else "bold $warning" if snapshot.probe_down else "dim"
        rows.append(Content.assemble((text[:head], style), text[head:]))
        self.set_class(breach, "-breach")
        self.set_class(snapshot.probe_down, "-probe-down")
        self.query_one("#health-body", Lines).show_rows(rows)
