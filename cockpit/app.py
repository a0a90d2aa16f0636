"""The Textual face: the cockpit application and its factory ``make_app``."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import App
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.widget import Widget
from textual.worker import Worker, WorkerState

from cockpit.actions.executor import ActionResult, Executor, RunContext
from cockpit.actions.types import ResolvedAction
from cockpit.clock import Clock, SimClock
from cockpit.decision import DecisionEngine, default_policy_path, load_policy
from cockpit.domain import (
    SOURCE_KINDS,
    DatabaseSnapshot,
    HealthSnapshot,
    MetricsSnapshot,
)
from cockpit.incident import IncidentSession, apply_to_engine
from cockpit.incident_actor import operator_name
from cockpit.messages import SourceUpdated
from cockpit.runbook.context import RunbookContext
from cockpit.runbook.engine import IncidentFacts
from cockpit.sources.base import Source, SourceStatus
from cockpit.sources.poller import Poller
from cockpit.timeline.journal import JournalError, JournalWriteError
from cockpit.timeline.playback import QUIET_KINDS, SNAPSHOT_METRICS, Playback, describe

if TYPE_CHECKING:
    from cockpit.runbook.model import Library
    from cockpit.sim.estate import SimEstate
    from cockpit.training.session import TrainingSession
from screens.choice import ChoiceScreen
from screens.export import ExportScreen
from screens.help import HelpScreen
from screens.note import NoteScreen
from screens.war_room import WarRoomScreen
from widgets.decision_panel import DecisionPanel
from widgets.incident_header import IncidentHeader
from widgets.runbook_panel import RunbookPanel

TICK_S = 0.25


class _IncidentVariables(Mapping[str, str]):
    """The incident's values every runbook sees, read when a run opens (so ``severity``
    and ``now`` are current), under the config's (``namespace``, ``database``...)."""

    def __init__(self, app: CockpitApp) -> None:
        self.app = app

    def _values(self) -> dict[str, str]:
        app = self.app
        now = app.clock.now()
        state = app.engine.state(now)
        values = {
            "incident_id": app.session.incident_id if app.session is not None else "",
            "operator": operator_name(),
            "severity": str(state.severity or "unknown"),
            "now": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "environment": app.environment,
            "reason": f"{app.environment} incident",
        }
        estate = app.estate
        if estate is not None:
            values.update(scenario=estate.scenario.id, reason=estate.scenario.title,
                          namespace=estate.scenario.namespace)
        values.update(app.variables)
        return {k: v for k, v in values.items() if v}

    def __getitem__(self, key: str) -> str:
        return self._values()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values())

    def __len__(self) -> int:
        return len(self._values())

    def items(self):  # type: ignore[no-untyped-def, override]
        """One reading of the incident for every key (a run copies them all at once)."""
        return self._values().items()


class _DemoStopped(Exception):
    """The war room closed under the demo's autopilot."""


class _NoExecutor:
    """Runs nothing: a war room built without connectors for actions (tests, observers)."""

    def run(self, action: ResolvedAction, ctx: RunContext) -> ActionResult:
        return ActionResult(False, detail="no executor is configured for runbook actions: "
                            "start the cockpit with `cockpit run --config FILE`")


