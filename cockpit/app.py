"""The Textual face: the cockpit application and its factories (``make_app`` and friends).

:class:`CockpitApp` holds no incident logic: it wires one
:class:`~cockpit.runtime.runtime.IncidentRuntime` (the owner of the incident) to the war
room: pollers feed the runtime, the runtime's notices become messages and repaint what
they name, keys call the runtime's verbs (through modal screens where the engineer must
answer), and the app handles the terminal (SIGHUP, quitting, screenshots).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual._compositor import CompositorUpdate
from textual.app import App
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.message import Message
from textual.widget import Widget
from textual.worker import Worker, WorkerState

from cockpit.clock import SimClock
from cockpit.domain import SOURCE_KINDS
from cockpit.frame import Frame
from cockpit.messages import SourceUpdated
from cockpit.runtime.notices import (
    Notice,
    RecordingFailed,
    RollbackHoldChanged,
    RunbooksReady,
    Said,
    SourceChanged,
)
from cockpit.sources.base import SourceStatus
from cockpit.sources.poller import Poller
from cockpit.timeline.journal import JournalWriteError

# What only the factories below use is imported there (heavy imports inside the
# functions that need them): importing the app is not building an incident.
if TYPE_CHECKING:
    from cockpit.actions.executor import Executor
    from cockpit.clock import Clock
    from cockpit.decision.engine import DecisionEngine
    from cockpit.incident import IncidentSession
    from cockpit.keys import KeySettings
    from cockpit.runtime.runtime import IncidentRuntime
    from cockpit.sim.estate import SimEstate
    from cockpit.sim.scenario import Briefing
    from cockpit.sources.base import Source
    from cockpit.training.demo import DemoDriver
from screens.choice import ChoiceScreen
from screens.commands import BindingCommands, checked_keymap, key_for
from screens.export import ExportScreen
from screens.help import HelpScreen
from screens.note import NoteScreen
from screens.war_room import WarRoomScreen
from widgets.decision_panel import DecisionPanel
from widgets.incident_header import IncidentHeader, alarm_text
from widgets.pods_panel import PodsPanel
from widgets.runbook_panel import RunbookPanel
from widgets.status_bar import MessageLog
from widgets.timeline_panel import TimelinePanel

TICK_S = 0.25
#: Seconds between redraws of the metric panels on a low-bandwidth link.
LOW_BANDWIDTH_METRICS_S = 5.0
#: Seconds the app may take to restore the terminal after a hangup before it is ended.
SHUTDOWN_GRACE_S = 5.0
#: Seconds between checks that the terminal is still there (one isatty call each).
TERMINAL_WATCH_S = 0.5
#: Exit codes when the operator is gone: 128 + the signal, as a shell reports them (a
#: terminal gone without a signal is a hangup too).
EXIT_HANGUP = 128 + signal.SIGHUP
EXIT_SIGTERM = 128 + signal.SIGTERM


@dataclass
class RuntimeNotice(Message):
    """The runtime said something changed (posted from whichever thread it happened on)."""

    notice: Notice


class CockpitApp(App[None]):
    """The war room over one incident runtime. Build it with :func:`make_app` & co."""

    CSS_PATH = "app.tcss"
    TITLE = "Rollback Cockpit"
    # Textual's palette, listing every action the war room offers now (screens/commands.py)
    COMMANDS: ClassVar[set[Any]] = {BindingCommands}
    # A mode (not get_default_screen) so Textual loads the screen's CSS_PATH.
    MODES: ClassVar[dict[str, type[WarRoomScreen]]] = {"war_room": WarRoomScreen}
    DEFAULT_MODE = "war_room"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="app.quit",
                tooltip="leave the incident open (resume it later) or close it"),
        Binding("question_mark", "help", "Help", key_display="?", id="app.help"),
        Binding("plus,equals_sign", "speed(2)", "Faster", key_display="+", id="app.faster",
                tooltip="the simulation faster (up to 60x)"),
        Binding("minus", "speed(0.5)", "Slower", key_display="-", id="app.slower",
                tooltip="the simulation slower (down to 1x)"),
        Binding("space", "pause", "Pause", id="app.pause"),
        Binding("f2", "screenshot", "Screenshot", show=False, id="app.screenshot",
                tooltip="save the screen as an SVG"),
        # k9s's ':' as well as Textual's ctrl+p; not a priority key, so typed text keeps ':'
        Binding("ctrl+p,colon", "command_palette", "Commands", show=False,
                key_display="^p", id="app.commands", tooltip="every action, by name"),
        Binding("s", "severity", "Severity", id="decision.severity",
                tooltip="set the severity: authority and deadline follow"),
        Binding("f", "fix_forward", "Fix fwd?", id="decision.fix_forward",
                tooltip='answer "can we fix forward?"'),
        Binding("x", "patient_safety", "Safety risk", show=False, id="decision.patient_safety",
                tooltip="a patient-safety risk? yes makes it critical"),
        Binding("d", "decide", "Decide", id="decision.decide",
                tooltip="record the decision: roll back, hot fix, none"),
        Binding("o", "open_runbook", "Runbook", id="runbook.open",
                tooltip="open a runbook (recommended first)"),
        Binding("n", "note", "Note", id="incident.note"),
        Binding("u", "status_update", "Status", id="incident.status_update",
                tooltip="status update, pre-filled from the record"),
        Binding("e", "export", "Export", id="incident.export",
                tooltip="export the record: Markdown RCA, JSON, HTML"),
        Binding("b", "arm_rollback", "Arm rollback", show=False, id="rollback.arm"),
    ]

    def __init__(
        self,
        runtime: IncidentRuntime,
        sources: Iterable[Source],
        *,
        start_clock: bool = True,
        screenshot_dir: Path | None = None,
        missing_reason: str = "not configured",
        demo: DemoDriver | None = None,
        low_bandwidth: bool = False,
        briefing: Briefing | None = None,
    ) -> None:
        self.low_bandwidth = low_bandwidth or bool(os.environ.get("COCKPIT_LOW_BANDWIDTH"))
        """16 colours, metric panels redrawn at most every :data:`LOW_BANDWIDTH_METRICS_S`."""
        if self.low_bandwidth:
            # Textual reads its colour system when the app is made: 16 colours, the
            # shortest style codes there are (restored at once for apps made after it)
            from textual import constants

            saved, constants.COLOR_SYSTEM = constants.COLOR_SYSTEM, "standard"  # type: ignore[misc]
            try:
                super().__init__()
            finally:
                constants.COLOR_SYSTEM = saved  # type: ignore[misc]
        else:
            super().__init__()
        # Over SSH every animation frame is bytes on the link: none unless asked for
        # (TEXTUAL_ANIMATIONS), and Escape answered after 25 ms (50 over SSH, where a key's
        # bytes may arrive a little apart) unless ESCDELAY says otherwise.
        if "TEXTUAL_ANIMATIONS" not in os.environ:
            self.animation_level = "none"
        if "ESCDELAY" not in os.environ:
            from textual import constants

            ssh = "SSH_CONNECTION" in os.environ or "SSH_TTY" in os.environ
            constants.ESCAPE_DELAY = 0.05 if ssh else 0.025  # type: ignore[misc]
        self.runtime = runtime
        self.sources = list(sources)
        self.start_clock = start_clock
        self.screenshot_dir = screenshot_dir or Path.cwd()
        self.missing_reason = missing_reason
        self.demo = demo
        self.briefing = briefing
        """Training: the scenario's briefing, shown before its clock starts (held at T=0
        until the trainee starts it); ``None`` once dismissed, or never shown."""
        """The autopilot at the keyboard in a demo walkthrough (see make_demo_app)."""
        self._last_tick = time.monotonic()
        self._frame: Frame | None = None if os.environ.get("COCKPIT_FULL_REPAINTS") else Frame()
        """The differential writer (COCKPIT_FULL_REPAINTS=1 writes as Textual does)."""
        self._ticked_at: datetime | None = None
        self._memory_settled = False
        """The clock's time at the last tick (a clock that has not moved skips the next)."""
        self._terminal_fd: int | None = None
        self._operator_gone = False
        """Set once SIGHUP, SIGTERM or a vanished terminal has been handled."""
        self.pollers = {source.kind: Poller(source, self._post_status) for source in self.sources}
        self.messages = MessageLog()
        """What the cockpit said: on the war room's status bar (never a toast over the
        runbook pane or a modal) and in the timeline pane's messages; not recorded."""
        runtime.subscribe(self._on_notice)
        if demo is not None:
            # the autopilot's own runtime says what it does (consequences...) in the war room
            demo.session.runtime.subscribe(self._on_notice)

    # -- what tests and screens read (the runtime owns it all) ------------------------------

    @property
    def session(self) -> IncidentSession | None:
        """The incident's record (``None`` while following one, or when it failed)."""
        return self.runtime.session

    @property
    def clock(self) -> Clock:
        """The incident clock."""
        return self.runtime.clock

    @property
    def engine(self) -> DecisionEngine:
        """The decision engine the panels show."""
        return self.runtime.engine

    @property
    def estate(self) -> SimEstate | None:
        """The simulated estate in training."""
        return self.runtime.estate

    @property
    def executor(self) -> Executor:
        """What runs runbook actions."""
        return self.runtime.executor

    @property
    def statuses(self) -> dict[str, SourceStatus]:
        """The latest status of every source."""
        return self.runtime.statuses

    def has_first_data(self) -> bool:
        """Whether every configured source has answered at least once."""
        return self.runtime.has_first_data(self.pollers)

    # ------------------------------------------------------------ lifecycle

    def compose_decision(self) -> Iterator[Widget]:
        """The decision panel, composed into the war room's board."""
        yield DecisionPanel(id="decision", classes="grp g-decision")

    def on_mount(self) -> None:
        for kind in SOURCE_KINDS:
            if kind not in self.pollers:
                self.runtime.feed(SourceStatus(kind, "none", "not_configured",
                                               reason=self.missing_reason))

        def start_polling() -> None:
            for kind, poller in self.pollers.items():
                self.run_worker(poller.run(), name=f"poll-{kind}", group=f"poll-{kind}",
                                exit_on_error=False)

        # The first frame is painted before any source is asked: the first answers, and
        # the repaints they cause, come right after it instead of holding it back (every
        # panel says "no data yet" meanwhile; measured in bench/bench_startup.py).
        self.call_after_refresh(start_polling)
        if self.demo is not None:
            self.run_worker(self._autopilot, thread=True, name="autopilot",
                            exit_on_error=False)
        # the estate observed at its start now, as the headless driver does, not whenever
        # the first tick comes (a test or a fast key could move the clock before it)
        self.runtime.tick()
        self._ticked_at = self.runtime.clock.now()
        self._ticker = self.set_interval(TICK_S, self._tick)
        if self.briefing is not None and isinstance(self.runtime.clock, SimClock):
            self.runtime.clock.paused = True  # until the trainee has read the briefing
        try:
            # Textual handles neither SIGHUP nor SIGTERM: when the SSH session drops or
            # the cockpit is told to stop, record it and stop cleanly (the terminal
            # restored) rather than spin against a terminal that is gone.
            import asyncio

            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGHUP, self._hangup)
            loop.add_signal_handler(signal.SIGTERM, self._hangup, EXIT_SIGTERM)
        except (NotImplementedError, RuntimeError, ValueError):
            pass
        if self._frame is not None:
            # back from a suspend (ctrl+z, fg): the terminal may show anything: the next
            # repaint is written whole
            self.app_resume_signal.subscribe(self, lambda _app: self._forget_frame())
        self._terminal_fd = self._watched_terminal()
        if self._terminal_fd is not None:
            self.set_interval(TERMINAL_WATCH_S, self._watch_terminal)

    def _display(self, screen: Any, renderable: Any) -> None:
        # Every write to the terminal goes through the frame: only the cells that changed
        # (see cockpit.frame). The conditions are Textual's own for writing at all: the
        # frame must not learn a picture that is never sent.
        frame = self._frame
        if (frame is not None and isinstance(renderable, CompositorUpdate)
                and not self._batch_count and self._running and not self._closed
                and not self.is_headless and self._driver is not None
                and not self._driver.is_inline):
            renderable = frame.render(renderable, self.size, self.console)
        super()._display(screen, renderable)

    def _forget_frame(self) -> None:
        if self._frame is not None:
            self._frame.invalidate()

    def _watched_terminal(self) -> int | None:
        """The terminal the war room reads its keys from, when it is one (not in tests)."""
        if self.is_headless:
            return None
        stdin = sys.__stdin__
        try:
            fd = stdin.fileno() if stdin is not None else -1
        except (OSError, ValueError):
            return None
        return fd if fd >= 0 and os.isatty(fd) else None

    def _watch_terminal(self) -> None:
        """Every :data:`TERMINAL_WATCH_S`: has the terminal gone without a SIGHUP (the pty
        closed under a process that ignores it, or in another session)? A hung-up
        terminal reads EOF forever, and Textual's input thread would spin on it: the
        cockpit would stop recording and keep the incident locked. Treated as a hangup."""
        fd = self._terminal_fd
        if fd is None or self._operator_gone:
            return
        try:
            gone = not os.isatty(fd)  # EIO on a hung-up terminal: not a tty any more
        except OSError:
            gone = True
        if gone:
            self._hangup()

    def _hangup(self, return_code: int = EXIT_HANGUP) -> None:
        """SIGHUP, SIGTERM or a terminal gone: the operator is gone (see
        :meth:`IncidentRuntime.hangup`): ``operator.disconnected``, the lock released."""
        if self._operator_gone:
            return
        self._operator_gone = True
        self._stop_reading_keys()
        self.runtime.hangup()
        # The record is on disk and the lock released. Restoring a terminal that is gone
        # can block for ever (Textual's writer thread on a dead pty): the process goes
        # anyway once the grace period is over.
        if not self.is_headless:  # a real terminal only: never a test's own process
            reaper = threading.Timer(SHUTDOWN_GRACE_S, os._exit, args=(return_code,))
            reaper.daemon = True
            reaper.start()
        self.exit(return_code=return_code)

    def _stop_reading_keys(self) -> None:
        """Stop Textual's input thread at once (and the mouse reports): on a terminal that
        is gone it reads EOF in a loop at full CPU while the running steps are waited
        for. The driver restores the rest of the terminal when the app exits."""
        driver = self._driver
        if driver is not None:
            driver.disable_input()

    def on_unmount(self) -> None:
        if self.demo is not None:
            # the autopilot stops at its next pause (a tenth of a second) and releases
            # its journal; wait for that rather than leave a half-written record behind
            self.demo.stop()
        self.runtime.shutdown()
        for source in self.sources:
            with contextlib.suppress(Exception):  # closing must not stop shutdown
                source.close()

    # ----------------------------------------------------------- data flow

    def _post_status(self, status: SourceStatus) -> None:
        self.post_message(SourceUpdated(status))

    @on(SourceUpdated)
    def _on_source_updated(self, message: SourceUpdated) -> None:
        self.runtime.feed(message.status)
        self._settle_interpreter()

    def _settle_interpreter(self) -> None:
        """Once every source has answered, settle the interpreter for a long watch (real
        terminals only, once):

        - move what exists then (modules, the war room, the runbooks: ~100,000 objects)
          out of the garbage collector's reach (``gc.freeze``, once per process). Every
          full collection walked them all with the GIL held: 80-120 ms of stall every few
          seconds with 20,000 pods, whose snapshots' objects keep triggering full
          collections (measured in the real cockpit, bench/lagprobe.py);
        - hand the GIL to a waiting thread after 1 ms instead of 5 (``sys.setswitchinterval``):
          while a poller's thread makes a 20,000-pod snapshot, the event loop waking from
          its select waited up to 5 ms for the GIL at every hand-over, and a frame takes
          several. Measured: max stall with 20,000 pods 45-49 -> 11-35 ms, 5,000 pods
          31-47 -> 14-18 ms, for ~7% more CPU at 20,000 (switches happen only when a
          thread is waiting: an idle cockpit pays nothing).

        Not in tests (``is_headless``): a test process runs many apps, and frozen cycles
        are never freed."""
        if self._memory_settled or self.is_headless or not self.has_first_data():
            return
        import gc

        self._memory_settled = True  # (gc.get_freeze_count walks every frozen object: 6 ms)
        gc.freeze()
        sys.setswitchinterval(0.001)

    def _on_notice(self, notice: Notice) -> None:
        # any thread: post_message is thread-safe, and the handler runs on the event loop
        self.post_message(RuntimeNotice(notice))

    @on(RuntimeNotice)
    def _on_runtime_notice(self, message: RuntimeNotice) -> None:
        notice = message.notice
        if isinstance(notice, SourceChanged):
            screen = self._war_room()
            if screen is not None:
                screen.show_status(notice.status)
        elif isinstance(notice, Said):
            self.say(notice.text, title=notice.title, severity=notice.severity,
                     timeout=notice.timeout_s)
        elif isinstance(notice, RecordingFailed):
            self.say(f"NOT RECORDING: {notice.reason}", title="Incident journal",
                     severity="error", timeout=30)
        elif isinstance(notice, RunbooksReady):
            self._attach_desk()
        elif isinstance(notice, RollbackHoldChanged):
            self._show_hold()
        self._refresh()

    @on(Worker.StateChanged)
    def _on_worker_state(self, event: Worker.StateChanged) -> None:
        # A poller that died (a bug, not a source failure) must not take the cockpit
        # down mid-incident: its panels go STALE with the reason.
        if event.state == WorkerState.ERROR and event.worker.name.startswith("poll-"):
            kind = event.worker.name.removeprefix("poll-")
            previous = self.runtime.statuses.get(kind)
            self.runtime.feed(SourceStatus(
                kind, previous.label if previous else kind, "stale",
                previous.snapshot if previous else None, f"poller stopped: {event.worker.error}",
                previous.last_ok if previous else None, time.monotonic()))

    def say(self, text: str, *, title: str = "", severity: str = "information",
            timeout: float | None = None) -> None:
        """Tell the engineer something: the war room's status bar (and the timeline pane's
        messages), never a toast over the work; kept until the war room exists."""
        screen = self._war_room()
        if screen is not None:
            screen.say(text, title=title, severity=severity, timeout=timeout)
        else:
            self.messages.add(text, title=title, severity=severity,
                              at=self.runtime.clock.now(), timeout_s=timeout)

    @on(TimelinePanel.PinRequested)
    def _on_pin_requested(self, request: TimelinePanel.PinRequested) -> None:
        seq = request.seq
        if seq is None:
            self.say("Messages are the cockpit's, not the record's: only recorded events "
                     "can be pinned (/ shows them).", severity="warning")
            return
        if not self._writable():
            return
        if request.pin:
            self._act(self.runtime.pin, seq, done=f"Event #{seq} pinned for the RCA.")
        else:
            self._act(self.runtime.unpin, seq, done=f"Event #{seq} unpinned.")

    def _war_room(self) -> WarRoomScreen | None:
        """The war room while its panels exist (before that, statuses wait in the runtime;
        while the app shuts down, the panels are already gone)."""
        for screen in self.screen_stack:
            if isinstance(screen, WarRoomScreen) and screen.is_composed and screen.children:
                return screen
        return None

    def war_room_ready(self, screen: WarRoomScreen) -> None:
        """Called by the war room when its panels exist: show everything known so far."""
        screen.messages = self.messages
        screen.message_clock = self.runtime.clock.now
        if self.messages.latest is not None:  # said while the war room was being built
            screen.show_message(self.messages.latest)
        self.call_after_refresh(self._show_hold)  # a resumed incident's hold counts on
        if self.briefing is not None:
            self.call_after_refresh(self._show_briefing)
        if self.low_bandwidth:
            screen.draw_metrics_every(LOW_BANDWIDTH_METRICS_S)
        from cockpit.decision.policy import policy_view

        # the thresholds the panels state are the runtime's policy's (an overridden policy
        # is what the screen says)
        screen.apply_policy(policy_view(self.runtime.policy))
        for status in self.runtime.statuses.values():
            screen.show_status(status)
        if self.runtime.desk is None:
            # reading the runbook library is file I/O: not on the event loop, and not
            # before the first frame (its thread would compete with the first paint)
            self.call_after_refresh(self.run_worker, self._open_desk, thread=True,
                                    name="runbook-library", exit_on_error=False)
        else:
            self._attach_desk()
        self._refresh()

    def _open_desk(self) -> None:
        """Worker thread: the runtime reads the runbook library and builds its desk."""
        from cockpit.runbook.loader import RunbookLoadError

        try:
            self.runtime.open_desk()
            if self.demo is not None:
                self.demo.session.runtime.open_desk()
        except (RunbookLoadError, OSError, ValueError) as exc:
            self.call_from_thread(self.say, f"Runbooks unavailable: {exc}",
                                  severity="error", timeout=30)

    def _attach_desk(self) -> None:
        screen = self._war_room()
        if screen is None:
            return
        demo_desk = self.demo.session.runtime.desk if self.demo is not None else None
        if demo_desk is not None:
            screen.attach_desk(demo_desk, hands_off=(
                f"Demo: the autopilot is at the keyboard ({key_for(self, 'app.pause')} "
                f"pauses, {key_for(self, 'app.faster')} and {key_for(self, 'app.slower')} "
                f"change its pace, {key_for(self, 'app.quit')} quits)."))
        elif self.demo is None and self.runtime.desk is not None:
            screen.attach_desk(self.runtime.desk)

    # --------------------------------------------------------------- clock

    def _tick(self) -> None:
        now = time.monotonic()
        elapsed, self._last_tick = now - self._last_tick, now
        clock = self.runtime.clock
        if (self.start_clock and self.demo is None and isinstance(clock, SimClock)
                and not clock.paused):
            self.runtime.advance(elapsed * clock.speed)
        elif clock.now() == self._ticked_at:
            # a paused (or stopped) clock and nothing done since the last tick: nothing
            # can have moved, nothing repaints (but a step or a delivery finishing in its
            # thread is recorded meanwhile: the timeline shows it, compared first)
            self._show_timeline()
            return
        else:
            self.runtime.tick()
        self._refresh()
        self._ticked_at = clock.now()

    def _show_timeline(self) -> None:
        """The record's timeline in its pane (an unchanged one draws nothing)."""
        screen, state = self._war_room(), self.runtime.state
        if screen is None or state is None:
            return
        for pane in screen.query(TimelinePanel):
            pane.show_timeline(state.timeline)

    def _refresh(self) -> None:
        """Show the runtime's state in the header, the Decision panel and the timeline
        pane (each widget compares and repaints only what changed)."""
        # anything refreshed outside the tick (a key, a notice) gets the runtime's tick at
        # the next one, as the headless driver ticks after every verb
        self._ticked_at = None
        screen = self._war_room()
        if screen is None:
            return
        try:
            header = screen.query_one(IncidentHeader)
            panel = screen.query_one(DecisionPanel)
            timeline = screen.query_one(TimelinePanel)
            pods = screen.query_one(PodsPanel)
        except NoMatches:  # the app is shutting down and the panels are gone
            return
        state = self.runtime.state
        if state is not None:  # the record's timeline (compared: unchanged draws nothing)
            timeline.show_timeline(state.timeline)
        now = self.runtime.clock.now()
        decision = self.runtime.decision(now)
        panel.show(decision, now)
        if decision.fired:  # what changed before the breach: marked, the cursor on it
            suspect = self.runtime.suspect(now)
            pods.show_suspect(suspect.change.deployment if suspect is not None else None)
        header.alarm, header.alarm_level = alarm_text(decision, now)
        view = self.runtime.header(now)
        header.incident = view.incident
        header.recording = view.recording
        header.environment = view.environment
        clock = self.runtime.clock
        estate = view.estate
        if isinstance(clock, SimClock) and not self.start_clock and self.demo is None \
                and not clock.paused:
            estate = f"{estate} PAUSED"
        header.estate = estate
        # narrow: the mode without the names the header shows elsewhere (or can do without)
        known = {self.runtime.scenario_id, view.incident}
        header.estate_short = " ".join(word for word in estate.split() if word not in known)
        header.now = view.now
        header.elapsed = view.elapsed
        header.severity = view.severity
        header.operator = view.operator
        header.rollback = view.rollback
        header.paint()
        self._update_hold(now)

    # ------------------------------------------------------------------ demo

    def _autopilot(self) -> None:
        """Demo (worker thread): the autopilot plays at the war room's pace."""
        demo = self.demo
        assert demo is not None

        def narrate(line: str) -> None:
            if not demo.stopping.is_set():
                self.call_from_thread(self.say, line, title="Autopilot", timeout=15)

        def failed(reason: str) -> None:
            self.call_from_thread(self.say, f"The demo stopped: {reason}",
                                  severity="error", timeout=30)

        score = demo.play(narrate, failed)
        if score is not None and not demo.stopping.is_set():
            self.call_from_thread(self._show_debrief, score,
                                  f"{self.runtime.scenario_id} (demo)")

    def _show_briefing(self) -> None:
        """The scenario's briefing over the war room, its clock held until enter (the keys
        it lists are read from the bindings in force, the war room's panels included)."""
        from screens.briefing import BriefingScreen

        briefing, clock = self.briefing, self.runtime.clock
        if briefing is None or not isinstance(clock, SimClock) or any(
                isinstance(screen, BriefingScreen) for screen in self.screen_stack):
            return

        estate = self.runtime.estate
        title = estate.scenario.title if estate is not None else self.runtime.scenario_id or ""
        mode = (self.runtime.training_mode or "free play").upper()
        rate = "real time" if clock.speed == 1 else f"{clock.speed:g} simulated seconds a second"
        pace = (f"{mode} · speed x{clock.speed:g} ({rate}). The clock waits at T+00:00 "
                "until you start.")

        def done(start: bool | None) -> None:
            self.briefing = None
            if not start:
                self.exit()  # the incident stays open: `cockpit resume` takes it back
                return
            self._last_tick = time.monotonic()  # the time spent reading is not incident time
            clock.paused = False
            self._refresh()

        self.push_screen(BriefingScreen(title, briefing, pace), done)

    def _show_debrief(self, score: Any, title: str, then_exit: bool = False) -> None:
        from screens.debrief import DebriefScreen

        self.clear_notifications()  # nothing may cover the debrief
        self.push_screen(DebriefScreen(score, title),
                         (lambda _: self.exit()) if then_exit else None)

    # ------------------------------------------------------------- actions

    def action_help(self) -> None:
        # one help screen, kept: opening it again composes and styles nothing
        if not isinstance(self.screen, HelpScreen):
            if not self.is_screen_installed("help"):
                from cockpit.decision.policy import policy_view

                self.install_screen(HelpScreen(policy_view(self.runtime.policy)), "help")
            self.push_screen("help")

    def _act(self, verb: Any, *args: Any, done: str = "") -> bool:
        """Call one of the runtime's verbs; what refuses is said, nothing is lost."""
        try:
            verb(*args)
        except JournalWriteError as exc:
            self.say(str(exc), severity="error")
            return False
        except ValueError as exc:
            self.say(str(exc), severity="warning")
            return False
        if done:
            self.say(done)
        self._refresh()
        return True

    def _writable(self) -> bool:
        """Demo: the autopilot answers; replay: nothing can be added; say so."""
        if self.demo is not None:
            self.say(f"Demo: the autopilot is at the keyboard ({key_for(self, 'app.pause')} "
                     f"pauses it, {key_for(self, 'app.quit')} quits).",
                     severity="warning")
            return False
        runtime = self.runtime
        if runtime.session is None and runtime.follow is not None:
            self.say("This is a replay of a recorded incident: nothing can be added to it.",
                     severity="warning")
            return False
        if runtime.session is None:
            self.say(f"The incident is not being recorded: {runtime.journal_problem}",
                     severity="error")
            return False
        return True

    # The decision engine asks; the engineer answers (recorded with who and when).

    def action_severity(self) -> None:
        if not self._writable():
            return
        state = self.runtime.decision()
        rules = {rule.severity: rule for rule in self.runtime.policy.severities}
        answers = [(name, f"{name.title()}: {rules[name].authority}, decide within "
                    f"{int(rules[name].max_decision.total_seconds() // 60)} min", name[0].lower())
                   for name in rules]
        answers.append(("clear", "Clear (use the suggested severity)", ""))
        hint = f"Suggested: {state.suggested_severity or 'none'}"

        def done(answer: str | None) -> None:
            if answer is not None:
                self._act(self.runtime.set_severity, None if answer == "clear" else answer)

        self.push_screen(ChoiceScreen("Incident severity", answers, hint), done)

    def _yes_no(self, question: str, explanation: str, verb: Any) -> None:
        def done(answer: str | None) -> None:
            if answer is not None:
                self._act(verb, answer == "yes")

        self.push_screen(ChoiceScreen(question, [("no", "No", "n"), ("yes", "Yes", "y")],
                                      explanation), done)

    def action_fix_forward(self) -> None:
        if self._writable():
            self._yes_no("Can we fix forward?", "A tested hot fix can ship within the decision "
                         "window without more risk to patient data.",
                         self.runtime.answer_fix_forward)

    def action_patient_safety(self) -> None:
        if self._writable():
            self._yes_no("Is there a patient-safety risk?", "Yes makes this a critical issue: "
                         "immediate rollback, CTO or VP Engineering decides within 5 minutes.",
                         self.runtime.flag_patient_safety)

    def action_decide(self) -> None:
        if not self._writable():
            return
        state = self.runtime.decision()
        answers = [("rollback", "Roll back", "r"), ("hot_fix", "Hot fix (fix forward)", "h"),
                   ("no_action", "No action", "n")]
        hint = f"Engine recommends: {state.recommendation.text}"
        reasons = tuple(state.recommendation.reasons)

        def done(answer: str | None) -> None:
            if answer is not None:
                self._act(self.runtime.decide, answer, None, reasons,
                          done=f"Decision recorded: {answer.replace('_', ' ')}")

        self.push_screen(ChoiceScreen("Record the decision", answers, hint), done)

    # The incident record: notes, status updates, export, quitting.

    def action_note(self) -> None:
        if not self._writable():
            return

        def done(text: str | None) -> None:
            if text:
                self._act(self.runtime.note, text, done="Note recorded.")

        self.push_screen(NoteScreen(self.runtime.incident_id), done)

    def action_status_update(self) -> None:
        if not self._writable():
            return
        runtime = self.runtime
        template = runtime.status_template()

        def done(result: tuple[str, bool] | None) -> None:
            if result is None:
                return
            text, post = result
            try:
                channel = runtime.status_update(text, post=post)
            except (JournalWriteError, ValueError) as exc:
                self.say(str(exc), severity="error")
                return
            self.say("Status update recorded" +
                        (f" and queued to {channel}." if channel != "journal" else "."))

        from screens.status_update import StatusUpdateScreen  # TextArea: only when needed

        self.push_screen(StatusUpdateScreen(template, slack_configured=runtime.can_post_status()),
                         done)

    def action_export(self) -> None:
        if self.demo is not None:  # the autopilot's record can be exported as it grows
            self.push_screen(ExportScreen(self.demo.session.incident))
            return
        if self._writable() and self.runtime.session is not None:
            self.push_screen(ExportScreen(self.runtime.session))

    def action_open_runbook(self) -> None:
        screen = self._war_room()
        if screen is not None:
            screen.action_show_group("runbook")
            screen.query_one(RunbookPanel).open_picker()

    # The armed automatic rollback: the runtime holds and runs it; these keys answer it.

    def action_arm_rollback(self) -> None:
        runtime = self.runtime
        refused = runtime.why_not_arm()
        if refused or not self._writable():
            if refused:
                self.say(f"{refused}.", severity="warning")
            return
        from screens.arm_rollback import ArmChoice, ArmRollbackScreen

        armed = runtime.armed_rollback
        roles = [rule.authority for rule in runtime.policy.severities]

        def done(choice: ArmChoice | None) -> None:
            if choice is None:
                return
            from cockpit.runtime.runtime import RollbackRefused

            try:
                if choice.triggers:
                    runtime.arm(choice.triggers, authority=choice.authority)
                    self.say(f"ARMED: {', '.join(choice.triggers)} (a {runtime.hold_s:g}s hold "
                             "before the rollback runs; any key cancels it).", severity="warning")
                else:
                    runtime.disarm()
                    self.say("Automatic rollback disarmed.")
            except (RollbackRefused, JournalWriteError) as exc:
                self.say(str(exc), severity="error")
            self._refresh()

        self.push_screen(ArmRollbackScreen(runtime.armable_triggers(), armed.triggers,
                                           armed.authority or runtime.arm_authority, roles,
                                           runtime.hold_s), done)

    def _hold_screen(self) -> Any:
        from screens.rollback_hold import RollbackHoldScreen

        return next((s for s in self.screen_stack if isinstance(s, RollbackHoldScreen)), None)

    def _show_hold(self) -> None:
        """A hold counts down: its modal over whatever is open (never where nothing can
        be answered: read-only, a replay, the demo's autopilot)."""
        runtime = self.runtime
        hold = runtime.armed_rollback.hold
        if hold is None or runtime.read_only or self.demo is not None:
            return
        if self._war_room() is None or self._hold_screen() is not None:
            return
        from screens.rollback_hold import RollbackHoldScreen

        armed = runtime.armed_rollback
        started = hold.started_at
        self.push_screen(RollbackHoldScreen(hold, runtime.clock.now(), armed.by or "",
                                            armed.authority or ""),
                         lambda answer: self._hold_answered(answer, started))

    def _update_hold(self, now: datetime) -> None:
        screen = self._hold_screen()
        if screen is None:
            return
        hold = self.runtime.armed_rollback.hold
        if hold is None or hold.started_at != screen.hold.started_at:
            screen.dismiss(None)  # it ended (its time ran out, or another cockpit answered)
        else:
            screen.show(hold, now)

    def _hold_answered(self, answer: str | None, started: datetime) -> None:
        runtime = self.runtime
        hold = runtime.armed_rollback.hold
        if answer is None or hold is None or hold.started_at != started:
            return
        from cockpit.runtime.runtime import RollbackRefused

        try:
            if answer == "cancel":
                runtime.cancel_hold()
                return
            ask = runtime.confirm_hold()
        except (RollbackRefused, JournalWriteError) as exc:
            self.say(str(exc), severity="error")
            return
        finally:
            self._refresh()
        if ask is not None:
            self._confirm_yourself(ask)

    def _confirm_yourself(self, ask: Any) -> None:
        """The hold could not run by itself: the usual destructive confirmation (target
        typed, an approver with the authority), then the desk starts it."""
        from cockpit.runbook.engine import Confirmation, StepRefused
        from screens.step_confirm import StepConfirm

        modal = StepConfirm(ask.title, ask.preview, ask.target, ask.authority,
                            runbook=ask.runbook, dry_run=ask.dry_run,
                            dry_run_timeout_s=ask.dry_run_timeout_s)

        def confirmed(confirmation: Confirmation | None) -> None:
            desk = self.runtime.desk
            if confirmation is None or desk is None:
                return
            line = modal.dry_run_line if ask.dry_run is not None else None
            try:
                desk.start(ask.runbook, ask.step, confirmation, dry_run_line=line)
            except StepRefused as exc:
                self.say(str(exc), severity="error")

        self.push_screen(modal, confirmed)

    async def action_quit(self) -> None:
        runtime = self.runtime
        if not runtime.is_open:
            self.exit()
            return
        answers = [("leave", "Leave the incident open (resume later)", "l"),
                   ("close", "Close the incident (it is over)", "c")]

        def done(answer: str | None) -> None:
            if answer == "close":
                score = runtime.close()
                if score is not None:
                    self._show_debrief(score, f"{runtime.scenario_id} "
                                              f"({runtime.training_mode or 'free play'})",
                                       then_exit=True)
                    return
            if answer in ("leave", "close"):
                self.exit()

        self.push_screen(ChoiceScreen(f"Quit: {runtime.incident_id}", answers,
                                      "Leaving it open: `cockpit resume` takes it back."), done)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # the live estate runs on the wall clock: no speed or pause keys to offer
        if action in ("speed", "pause") and not isinstance(self.runtime.clock, SimClock):
            return False
        return True

    def action_speed(self, factor: float) -> None:
        clock = self.runtime.clock
        if not isinstance(clock, SimClock):
            self.say("Speed applies to the simulated estate only.", severity="warning")
            return
        speed = min(SimClock.MAX_SPEED, max(SimClock.MIN_SPEED, clock.speed * factor))
        clock.speed = round(speed)
        self._refresh()

    def action_pause(self) -> None:
        clock = self.runtime.clock
        if isinstance(clock, SimClock):
            clock.paused = not clock.paused
            # paused, nothing moves: no tick either (a notice or a key still repaints)
            if clock.paused:
                self._ticker.pause()
            else:
                self._last_tick = time.monotonic()
                self._ticker.resume()
            self._refresh()

    def action_screenshot(self) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        from cockpit.paths import write_private

        # what the war room shows may be patient data: owner-only, never through a symlink
        path = write_private(self.screenshot_dir / f"cockpit-{stamp}.svg",
                             self.export_screenshot())
        self.say(f"Screenshot saved: {path}")


