"""The incident runtime: the one owner of an incident in progress.

An :class:`IncidentRuntime` holds the incident clock, the incident session and its
journal, the decision engine, the runbook desk, the simulated estate and the coach in
training, and the source statuses. Its methods are the engineer's verbs (feed a source
status, advance or tick the clock, set the severity, answer the tree, decide, note,
status update, close); what changed goes out as plain notices
(:mod:`cockpit.runtime.notices`) to whoever subscribed. The war room, headless training
(:class:`cockpit.training.session.TrainingSession`) and replay all run this code, so a
headless run and a war-room run of the same scenario, seed and inputs write the same
record.

Threads: the engine is driven from one thread (the app's event loop, or the headless
driver's); runbook steps run in the desk's threads and only write the journal, which
the session serialises. Notices may be published from any thread.

A runtime either **records** (it has an :class:`~cockpit.incident.IncidentSession`: it
writes the journal and its engine decides) or **follows** a journal it does not write
(``follow=`` a :class:`~cockpit.timeline.playback.Playback`: replay, the demo's war
room, later a second cockpit on a shared incident). A follower's decision state is
rebuilt from the recorded state as events arrive, never recomputed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, ItemsView, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cockpit.actions.executor import Executor, NoExecutor
from cockpit.clock import Clock, SimClock
from cockpit.decision.engine import DecisionEngine, DecisionState, TriggerStatus
from cockpit.decision.policy import Policy
from cockpit.decision.suspect import RevisionChange, RevisionWatch, Suspect, find_suspect
from cockpit.domain import ClusterSnapshot, DatabaseSnapshot, HealthSnapshot, MetricsSnapshot
from cockpit.incident import IncidentSession, Progress
from cockpit.incident_actor import operator_name
from cockpit.runtime.armed import (
    APPROVED_BY_ARMING,
    authority_covers,
    header_words,
    plan_hold,
)
from cockpit.runtime.notices import (
    Notice,
    RecordingFailed,
    RollbackHoldChanged,
    RunbooksReady,
    Said,
    SourceChanged,
)
from cockpit.runtime.restore import recorded_decision
from cockpit.sources.base import SourceStatus
from cockpit.timeline.journal import JournalWriteError, format_time
from cockpit.timeline.kinds import EventKind as K
from cockpit.timeline.playback import QUIET_KINDS, Playback, describe
from cockpit.timeline.replay import ArmedRollback, IncidentState, Reducer, RollbackHold

if TYPE_CHECKING:
    from cockpit.runbook.desk import ConfirmDestructive, RunbookDesk
    from cockpit.runbook.model import Library
    from cockpit.sim.estate import SimEstate
    from cockpit.training.coach import Coach
    from cockpit.training.score import Score

#: Simulated seconds between two observations of the simulated estate (its sample grid).
OBSERVE_EVERY_S = 10.0
#: Which source reports each metric the engine watches (an outage there means no data).
METRIC_SOURCE: dict[str, str] = {
    "error_rate_pct": "metrics", "latency_p95_ms": "metrics", "cpu_pct": "metrics",
    "memory_pct": "metrics", "health_check_failing_pct": "health",
    "db_connection_error_pct": "database",
}


@dataclass(frozen=True)
class Header:
    """What the war room's top line shows."""

    incident: str
    environment: str
    estate: str
    now: datetime
    elapsed: timedelta
    severity: str
    recording: str
    operator: str = ""
    """Who is at the keyboard (:mod:`cockpit.incident_actor`): the author of what they
    record; empty when following a journal written by someone else."""
    rollback: str = ""
    """The armed rollback in words: ``ROLLBACK in 45s`` during a hold, ``ARMED`` while
    armed, else empty (:func:`cockpit.runtime.armed.header_words`)."""


class RollbackRefused(Exception):
    """Arming, disarming or answering a hold was refused; the message is one line."""


#: Default seconds of a hold before the armed rollback runs (``[rollback] hold_s``).
DEFAULT_HOLD_S = 60.0


def _engine_recorded(state: IncidentState) -> bool:
    """Whether the record holds anything the decision engine said or was told."""
    return bool(state.triggers or state.severity_record or state.tree or state.decisions
                or state.recommendation or state.suggested_severity)


class _IncidentValues(Mapping[str, str]):
    """The incident's variables as a mapping read afresh each time (a run copies them all
    at once when it opens, so ``severity`` and ``now`` are current then)."""

    def __init__(self, read: Callable[[], dict[str, str]]) -> None:
        self._read = read

    def __getitem__(self, key: str) -> str:
        return self._read()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._read())

    def __len__(self) -> int:
        return len(self._read())

    def items(self) -> ItemsView[str, str]:
        """One reading of the incident for every key."""
        return self._read().items()