class CockpitApp(App[None]):
    """The war room. Build it with :func:`make_app`."""

    CSS_PATH = "app.tcss"
    TITLE = "Rollback Cockpit"
    ENABLE_COMMAND_PALETTE = False
    # A mode (not get_default_screen) so Textual loads the screen's CSS_PATH.
    MODES: ClassVar[dict[str, type[WarRoomScreen]]] = {"war_room": WarRoomScreen}
    DEFAULT_MODE = "war_room"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("question_mark", "help", "Help", key_display="?", id="app.help"),
        Binding("plus,equals_sign", "speed(2)", "Faster", key_display="+", id="app.faster"),
        Binding("minus", "speed(0.5)", "Slower", key_display="-", id="app.slower"),
        Binding("space", "pause", "Pause", id="app.pause"),
        Binding("f2", "screenshot", "Screenshot", show=False, id="app.screenshot"),
        Binding("s", "severity", "Severity", id="decision.severity"),
        Binding("f", "fix_forward", "Fix fwd?", id="decision.fix_forward"),
        Binding("x", "patient_safety", "Safety risk", show=False, id="decision.patient_safety"),
        Binding("d", "decide", "Decide", id="decision.decide"),
        Binding("o", "open_runbook", "Runbook", id="runbook.open"),
        Binding("n", "note", "Note", id="incident.note"),
        Binding("u", "status_update", "Status", id="incident.status_update"),
        Binding("e", "export", "Export", id="incident.export"),
    ]

    def __init__(
        self,
        sources: Iterable[Source],
        *,
        clock: Clock,
        environment: str = "production",
        estate_label: str = "LIVE",
        start_clock: bool = True,
        screenshot_dir: Path | None = None,
        session: IncidentSession | None = None,
        journal_problem: str = "",
        executor: Executor | None = None,
        read_only: bool = False,
        scenario_id: str | None = None,
        variables: dict[str, str] | None = None,
        playback: Playback | None = None,
        missing_reason: str = "not configured",
    ) -> None:
        super().__init__()
        self.sources = list(sources)
        self.clock = clock
        self.environment = environment
        self.estate_label = estate_label
        self.start_clock = start_clock
        self.screenshot_dir = screenshot_dir or Path.cwd()
        self.session = session
        """The incident's record; ``None`` only when its journal could not be created."""
        self.journal_problem = journal_problem
        """Why the incident is not being recorded (shown loudly), or ``""``."""
        self.executor = executor
        self.read_only = read_only
        self.playback = playback
        """A recorded incident being played back (``cockpit replay``): nothing is written."""
        self.missing_reason = missing_reason
        self._playback_ended = False
        self.demo: TrainingSession | None = None
        """The autopilot's training session in a demo walkthrough (see make_demo_app)."""
        self.estate: SimEstate | None = None
        """The simulated estate in training (see make_sim_app); ``None`` on the real one."""
        self._stopping = threading.Event()
        self._demo_done = threading.Event()
        self.demo_pace = 1.0
        """Demo: a further speed-up beyond the clock's 60x (tests use it)."""
        self.scenario_id = scenario_id
        self.variables = dict(variables or {})
        opened = (session.state.opened_at if session is not None
                  else playback.opened_at if playback is not None else None)
        self.incident_start = opened or clock.now()
        self.statuses: dict[str, SourceStatus] = {}
        self.pollers = {source.kind: Poller(source, self._post_status) for source in self.sources}
        self.engine = DecisionEngine(load_policy(default_policy_path()),
                                     started_at=self.incident_start)
        events = list(session.journal.events) if session is not None else []
        self.facts = IncidentFacts.from_events(events)
        if session is not None:
            session.restore_engine(self.engine)
        self._last_tick = time.monotonic()
        self._first_data: set[str] = set()
        self._status_reminded: datetime | None = None
        self._runbook_attached = False
        self._library: Library | None = None
        self._library_lock = threading.Lock()
        self.training_mode: str | None = None
        """``guided``, ``exam`` or ``demo`` in a training walkthrough (see make_sim_app)."""
        self.coach = None
        self._hint = ""
        self._hint_checked = 0.0
        if executor is not None and session is not None:
            # the live executor's outbox pump journals every delivery (from its own thread)
            # and stamps the journal head into every notification it sends
            if hasattr(executor, "record"):
                executor.record = self._record_from_thread  # type: ignore[attr-defined]
            if hasattr(executor, "head"):
                executor.head = lambda: session.head_short  # type: ignore[attr-defined]
        self._sim_events_seen = sum(1 for e in events if e.kind == "sim.event")
        self._consequences_seen = sum(1 for e in events if e.kind == "sim.consequence")

    # ------------------------------------------------------------ lifecycle

    def compose_decision(self) -> Iterator[Widget]:
        """The decision panel, composed into the war room's board."""
        yield DecisionPanel(id="decision", classes="grp g-decision")

    def on_mount(self) -> None:
        for kind in SOURCE_KINDS:
            if kind not in self.pollers:
                self._show(SourceStatus(kind, "none", "not_configured",
                                        reason=self.missing_reason))
        for kind, poller in self.pollers.items():
            self.run_worker(poller.run(), name=f"poll-{kind}", group=f"poll-{kind}",
                            exit_on_error=False)
        if self.demo is not None:
            self.run_worker(self._autopilot, thread=True, name="autopilot",
                            exit_on_error=False)
        self.set_interval(TICK_S, self._tick)
        try:
            # Textual does not handle SIGHUP: when the SSH session drops, stop cleanly
            # rather than spin against a terminal that is gone.
            import asyncio

            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self._hangup)
        except (NotImplementedError, RuntimeError, ValueError):
            pass

    def _hangup(self) -> None:
        """SIGHUP: the SSH session is gone. Let a step that changes something finish and be
        recorded (up to its timeout), record the disconnect, then stop without drawing.

        A step that only waits or reads is not waited for: it is stopped after the
        disconnect is recorded, so the record shows it started and never finished, and a
        resume marks it *interrupted* (outcome unknown) rather than pretending it ended.
        """
        self._wait_for_steps(changes_only=True)
        if self.session is not None:
            self.session.disconnect()
        self._wait_for_steps()
        self.exit(return_code=129)

    def _wait_for_steps(self, *, changes_only: bool = False) -> None:
        """Give a step that is running its remaining timeout to finish and be recorded."""
        try:
            panel = self.query_one(RunbookPanel)
        except NoMatches:
            return
        panel.wait_idle(changes_only=changes_only)

    def on_unmount(self) -> None:
        self._stopping.set()
        if self.demo is not None:
            # the autopilot stops at its next pause (a tenth of a second) and releases
            # its journal; wait for that rather than leave a half-written record behind
            self._demo_done.wait(timeout=10)
        self._wait_for_steps()
        if self.session is not None:
            self.session.disconnect()
        for closable in [*self.sources, self.executor]:
            close = getattr(closable, "close", None)
            if close is None:
                continue
            try:
                close()
            except Exception:  # noqa: BLE001, S110 - closing must not stop shutdown
                pass

    # ----------------------------------------------------------- data flow

    def _post_status(self, status: SourceStatus) -> None:
        self.post_message(SourceUpdated(status))

    @on(SourceUpdated)
    def _on_source_updated(self, message: SourceUpdated) -> None:
        self._show(message.status)

    def _show(self, status: SourceStatus) -> None:
        self.statuses[status.kind] = status
        if self.session is not None:
            self._journal(self.session.record_source, status.kind, status.state, status.reason)
        if status.state == "ok":
            self._first_data.add(status.kind)
            self._feed_engine(status)
        screen = self._war_room()
        if screen is not None:
            screen.show_status(status)
        self._refresh()

    def _feed_engine(self, status: SourceStatus) -> None:
        snap = status.snapshot
        if isinstance(snap, MetricsSnapshot):
            for series in (snap.error_rate_pct, snap.latency_p95_ms, snap.cpu_pct,
                           snap.memory_pct):
                for at, value in series.points:
                    self.engine.observe(series.metric, at, value)
                if series.points:
                    self._sample(series.metric, series.points[-1][1])
        elif isinstance(snap, HealthSnapshot):
            self.engine.observe("health_check_failing_pct", snap.at, snap.failing_pct)
            self._sample("health_check_failing_pct", snap.failing_pct)
        elif isinstance(snap, DatabaseSnapshot):
            self.engine.observe("db_connection_error_pct", snap.at, snap.connection_error_pct)
            self._sample("db_connection_error_pct", snap.connection_error_pct)

    # ------------------------------------------------------------ the record

    def _sample(self, metric: str, value: float) -> None:
        if self.session is not None:
            self._journal(self.session.record_sample, metric, value)

    def _journal(self, write, *args):  # type: ignore[no-untyped-def]
        """Call a session write; a write that fails is shown loudly, never swallowed."""
        try:
            return write(*args)
        except JournalWriteError as exc:
            self._journal_failed(str(exc))
            return None

    def _journal_failed(self, reason: str) -> None:
        if reason != self.journal_problem:
            self.journal_problem = reason
            self.notify(f"NOT RECORDING: {reason}", title="Incident journal",
                        severity="error", timeout=30)
        self._refresh()

    def _sync_journal(self) -> None:
        """Journal what the decision engine decided since the last call (idempotent)."""
        if self.session is None:
            return
        written = self._journal(self.session.record_engine_history, self.engine) or []
        for event in written:
            self.facts.apply(event)

    def _record_for_runbook(self, kind: str, data: dict) -> None:  # type: ignore[type-arg]
        """The runbook pane's write-ahead record: raises when the event is not durable."""
        if self.session is None:
            raise JournalWriteError(f"the incident is not being recorded ({self.journal_problem})")
        try:
            self.session.record(kind, data)
        except JournalWriteError as exc:
            self.call_later(self._journal_failed, str(exc))
            raise

    def _record_from_thread(self, kind: str, data: dict) -> None:  # type: ignore[type-arg]
        """Journal an event from a worker thread (notification deliveries)."""
        if self.session is None:
            return
        try:
            self.session.record(kind, data)
        except JournalWriteError as exc:
            self.call_from_thread(self._journal_failed, str(exc))

    def runbook_library(self) -> Library:
        """The shipped runbooks, read once per cockpit (the pane, a resume's replay, the
        coach and the score share them). File I/O: call it off the event loop."""
        with self._library_lock:
            if self._library is None:
                from cockpit.paths import runbooks_dir
                from cockpit.runbook.loader import load_library

                self._library = load_library(runbooks_dir())
            return self._library

    def runbook_context(self) -> RunbookContext:
        """What the runbook pane needs from this incident (reads the library: a thread's job)."""

        executor = self.executor
        if executor is None:
            estate = self.estate
            if estate is None:
                executor = _NoExecutor()
            else:
                from cockpit.sim.executor import SimExecutor

                executor = self.executor = SimExecutor(estate)
        return RunbookContext(
            library=self.runbook_library(),
            executor=executor,
            record=self._record_for_runbook,
            facts=self.facts,
            now=self.clock.now,
            operator=operator_name,
            fired=lambda: [t.id for t in self.engine.state(self.clock.now()).fired],
            authority=lambda: self.engine.state(self.clock.now()).authority,
            scenario_id=self.scenario_id,
            variables=_IncidentVariables(self),
            events=list(self.session.journal.events) if self.session is not None else [],
            read_only=self.read_only,
        )

    @on(Worker.StateChanged)
    def _on_worker_state(self, event: Worker.StateChanged) -> None:
        # A poller that died (a bug, not a source failure) must not take the cockpit
        # down mid-incident: its panels go STALE with the reason.
        if event.state == WorkerState.ERROR and event.worker.name.startswith("poll-"):
            kind = event.worker.name.removeprefix("poll-")
            previous = self.statuses.get(kind)
            self._show(SourceStatus(kind, previous.label if previous else kind, "stale",
                                    previous.snapshot if previous else None,
                                    f"poller stopped: {event.worker.error}",
                                    previous.last_ok if previous else None, time.monotonic()))

    def _war_room(self) -> WarRoomScreen | None:
        """The war room while its panels exist (before that, statuses wait in ``statuses``;
        while the app shuts down, the panels are already gone)."""
        for screen in self.screen_stack:
            if isinstance(screen, WarRoomScreen) and screen.is_composed and screen.children:
                return screen
        return None

    def war_room_ready(self, screen: WarRoomScreen) -> None:
        """Called by the war room when its panels exist: show everything known so far."""
        for status in self.statuses.values():
            screen.show_status(status)
        if not self._runbook_attached:
            self._runbook_attached = True
            # reading the runbook library is file I/O: not on the event loop
            self.run_worker(self._load_runbooks, thread=True, name="runbook-library",
                            exit_on_error=False)
        self._refresh()

    def _load_runbooks(self) -> None:
        """Worker thread: build the runbook pane's context, then hand it over."""
        from cockpit.runbook.loader import RunbookLoadError

        try:
            ctx = self.runbook_context()
        except (RunbookLoadError, OSError, ValueError) as exc:
            self.call_from_thread(self.notify, f"Runbooks unavailable: {exc}",
                                  severity="error", timeout=30, markup=False)
            return
        self.call_from_thread(self._attach_runbooks, ctx)

    def _attach_runbooks(self, ctx: RunbookContext) -> None:
        panel = self._runbook_panel()
        if panel is None:
            return
        panel.attach(ctx)
        if self.demo is not None:
            panel.follow(self.demo.runs, "Demo: the autopilot is at the keyboard "
                         "(space pauses, + and - change its pace, q quits).")

    def has_first_data(self) -> bool:
        """Whether every configured source has answered at least once."""
        return self._first_data >= set(self.pollers)

    # --------------------------------------------------------------- clock

    def _tick(self) -> None:
        now = time.monotonic()
        elapsed, self._last_tick = now - self._last_tick, now
        if self.start_clock and isinstance(self.clock, SimClock):
            self.clock.tick(elapsed)
        self._observe_estate()
        self._play()
        self._refresh()
        self._remind_status_update()
        if self.coach is not None and now - self._hint_checked >= 1.0:
            self._hint_checked = now
            self._coach()

    def _observe_estate(self) -> None:
        """Training: scenario events (a breach detected, corruption found) reach the decision
        engine, and damage done by wrong actions reaches the record (the debrief shows it)."""
        estate = self.estate
        if estate is None:
            return
        events = estate.events_until(self.clock.now())
        for event in events[self._sim_events_seen:]:
            self.engine.observe_event(event.kind,
                                      estate.scenario.start + timedelta(seconds=event.at))
            if self.session is not None:
                self._journal(self.session.record, "sim.event",
                              {"kind": event.kind, "detail": event.detail})
        self._sim_events_seen = max(self._sim_events_seen, len(events))
        damage = estate.consequences[self._consequences_seen:]
        self._consequences_seen += len(damage)
        for item in damage:
            self.notify(item.detail, title="Consequence", severity="error", timeout=15)
            if self.session is not None:
                self._journal(self.session.record, "sim.consequence",
                              {"kind": item.kind, "amount": item.amount, "detail": item.detail})

    # ------------------------------------------------------------------ demo

    def _autopilot(self) -> None:
        """Demo (worker thread): the autopilot plays the scenario at the war room's pace."""
        from cockpit.training.autopilot import Autopilot, AutopilotError

        demo = self.demo
        assert demo is not None

        def narrate(line: str) -> None:
            if not self._stopping.is_set():
                self.call_from_thread(self.notify, line, title="Autopilot", timeout=15,
                                      markup=False)

        try:
            score = Autopilot(demo, narrate).play()
        except _DemoStopped:
            # the demo's record is the autopilot's, not the trainee's: close it as far as it
            # went (still exportable) rather than leave an open incident to be offered back
            with contextlib.suppress(JournalError):
                demo.incident.close()
            return
        except (AutopilotError, JournalError) as exc:
            demo.abandon()
            if not self._stopping.is_set():
                self.call_from_thread(self.notify, f"The demo stopped: {exc}",
                                      severity="error", timeout=30)
            return
        finally:
            self._demo_done.set()
        if not self._stopping.is_set():
            self.call_from_thread(self._show_debrief, score)

    def _demo_pace(self, sim_seconds: float) -> None:
        """The autopilot's clock moves at the war room's speed, pauses with it, and stops
        when the war room goes."""
        clock = self.clock
        left = sim_seconds / max(1.0, getattr(clock, "speed", 1.0)) / self.demo_pace
        while left > 0 or getattr(clock, "paused", False):
            if self._stopping.is_set():
                raise _DemoStopped
            nap = min(0.1, left) if left > 0 else 0.1
            time.sleep(nap)
            if not getattr(clock, "paused", False):
                left -= nap
        if self._stopping.is_set():
            raise _DemoStopped

    def _show_debrief(self, score) -> None:  # type: ignore[no-untyped-def]
        from screens.debrief import DebriefScreen

        self.clear_notifications()  # nothing may cover the debrief
        mode = self.training_mode or "free play"
        self.push_screen(DebriefScreen(score, f"{self.scenario_id} ({mode})"))

    def _play(self) -> None:
        """Replay: the recorded answers reach the engine at their times; the rest is told."""
        if self.playback is None:
            return
        for event in self.playback.due(self.clock.now()):
            if event.kind == "sample" and (self.demo is not None
                                           or event.data.get("metric") in SNAPSHOT_METRICS):
                continue  # the panels' sources feed the engine these
            if apply_to_engine(self.engine, event) or event.kind in QUIET_KINDS:
                continue
            if self.demo is None:  # the demo's autopilot narrates for itself
                self.notify(describe(event), title=f"{event.time:%H:%M:%S}Z", timeout=10)
        if self.demo is None and self.playback.finished and not self._playback_ended:
            self._playback_ended = True
            self.notify("End of the record. q quits.", title="Replay", timeout=30)

    def _coach(self) -> None:
        """Guided mode: one hint when the trainee stalls or errs (shown once per change)."""
        if self.session is None or self.coach is None or not self.session.is_open:
            return
        hint = self.coach.hint(self.session.journal.events, self.clock.now())
        if hint and hint != self._hint:
            self.notify(hint, title="Coach", timeout=12)
        self._hint = hint or ""

    def _remind_status_update(self) -> None:
        """Every 15 minutes of incident time: remind the engineer to send a status update."""
        if self.session is None or not self.session.is_open:
            return
        now = self.clock.now()
        if not self.session.status_due(now):
            return
        minutes = self.session.status_update_minutes
        if self._status_reminded is not None and (
                (now - self._status_reminded).total_seconds() < minutes * 60):
            return
        self._status_reminded = now
        self.notify("A status update is due: press u to review the pre-filled template.",
                    title="Status update", severity="warning", timeout=10)

    def _refresh(self) -> None:
        """Bring the engine to now and show its state in the header and the Decision panel.

        The state is computed once here for both widgets.
        """
        screen = self._war_room()
        if screen is None:
            return
        try:
            header = screen.query_one(IncidentHeader)
            panel = screen.query_one(DecisionPanel)
        except NoMatches:  # the app is shutting down and the panels are gone
            return
        now = self.clock.now()
        self.engine.tick(now)
        self._sync_journal()
        state = self.engine.state(now)
        panel.show(state, now)
        header.incident = (self.session.incident_id if self.session is not None
                           else self.demo.incident_id if self.demo is not None else "")
        header.recording = "" if not self.journal_problem else "NOT RECORDING"
        header.environment = self.environment
        label = self.estate_label
        if self.training_mode:
            label = f"{label} {self.training_mode.upper()}"
        if isinstance(self.clock, SimClock):
            stopped = not self.start_clock and self.demo is None
            paused = "PAUSED" if self.clock.paused or stopped else ""
            label = f"{label} x{self.clock.speed:g} {paused}".rstrip()
        header.estate = label
        header.now = now
        header.elapsed = now - self.incident_start
        if state.severity:
            header.severity = str(state.severity).upper()
        elif state.suggested_severity:
            header.severity = f"{str(state.suggested_severity).upper()}? (suggested)"
        else:
            header.severity = "not set"

    # ------------------------------------------------------------- actions

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    # The decision engine asks; the engineer answers. Every answer is recorded with who
    # gave it (engine.history), and the panel re-renders from the engine's new state.

    def action_severity(self) -> None:
        if self._hands_off():
            return
        state = self.engine.state(self.clock.now())
        rules = {rule.severity: rule for rule in self.engine.policy.severities}
        answers = [(name, f"{name.title()}: {rules[name].authority}, decide within "
                    f"{int(rules[name].max_decision.total_seconds() // 60)} min", name[0].lower())
                   for name in rules]
        answers.append(("clear", "Clear (use the suggested severity)", ""))
        hint = f"Suggested: {state.suggested_severity or 'none'}"

        def done(answer: str | None) -> None:
            if answer is not None:
                if answer != "clear":
                    self._declare(answer)
                self.engine.set_severity(None if answer == "clear" else answer,
                                         operator_name(), self.clock.now())
                self._after_answer()

        self.push_screen(ChoiceScreen("Incident severity", answers, hint), done)

    def _declare(self, severity: str) -> None:
        """The first severity set declares the incident (a milestone of the RCA)."""
        if "incident_declared" in self.facts.facts or self.session is None:
            return
        event = self._journal(self.session.record, "incident.declared",
                              {"severity": severity, "by": operator_name()})
        if event is not None:
            self.facts.apply(event)

    def _yes_no(self, question: str, explanation: str, record) -> None:  # type: ignore[no-untyped-def]
        def done(answer: str | None) -> None:
            if answer is not None:
                record(answer == "yes", operator_name(), self.clock.now())
                self._after_answer()

        self.push_screen(ChoiceScreen(question, [("no", "No", "n"), ("yes", "Yes", "y")],
                                      explanation), done)

    def action_fix_forward(self) -> None:
        if self._hands_off():
            return
        self._yes_no("Can we fix forward?", "A tested hot fix can ship within the decision "
                     "window without more risk to patient data.", self.engine.answer_fix_forward)

    def action_patient_safety(self) -> None:
        if self._hands_off():
            return
        self._yes_no("Is there a patient-safety risk?", "Yes makes this a critical issue: "
                     "immediate rollback, CTO or VP Engineering decides within 5 minutes.",
                     self.engine.flag_patient_safety)

    def action_decide(self) -> None:
        if self._hands_off():
            return
        state = self.engine.state(self.clock.now())
        answers = [("rollback", "Roll back", "r"), ("hot_fix", "Hot fix (fix forward)", "h"),
                   ("no_action", "No action", "n")]
        hint = f"Engine recommends: {state.recommendation.text}"

        def done(answer: str | None) -> None:
            if answer is not None:
                self.engine.record_decision(answer, operator_name(), self.clock.now(),
                                            reasons=tuple(state.recommendation.reasons))
                self._after_answer()
                self.notify(f"Decision recorded: {answer.replace('_', ' ')}")

        self.push_screen(ChoiceScreen("Record the decision", answers, hint), done)

    def _after_answer(self) -> None:
        self._refresh()

    # The incident record: notes, status updates, export, quitting.

    def _hands_off(self) -> bool:
        """Demo: the autopilot answers; the trainee watches."""
        if self.demo is not None:
            self.notify("Demo: the autopilot is at the keyboard (space pauses it, q quits).",
                        severity="warning")
            return True
        return False

    def _need_session(self) -> IncidentSession | None:
        if self._hands_off():
            return None
        if self.session is None and self.playback is not None:
            self.notify("This is a replay of a recorded incident: nothing can be added to it.",
                        severity="warning")
        elif self.session is None:
            self.notify(f"The incident is not being recorded: {self.journal_problem}",
                        severity="error")
        return self.session

    def action_note(self) -> None:
        session = self._need_session()
        if session is None:
            return

        def done(text: str | None) -> None:
            if text:
                if self._journal(session.note, text, operator_name()) is not None:
                    self.notify("Note recorded.")

        self.push_screen(NoteScreen(session.incident_id), done)

    def action_status_update(self) -> None:
        session = self._need_session()
        if session is None:
            return
        progress = None
        panel = self._runbook_panel()
        if panel is not None:
            progress = panel.progress()
        template = session.status_update_template(progress)
        post_status = getattr(self.executor, "post_status_update", None)
        slack = bool(getattr(self.executor, "slack_configured", False)) and callable(post_status)

        def done(result: tuple[str, bool] | None) -> None:
            if result is None:
                return
            text, post = result
            channel = "journal"
            if post and post_status is not None and not self.read_only:
                channel = post_status(text) or "journal"
            if self._journal(session.status_update, text, channel) is not None:
                self._status_reminded = None
                self.notify("Status update recorded" +
                            (f" and queued to {channel}." if channel != "journal" else "."))

        from screens.status_update import StatusUpdateScreen  # TextArea: only when needed

        self.push_screen(StatusUpdateScreen(template, slack_configured=slack), done)

    def action_export(self) -> None:
        if self.demo is not None:  # the autopilot's record can be exported as it grows
            self.push_screen(ExportScreen(self.demo.incident))
            return
        session = self._need_session()
        if session is not None:
            self.push_screen(ExportScreen(session))

    def _score_training(self):  # type: ignore[no-untyped-def]
        """Training: record where the estate stands and the score (both go in the export)."""
        estate = self.estate
        if estate is None or self.session is None:
            return None
        from cockpit.training.score import score_events
        from cockpit.training.session import estate_outcome
        from cockpit.training.spec import parse_training

        self._observe_estate()
        if self._journal(self.session.record, "training.outcome", estate_outcome(estate)) is None:
            return None
        score = score_events(self.session.journal.events, parse_training(estate.scenario),
                             self.engine.policy, self.runbook_library())
        self._journal(self.session.record, "score.recorded", score.to_data())
        return score

    def _runbook_panel(self) -> RunbookPanel | None:
        screen = self._war_room()
        if screen is None:
            return None
        try:
            return screen.query_one(RunbookPanel)
        except NoMatches:
            return None

    def action_open_runbook(self) -> None:
        screen = self._war_room()
        panel = self._runbook_panel()
        if screen is None or panel is None:
            return
        screen.action_show_group("runbook")
        panel.open_picker()

    async def action_quit(self) -> None:
        if self.session is None or not self.session.is_open:
            self.exit()
            return
        answers = [("leave", "Leave the incident open (resume later)", "l"),
                   ("close", "Close the incident (it is over)", "c")]

        def done(answer: str | None) -> None:
            if answer == "close" and self.session is not None:
                self._wait_for_steps()
                score = self._score_training()
                self._journal(self.session.close)
                if score is not None:
                    from screens.debrief import DebriefScreen

                    self.clear_notifications()  # nothing may cover the debrief

                    title = f"{self.scenario_id} ({self.training_mode or 'free play'})"
                    self.push_screen(DebriefScreen(score, title), lambda _: self.exit())
                    return
            if answer in ("leave", "close"):
                self.exit()

        self.push_screen(ChoiceScreen(f"Quit: {self.session.incident_id}", answers,
                                      "Leaving it open: `cockpit resume` takes it back."), done)

    def action_speed(self, factor: float) -> None:
        if not isinstance(self.clock, SimClock):
            self.notify("Speed applies to the simulated estate only.", severity="warning")
            return
        speed = min(SimClock.MAX_SPEED, max(SimClock.MIN_SPEED, self.clock.speed * factor))
        self.clock.speed = round(speed)
        self._refresh()

    def action_pause(self) -> None:
        if isinstance(self.clock, SimClock):
            self.clock.paused = not self.clock.paused
            self._refresh()

    def action_screenshot(self) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        path = self.save_screenshot(f"cockpit-{stamp}.svg", str(self.screenshot_dir))
        self.notify(f"Screenshot saved: {path}")


