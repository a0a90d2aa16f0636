"""A small app holding only the runbook pane, on the simulated estate, recording into a list.

Shared by the pane's pilot tests and its snapshot test. The pane sits on a
:class:`~screens.war_room.RunbookDeskScreen` (what the war room is built on), so its keys
are answered as in the war room; events are folded by the journal's reducer, so guards
read facts as the cockpit does.
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
from cockpit.runbook.desk import RunbookDesk
from cockpit.runbook.loader import load_library
from cockpit.runbook.model import Library
from cockpit.sim.estate import SimEstate
from cockpit.sim.executor import SimExecutor
from cockpit.sim.scenario import find_scenario
from cockpit.timeline.journal import Event
from cockpit.timeline.replay import Reducer
from screens.war_room import RunbookDeskScreen
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

    capabilities = SimExecutor.capabilities

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


class FoldedRecord:
    """Records events as dicts (``events``) and folds each into a journal reducer first."""

    def __init__(self, clock: Any, events: Sequence[dict[str, Any]] = ()) -> None:
        self.clock = clock
        self.reducer = Reducer(INCIDENT)
        self.events: list[dict[str, Any]] = []
        for event in events:
            self._fold(event)

    def _fold(self, event: dict[str, Any]) -> None:
        self.reducer.apply(Event(len(self.events), str(event["t"]), str(event["kind"]), {},
                                 dict(event["data"]), "", ""))
        self.events.append(event)

    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        self._fold({"kind": kind, "data": dict(data), "t": self.clock.now().isoformat()})

    def facts(self) -> Any:
        return self.reducer.state.facts


class PaneScreen(RunbookDeskScreen):
    """The pane alone (and the footer), answered as the war room answers it."""

    def compose(self) -> ComposeResult:
        yield RunbookPanel(id="runbook")
        yield Footer()


class PaneHarness(App[None]):
    """The runbook pane alone, attached to a simulated incident at ``advance_s`` seconds in.

    Set ``executor`` before the app runs to use another one (the desk is built on mount).
    """

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
        self.executor: Any = FlakyExecutor(self.sim, fail_once)
        self.record = FoldedRecord(self.clock, [dict(e) for e in events])
        self.events = self.record.events
        self.folder, self.read_only = folder, read_only
        self.fired, self.authority = tuple(fired), authority
        self.desk: RunbookDesk | None = None
        self.pane_screen = PaneScreen()

    def make_desk(self) -> RunbookDesk:
        desk = RunbookDesk(
            library(self.folder), self.executor, self.record, self.record.facts,
            now=self.clock.now, operator=lambda: "dana@bastion", fired=lambda: self.fired,
            authority=lambda: self.authority, scenario_id="bad-deploy",
            variables={"incident_id": INCIDENT}, read_only=self.read_only,
            # thread workers: the tests wait for steps with app.workers.wait_for_complete()
            spawn=lambda call, name: self.run_worker(call, name=name, group="runbook-step",
                                                     thread=True, exit_on_error=False))
        desk.restore(self.record.reducer.state.runbooks)
        return desk

    def kinds(self) -> list[str]:
        return [e["kind"] for e in self.events]

    async def on_mount(self) -> None:
        await self.push_screen(self.pane_screen)
        self.desk = self.make_desk()
        self.pane_screen.attach_desk(self.desk)
        self.panel.focus()

    @property
    def panel(self) -> RunbookPanel:
        return self.pane_screen.query_one(RunbookPanel)

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
