"""The incident session: the one object the app talks to for the incident's record.

An :class:`IncidentSession` owns the incident's :class:`~cockpit.timeline.journal.Journal`
(the single-writer lock included) and a :class:`~cockpit.timeline.replay.Reducer` fed with
every event it writes, so :attr:`IncidentSession.state` is always what a replay of the
journal would give. Every write is write-ahead: :meth:`IncidentSession.record` returns only
after the event is fsynced, and re-raises :class:`JournalWriteError` so a caller (the
runbook step runner) can refuse to act.

Event times come from the session's clock, so a simulated incident's record lines up with
its simulated metrics.

Resuming an incident (what ``cockpit resume`` does)::

    info = inspect_incident(ref)                 # read-only, no lock
    clock = resume_clock(info)                   # cockpit.runtime.build: SimClock at the last event
    session = IncidentSession.resume(info.id, clock=clock)
    runtime = ...                                # cockpit.runtime.build: the engine, the estate and
                                                 # the runbooks restored from session.state

The session never rebuilds anything itself: everything is derived from
:attr:`IncidentSession.state`, the reducer's fold of the journal.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cockpit.clock import Clock
from cockpit.incident_actor import operator_identity
from cockpit.timeline.checkpoint import Checkpointer, head_ref
from cockpit.timeline.journal import (
    JOURNAL_NAME,
    Actor,
    Event,
    Journal,
    JournalError,
    JournalLockedError,
    JournalWriteError,
    read_events,
)
from cockpit.timeline.kinds import EventKind as K
from cockpit.timeline.replay import (
    Decision,
    IncidentState,
    Reducer,
    StepState,
    TextEntry,
    TreeAnswer,
    replay,
)
from cockpit.timeline.replay import resume as resume_journal
from cockpit.timeline.sanitize import sanitize_text
from cockpit.timeline.store import UnknownIncidentError, latest_open_incident, resolve_journal

if TYPE_CHECKING:
    from cockpit.decision.engine import DecisionEngine

__all__ = [
    "MODES",
    "STATUS_HEAD_PREFIX",
    "ExportResult",
    "IncidentClosedError",
    "IncidentInfo",
    "IncidentSession",
    "JournalLockedError",
    "JournalWriteError",
    "NoOpenIncidentError",
    "PlannedStep",
    "Progress",
    "UnknownIncidentError",
    "inspect_incident",
]

MODES = ("training", "live")
STATUS_HEAD_PREFIX = "Journal head: "
DEFAULT_STATUS_MINUTES = 15
#: Seconds a closing or disconnecting session waits for its last head to be signed.
FINAL_CHECKPOINT_WAIT_S = 3.0
_STALE_STATES = frozenset({"stale"})
_OK_STATES = frozenset({"ok"})
_DONE = frozenset({"done", "skipped"})
_PHASE_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Database", ("database", "db", "sql", "postgres", "migration", "schema", "restore")),
    ("Infrastructure", ("infra", "terraform", "network", "dns", "mesh", "traffic", "load")),
)


class NoOpenIncidentError(LookupError):
    """``cockpit resume`` without an ID found no open incident."""


class IncidentClosedError(JournalError):
    """The incident was closed; it can be exported but not resumed."""


# -- read-only look at an incident --------------------------------------------------------


@dataclass(frozen=True)
class IncidentInfo:
    """What is known about an incident on disk, read without taking its lock."""

    id: str
    path: Path
    scenario: str | None
    environment: str | None
    mode: str | None
    title: str | None
    severity: str | None
    is_open: bool
    opened_at: datetime | None
    last_event_at: datetime | None
    events: int
    training_seed: int | None = None
    """The simulated estate's seed a training incident was started with."""
    training_speed: float | None = None
    """The simulation speed a training incident was started with."""
    config: str | None = None
    """The config file a live incident was started with (its ``[cockpit] operator`` is
    who resumes it)."""

    def sim_offset_s(self, scenario_start: datetime) -> float:
        """Simulated seconds from the scenario's T=0 to the last event (never negative)."""
        if self.last_event_at is None:
            return 0.0
        return max(0.0, (self.last_event_at - scenario_start).total_seconds())


