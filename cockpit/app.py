"""The Textual face: the cockpit application and its factory ``make_app``."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import App
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.widget import Widget
from textual.worker import Worker, WorkerState

from cockpit.clock import Clock, SimClock
from cockpit.decision import DecisionEngine, default_policy_path, load_policy
from cockpit.domain import (
    SOURCE_KINDS,
    DatabaseSnapshot,
    HealthSnapshot,
    MetricsSnapshot,
)
from cockpit.incident_actor import operator_name
from cockpit.messages import SourceUpdated
from cockpit.sources.base import Source, SourceStatus
from cockpit.sources.poller import Poller
from screens.choice import ChoiceScreen
from screens.help import HelpScreen
from screens.war_room import WarRoomScreen
from widgets.decision_panel import DecisionPanel
from widgets.incident_header import IncidentHeader

TICK_S = 0.25


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
    ) -> None:
        super().__init__()
        self.sources = list(sources)
        self.clock = clock
        self.environment = environment
        self.estate_label = estate_label
        self.start_clock = start_clock
        self.screenshot_dir = screenshot_dir or Path.cwd()
        self.incident_start = clock.now()
        self.statuses: dict[str, SourceStatus] = {}
        self.pollers = {source.kind: Poller(source, self._post_status) for source in self.sources}
        self.engine = DecisionEngine(load_policy(default_policy_path()), started_at=clock.now())
        self._last_tick = time.monotonic()
        self._first_data: set[str] = set()

    # ------------------------------------------------------------ lifecycle

    def compose_decision(self) -> Iterator[Widget]:
        """The decision panel, composed into the war room's board."""
        yield DecisionPanel(id="decision", classes="grp g-decision")

    def on_mount(self) -> None:
        for kind in SOURCE_KINDS:
            if kind not in self.pollers:
                self._show(SourceStatus(kind, "none", "not_configured",
                                        reason="not configured"))
        for kind, poller in self.pollers.items():
            self.run_worker(poller.run(), name=f"poll-{kind}", group=f"poll-{kind}",
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
        self.exit(return_code=129)

    def on_unmount(self) -> None:
        for source in self.sources:
            try:
                source.close()
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
        elif isinstance(snap, HealthSnapshot):
            self.engine.observe("health_check_failing_pct", snap.at, snap.failing_pct)
        elif isinstance(snap, DatabaseSnapshot):
            self.engine.observe("db_connection_error_pct", snap.at, snap.connection_error_pct)

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
        self._refresh()

    def has_first_data(self) -> bool:
        """Whether every configured source has answered at least once."""
        return self._first_data >= set(self.pollers)

    # --------------------------------------------------------------- clock

    def _tick(self) -> None:
        now = time.monotonic()
        elapsed, self._last_tick = now - self._last_tick, now
        if self.start_clock and isinstance(self.clock, SimClock):
            self.clock.tick(elapsed)
        self._refresh()

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
        state = self.engine.state(now)
        panel.show(state, now)
        header.environment = self.environment
        label = self.estate_label
        if isinstance(self.clock, SimClock):
            paused = "PAUSED" if self.clock.paused or not self.start_clock else ""
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
        state = self.engine.state(self.clock.now())
        rules = {rule.severity: rule for rule in self.engine.policy.severities}
        answers = [(name, f"{name.title()}: {rules[name].authority}, decide within "
                    f"{int(rules[name].max_decision.total_seconds() // 60)} min", name[0].lower())
                   for name in rules]
        answers.append(("clear", "Clear (use the suggested severity)", ""))
        hint = f"Suggested: {state.suggested_severity or 'none'}"

        def done(answer: str | None) -> None:
            if answer is not None:
                self.engine.set_severity(None if answer == "clear" else answer,
                                         operator_name(), self.clock.now())
                self._after_answer()

        self.push_screen(ChoiceScreen("Incident severity", answers, hint), done)

    def _yes_no(self, question: str, explanation: str, record) -> None:  # type: ignore[no-untyped-def]
        def done(answer: str | None) -> None:
            if answer is not None:
                record(answer == "yes", operator_name(), self.clock.now())
                self._after_answer()

        self.push_screen(ChoiceScreen(question, [("no", "No", "n"), ("yes", "Yes", "y")],
                                      explanation), done)

    def action_fix_forward(self) -> None:
        self._yes_no("Can we fix forward?", "A tested hot fix can ship within the decision "
                     "window without more risk to patient data.", self.engine.answer_fix_forward)

    def action_patient_safety(self) -> None:
        self._yes_no("Is there a patient-safety risk?", "Yes makes this a critical issue: "
                     "immediate rollback, CTO or VP Engineering decides within 5 minutes.",
                     self.engine.flag_patient_safety)

    def action_decide(self) -> None:
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


def make_app(
    sources: Iterable[Source],
    *,
    clock: Clock,
    environment: str = "production",
    estate_label: str = "LIVE",
    start_clock: bool = True,
) -> CockpitApp:
    """Build the cockpit: the single factory the CLI, tests and snapshots share."""
    return CockpitApp(sources, clock=clock, environment=environment, estate_label=estate_label,
                      start_clock=start_clock)


def make_sim_app(scenario_id: str | None = None, *, speed: float | None = None,
                 seed: int | None = None, start_clock: bool = True,
                 advance_s: float = 0.0) -> CockpitApp:
    """The cockpit on the built-in simulated estate playing ``scenario_id``."""
    from cockpit.sim.estate import SimEstate
    from cockpit.sim.scenario import DEFAULT_SCENARIO, find_scenario
    from cockpit.sim.sources import sim_sources

    scenario = find_scenario(scenario_id or DEFAULT_SCENARIO)
    clock = SimClock(scenario.start, speed if speed is not None else scenario.speed)
    estate = SimEstate(scenario, seed=seed, clock=clock)
    app = make_app(sim_sources(estate), clock=clock, environment=scenario.environment,
                   estate_label=f"SIM {scenario.id}", start_clock=start_clock)
    app.estate = estate  # type: ignore[attr-defined]
    if advance_s:
        clock.advance(advance_s)
    return app