def _start_session(clock: Clock, *, scenario: str | None, environment: str, mode: str,
                   title: str, incident_id: str | None, config: str | None,
                   read_only: bool = False) -> tuple[IncidentSession | None, str]:
    """Open the incident's journal; on failure, the reason (the war room still opens)."""
    try:
        return IncidentSession.start(scenario=scenario, environment=environment, mode=mode,
                                     title=title, clock=clock, incident_id=incident_id,
                                     config=config, read_only=read_only), ""
    except (JournalError, OSError) as exc:
        return None, str(exc)


def make_app(
    sources: Iterable[Source],
    *,
    clock: Clock,
    environment: str = "production",
    estate_label: str = "LIVE",
    start_clock: bool = True,
    executor: Executor | None = None,
    read_only: bool = False,
    session: IncidentSession | None = None,
    incident_id: str | None = None,
    config_path: str | None = None,
    variables: dict[str, str] | None = None,
) -> CockpitApp:
    """Build the cockpit: the single factory the CLI, tests and snapshots share.

    Without ``session`` a new live incident is opened (its journal under the state dir).
    """
    problem = ""
    if session is None:
        session, problem = _start_session(
            clock, scenario=None, environment=environment, mode="live",
            title=f"{environment} incident", incident_id=incident_id, config=config_path,
            read_only=read_only)
    return CockpitApp(sources, clock=clock, environment=environment, estate_label=estate_label,
                      start_clock=start_clock, executor=executor, read_only=read_only,
                      session=session, journal_problem=problem, variables=variables)