def _journal_path(ref: str | None, state_dir: Path | None) -> Path:
    if ref is None:
        root = state_dir if state_dir is not None else _default_state_dir()
        latest = latest_open_incident(root)
        if latest is None:
            raise NoOpenIncidentError(f"no open incident in {root / 'incidents'}")
        return latest.path / JOURNAL_NAME
    return resolve_journal(ref, state_dir)


def _default_state_dir() -> Path:
    from cockpit.paths import state_dir

    return state_dir()


def inspect_incident(ref: str | None, state_dir: Path | None = None) -> IncidentInfo:
    """Describe the incident ``ref`` (ID, folder, journal path; ``None``: latest open one).

    Raises :class:`UnknownIncidentError` or :class:`NoOpenIncidentError` with a one-line
    message. Takes no lock and writes nothing.
    """
    path = _journal_path(ref, state_dir)
    try:
        events = read_events(path)
    except (OSError, ValueError) as exc:
        raise UnknownIncidentError(f"{path}: cannot read the journal ({exc})") from None
    state = replay(events, path.parent.name)
    return IncidentInfo(
        id=path.parent.name,
        path=path.parent,
        scenario=state.scenario,
        environment=state.environment,
        mode=state.mode,
        title=state.title,
        severity=state.severity,
        is_open=state.is_open,
        opened_at=state.opened_at,
        last_event_at=state.last_event_at,
        events=state.events,
        training_seed=state.training.seed,
        training_speed=state.training.speed,
        config=state.config,
    )


# -- status update inputs -----------------------------------------------------------------


# PlannedStep and Progress live with the runbook desk that computes them; re-exported here
# for the template's callers until they import them from cockpit.runbook.desk.
from cockpit.runbook.desk import PlannedStep, Progress  # noqa: E402


@dataclass(frozen=True)
class ExportResult:
    """An export written to disk."""

    path: Path
    fmt: str
    head: str
    events: int

    @property
    def head_short(self) -> str:
        """First 12 hex characters of the exported journal's head hash."""
        return self.head[:12]


# -- the session --------------------------------------------------------------------------