def keymap_from(keys: KeySettings) -> dict[str, str]:
    """The config's ``[keys]`` as a keymap for :meth:`App.set_keymap`, checked against the
    war room's bindings before anything opens: an unknown binding or key, or a key that
    would run two actions at once, raises :class:`~cockpit.config.ConfigError` naming the
    file and line."""
    return checked_keymap(keys, CockpitApp)


# -- the factories: one runtime each, then the app over it ---------------------------------


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
    signing_key: Path | None = None,
    operator: str | None = None,
    rollback: Any = None,
) -> CockpitApp:
    """The cockpit on a live estate: the single factory the CLI, tests and snapshots share.

    Without ``session`` a new live incident is opened (its journal under the state dir).
    ``signing_key``: the SSH key that signs the journal's checkpoints (default: this
    host's, created under the state folder). ``operator``: the config's ``[cockpit]
    operator`` (else ``$COCKPIT_OPERATOR``, else ``user@host``), the author of every event.
    ``rollback``: the config's ``[rollback]`` (:class:`cockpit.config.RollbackSettings`):
    the triggers armed when a new incident opens, the hold, the armer's role.
    """
    from cockpit.incident_actor import operator_identity
    from cockpit.runtime.build import default_policy, start_session
    from cockpit.runtime.runtime import IncidentRuntime

    who = operator_identity(operator or "")
    problem = ""
    if session is None:
        session, problem = start_session(
            clock, scenario=None, environment=environment, mode="live",
            title=f"{environment} incident", incident_id=incident_id, config=config_path,
            read_only=read_only, operator=who)
    else:
        session.act_as(who.actor())
    runtime = IncidentRuntime(clock=clock, policy=default_policy(), session=session,
                              journal_problem=problem, environment=environment,
                              estate_label=estate_label, executor=executor,
                              read_only=read_only, variables=variables,
                              signing_key=signing_key, operator=lambda: who.label,
                              **_rollback_kwargs(rollback))
    return CockpitApp(runtime, sources, start_clock=start_clock)