def make_sim_app(scenario_id: str | None = None, *, speed: float | None = None,
                 seed: int | None = None, start_clock: bool = True,
                 advance_s: float = 0.0, incident_id: str | None = None,
                 session: IncidentSession | None = None,
                 mode: str | None = None) -> CockpitApp:
    """The cockpit on the built-in simulated estate playing ``scenario_id``.

    Opens a training incident (its own journal) unless ``session`` resumes one; the
    session's clock is then the app's. ``mode``: ``guided`` (the coach hints when the
    trainee stalls or errs), ``exam`` (no hints, scored) or ``None`` (free play, scored).
    """
    from cockpit.sim.estate import SimEstate
    from cockpit.sim.scenario import DEFAULT_SCENARIO, find_scenario
    from cockpit.sim.sources import sim_sources

    scenario = find_scenario(scenario_id or DEFAULT_SCENARIO)
    if session is not None and isinstance(session.clock, SimClock):
        clock = session.clock
    else:
        clock = SimClock(scenario.start, speed if speed is not None else scenario.speed)
    problem = ""
    resumed = session is not None
    if session is None:  # the training incident opens at the scenario's start
        session, problem = _start_session(
            clock, scenario=scenario.id, environment=scenario.environment, mode="training",
            title=scenario.title, incident_id=incident_id, config=None)
    if advance_s:
        clock.advance(advance_s)
    estate = SimEstate(scenario, seed=seed, clock=clock)
    app = CockpitApp(sim_sources(estate), clock=clock, environment=scenario.environment,
                     estate_label=f"SIM {scenario.id}", start_clock=start_clock,
                     session=session, journal_problem=problem, scenario_id=scenario.id)
    app.estate = estate
    if resumed:
        # the estate restarts from the scenario: apply again what the steps did to it
        from cockpit.sim.resume import replay_actions

        replay_actions(estate, session.journal.events, app.runbook_library(),
                       dict(_IncidentVariables(app).items()))
    if session is not None and mode is None:  # a resumed walkthrough keeps its mode
        started = [e.data for e in session.journal.events if e.kind == "training.started"]
        mode = str(started[0].get("mode") or "") if started else None
        if mode in ("demo", "free"):
            mode = None  # nobody plays a resumed demo but the trainee: free play
    if mode:
        app.training_mode = mode
        if mode == "guided":
            from cockpit.training.coach import Coach

            app.coach = Coach(scenario, mode, policy=app.engine.policy,
                              library=app.runbook_library())
    if session is not None and not any(e.kind == "training.started"
                                       for e in session.journal.events):
        app._journal(session.record, "training.started",
                     {"mode": mode or "free", "seed": estate.seed,
                      "speed": clock.speed, "scenario": scenario.id})
    return app


