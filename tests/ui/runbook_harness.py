"""A small app holding only the runbook pane, on the simulated estate, recording into a list.

Shared by the pane's pilot tests and its snapshot test.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult
from textual.widgets import Footer

from cockpit.actions.executor import ActionResult, RunContext
from cockpit.actions.types import ResolvedAction
from cockpit.clock import SimClock
from cockpit.paths import runbooks_dir
from cockpit.runbook.context import RunbookContext
from cockpit.runbook.engine import IncidentFacts
from cockpit.runbook.loader import load_library
from cockpit.runbook.model import Library
from cockpit.sim.estate import SimEstate
from cockpit.sim.executor import SimExecutor
from cockpit.sim.scenario import find_scenario
from widgets.runbook_panel import RunbookPanel

FIXTURES = Path(__file__).parents[1] / "fixtures" / "runbooks" / "good"
INCIDENT = "INC-20250121-142500-ab12"
_LIBRARIES: dict[Path, Library] = {}


def library(folder: Path | None = None) -> Library:
    folder = folder or runbooks_dir()
    if folder not in _LIBRARIES:
        _LIBRARIES[folder] = load_library(folder)
    return _LIBRARIES[folder]


class FlakyExecutor:
    """The simulator, except that the action types in ``fail_once`` fail on their first run."""

    def __init__(self, inner: SimExecutor, fail_once: Sequence[str] = ()) -> None:
        self.inner = inner
        self.fail_once = set(fail_once)
        self.calls: list[str] = []

    def run(self, action: ResolvedAction, ctx: RunContext) -> ActionResult:
        self.calls.append(action.type)
        if action.type in self.fail_once:
            self.fail_once.discard(action.type)
            ctx.emit("error: connection refused")
            return ActionResult(False, "error: connection refused", (), "connection refused")
        return self.inner.run(action, ctx)


class PaneHarness(App[None]):
    """The runbook pane alone, attached to a simulated incident at ``advance_s`` seconds in."""

    CSS = "RunbookPanel { height: 1fr; }"

    def __init__(self, *, folder: Path | None = None, advance_s: float = 300,
                 sim_step_s: float = 10.0, read_only: bool = False,
                 events: Sequence[dict[str, Any]] = (), fired: Sequence[str] = ("error_rate",),
                 authority: str | None = "Incident Commander",
                 fail_once: Sequence[str] = ()) -> None:
        super().__init__()
        scenario = find_scenario("bad-deploy")
        self.clock = SimClock(scenario.start, 1.0)
        self.estate = SimEstate(scenario, seed=7, clock=self.clock)
        self.clock.advance(advance_s)

        def sleep(_seconds: float) -> None:
            # every poll of a waiting action moves simulated time on, and yields a moment
            if sim_step_s:
                self.clock.advance(sim_step_s)
            time.sleep(0.002)

        self.sim = SimExecutor(self.estate, sleep=sleep, poll_s=0.01)
        self.executor = FlakyExecutor(self.sim, fail_once)
        self.events: list[dict[str, Any]] = [dict(e) for e in events]
        self.ctx = RunbookContext(
            library=library(folder), executor=self.executor, record=self.record,
            facts=IncidentFacts.from_events(self.events), now=self.clock.now,
            operator=lambda: "dana@bastion", fired=lambda: tuple(fired),
            authority=lambda: authority, scenario_id="bad-deploy",
            variables={"incident_id": INCIDENT}, events=tuple(self.events), read_only=read_only)

    def record(self, kind: str, data: dict[str, Any]) -> None:
        self.events.append({"kind": kind, "data": dict(data),
                            "t": self.clock.now().isoformat()})

    def kinds(self) -> list[str]:
        return [e["kind"] for e in self.events]

    def compose(self) -> ComposeResult:
        yield RunbookPanel(id="runbook")
        yield Footer()

    def on_mount(self) -> None:
        panel = self.query_one(RunbookPanel)
        panel.attach(self.ctx)
        panel.focus()

    @property
    def panel(self) -> RunbookPanel:
        return self.query_one(RunbookPanel)

    def pane_text(self) -> str:
        """What the pane shows, as plain text."""
        panel = self.panel
        panel.refresh_pane()
        body = panel.query_one("#runbook-body")
        if not body.display:
            return str(panel.query_one("#runbook-empty").render())
        return str(body.render())


class NotingHarness(PaneHarness):
    """Also keeps every notification as ``(severity, message)``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.notes: list[tuple[str, str]] = []

    def notify(self, message: str, *, title: str = "", severity: Any = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        self.notes.append((str(severity), message))
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)