def _rollback_kwargs(rollback: Any) -> dict[str, Any]:
    """The runtime's armed-rollback arguments from ``[rollback]`` (none: disarmed)."""
    if rollback is None:
        return {}
    return {"arm_triggers": rollback.armed, "hold_s": rollback.hold_s,
            "arm_authority": rollback.authority}


def make_sim_app(scenario_id: str | None = None, *, speed: float | None = None,
                 seed: int | None = None, start_clock: bool = True,
                 advance_s: float = 0.0, incident_id: str | None = None,
                 session: IncidentSession | None = None,
                 mode: str | None = None, operator: str | None = None,
                 briefing: bool = False) -> CockpitApp:
    """The cockpit on the built-in simulated estate playing ``scenario_id``.

    Opens a training incident (its own journal) unless ``session`` resumes one (its
    clock is then the app's, and the estate is rebuilt with the recorded seed). ``mode``:
    ``guided`` (the coach hints when the trainee stalls or errs), ``exam`` (no hints,
    scored) or ``None`` (free play, scored). ``operator``: the default config's
    ``[cockpit] operator`` if any (else ``$COCKPIT_OPERATOR``, else ``user@host``).
    ``guided`` plays at :data:`~cockpit.training.coach.GUIDED_SPEED` unless ``speed``.
    ``briefing``: show the scenario's briefing first, its clock held at T=0 until the
    trainee starts it (never for a resumed incident).
    """
    from cockpit.incident_actor import operator_identity
    from cockpit.runtime.build import start_session, training_runtime
    from cockpit.sim.scenario import DEFAULT_SCENARIO, find_scenario
    from cockpit.sim.sources import sim_sources

    scenario = find_scenario(scenario_id or DEFAULT_SCENARIO)
    resumed = session is not None
    if session is not None and isinstance(session.clock, SimClock):
        clock = session.clock
    else:
        if speed is None and mode == "guided":
            from cockpit.training.coach import GUIDED_SPEED

            speed = GUIDED_SPEED
        clock = SimClock(scenario.start, speed if speed is not None else scenario.speed)
    who = operator_identity(operator or "")
    problem = ""
    if session is None:  # the training incident opens at the scenario's start
        session, problem = start_session(
            clock, scenario=scenario.id, environment=scenario.environment, mode="training",
            title=scenario.title, incident_id=incident_id, operator=who)
    else:
        session.act_as(who.actor())
    runtime = training_runtime(scenario, clock=clock, session=session,
                               journal_problem=problem, mode=mode, seed=seed,
                               operator=lambda: who.label)
    if advance_s:
        runtime.advance(advance_s)
    assert runtime.estate is not None
    # the briefing comes before a new scenario's clock starts; a resumed one goes straight in
    return CockpitApp(runtime, sim_sources(runtime.estate), start_clock=start_clock,
                      briefing=scenario.briefing if briefing and not resumed else None)