def open_incident_app(session: IncidentSession) -> CockpitApp:
    """The war room on an incident taken back with ``cockpit resume``.

    A training incident reopens its scenario at the session clock's time; a live one
    reopens the connectors of the config it was started with.
    """
    scenario = session.scenario
    if scenario:
        return make_sim_app(scenario, session=session)
    opened = session.journal.events[0].data if session.journal.events else {}
    config_path = opened.get("config")
    if not config_path:
        raise JournalError(f"incident {session.incident_id} has no config file recorded; "
                           "it cannot reopen its connectors")
    from cockpit.config import load_config
    from cockpit.connectors import build_sources
    from cockpit.connectors.executor import build_executor
    from cockpit.timeline.redact import register_secret

    config = load_config(str(config_path))
    for secret in config.secrets():
        register_secret(secret)
    # opened read-only (the flag or the config), resumed read-only
    read_only = bool(opened.get("read_only")) or config.cockpit.read_only
    return make_app(build_sources(config, read_only=read_only), clock=session.clock,
                    environment=config.cockpit.environment,
                    estate_label="LIVE READ-ONLY" if read_only else "LIVE", session=session,
                    executor=build_executor(config, read_only=read_only), read_only=read_only,
                    variables=config.runbook_variables())


def make_replay_app(journal: Path, *, speed: float = 10.0, start_clock: bool = True,
                    advance_s: float = 0.0) -> CockpitApp:
    """The war room playing a recorded incident back, read-only (``cockpit replay``)."""
    from cockpit.timeline.journal import read_events
    from cockpit.timeline.playback import PlaybackSource
    from cockpit.timeline.replay import replay

    events = read_events(journal)
    if not events:
        raise JournalError(f"{journal}: the journal has no events")
    state = replay(events, journal.parent.name)
    playback = Playback(events)
    opened = playback.opened_at
    assert opened is not None
    clock = SimClock(opened, speed)
    if advance_s:
        clock.advance(advance_s)
    return CockpitApp([PlaybackSource(playback, clock.now)], clock=clock,
                      environment=state.environment or "production",
                      estate_label=f"REPLAY {journal.parent.name}", start_clock=start_clock,
                      read_only=True, playback=playback, missing_reason="not in the record")