class IncidentRuntime:
    """The incident in progress (see the module docstring). Build it with the factories
    in :mod:`cockpit.runtime.build`."""

    def __init__(
        self,
        *,
        clock: Clock,
        policy: Policy,
        session: IncidentSession | None = None,
        environment: str = "production",
        estate_label: str = "LIVE",
        estate: SimEstate | None = None,
        executor: Executor | None = None,
        read_only: bool = False,
        variables: Mapping[str, str] | None = None,
        operator: Callable[[], str] = operator_name,
        library: Library | None = None,
        follow: Playback | None = None,
        journal_problem: str = "",
        training_mode: str | None = None,
        coach: Coach | None = None,
        scenario_id: str | None = None,
        incident_id: str = "",
        signing_key: Path | None = None,
        arm_triggers: Iterable[str] = (),
        hold_s: float = DEFAULT_HOLD_S,
        arm_authority: str = "",
    ) -> None:
        """``arm_triggers``/``hold_s``/``arm_authority``: ``[rollback]`` of the config
        (armed when a new incident opens, by the operator, as that authority)."""
        self.clock = clock
        self.policy = policy
        self.session = session
        """The incident's record; ``None`` when following, or when the journal failed."""
        self.environment = environment
        self.estate_label = estate_label
        self.estate = estate
        self.executor: Executor = executor if executor is not None else NoExecutor()
        self.read_only = read_only or follow is not None
        self.variables = dict(variables or {})
        self.operator = operator
        """Who is at the keyboard: the ``by`` of every answer, note and step, and the
        header's ``operator`` (the factories pass the one resolved for their config)."""
        self.follow = follow
        self.journal_problem = journal_problem
        self.training_mode = training_mode
        self.coach = coach
        self.scenario_id = scenario_id
        self._incident_id = incident_id
        self.statuses: dict[str, SourceStatus] = {}
        self._latest_samples: dict[str, tuple[datetime, float]] = {}
        self.first_data: set[str] = set()
        self.desk: RunbookDesk | None = None
        self._library = library
        self._library_lock = threading.Lock()
        self._listeners: list[Callable[[Notice], None]] = []
        self._hint = ""
        self._hint_at: datetime | None = None
        self._status_reminded: datetime | None = None
        self._follow_reducer = Reducer(incident_id) if follow is not None else None
        self._follow_head = ""
        self._follow_ended = False
        state = session.state if session is not None else None
        opened = (state.opened_at if state is not None else None) or (
            follow.opened_at if follow is not None else None)
        self.incident_start = opened or clock.now()
        self.engine = DecisionEngine(policy, started_at=self.incident_start)
        if state is not None and _engine_recorded(state):
            self.engine.restore(recorded_decision(state))
        # the simulated estate is observed on its 10 s grid: resume carries on from here
        self._observed: int | None = None
        self._events_seen = len(state.sim_events) if state is not None else 0
        self._consequences_seen = len(state.consequences) if state is not None else 0
        self.tick_hooks: list[Callable[[], None]] = []
        """Called after every observation of the simulated estate (the autopilot's status
        updates hang here)."""
        self._checkpoint_problem = ""
        self.hold_s = hold_s
        """Seconds of a hold when the arming recorded none."""
        self.arm_authority = arm_authority
        """``[rollback] authority``: the role the arm modal offers first."""
        self.revisions = RevisionWatch()
        """When the cockpit saw each deployment's revision change (the suspect's source)."""
        if session is not None:
            self._attach_checkpointer(session, signing_key)
            # every message quotes the signed head COUNT:HASH (and has it signed)
            self.executor.bind(self._record_from_thread, session.checkpoint,
                               session.folder)
        self._arm_from_config(tuple(arm_triggers), arm_authority)

    def _attach_checkpointer(self, session: IncidentSession, key: Path | None) -> None:
        """Sign the journal's head beside it: with ``key`` (``[cockpit] signing_key``), or
        this host's key under the state folder, created on first use (in the signer's
        thread, like every signature)."""
        from cockpit.timeline.checkpoint import Checkpointer, Signer, host_key

        state_dir = session.folder.parent.parent

        def signer() -> Signer:
            return Signer(key if key is not None else host_key(state_dir))

        session.checkpointer = Checkpointer(session.folder, session.incident_id, signer,
                                            on_error=self._checkpoint_failed)

    def _checkpoint_failed(self, reason: str) -> None:
        if reason != self._checkpoint_problem:
            self._checkpoint_problem = reason
            self.say(f"The journal head could not be signed: {reason}. The record is kept; "
                     "`cockpit timeline verify` cannot rule out lines cut off its end.",
                     title="Checkpoint not signed", severity="warning")

    # ----------------------------------------------------------------- reading

    @property
    def incident_id(self) -> str:
        """The incident ID (the journal's, or the followed one's)."""
        return self.session.incident_id if self.session is not None else self._incident_id

    @property
    def state(self) -> IncidentState | None:
        """The recorded state (the reducer's fold of the journal), if there is a record."""
        if self.session is not None:
            return self.session.state
        if self._follow_reducer is not None:
            return self._follow_reducer.state
        return None

    @property
    def recording(self) -> bool:
        """True while the journal is written."""
        return self.session is not None and not self.journal_problem

    @property
    def is_open(self) -> bool:
        """True until the incident is closed (a follower is never open for writing)."""
        return self.session is not None and self.session.is_open

    def decision(self, now: datetime | None = None) -> DecisionState:
        """The decision engine's state at ``now`` (default: the incident clock's now)."""
        return self.engine.state(now or self.clock.now())

    def header(self, now: datetime | None = None) -> Header:
        """The top line: incident, environment, estate and speed, clock, severity."""
        now = now or self.clock.now()
        state = self.decision(now)
        label = self.estate_label
        if self.training_mode:
            label = f"{label} {self.training_mode.upper()}"
        clock = self.clock
        if isinstance(clock, SimClock):
            paused = "PAUSED" if clock.paused else ""
            label = f"{label} x{clock.speed:g} {paused}".rstrip()
        if state.severity:
            severity = str(state.severity).upper()
        elif state.suggested_severity:
            severity = f"{str(state.suggested_severity).upper()}? (suggested)"
        else:
            severity = "not set"
        return Header(self.incident_id, self.environment, label, now, now - self.incident_start,
                      severity, "NOT RECORDING" if self.journal_problem else "",
                      "" if self.follow is not None else self.operator(),
                      header_words(self.armed_rollback, now))

    def has_first_data(self, kinds: Iterable[str]) -> bool:
        """Whether every source in ``kinds`` has answered at least once."""
        return self.first_data >= set(kinds)

    def incident_variables(self) -> dict[str, str]:
        """The incident's values every runbook sees (read when a run opens, so ``severity``
        and ``now`` are current), under the config's (``namespace``, ``database``...)."""
        now = self.clock.now()
        state = self.decision(now)
        values = {
            "incident_id": self.incident_id,
            "operator": self.operator(),
            "severity": str(state.severity or "unknown"),
            "now": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "environment": self.environment,
            "reason": f"{self.environment} incident",
        }
        if self.estate is not None:
            scenario = self.estate.scenario
            values.update(scenario=scenario.id, reason=scenario.title,
                          namespace=scenario.namespace)
        values.update(self.variables)
        return {k: v for k, v in values.items() if v}

    # ------------------------------------------------------------- notices

    def subscribe(self, listener: Callable[[Notice], None]) -> None:
        """Call ``listener(notice)`` on every change (from whichever thread made it)."""
        self._listeners.append(listener)

    def _publish(self, notice: Notice) -> None:
        for listener in list(self._listeners):
            listener(notice)

    def say(self, text: str, *, title: str = "", severity: str = "information",
            timeout_s: float = 10.0) -> None:
        """Tell the engineer something (a notice for the display)."""
        self._publish(Said(text, title, severity, timeout_s))

    # ------------------------------------------------------------- the record

    def _write(self, write: Callable[..., Any], *args: Any) -> Any:
        """Call a session write; one that fails is said loudly, never swallowed."""
        try:
            return write(*args)
        except JournalWriteError as exc:
            self._journal_failed(str(exc))
            return None

    def _must_write(self, write: Callable[..., Any], *args: Any) -> Any:
        """Call a session write for a verb: one that fails is said loudly and re-raised, so
        the engineer is told it was not recorded."""
        try:
            return write(*args)
        except JournalWriteError as exc:
            self._journal_failed(str(exc))
            raise

    def _journal_failed(self, reason: str) -> None:
        if reason != self.journal_problem:
            self.journal_problem = reason
            self._publish(RecordingFailed(reason))

    def record(self, kind: str, data: Mapping[str, Any] | None = None) -> None:
        """Write-ahead record for the runbook desk: raises when the event is not durable."""
        if self.session is None:
            why = self.journal_problem or "read-only"
            raise JournalWriteError(f"the incident is not being recorded ({why})")
        try:
            self.session.record(kind, dict(data or {}))
        except JournalWriteError as exc:
            self._journal_failed(str(exc))
            raise

    def _record_from_thread(self, kind: str, data: dict[str, Any]) -> None:
        """Journal an event from a worker thread (notification deliveries)."""
        if self.session is None:
            return
        try:
            self.session.record(kind, data)
        except JournalWriteError as exc:
            self._journal_failed(str(exc))
        if kind == K.NOTIFICATION_ABANDONED:  # giving up on a message is never silent
            self.say(f"{data.get('channel')} message {data.get('id')} not delivered: "
                     f"{data.get('reason')}", title="Notification not delivered",
                     severity="error", timeout_s=30.0)

    def _sync(self) -> None:
        """Journal what the decision engine decided since the last call (idempotent)."""
        if self.session is not None:
            self._write(self.session.record_engine_history, self.engine)

    # ------------------------------------------------------------ runbooks

    def runbook_library(self) -> Library:
        """The shipped runbooks and the built-in automatic rollback, read once per cockpit.
        File I/O: off the event loop."""
        from cockpit.runbook.automatic import AUTOMATIC_ROLLBACK, with_automatic
        from cockpit.runbook.deployment_actions import with_deployment_actions

        with self._library_lock:
            if self._library is None:
                from cockpit.paths import runbooks_dir
                from cockpit.runbook.loader import load_library

                self._library = load_library(runbooks_dir())
            if AUTOMATIC_ROLLBACK not in self._library:
                self._library = with_automatic(self._library)
            # the one-step deployment actions (act/NS/DEPLOYMENT/...) answer their ids too,
            # so a resume replays an undo taken from a deployment's history like any step
            self._library = with_deployment_actions(self._library)
            return self._library

    def open_desk(self) -> RunbookDesk:
        """Read the runbook library and build the runbook desk, the incident's runs restored
        from the record (file I/O: call it off the event loop). Idempotent."""
        if self.desk is not None:
            return self.desk
        from cockpit.runbook.desk import RunbookDesk

        library = self.runbook_library()
        executor = self.executor
        if isinstance(executor, NoExecutor) and self.estate is not None:
            from cockpit.sim.executor import SimExecutor

            executor = self.executor = SimExecutor(self.estate)
        desk = RunbookDesk(
            library, executor, self.record, self._facts,
            now=self.clock.now, operator=self.operator,
            fired=lambda: [t.id for t in self.decision().fired],
            authority=lambda: self.decision().authority,
            scenario_id=self.scenario_id, variables=_IncidentValues(self.incident_variables),
            read_only=self.read_only, monotonic=self._monotonic(), suspect=self.suspect,
        )
        state = self.state
        if state is not None:
            for problem in desk.restore(state.runbooks):
                self.say(problem, severity="error", timeout_s=30)
        self.desk = desk
        self._publish(RunbooksReady())
        return desk

    def _monotonic(self) -> Callable[[], float]:
        """The clock steps time out and measure durations on: simulated seconds on the
        simulated estate (its world moves at the simulation's speed), real ones otherwise."""
        clock = self.clock
        if isinstance(clock, SimClock):
            origin = self.incident_origin()
            return lambda: (clock.now() - origin).total_seconds()
        import time

        return time.monotonic

    def _facts(self) -> Any:
        state = self.state
        from cockpit.timeline.replay import Facts

        return state.facts if state is not None else Facts()

    def progress(self) -> Progress | None:
        """The runbooks' plan and phase, for the status update template."""
        return self.desk.progress() if self.desk is not None else None

    # ------------------------------------------------------------ data flow

    def feed(self, status: SourceStatus) -> None:
        """A source has a new status: show it, record an outage or a recovery, and (on the
        real estate) give the decision engine its data."""
        self.statuses[status.kind] = status
        if self.session is not None:
            self._write(self.session.record_source, status.kind, status.state, status.reason)
        if status.state == "ok":
            self.first_data.add(status.kind)
            if isinstance(status.snapshot, ClusterSnapshot):
                self.revisions.observe(status.snapshot)
            if self.estate is None and self.follow is None:
                self._feed_engine(status)
        self._publish(SourceChanged(status))
        self._sync()

    def _feed_engine(self, status: SourceStatus) -> None:
        snap = status.snapshot
        if isinstance(snap, MetricsSnapshot):
            for series in (snap.error_rate_pct, snap.latency_p95_ms, snap.cpu_pct,
                           snap.memory_pct):
                for at, value in series.points:
                    self.engine.observe(series.metric, at, value)
                if series.points:
                    self._sample(series.metric, *series.points[-1])
        elif isinstance(snap, HealthSnapshot):
            # over the endpoints that answered; none answered: no sample (missing data,
            # never evidence of a breach), so the trigger goes STALE, never FIRED
            failing_pct = snap.failing_pct
            if failing_pct is not None:
                self.engine.observe("health_check_failing_pct", snap.at, failing_pct)
                self._sample("health_check_failing_pct", snap.at, failing_pct)
        elif isinstance(snap, DatabaseSnapshot):
            self.engine.observe("db_connection_error_pct", snap.at, snap.connection_error_pct)
            self._sample("db_connection_error_pct", snap.at, snap.connection_error_pct)

    def _sample(self, metric: str, at: datetime, value: float) -> None:
        """Record a metric's latest point for the charts (at most one per 10 s); the
        newest one is always recorded before the engineer leaves (:meth:`flush_samples`)."""
        latest = self._latest_samples.get(metric)
        if latest is not None and latest[0] >= at:
            return
        self._latest_samples[metric] = (at, value)
        if self.session is not None:
            self._write(self.session.record_sample, metric, value, at)

    def flush_samples(self) -> None:
        """Record each metric's newest point if the 10 s spacing held it back, so a resume
        restores the engine with the very samples it had seen."""
        state = self.state
        if self.session is None or state is None or not self.session.is_open:
            return
        for metric, (at, value) in self._latest_samples.items():
            recorded = state.samples.get(metric)
            if recorded and recorded[-1][0] >= at:
                continue
            self._write(self.session.record, K.SAMPLE,
                        {"metric": metric, "value": value, "at": format_time(at)})

    # --------------------------------------------------------------- clock

    def advance(self, seconds: float, *, real_sleep: Callable[[float], None] | None = None,
                speed: float | None = None) -> None:
        """Move simulated time forward, observing the simulated estate at every point of
        its 10 s grid crossed (the war room's ticks and the headless driver both use it).

        ``real_sleep`` and ``speed``: sleep ``step / speed`` real seconds per step (a
        headless walkthrough played at a watchable pace).
        """
        clock = self.clock
        if not isinstance(clock, SimClock):
            return
        origin = self.incident_origin()
        grid = timedelta(seconds=OBSERVE_EVERY_S)
        end = clock.now() + timedelta(seconds=seconds)
        while clock.now() < end:
            now = clock.now()
            # the next grid point, computed on datetimes so it is reached exactly
            target = origin + ((now - origin) // grid + 1) * grid
            target = min(target, end)
            step = (target - now).total_seconds()
            if real_sleep is not None and speed:
                real_sleep(step / speed)
            clock.advance(step)
            self._observe()
        self.tick()

    def incident_origin(self) -> datetime:
        """Where the estate's sample grid starts: the scenario's T=0 (or the opening)."""
        return self.estate.scenario.start if self.estate is not None else self.incident_start

    def tick(self) -> None:
        """Bring everything to the clock's now: the estate observed, a followed journal
        applied, the engine's staleness, the record, the reminders and the coach."""
        now = self.clock.now()
        if self.estate is not None and self.follow is None:
            self._observe()
        if self.follow is not None:
            self._follow_until(now)
            return
        self.engine.tick(now)
        self._sync()
        self._armed_check(now)
        self._remind_status_update(now)
        self._coach(now)

    def _observe(self) -> None:
        """Training: at each new point of the estate's 10 s grid, the engine observes its
        sample (a source in an outage gives none: missing data is never a breach), scenario
        events fire their triggers, and damage done by wrong actions is recorded."""
        estate = self.estate
        if estate is None:
            return
        now = self.clock.now()
        point = (now - estate.scenario.start) // timedelta(seconds=OBSERVE_EVERY_S)
        if self._observed is not None and point <= self._observed:
            return
        self._observed = point
        values = {metric: value for metric, value in estate.sample_values().items()
                  if estate.outage(METRIC_SOURCE.get(metric, "metrics")) is None}
        for metric, value in values.items():
            self.engine.observe(metric, now, value)
        events = estate.events_until(now)
        for event in events[self._events_seen:]:
            self.engine.observe_event(event.kind,
                                      estate.scenario.start + timedelta(seconds=event.at))
            if self.session is not None:
                self._write(self.session.record, K.SIM_EVENT,
                            {"kind": event.kind, "detail": event.detail})
        self._events_seen = max(self._events_seen, len(events))
        self.engine.tick(now)
        self._sync()
        self._armed_check(now)
        for metric, value in values.items():
            self._sample(metric, now, value)
        self.record_consequences()
        for hook in list(self.tick_hooks):
            hook()

    def record_consequences(self) -> None:
        """Training: damage done by wrong actions reaches the record and the engineer."""
        estate = self.estate
        if estate is None:
            return
        damage = estate.consequences[self._consequences_seen:]
        self._consequences_seen += len(damage)
        for item in damage:
            self.say(item.detail, title="Consequence", severity="error", timeout_s=15)
            if self.session is not None:
                self._write(self.session.record, K.SIM_CONSEQUENCE,
                            {"kind": item.kind, "amount": item.amount, "detail": item.detail})

    def _follow_until(self, now: datetime) -> None:
        """Follow a journal: its events due by ``now`` fold into the state, the decision
        engine is rebuilt from what was recorded, and the rest is told."""
        follow, reducer = self.follow, self._follow_reducer
        assert follow is not None and reducer is not None
        due = follow.due(now)
        for event in due:
            reducer.apply(event)
            if event.kind not in QUIET_KINDS and self.estate is None:
                self.say(describe(event), title=f"{event.time:%H:%M:%S}Z")
        state = reducer.state
        if state.head != self._follow_head:
            self._follow_head = state.head
            engine = DecisionEngine(self.policy, started_at=self.incident_start)
            engine.restore(recorded_decision(state))
            self.engine = engine
        if follow.finished and not self._follow_ended and self.estate is None:
            self._follow_ended = True
            self.say("End of the record. q quits.", title="Replay", timeout_s=30)

    def _remind_status_update(self, now: datetime) -> None:
        """Every N minutes of incident time: remind the engineer to send a status update."""
        session = self.session
        if session is None or not session.is_open or not session.status_due(now):
            return
        minutes = session.status_update_minutes
        if self._status_reminded is not None and (
                (now - self._status_reminded).total_seconds() < minutes * 60):
            return
        self._status_reminded = now
        self.say("A status update is due: press u to review the pre-filled template.",
                 title="Status update", severity="warning")

    def _coach(self, now: datetime) -> None:
        """Guided mode: one hint when the trainee stalls or errs (said once per change)."""
        state = self.state
        if self.coach is None or state is None or not state.is_open:
            return
        if self._hint_at is not None and (now - self._hint_at).total_seconds() < 1.0:
            return
        self._hint_at = now
        hint = self.coach.hint(state, now)
        if hint and hint != self._hint:
            self.say(hint, title="Coach", timeout_s=12)
        self._hint = hint or ""

    # ---------------------------------------------------------- the verbs

    def _check_writable(self) -> IncidentSession:
        if self.session is None:
            raise JournalWriteError(
                "this is a replay of a recorded incident: nothing can be added to it"
                if self.follow is not None else
                f"the incident is not being recorded: {self.journal_problem}")
        return self.session

    def set_severity(self, severity: str | None, by: str | None = None) -> None:
        """Set the severity (``None``: back to the suggested one). The first one set
        declares the incident (``incident.declared``, a milestone of the RCA)."""
        session = self._check_writable()
        who = by or self.operator()
        if severity is not None and session.state.declared_at is None:
            self._must_write(session.record, K.INCIDENT_DECLARED,
                             {"severity": severity, "by": who})
        self.engine.set_severity(severity, who, self.clock.now())
        self._sync()

    def answer_fix_forward(self, yes: bool, by: str | None = None) -> None:
        """Answer the tree's "Can we fix forward?"."""
        self._check_writable()
        self.engine.answer_fix_forward(yes, by or self.operator(), self.clock.now())
        self._sync()

    def flag_patient_safety(self, yes: bool, by: str | None = None) -> None:
        """Flag (or clear) a patient-safety risk: a critical issue."""
        self._check_writable()
        self.engine.flag_patient_safety(by or self.operator(), self.clock.now(), yes)
        self._sync()

    def decide(self, decision: str, by: str | None = None,
               reasons: Iterable[str] | None = None) -> None:
        """Record the decision (``rollback``, ``hot_fix``, ``no_action``) and who made it;
        without ``reasons``, the engine's current recommendation's."""
        self._check_writable()
        now = self.clock.now()
        if reasons is None:
            reasons = self.decision(now).recommendation.reasons
        self.engine.record_decision(decision, by or self.operator(), now, tuple(reasons))
        self._sync()
        if self.session is not None:
            self.session.checkpoint()

    def note(self, text: str, by: str | None = None) -> None:
        """Add a note to the record."""
        session = self._check_writable()
        self._must_write(session.note, text, by or self.operator())

    def pin(self, seq: int, by: str | None = None) -> None:
        """Pin event ``seq`` of the timeline: marked for the RCA (``event.pinned``)."""
        self._pin(K.EVENT_PINNED, seq, by, pinned=False)

    def unpin(self, seq: int, by: str | None = None) -> None:
        """Take the pin off event ``seq`` (``event.unpinned``)."""
        self._pin(K.EVENT_UNPINNED, seq, by, pinned=True)

    def _pin(self, kind: str, seq: int, by: str | None, *, pinned: bool) -> None:
        session = self._check_writable()
        timeline = session.state.timeline
        if timeline.find(seq) is None:
            raise ValueError(f"event #{seq} is not on the timeline: nothing to pin")
        if timeline.is_pinned(seq) != pinned:
            raise ValueError(f"event #{seq} is {'not ' if pinned else 'already '}pinned")
        self._must_write(session.record, kind, {"seq": seq, "by": by or self.operator()})

    def status_template(self) -> str:
        """The procedures' status update, pre-filled from the record and the runbooks."""
        return self._check_writable().status_update_template(self.progress())

    def can_post_status(self) -> bool:
        """Whether a status update can also be posted to a channel (Slack)."""
        caps = self.executor.capabilities
        return caps.status_updates and not self.read_only and bool(
            self.executor.status_channel())

    def status_update(self, text: str, *, post: bool = False) -> str:
        """Record a status update (posted too when asked and possible); returns the channel
        it went to (``journal`` when only recorded)."""
        session = self._check_writable()
        channel = "journal"
        if post and self.can_post_status():
            channel = self.executor.post_status_update(text) or "journal"
        self._must_write(session.status_update, text, channel)
        self._status_reminded = None
        return channel

    # ------------------------------------------------------- the armed rollback

    @property
    def armed_rollback(self) -> ArmedRollback:
        """The arming and the holds, as recorded (the reducer's fold of ``rollback.*``)."""
        state = self.state
        return state.armed_rollback if state is not None else ArmedRollback()

    def armable_triggers(self) -> list[tuple[str, str]]:
        """The triggers the procedures roll back on automatically or immediately:
        (id, title), in the policy's order."""
        return [(t.id, t.title) for t in self.policy.triggers if t.action.is_critical]

    def _check_armable(self) -> IncidentSession:
        if self.read_only:
            raise RollbackRefused(
                "Read-only session: an automatic rollback is never armed here"
                if self.follow is None else
                "Following a record: an automatic rollback is armed only where it is written")
        try:
            return self._check_writable()
        except JournalWriteError as exc:
            raise RollbackRefused(str(exc)) from None

    def why_not_arm(self) -> str:
        """Why arming (or answering a hold) is refused here, ``''`` when it is not."""
        try:
            self._check_armable()
        except RollbackRefused as exc:
            return str(exc)
        return ""

    def arm(self, trigger_ids: Iterable[str], by: str | None = None,
            authority: str | None = None) -> tuple[str, ...]:
        """Arm the automatic rollback for ``trigger_ids`` (``rollback.armed``): when one
        fires, a hold counts down (:attr:`hold_s`) and the rollback it names runs at its
        end unless cancelled (a trigger already fired, with no hold yet, starts its hold
        now). ``authority``: the armer's role as the policy names it (a rollback needing a
        higher one is only asked for). An empty list disarms.
        Raises :class:`RollbackRefused` in read-only, when following a record, and for a
        trigger the procedures do not roll back on."""
        session = self._check_armable()
        ids = tuple(dict.fromkeys(str(t) for t in trigger_ids))
        if not ids:
            self.disarm(by)
            return ()
        armable = dict(self.armable_triggers())
        titles = {t.id: t for t in self.policy.triggers}
        for trigger in ids:
            if trigger not in armable:
                if trigger in titles:
                    raise RollbackRefused(f"{trigger}: the procedures say "
                                          f"'{titles[trigger].action.label}', not a rollback: "
                                          "it cannot be armed")
                raise RollbackRefused(f"unknown trigger '{trigger}' (armable: "
                                      f"{', '.join(armable) or 'none'})")
        role = " ".join((authority or "").split())
        data: dict[str, Any] = {"triggers": list(ids), "by": by or self.operator(),
                                "hold_s": self.hold_s}
        if role:
            data["authority"] = role
        self._must_write(session.record, K.ROLLBACK_ARMED, data)
        self._publish(RollbackHoldChanged())
        self._armed_check(self.clock.now())
        return ids

    def disarm(self, by: str | None = None) -> None:
        """Disarm (``rollback.disarmed``); a hold counting down is cancelled first."""
        session = self._check_armable()
        if self.armed_rollback.hold is not None:
            self.cancel_hold(by)
        if self.armed_rollback.armed:
            self._must_write(session.record, K.ROLLBACK_DISARMED, {"by": by or self.operator()})
        self._publish(RollbackHoldChanged())

    def _arm_from_config(self, triggers: tuple[str, ...], authority: str) -> None:
        """``[rollback] armed``: armed when a new incident opens (a resumed one keeps what
        its record says); never in read-only or when following."""
        state = self.state
        if not triggers or self.session is None or self.read_only or state is None:
            return
        if state.armed_rollback.at is not None:
            return
        armable = dict(self.armable_triggers())
        unknown = [t for t in triggers if t not in armable]
        if unknown:
            self.say(f"[rollback] armed: {', '.join(unknown)} cannot be armed (armable: "
                     f"{', '.join(armable) or 'none'}); the others are", title="Armed rollback",
                     severity="warning", timeout_s=30)
        known = [t for t in triggers if t in armable]
        if known:
            data: dict[str, Any] = {"triggers": known, "by": self.operator(),
                                    "hold_s": self.hold_s, "source": "config"}
            if authority:
                data["authority"] = authority
            # a journal that fails is said; the incident still opens
            self._write(self.session.record, K.ROLLBACK_ARMED, data)

    def revision_changes(self) -> tuple[RevisionChange, ...]:
        """Every deployment's last revision change the cockpit knows (the simulated
        estate's cluster is looked at now; a live one's at each poll)."""
        if self.estate is not None and self.follow is None:
            self.revisions.observe(self.estate.cluster_snapshot())
        return self.revisions.changes()

    def suspect(self, now: datetime | None = None) -> Suspect | None:
        """The deployment whose revision changed last before the first fired trigger's
        breach (``None``: nothing fired, or no dated change before it)."""
        fired = self.decision(now).fired
        if not fired:
            return None
        first = fired[0]
        assert first.fired_at is not None
        return find_suspect(self.revision_changes(), breach_at=first.window_start,
                            fired_at=first.fired_at, trigger=first.id)

    def _armed_check(self, now: datetime) -> None:
        """At every tick: a due hold ends (the rollback runs, or it lapses), and an armed
        trigger that fired with no hold yet starts one. Only where the incident is
        written (never read-only, never a follower)."""
        session = self.session
        if session is None or self.read_only or not session.is_open:
            return
        armed = session.state.armed_rollback
        hold = armed.hold
        if hold is not None:
            if now >= hold.ends_at:
                self._end_hold(hold, "timeout", session.state.armed_rollback.by
                               or self.operator())
            return
        if not armed.armed:
            return
        for trigger in self.decision(now).fired:
            if trigger.id not in armed.triggers or trigger.state is not TriggerStatus.FIRED:
                continue
            if any(h.trigger == trigger.id and h.fired_at == trigger.fired_at
                   for h in armed.holds):
                continue
            self._start_hold(trigger.id, trigger.fired_at, trigger.window_start, armed, now)
            return

    def _start_hold(self, trigger: str, fired_at: datetime | None,
                    breach_at: datetime | None, armed: ArmedRollback, now: datetime) -> None:
        assert self.session is not None and fired_at is not None
        changes = self.revision_changes()
        suspect = find_suspect(changes, breach_at=breach_at, fired_at=fired_at,
                               trigger=trigger)
        plan = plan_hold(trigger, fired_at, suspect, policy=self.policy,
                         armer=armed.by or "", armer_authority=armed.authority,
                         required=self.decision(now).authority,
                         undated=[c for c in changes if c.at is None])
        hold_s = armed.hold_s or self.hold_s
        data: dict[str, Any] = {
            "trigger": trigger, "fired_at": format_time(fired_at), "at": format_time(now),
            "ends_at": format_time(now + timedelta(seconds=hold_s)),
            "command": plan.command, "why": plan.why, "automatic": plan.automatic,
            "blocked": plan.blocked,
        }
        if plan.deployment is not None:
            data.update(deployment=plan.deployment, namespace=plan.namespace,
                        to_revision=plan.to_revision)
        if self._write(self.session.record, K.ROLLBACK_HOLD_STARTED, data) is None \
                and self.journal_problem:
            return
        self.say(f"{plan.why}. {'ROLLBACK' if plan.automatic else 'Rollback asked'} in "
                 f"{hold_s:g}s: {plan.command}" + (f" ({plan.blocked})" if plan.blocked else "")
                 + ". Enter confirms, any other key cancels.", title="Armed rollback",
                 severity="warning", timeout_s=hold_s)
        self._publish(RollbackHoldChanged())

    def cancel_hold(self, by: str | None = None) -> None:
        """Cancel the hold counting down (``rollback.hold_cancelled``): nothing runs."""
        session = self._check_armable()
        hold = self.armed_rollback.hold
        if hold is None:
            raise RollbackRefused("No rollback hold is counting down.")
        self._must_write(session.record, K.ROLLBACK_HOLD_CANCELLED,
                         {"trigger": hold.trigger, "by": by or self.operator(),
                          "at": format_time(self.clock.now())})
        self.say(f"Automatic rollback cancelled by {by or self.operator()}: nothing ran "
                 f"({hold.command}).", title="Armed rollback")
        self._publish(RollbackHoldChanged())

    def confirm_hold(self, by: str | None = None) -> ConfirmDestructive | None:
        """Confirm the hold now (the same as its end): the rollback starts through the
        desk. Returns the destructive confirmation the engineer must give themself when
        the hold cannot run by itself (an authority the armer does not have), else
        ``None``."""
        self._check_armable()
        hold = self.armed_rollback.hold
        if hold is None:
            raise RollbackRefused("No rollback hold is counting down.")
        return self._end_hold(hold, "confirmed", by or self.operator())

    def _end_hold(self, hold: RollbackHold, how: str, by: str) -> ConfirmDestructive | None:
        """Run the hold's rollback through the desk's guarded path, or lapse it saying why.

        The arming is the destructive step's confirmation: the target is the suspect
        deployment, the approver the armer (named so in ``step.started``)."""
        from cockpit.runbook.automatic import AUTOMATIC_ROLLBACK, UNDO_STEP
        from cockpit.runbook.desk import ConfirmDestructive
        from cockpit.runbook.engine import Confirmation, StepRefused

        session = self.session
        assert session is not None
        armed = session.state.armed_rollback
        now = format_time(self.clock.now())
        if hold.deployment is None or hold.to_revision is None:
            self._lapse(hold, hold.blocked or "no deployment to roll back", now)
            return None
        # the rule is checked again at the end: the severity (and its authority) may move
        required = self.decision().authority
        covered = authority_covers(self.policy, armed.authority, required)
        if not covered and how == "timeout":
            self._lapse(hold, f"needs {required}'s approval, which arming as "
                        f"{armed.authority or 'no role'} does not give: nothing ran; "
                        "open automatic-rollback (o) to confirm it yourself", now)
            return None
        approver = APPROVED_BY_ARMING.format(armer=armed.by or "the armer")
        if covered:
            self._must_write(session.record, K.ROLLBACK_HOLD_CONFIRMED, {
                "trigger": hold.trigger, "by": by, "how": how, "approver": approver,
                "at": now, "runbook": AUTOMATIC_ROLLBACK, "step": UNDO_STEP,
                "why": "the arming is the confirmation: " + hold.why})
        else:  # a person at the keyboard confirms it through the usual modal
            self._must_write(session.record, K.ROLLBACK_HOLD_CONFIRMED,
                             {"trigger": hold.trigger, "by": by, "how": "asked", "at": now,
                              "runbook": AUTOMATIC_ROLLBACK, "step": UNDO_STEP})
        self._publish(RollbackHoldChanged())
        try:
            desk = self.open_desk()
            desk.open(AUTOMATIC_ROLLBACK)
            values = {"deployment": hold.deployment, "to_revision": str(hold.to_revision)}
            if hold.namespace:
                values["namespace"] = hold.namespace
            changed = {k: v for k, v in values.items()
                       if desk.editable_variables(AUTOMATIC_ROLLBACK).get(k) != v}
            if changed:
                desk.set_variables(AUTOMATIC_ROLLBACK, changed)
            ask = desk.request(AUTOMATIC_ROLLBACK, UNDO_STEP)
            if not covered:
                return ask if isinstance(ask, ConfirmDestructive) else None
            target = ask.target if isinstance(ask, ConfirmDestructive) else hold.deployment
            desk.start(AUTOMATIC_ROLLBACK, UNDO_STEP, Confirmation(target, approver))
        except (StepRefused, JournalWriteError, KeyError) as exc:
            self.say(f"The automatic rollback did not start: {exc}", title="Armed rollback",
                     severity="error", timeout_s=30)
            return None
        when = "the hold ended" if how == "timeout" else f"confirmed by {by}"
        self.say(f"Automatic rollback started ({when}): {hold.command}",
                 title="Armed rollback", severity="warning")
        return None

    def _lapse(self, hold: RollbackHold, reason: str, at: str) -> None:
        assert self.session is not None
        self._write(self.session.record, K.ROLLBACK_HOLD_LAPSED,
                    {"trigger": hold.trigger, "reason": reason, "at": at})
        self.say(f"Automatic rollback not run: {reason}.", title="Armed rollback",
                 severity="error", timeout_s=30)
        self._publish(RollbackHoldChanged())

    def wait_for_steps(self, *, changes_only: bool = False) -> None:
        """Let running steps finish and be recorded (blocking; at quit and SIGHUP)."""
        if self.desk is not None:
            self.desk.wait_idle(changes_only=changes_only)

    def hangup(self) -> None:
        """SIGHUP: let a step that changes something finish and be recorded, record the
        disconnect, then stop what only waits or reads (a resume shows it interrupted)."""
        self.wait_for_steps(changes_only=True)
        self.disconnect()
        self.wait_for_steps()

    def disconnect(self) -> None:
        """Leave the incident open: ``operator.disconnected``, the lock released."""
        if self.session is not None and not self.session.finished:
            self.flush_samples()
            self.session.disconnect()

    def estate_outcome(self) -> dict[str, Any]:
        """Training: where the estate stands (restored? data lost?)."""
        from cockpit.sim.estate import estate_outcome

        assert self.estate is not None
        return estate_outcome(self.estate)

    def score(self) -> Score | None:
        """Training: record where the estate stands and the score (``training.outcome``,
        ``score.recorded``); ``None`` on the real estate or when nothing can be recorded."""
        if self.estate is None or self.session is None:
            return None
        from cockpit.training.score import score_state
        from cockpit.training.spec import parse_training

        self._observe()
        self.record_consequences()
        if self._write(self.session.record, K.TRAINING_OUTCOME, self.estate_outcome()) is None:
            return None
        score = score_state(self.session.state, parse_training(self.estate.scenario),
                            self.policy, self.runbook_library())
        self._write(self.session.record, K.SCORE_RECORDED, score.to_data())
        return score

    def close(self) -> Score | None:
        """Close the incident (it is over): steps finish, training is scored, then
        ``incident.closed`` and the lock released. Returns the score in training."""
        self._check_writable()
        self.wait_for_steps()
        score = self.score()
        assert self.session is not None
        self.flush_samples()
        self._write(self.session.close)
        return score

    def shutdown(self) -> None:
        """The cockpit goes: steps end and are recorded, the operator is disconnected."""
        self.wait_for_steps()
        self.disconnect()
        self.executor.close()