def open_incident_app(session: IncidentSession, *, operator: str | None = None,
                      config: Any = None) -> CockpitApp:
    """The war room on an incident taken back with ``cockpit resume``.

    A training incident reopens its scenario at the session clock's time, with its
    recorded seed; a live one reopens the connectors of the config it was started with
    (``config``: that :class:`cockpit.config.Config`, when the caller read it already),
    whose ``[cockpit] operator`` is who is at the keyboard. ``operator``: the name when
    no such config names one (the default config's), else ``$COCKPIT_OPERATOR``, else
    ``user@host``.
    """
    state = session.state
    if state.scenario:
        return make_sim_app(state.scenario, session=session, operator=operator)
    if not state.config:
        from cockpit.timeline.journal import JournalError

        raise JournalError(f"incident {session.incident_id} has no config file recorded; "
                           "it cannot reopen its connectors")
    from cockpit.config import load_config
    from cockpit.connectors import build_sources
    from cockpit.connectors.executor import build_executor
    from cockpit.timeline.redact import configure_identifiers, register_secret

    if config is None:
        config = load_config(state.config)
    for secret in config.secrets():
        register_secret(secret)
    configure_identifiers(patient_name_patterns=config.redaction.patient_name_patterns,
                          mrn_patterns=config.redaction.mrn_patterns,
                          terms=config.redaction.terms)
    # opened read-only (the flag or the config), resumed read-only
    read_only = state.read_only or config.cockpit.read_only
    return make_app(build_sources(config, read_only=read_only), clock=session.clock,
                    environment=config.cockpit.environment,
                    estate_label="LIVE READ-ONLY" if read_only else "LIVE", session=session,
                    executor=build_executor(config, read_only=read_only), read_only=read_only,
                    variables=config.runbook_variables(), signing_key=config.signing_key(),
                    operator=config.cockpit.operator or operator, rollback=config.rollback)


