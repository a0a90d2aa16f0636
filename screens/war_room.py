"""The war room: every panel of the incident on one screen, or in groups on a small terminal."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.screen import Screen
from textual.widgets import Footer, Tab, Tabs

from cockpit.sources.base import SourceStatus
from widgets.cache_panel import CachePanel
from widgets.database_panel import DatabasePanel
from widgets.health_panel import HealthPanel
from widgets.incident_header import IncidentHeader
from widgets.metric_panel import MetricPanel
from widgets.pods_panel import PodsPanel
from widgets.runbook_panel import RunbookPanel
from widgets.source_panel import SourcePanel

#: Panel groups shown one at a time on a small terminal: (id, tab label).
GROUPS: tuple[tuple[str, str], ...] = (
    ("metrics", "1 Metrics"),
    ("pods", "2 Pods"),
    ("database", "3 Database"),
    ("cache", "4 Cache"),
    ("decision", "5 Decision"),
    ("runbook", "6 Runbook"),
)

#: Below this size the board collapses into tabbed groups.
WIDE_MIN = (120, 40)


class WarRoomScreen(Screen[None]):
    """Error rate, latency, endpoints, pods, database, cache, decision and runbook."""

    CSS_PATH = Path(__file__).with_suffix(".tcss")

    BINDINGS: ClassVar[list[BindingType]] = [
        *[
            Binding(str(n), f"show_group('{group}')", label.split(" ", 1)[1],
                    show=False, id=f"war_room.group_{group}")
            for n, (group, label) in enumerate(GROUPS, start=1)
        ],
    ]

    def compose(self) -> ComposeResult:
        yield IncidentHeader()
        yield Tabs(*[Tab(label, id=f"tab-{group}") for group, label in GROUPS], id="groups")
        with Container(id="board"):
            yield MetricPanel("Error rate", "error_rate_pct", 5.0, "%", "rollback if > 5% for 5m",
                              id="error-rate", classes="grp g-metrics")
            yield MetricPanel("Latency p95", "latency_p95_ms", 1000.0, "ms",
                              "decide if > 1000ms for 10m", id="latency", classes="grp g-metrics")
            yield HealthPanel(id="health", classes="grp g-metrics")
            yield PodsPanel(id="pods", classes="grp g-pods")
            yield DatabasePanel(id="database", classes="grp g-database")
            yield CachePanel(id="cache", classes="grp g-cache")
            yield from self.app.compose_decision()  # type: ignore[attr-defined]
            yield RunbookPanel(id="runbook", classes="grp g-runbook")
        yield Footer()

    is_composed = False
    """Whether the panels exist yet (the app holds statuses until then)."""

    def on_mount(self) -> None:
        self.show_group("metrics")
        self._apply_size()
        self.is_composed = True
        self.app.war_room_ready(self)  # type: ignore[attr-defined]

    def on_resize(self) -> None:
        self._apply_size()

    def _apply_size(self) -> None:
        width, height = self.size
        self.set_class(width < WIDE_MIN[0] or height < WIDE_MIN[1], "-narrow")

    def show_group(self, group: str) -> None:
        """Show one group of panels (only matters on a small terminal)."""
        for name, _ in GROUPS:
            self.set_class(name == group, f"-show-{name}")
        tabs = self.query_one("#groups", Tabs)
        if tabs.active != f"tab-{group}":
            tabs.active = f"tab-{group}"

    def action_show_group(self, group: str) -> None:
        self.show_group(group)
        first = self.query(f".g-{group}").first()
        if first.focusable:
            first.focus()
        else:
            focusable = [w for w in first.query("*") if w.focusable]
            if focusable:
                focusable[0].focus()

    def on_tabs_tab_activated(self, event: Tabs.TabActivated) -> None:
        if event.tab is not None and event.tab.id:
            self.show_group(event.tab.id.removeprefix("tab-"))

    def show_status(self, status: SourceStatus) -> None:
        """Route a source's status to the panels that display it."""
        targets: dict[str, tuple[str, ...]] = {
            "metrics": ("#error-rate", "#latency"),
            "health": ("#health",),
            "cluster": ("#pods",),
            "database": ("#database",),
            "cache": ("#cache",),
        }
        for selector in targets.get(status.kind, ()):
            self.query_one(selector, SourcePanel).show_status(status)