def make_demo_app(scenario_id: str | None = None, *, speed: float | None = None,
                  seed: int | None = None) -> CockpitApp:
    """The war room watching the autopilot play ``scenario_id`` (``train --mode demo``).

    The autopilot (:class:`cockpit.training.autopilot.Autopilot`) drives its own training
    session in a worker thread: its journal is the incident's, its estate feeds the panels,
    and its runbook runs show in the runbook pane as they progress. The decision panel
    follows its answers through the journal. Space pauses it, + and - change its pace.
    """
    from cockpit.sim.scenario import DEFAULT_SCENARIO, find_scenario
    from cockpit.sim.sources import sim_sources
    from cockpit.training.session import TrainingSession

    scenario = find_scenario(scenario_id or DEFAULT_SCENARIO)
    holder: list[CockpitApp] = []
    demo = TrainingSession(scenario, mode="demo", seed=seed, speed=1.0,
                           real_sleep=lambda seconds: holder[0]._demo_pace(seconds))
    demo.clock.speed = speed if speed is not None else scenario.speed
    app = CockpitApp(sim_sources(demo.estate), clock=demo.clock,
                     environment=scenario.environment, estate_label=f"SIM {scenario.id}",
                     start_clock=False, scenario_id=scenario.id, read_only=True,
                     playback=Playback(lambda: demo.incident.journal.events))
    holder.append(app)
    app.estate = demo.estate
    app.demo = demo
    app.training_mode = "demo"
    return app