def make_replay_app(journal: Path, *, speed: float = 10.0, start_clock: bool = True,
                    advance_s: float = 0.0, force: bool = False) -> CockpitApp:
    """The war room playing a recorded incident back, read-only (``cockpit replay``).

    The record is verified first: one that fails raises ``JournalCorruptError`` naming
    where, unless ``force`` (the header then says UNVERIFIED)."""
    from cockpit.runtime.build import follower_runtime
    from cockpit.timeline.journal import JournalCorruptError, JournalError, read_events
    from cockpit.timeline.playback import Playback, PlaybackSource
    from cockpit.timeline.replay import replay
    from cockpit.timeline.verify import verify

    problem = verify(journal).first_problem()
    if problem and not force:
        raise JournalCorruptError(f"the record failed verification: {problem}")
    events = read_events(journal)
    if not events:
        raise JournalError(f"{journal}: the journal has no events")
    state = replay(events, journal.parent.name)
    playback = Playback(events)
    opened = playback.opened_at
    assert opened is not None
    clock = SimClock(opened, speed)
    runtime = follower_runtime(playback, clock=clock,
                               environment=state.environment or "production",
                               label=f"REPLAY {journal.parent.name}"
                                     + (" UNVERIFIED" if problem else ""),
                               incident_id=journal.parent.name)
    if advance_s:  # the war room's first tick plays (and tells) what is due by then
        clock.advance(advance_s)
    return CockpitApp(runtime, [PlaybackSource(playback, clock.now)], start_clock=start_clock,
                      missing_reason="not in the record")