class IncidentSession:
    """The incident's record for the app: journal, live state, and the recording rules.

    Build it with :meth:`start` or :meth:`resume`. Thread-safe: the runbook step runner
    may record from a worker thread while the app records from the event loop.
    """

    def __init__(
        self,
        journal: Journal,
        reducer: Reducer,
        clock: Clock,
        *,
        status_update_minutes: float = DEFAULT_STATUS_MINUTES,
        interrupted: Sequence[StepState] = (),
    ) -> None:
        """Wrap an open journal and a reducer already fed with all of its events."""
        self.journal = journal
        self.clock = clock
        self.status_update_minutes = status_update_minutes
        self.interrupted: tuple[StepState, ...] = tuple(interrupted)
        """Steps this session's resume marked ``interrupted`` (empty for a new incident)."""
        self._reducer = reducer
        self._lock = threading.RLock()
        self._journaled: weakref.WeakKeyDictionary[DecisionEngine, int] = (
            weakref.WeakKeyDictionary()
        )
        self._finished = False
        self.checkpointer: Checkpointer | None = None
        """Signs the journal's head beside it (set by the runtime that owns the session)."""

    # -- construction -------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        *,
        scenario: str | None,
        environment: str,
        mode: str,
        title: str,
        clock: Clock,
        state_dir: Path | None = None,
        status_update_minutes: float = DEFAULT_STATUS_MINUTES,
        incident_id: str | None = None,
        config: str | None = None,
        read_only: bool = False,
        actor: Actor | None = None,
    ) -> IncidentSession:
        """Open a new incident: create its journal and record ``incident.opened``.

        ``incident_id`` fixes the ID (tests, snapshots); ``config`` is the config file a
        live incident runs on, kept so ``cockpit resume`` can reopen the same connectors,
        and ``read_only`` whether it was opened read-only (a resume keeps it so).
        ``actor``: the author of every event (default: the operator of this process
        without a config, :func:`cockpit.incident_actor.operator_identity`).
        """
        if mode not in MODES:
            raise ValueError(f"incident mode must be one of {', '.join(MODES)}, got {mode!r}")
        holder: list[IncidentSession] = []
        journal = Journal.create(state_dir, clock=lambda: _now(holder, clock),
                                 incident_id=incident_id, actor=actor or _default_actor())
        session = cls(
            journal, Reducer(journal.incident_id), clock,
            status_update_minutes=status_update_minutes,
        )
        holder.append(session)
        try:
            session.record(
                K.INCIDENT_OPENED,
                {"scenario": scenario, "environment": environment, "mode": mode, "title": title,
                 **({"config": config} if config else {}),
                 **({"read_only": True} if read_only else {})},
            )
        except BaseException:
            journal.close()
            raise
        return session

    @classmethod
    def resume(
        cls,
        ref: str | None,
        *,
        clock: Clock,
        state_dir: Path | None = None,
        status_update_minutes: float = DEFAULT_STATUS_MINUTES,
        actor: Actor | None = None,
    ) -> IncidentSession:
        """Take an open incident back (``ref``: ID, folder or path; ``None``: latest open).

        Takes the lock (:class:`JournalLockedError` names the other cockpit), refuses a
        closed incident (:class:`IncidentClosedError`), records ``step.interrupted`` for
        each step that started and never finished, then ``operator.resumed``, written by
        ``actor`` (the operator taking it back; default as for :meth:`start`).
        """
        path = _journal_path(ref, state_dir)
        holder: list[IncidentSession] = []
        journal = Journal.open(path, clock=lambda: _now(holder, clock),
                               actor=actor or _default_actor())
        try:
            before = replay(journal.events, journal.incident_id)
            if not before.is_open:
                raise IncidentClosedError(
                    f"incident {journal.incident_id} was closed; export it with "
                    f"`cockpit export {journal.incident_id}`"
                )
            running = {(s.runbook, s.step) for s in before.steps() if s.status == "running"}
            reducer = resume_journal(journal)
        except BaseException:
            journal.close()
            raise
        interrupted = [s for s in reducer.state.steps() if (s.runbook, s.step) in running]
        session = cls(
            journal, reducer, clock,
            status_update_minutes=status_update_minutes, interrupted=interrupted,
        )
        holder.append(session)
        return session

    def act_as(self, actor: Actor) -> None:
        """From now on, ``actor`` is the author of the events written (the operator named
        by a config read after the journal was opened)."""
        with self._lock:
            self.journal.actor = actor

    # -- reading ------------------------------------------------------------------------

    @property
    def incident_id(self) -> str:
        """The incident ID (``INC-YYYYMMDD-HHMMSS-xxxx``)."""
        return self.journal.incident_id

    @property
    def folder(self) -> Path:
        """The incident folder (journal, lock, exports)."""
        return self.journal.folder

    @property
    def state(self) -> IncidentState:
        """The current incident state (equal to a replay of the journal)."""
        with self._lock:
            return self._reducer.state

    @property
    def head_short(self) -> str:
        """First 12 hex characters of the journal head."""
        return self.state.head_short

    @property
    def head_ref(self) -> str:
        """The journal head as messages quote it: ``COUNT:HASH12``."""
        with self._lock:
            return head_ref(self.journal.seq, self.journal.head)

    def checkpoint(self) -> str:
        """Have the current head signed (in the background, never waiting); return it as
        ``COUNT:HASH12``. At every status update, decision, export, close and message."""
        with self._lock:
            count, head = self.journal.seq, self.journal.head
        if self.checkpointer is not None:
            self.checkpointer.request(count, head)
        return head_ref(count, head)

    def _final_checkpoint(self) -> None:
        """Sign the head the session ends on, waiting a little for it (the cockpit goes)."""
        if self.checkpointer is not None:
            self.checkpoint()
            self.checkpointer.wait(FINAL_CHECKPOINT_WAIT_S)

    @property
    def finished(self) -> bool:
        """True once :meth:`disconnect` or :meth:`close` released the journal."""
        return self._finished

    @property
    def is_open(self) -> bool:
        """True until the incident is closed (``incident.closed``)."""
        return self.state.is_open

    @property
    def scenario(self) -> str | None:
        """The training scenario id, if any."""
        return self.state.scenario

    @property
    def mode(self) -> str | None:
        """``training`` or ``live``."""
        return self.state.mode

    @property
    def severity(self) -> str | None:
        """The recorded severity (``incident.declared`` or the last ``severity.set``)."""
        return self.state.severity

    @property
    def decisions(self) -> tuple[Decision, ...]:
        """Recorded decisions, oldest first."""
        return self.state.decisions

    @property
    def answers(self) -> tuple[TreeAnswer, ...]:
        """Decision-tree answers, oldest first."""
        return self.state.answers

    @property
    def notes(self) -> tuple[TextEntry, ...]:
        """Notes, oldest first."""
        return self.state.notes

    @property
    def steps(self) -> tuple[StepState, ...]:
        """Every runbook step the journal knows (pending ones are absent), in order."""
        return tuple(self.state.steps())

    @property
    def last_event_at(self) -> datetime | None:
        """The time of the last event (simulated time for a training incident)."""
        return self.state.last_event_at

    # -- writing ------------------------------------------------------------------------

    def record(self, kind: str, data: Mapping[str, Any] | None = None) -> Event:
        """Append one event (fsynced before returning) and apply it to the live state.

        Raises :class:`JournalWriteError` when the event is not durable (nothing was
        recorded: do not act as if it were), also after :meth:`close`/:meth:`disconnect`.
        """
        with self._lock:
            if self._finished:
                raise JournalWriteError(
                    f"incident {self.incident_id}: the session has ended; {kind} not recorded"
                )
            event = self.journal.append(kind, data)
            self._reducer.apply(event)
            return event

    def record_engine_history(self, engine: DecisionEngine) -> list[Event]:
        """Journal every item of ``engine.history`` not journaled yet; return the new events.

        Idempotent: call it after every feed and tick. Each event's data carries the
        engine's own time of the change as ``at`` (the journal time is the clock's).
        Does nothing once the session has ended.
        """
        written: list[Event] = []
        with self._lock:
            if self._finished:
                return written
            history = engine.history
            done = self._journaled.get(engine, 0)
            for item in history[done:]:
                raw = item.to_event()
                data = dict(raw["data"])
                data.setdefault("at", raw["t"])
                try:
                    written.append(self.record(str(raw["kind"]), data))
                finally:
                    # on failure, the items before this one stay journaled exactly once
                    self._journaled[engine] = done + len(written)
            return written

    def record_source(self, status_kind: str, state: str, reason: str = "") -> Event | None:
        """Record ``source.stale``/``source.recovered`` on transitions only; else ``None``.

        ``state`` is a source status state: ``stale`` marks the source stale (once,
        with its reason), ``ok`` recovers it if it was stale; other states record
        nothing. Survives a resume: the journal's stale set is the reference.
        """
        with self._lock:
            if self._finished:
                return None
            stale = status_kind in self._reducer.state.stale_sources
            if state in _STALE_STATES and not stale:
                return self.record(
                    K.SOURCE_STALE, {"source": status_kind, "reason": reason or "no reason given"}
                )
            if state in _OK_STATES and stale:
                return self.record(K.SOURCE_RECOVERED, {"source": status_kind})
            return None

    def record_sample(self, metric: str, value: float,
                      at: datetime | None = None) -> Event | None:
        """Record a metric sample for the charts (at most one per metric per 10 s).

        Use the decision engine's metric names. Does nothing once the session has ended.
        """
        with self._lock:
            if self._finished:
                return None
            event = self.journal.record_sample(metric, value, at)
            if event is not None:
                self._reducer.apply(event)
            return event

    def note(self, text: str, actor: str) -> Event:
        """Record an engineer's note (``note.added {text, by}``), neutralised first."""
        text = sanitize_text(text).strip()
        if not text:
            raise ValueError("a note needs some text")
        return self.record(K.NOTE_ADDED, {"text": text, "by": actor})

    def status_update(self, text: str, channel: str = "journal") -> Event:
        """Record a status update; its text always ends with the current journal head.

        A ``Journal head:`` line already in ``text`` (from the template) is brought up to
        date; otherwise one is appended. The event's data also carries ``head``.
        """
        with self._lock:
            head = self.head_short
            lines = [ln for ln in sanitize_text(text).rstrip().splitlines()
                     if not ln.startswith(STATUS_HEAD_PREFIX)]
            while lines and not lines[-1].strip():
                lines.pop()
            if not lines:
                raise ValueError("a status update needs some text")
            lines += ["", f"{STATUS_HEAD_PREFIX}{head}"]
            event = self.record(
                K.STATUS_UPDATE, {"text": "\n".join(lines), "channel": channel, "head": head}
            )
        self.checkpoint()
        return event

    def status_due(self, now: datetime) -> bool:
        """True when ``status_update_minutes`` have passed since the last update (or opening)."""
        state = self.state
        if not state.is_open:
            return False
        last = state.status_updates[-1].t if state.status_updates else state.opened_at
        if last is None:
            return True
        return now - last >= timedelta(minutes=self.status_update_minutes)

    def status_update_template(self, progress: Progress | None = None) -> str:
        """The procedures' "ROLLBACK STATUS UPDATE" template, pre-filled from the record."""
        return render_status_template(self.state, self.clock.now(), progress,
                                      self.journal.actor.user)

    def disconnect(self) -> bool:
        """Record ``operator.disconnected`` and release the lock (idempotent; on quit).

        Returns whether the event could be recorded; the lock is released either way.
        """
        with self._lock:
            if self._finished:
                return False
            recorded = True
            try:
                self.record(K.OPERATOR_DISCONNECTED, {})
            except JournalWriteError:
                recorded = False
            self._finished = True
            self._final_checkpoint()
            self.journal.close()
            return recorded

    def close(self) -> Event:
        """The engineer closes the incident: record ``incident.closed`` and release the lock."""
        with self._lock:
            event = self.record(K.INCIDENT_CLOSED, {})
            self._finished = True
            self._final_checkpoint()
            self.journal.close()
            return event

    # -- exports ------------------------------------------------------------------------

    def export(self, fmt: str) -> str:
        """The incident as ``md``, ``json`` or ``html`` text (see ``cockpit.timeline.export``)."""
        from cockpit.timeline.export import export_journal

        self.checkpoint()
        with self._lock:
            return export_journal(self.journal.path, fmt)

    def export_to(self, fmt: str, directory: Path | None = None) -> ExportResult:
        """Write the export to ``<directory or incident folder>/<ID>.<fmt>`` (owner-only).

        Written to a temporary file then renamed, so a reader never sees half a file.
        """
        with self._lock:
            text = self.export(fmt)
            head, events = self.journal.head, self.journal.seq
        from cockpit.paths import write_private

        target_dir = Path(directory) if directory is not None else self.folder
        # 0600, a temporary name beside it (O_EXCL|O_NOFOLLOW), fsync, rename: never a symlink
        target = write_private(target_dir / f"{self.incident_id}.{fmt}", text)
        return ExportResult(target, fmt, head, events)