def make_demo_app(scenario_id: str | None = None, *, speed: float | None = None,
                  seed: int | None = None) -> CockpitApp:
    """The war room watching the autopilot play ``scenario_id`` (``train --mode demo``).

    The autopilot (:class:`cockpit.training.autopilot.Autopilot`) drives its own training
    session in a worker thread: its journal is the incident's, its estate feeds the panels,
    and its runbook runs show in the runbook pane as they progress. The war room's runtime
    follows its journal: the decision panel shows what the autopilot's engine recorded.
    Space pauses it, + and - change its pace.
    """
    from cockpit.runtime.build import follower_runtime
    from cockpit.sim.scenario import DEFAULT_SCENARIO, find_scenario
    from cockpit.sim.sources import sim_sources
    from cockpit.timeline.playback import Playback
    from cockpit.training.demo import DemoDriver

    scenario = find_scenario(scenario_id or DEFAULT_SCENARIO)
    demo = DemoDriver(scenario, seed=seed, speed=speed)
    session = demo.session
    runtime = follower_runtime(Playback(lambda: session.incident.journal.events),
                               clock=session.clock, environment=scenario.environment,
                               label=f"SIM {scenario.id}", incident_id=session.incident_id,
                               estate=session.estate, training_mode="demo",
                               scenario_id=scenario.id)
    return CockpitApp(runtime, sim_sources(session.estate), start_clock=False, demo=demo)