def _default_actor() -> Actor:
    return operator_identity("").actor()


def _now(holder: Sequence[IncidentSession], fallback: Clock) -> datetime:
    """The journal's clock: the session's (replaceable) clock once it exists."""
    return holder[0].clock.now() if holder else fallback.now()


# -- the status update template ------------------------------------------------------------


def _phase(state: IncidentState, progress: Progress | None) -> str:
    if progress is not None and progress.phase:
        return progress.phase
    names = [s.runbook for s in reversed(state.steps())] or list(reversed(state.runbooks))
    if not names:
        return "Assessment (no runbook started)"
    name = names[0].lower()
    for phase, words in _PHASE_WORDS:
        if any(word in name for word in words):
            return phase
    return "Application"


def _label(title: str | None, runbook: str, step: str) -> str:
    return f"{title or step} ({runbook})"


def render_status_template(
    state: IncidentState,
    now: datetime,
    progress: Progress | None = None,
    contact: str | None = None,
) -> str:
    """Fill the procedures' status update template from ``state`` at ``now``.

    Status is ``Failed`` when a step is failed or a runbook was aborted, ``Completed``
    when every planned step is done or skipped (or, without a plan, when the rollback
    completed and nothing is running), else ``In Progress``.
    """
    plan = list(progress.steps) if progress is not None else []
    known = state.steps()
    if plan:
        rows = [(p.title, p.runbook, p.step, p.status) for p in plan]
    else:
        rows = [(s.title, s.runbook, s.step, s.status) for s in known]
    done = [r for r in rows if r[3] in _DONE]
    running = [r for r in rows if r[3] in ("running", "interrupted")]
    upcoming = [r for r in rows if r[3] not in _DONE and r[3] not in
                ("running", "interrupted", "failed", "cancelled")]
    failed = [r for r in rows if r[3] in ("failed", "cancelled")]
    aborted = [rb for rb in state.runbooks.values() if rb.aborted_at is not None]

    if failed or aborted:
        status = "Failed"
    elif plan and len(done) == len(plan):
        status = "Completed"
    elif (not plan and state.milestones.rollback_completed is not None and not running
          and known):
        status = "Completed"
    else:
        status = "In Progress"
    percent = round(100 * len(done) / len(rows)) if rows else 0

    lines = [
        f"ROLLBACK STATUS UPDATE - {now:%Y-%m-%d %H:%M} UTC",
        "",
        f"Current Status: {status}",
        f"Phase: {_phase(state, progress)}",
        f"Progress: {percent}%",
        "",
        "Completed:",
    ]
    lines += [f"✓ {_label(t, rb, st)}" for t, rb, st, s in done if s == "done"] or [
        "✓ (none yet)"]
    skipped = [r for r in rows if r[3] == "skipped"]
    if skipped:  # a skipped step was not done: it is said as such, never "Completed"
        lines += ["", "Skipped:"] + [f"- {_label(t, rb, st)}" for t, rb, st, _ in skipped]
    lines += ["", "In Progress:"]
    lines += [
        f"▶ {_label(t, rb, st)}" + (" - INTERRUPTED, check before retrying"
                                    if s == "interrupted" else "")
        for t, rb, st, s in running
    ] or ["▶ (nothing running)"]
    lines += ["", "Next Steps:"]
    if upcoming:
        lines += [f"- {_label(t, rb, st)}" for t, rb, st, _ in upcoming[:3]]
    elif plan or status == "Completed":
        lines += ["- (none planned)"]
    else:
        lines += ["- (see the open runbook)"]
    issues = [f"- Step failed: {_label(t, rb, st)}" for t, rb, st, _ in failed]
    issues += [f"- Runbook aborted: {rb.runbook}"
               + (f" ({rb.abort_reason})" if rb.abort_reason else "") for rb in aborted]
    issues += [f"- Data source stale: {name} ({reason})"
               for name, reason in sorted(state.stale_sources.items())]
    lines += ["", "Issues:"] + (issues or ["- None"])
    eta = progress.eta if progress is not None and progress.eta else "Unknown"
    lines += ["", f"ETA: {eta}", ""]
    who = (progress.contact if progress is not None and progress.contact else None) or contact
    lines.append(f"Questions: Contact {who or '[Contact Person]'} on the incident channel")
    lines += ["", f"{STATUS_HEAD_PREFIX}{state.head_short}"]
    return "\n".join(lines)
