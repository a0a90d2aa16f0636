"""Replay: fold journal events into the incident's state.

The live cockpit and a resume after a crash use the same code path: the app
keeps a :class:`Reducer`, feeds it each event that ``Journal.append`` returns
and reads ``reducer.state``; :func:`replay` feeds a whole journal to a fresh
reducer. Unknown event kinds are kept as generic events.

Step status: ``running`` from ``step.started`` until ``step.finished``
(``done``/``failed``/``cancelled``), ``step.skipped`` or ``step.interrupted``.
A step still ``running`` when a journal is replayed after the fact was cut
short; :func:`replay` with ``settle=True`` reports it as ``interrupted`` (with
its preview), and :func:`resume` writes the ``step.interrupted`` events.
"""

from __future__ import annotations

import bisect
import dataclasses
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, overload

from cockpit.timeline.journal import GENESIS, Event, parse_time
from cockpit.timeline.kinds import EventKind as K
from cockpit.timeline.kinds import is_rollback_decision, timeline_group
from cockpit.timeline.milestones import (
    DEFAULT_RESTORED_AFTER,
    DETECTED_STATES,
    Milestones,
    MilestoneTracker,
)
from cockpit.timeline.playback import describe
from cockpit.timeline.sanitize import sanitize_text

if TYPE_CHECKING:
    from cockpit.timeline.journal import Journal

FINISHED = frozenset({"done", "failed", "cancelled"})
_ROLLBACK_KINDS = frozenset({K.ROLLBACK_ARMED, K.ROLLBACK_DISARMED, K.ROLLBACK_HOLD_STARTED,
                             K.ROLLBACK_HOLD_CANCELLED, K.ROLLBACK_HOLD_CONFIRMED,
                             K.ROLLBACK_HOLD_LAPSED})
INTERRUPTED_REASON = "interrupted: started but never finished (the session ended)"


@dataclass(frozen=True)
class TriggerState:
    """The latest state of one decision trigger, and when it first fired."""

    trigger: str
    state: str
    value: Any
    action: str | None
    decide_by: str | None
    changed_at: datetime
    first_fired_at: datetime | None
    at: datetime | None = None
    """The engine's own time of the last change (the event data's ``at``)."""
    fired_at: datetime | None = None
    """The engine's recorded fire time (exact, not the journal line's time)."""
    window_start: datetime | None = None
    metric: str | None = None
    fired_value: float | None = None
    windows: Mapping[str, datetime | None] = field(default_factory=dict)
    """Each metric window's start at that change (absent in older records)."""

    @property
    def decide_by_at(self) -> datetime | None:
        """``decide_by`` as a time."""
        return _time_or_none(self.decide_by)


@dataclass(frozen=True)
class Decision:
    """A recorded decision and who made it."""

    t: datetime
    decision: str
    reasons: tuple[str, ...]
    by: str | None
    deadline: Mapping[str, Any] | None = None
    """The deadline it was taken against, as the engine recorded it."""


@dataclass(frozen=True)
class TreeAnswer:
    """An answer given in the decision tree and who gave it."""

    t: datetime
    question: str
    answer: str
    by: str | None


@dataclass(frozen=True)
class StepState:
    """One runbook step as far as the journal knows (pending steps are simply absent)."""

    runbook: str
    step: str
    status: str
    title: str | None = None
    preview: str | None = None
    destructive: bool = False
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_s: float | None = None
    output: str | None = None
    output_sha256: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class RunbookState:
    """A runbook opened during the incident and its steps, in the order they were touched."""

    runbook: str
    opened_at: datetime | None
    aborted_at: datetime | None = None
    abort_reason: str | None = None
    steps: Mapping[str, StepState] = field(default_factory=dict)
    variables: Mapping[str, str] = field(default_factory=dict)
    """The operator's values for this run (``runbook.variables``, later ones win)."""
    last_at: datetime | None = None
    """The time of the run's last event."""


@dataclass(frozen=True)
class Approval:
    """A recorded approval of a step by a role."""

    t: datetime
    role: str
    approver: str
    step: str | None


@dataclass(frozen=True)
class TextEntry:
    """A note or a status update."""

    t: datetime
    text: str
    by: str | None
    channel: str | None = None


@dataclass(frozen=True)
class Notification:
    """The latest known state of one notification (queued -> delivered/failed)."""

    t: datetime
    status: str
    channel: str
    summary: str
    outcome: str | None
    head: str | None


@dataclass(frozen=True)
class GenericEvent:
    """An event of a kind this reducer does not know; kept as is."""

    seq: int
    t: datetime
    kind: str
    data: Mapping[str, Any]


@dataclass(frozen=True)
class Facts:
    """What the incident has established, for runbook guards: a fold of the journal.

    ``facts`` from ``fact.established`` (and ``incident_declared``/``rollback_decided``
    from the declaration and a decision to roll back), ``approvals`` role -> approver
    from ``approval.recorded``, ``notified`` from recorded deliveries (and attestations),
    ``steps_done`` as ``runbook/step``.
    """

    facts: frozenset[str] = frozenset()
    approvals: Mapping[str, str] = field(default_factory=dict)
    notified: frozenset[str] = frozenset()
    """Targets a channel accepted a message for (``notification.delivered``, or a step done
    whose channel delivered at once), or the operator attested telling (``attested``)."""
    steps_done: frozenset[str] = frozenset()
    undelivered: Mapping[str, str] = field(default_factory=dict)
    """target -> why its notification is not delivered yet (queued and retrying, or failed)."""
    attested: Mapping[str, str] = field(default_factory=dict)
    """target -> who attested telling them and how (``notification.attested``): a labelled
    fact of its own, never mistaken for a delivery."""


@dataclass(frozen=True)
class AnswerRecord:
    """The latest recorded answer to one question, severity or decision, engine times."""

    value: str | None
    by: str | None
    at: datetime


@dataclass(frozen=True)
class TrainingInfo:
    """What a training incident was started with (``training.started``)."""

    mode: str | None = None
    seed: int | None = None
    speed: float | None = None
    scenario: str | None = None


@dataclass(frozen=True)
class SimEventRecord:
    """A scenario event the engine observed, or a consequence of a wrong action."""

    t: datetime
    kind: str
    detail: str
    amount: float = 0.0


@dataclass(frozen=True)
class Attempt:
    """A refused step, a server dry run, an off-book command: what was tried, by whom."""

    t: datetime
    kind: str
    runbook: str | None
    step: str | None
    text: str
    by: str | None
    code: str | None = None
    """A refusal's reason code (``guard``, ``running``...: ``cockpit.runbook.desk.Refusal``);
    ``None`` for other attempts and for records written before codes."""


@dataclass(frozen=True)
class RollbackHold:
    """An armed trigger fired: the hold counting down to the rollback it names."""

    trigger: str
    fired_at: datetime | None
    started_at: datetime
    ends_at: datetime
    command: str
    """The exact rollback (``kubectl rollout undo deployment/api -n production
    --to-revision=7``), or what it would be."""
    why: str
    """``error_rate fired 8m after api went to r8``, or why there is nothing to run."""
    deployment: str | None = None
    namespace: str | None = None
    to_revision: int | None = None
    automatic: bool = True
    """False: it will not run by itself (``blocked`` says why); only asked for."""
    blocked: str = ""
    outcome: str = ""
    """``''`` while it counts down; ``cancelled``, ``confirmed``, ``timeout`` (it ran),
    ``asked`` (handed to the engineer's own confirmation) or ``lapsed`` (nothing ran)."""
    ended_by: str | None = None
    ended_at: datetime | None = None
    reason: str = ""
    """Why it lapsed."""

    @property
    def active(self) -> bool:
        """True while it counts down."""
        return not self.outcome


@dataclass(frozen=True)
class ArmedRollback:
    """Which triggers are armed for an automatic rollback, by whom, and the holds so far."""

    triggers: tuple[str, ...] = ()
    by: str | None = None
    at: datetime | None = None
    authority: str | None = None
    hold_s: float | None = None
    holds: tuple[RollbackHold, ...] = ()

    @property
    def armed(self) -> bool:
        """True while some trigger is armed."""
        return bool(self.triggers)

    @property
    def hold(self) -> RollbackHold | None:
        """The hold counting down now, if any."""
        return next((h for h in reversed(self.holds) if h.active), None)


#: How long one timeline line may be (characters): the pane crops it to its width.
TIMELINE_TEXT_LIMIT = 240
_BLANKS = re.compile(r"\s+")
#: Who did what the engine or the simulator did (not the operator whose cockpit ran it).
_ENGINE_KINDS = frozenset({K.TRIGGER_CHANGED, K.RECOMMENDATION_CHANGED, K.SEVERITY_SUGGESTED})
_SIM_KINDS = frozenset({K.SIM_EVENT, K.SIM_CONSEQUENCE})


@dataclass(frozen=True)
class TimelineEntry:
    """One recorded event as the timeline shows it: when, who, what (one line, neutralised
    and bounded), and its kind group (``decisions``, ``steps``, ``notes``, ``sources``,
    ``other``)."""

    seq: int
    t: datetime
    kind: str
    group: str
    who: str
    text: str


@dataclass(frozen=True)
class Pin:
    """An event marked for the RCA (``event.pinned``): who pinned it, and when."""

    seq: int
    by: str | None
    t: datetime


class Timeline(Sequence[TimelineEntry]):
    """The timeline's entries, oldest first, and its pins: a read-only view.

    The reducer appends to one list and hands each state a view of its first ``len``
    entries (the list only grows), so a state costs no copy of a 10,000-event timeline.
    """

    __slots__ = ("_entries", "_length", "pins", "pin_changes")

    def __init__(self, entries: list[TimelineEntry] | None = None, length: int | None = None,
                 pins: Mapping[int, Pin] | None = None, pin_changes: int = 0) -> None:
        self._entries: list[TimelineEntry] = entries if entries is not None else []
        self._length = len(self._entries) if length is None else length
        self.pins: Mapping[int, Pin] = MappingProxyType(dict(pins or {}))
        """seq -> the pin of each pinned event."""
        self.pin_changes = pin_changes
        """How many pins and unpins were recorded (changes whenever the marks do)."""

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> TimelineEntry: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[TimelineEntry]: ...

    def __getitem__(self, index: int | slice) -> TimelineEntry | Sequence[TimelineEntry]:
        if isinstance(index, slice):
            return self._entries[: self._length][index]
        if index < 0:
            index += self._length
        if not 0 <= index < self._length:
            raise IndexError("timeline index out of range")
        return self._entries[index]

    def __iter__(self) -> Iterator[TimelineEntry]:
        entries = self._entries
        for i in range(self._length):
            yield entries[i]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Timeline):
            return NotImplemented
        return (self._length == other._length and dict(self.pins) == dict(other.pins)
                and list(self) == list(other))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Timeline({self._length} entries, {len(self.pins)} pinned)"

    @property
    def version(self) -> tuple[int, int]:
        """Changes whenever an entry is added or a pin changes (what a display compares)."""
        return (self._length, self.pin_changes)

    def find(self, seq: int) -> TimelineEntry | None:
        """The entry of event ``seq``, if it is on the timeline."""
        i = bisect.bisect_left(self._entries, seq, 0, self._length, key=lambda e: e.seq)
        if i < self._length and self._entries[i].seq == seq:
            return self._entries[i]
        return None

    def is_pinned(self, seq: int) -> bool:
        """Whether event ``seq`` is pinned."""
        return seq in self.pins

    def pinned(self) -> list[TimelineEntry]:
        """The pinned entries, oldest first."""
        return [entry for seq in sorted(self.pins) if (entry := self.find(seq)) is not None]


def timeline_entry(event: Event, t: datetime) -> TimelineEntry | None:
    """``event`` as a timeline line, or ``None`` for a kind the timeline leaves out."""
    group = timeline_group(event.kind)
    if group is None:
        return None
    d = event.data
    if event.kind in _ENGINE_KINDS:
        who = "engine"
    elif event.kind in _SIM_KINDS:
        who = "sim"
    else:
        who = _by(event, d) or "?"
    text = _BLANKS.sub(" ", sanitize_text(describe(event))).strip()
    if len(text) > TIMELINE_TEXT_LIMIT:
        text = text[: TIMELINE_TEXT_LIMIT - 1] + "…"
    who = _BLANKS.sub(" ", sanitize_text(who, 64)).strip()
    return TimelineEntry(event.seq, t, event.kind, group, who, text)


@dataclass(frozen=True)
class IncidentState:
    """The state of an incident: a pure function of its journal's events."""

    incident_id: str
    opened_at: datetime | None
    closed_at: datetime | None
    declared_at: datetime | None
    scenario: str | None
    environment: str | None
    mode: str | None
    title: str | None
    severity: str | None
    triggers: Mapping[str, TriggerState]
    decisions: tuple[Decision, ...]
    answers: tuple[TreeAnswer, ...]
    runbooks: Mapping[str, RunbookState]
    approvals: tuple[Approval, ...]
    notes: tuple[TextEntry, ...]
    status_updates: tuple[TextEntry, ...]
    notifications: tuple[Notification, ...]
    stale_sources: Mapping[str, str]
    operator_connected: bool
    samples: Mapping[str, tuple[tuple[datetime, float], ...]]
    others: tuple[GenericEvent, ...]
    milestones: Milestones
    events: int
    head: str
    last_event_at: datetime | None
    facts: Facts = field(default_factory=Facts)
    training: TrainingInfo = field(default_factory=TrainingInfo)
    severity_record: AnswerRecord | None = None
    """The engineer's last ``severity.set`` (value ``None``: back to the suggested one)."""
    suggested_severity: AnswerRecord | None = None
    recommendation: AnswerRecord | None = None
    """The engine's last ``recommendation.changed`` (value: the recommendation)."""
    effective_severity: AnswerRecord | None = None
    """The severity in force (set, else suggested) and since when (``at``), as the
    engine recorded it with its last ``severity.set``/``severity.suggested``."""
    tree: Mapping[str, AnswerRecord] = field(default_factory=dict)
    """question -> the latest answer, engine times."""
    sim_events: tuple[SimEventRecord, ...] = ()
    consequences: tuple[SimEventRecord, ...] = ()
    attempts: tuple[Attempt, ...] = ()
    """Refused steps, server dry runs and off-book commands, in order."""
    outcome: Mapping[str, Any] | None = None
    """``training.outcome``'s data, once recorded."""
    score: Mapping[str, Any] | None = None
    """``score.recorded``'s data, once recorded."""
    read_only: bool = False
    config: str | None = None
    timeline: Timeline = field(default_factory=Timeline)
    """Every recorded event worth a line (not samples), oldest first, and the pins."""
    armed_rollback: ArmedRollback = field(default_factory=ArmedRollback)
    """The automatic rollback's arming and holds (``rollback.*``)."""

    @property
    def is_open(self) -> bool:
        """True until ``incident.closed``."""
        return self.closed_at is None

    @property
    def head_short(self) -> str:
        """First 12 hex characters of the head hash."""
        return self.head[:12]

    def steps(self) -> list[StepState]:
        """Every known step of every runbook, in journal order."""
        return [s for rb in self.runbooks.values() for s in rb.steps.values()]

    def running_steps(self) -> list[StepState]:
        """Steps started but not finished (``running`` or ``interrupted``)."""
        return [s for s in self.steps() if s.status in ("running", "interrupted")]


def _time_or_none(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return parse_time(value)
        except ValueError:
            return None
    return None


def _engine_time(data: Mapping[str, Any], fallback: datetime) -> datetime:
    """When an engine change happened: its own ``at`` if recorded, else the event's time."""
    return _time_or_none(data.get("at")) or fallback


def _by(event: Event, data: Mapping[str, Any]) -> str | None:
    by = data.get("by")
    if by:
        return str(by)
    user = event.actor.get("user")
    return str(user) if user else None


class Reducer:
    """Folds events into an :class:`IncidentState`; the one code path for live and replay.

    This is the only reader of journal event payloads: everything else (resume, replay,
    runbook guards and runs, the decision engine's restore, the simulated estate's
    replayed actions, the score, the export) reads the state it builds.
    """

    def __init__(
        self, incident_id: str = "", restored_after: timedelta = DEFAULT_RESTORED_AFTER
    ) -> None:
        """Start from an empty incident; ``restored_after`` feeds the milestone rule."""
        self.incident_id = incident_id
        self._milestones = MilestoneTracker(restored_after)
        self._f: dict[str, Any] = {
            "opened_at": None,
            "closed_at": None,
            "declared_at": None,
            "scenario": None,
            "environment": None,
            "mode": None,
            "title": None,
            "severity": None,
            "operator_connected": True,
            "head": GENESIS,
            "last_event_at": None,
            "events": 0,
            "severity_record": None,
            "suggested_severity": None,
            "recommendation": None,
            "effective_severity": None,
            "outcome": None,
            "score": None,
            "read_only": False,
            "config": None,
            "training": TrainingInfo(),
            "armed_rollback": ArmedRollback(),
        }
        self._triggers: dict[str, TriggerState] = {}
        self._decisions: list[Decision] = []
        self._answers: list[TreeAnswer] = []
        self._tree: dict[str, AnswerRecord] = {}
        self._runbooks: dict[str, dict[str, Any]] = {}
        self._approvals: list[Approval] = []
        self._notes: list[TextEntry] = []
        self._status: list[TextEntry] = []
        self._notifications: dict[tuple[str, str], Notification] = {}
        self._stale: dict[str, str] = {}
        self._samples: dict[str, list[tuple[datetime, float]]] = {}
        self._others: list[GenericEvent] = []
        self._facts: set[str] = set()
        self._role_approvals: dict[str, str] = {}
        self._notified: set[str] = set()
        self._undelivered: dict[str, str] = {}
        self._attested: dict[str, str] = {}
        self._notifying: dict[str, tuple[str, ...]] = {}
        """outbox id -> the targets its delivery will notify"""
        self._delivered_ids: set[str] = set()
        self._steps_done: set[str] = set()
        self._sim_events: list[SimEventRecord] = []
        self._consequences: list[SimEventRecord] = []
        self._attempts: list[Attempt] = []
        self._timeline: list[TimelineEntry] = []
        self._pins: dict[int, Pin] = {}
        self._pin_changes = 0
        self._cached: IncidentState | None = None

    # -- feeding ---------------------------------------------------------------------------

    def apply(self, event: Event) -> IncidentState:
        """Fold one event in and return the new state."""
        self._apply(event)
        self._cached = None
        return self.state

    def apply_all(self, events: Iterable[Event]) -> IncidentState:
        """Fold many events in and return the final state."""
        for event in events:
            self._apply(event)
        self._cached = None
        return self.state

    def _reached(self, targets: Iterable[str]) -> None:
        for target in targets:
            self._notified.add(target)
            self._undelivered.pop(target, None)

    def _notifying_step(self, notifying: Mapping[str, Any]) -> None:
        """A notify step done whose message is still in the outbox: its targets count as
        notified only when the delivery of that message is recorded."""
        entry = str(notifying.get("id", ""))
        targets = tuple(str(t) for t in notifying.get("targets") or ())
        if entry in self._delivered_ids:
            self._reached(targets)
            return
        self._notifying[entry] = targets
        for target in targets:
            if target not in self._notified:
                self._undelivered[target] = "the message is queued, not delivered yet"

    def _delivery(self, kind: str, data: Mapping[str, Any]) -> None:
        entry = str(data.get("id", ""))
        if not entry:
            return
        if kind == K.NOTIFICATION_DELIVERED:
            targets = self._notifying.pop(entry, None)
            if targets is None:
                self._delivered_ids.add(entry)
            else:
                self._reached(targets)
        elif kind == K.NOTIFICATION_FAILED:
            targets = self._notifying.get(entry, ())
            why = str(data.get("reason") or data.get("outcome") or "failed")
            channel = str(data.get("channel") or "the channel")
            for target in targets:
                if target not in self._notified:
                    self._undelivered[target] = f"{channel} did not deliver: {why}"

    def _effective(self, data: Mapping[str, Any]) -> None:
        if "effective" not in data:
            return
        since = _time_or_none(data.get("effective_since"))
        value = data.get("effective")
        self._f["effective_severity"] = (
            AnswerRecord(str(value), None, since) if value is not None and since is not None
            else None)

    def _runbook(self, name: str, t: datetime | None) -> dict[str, Any]:
        rb = self._runbooks.get(name)
        if rb is None:
            rb = {"opened_at": t, "aborted_at": None, "abort_reason": None, "steps": {},
                  "variables": {}, "last_at": t}
            self._runbooks[name] = rb
        elif t is not None:
            rb["last_at"] = t
        return rb

    def _step(self, data: Mapping[str, Any], t: datetime) -> tuple[dict[str, StepState], str]:
        runbook = str(data.get("runbook", ""))
        step = str(data.get("step", ""))
        steps: dict[str, StepState] = self._runbook(runbook, t)["steps"]
        if step not in steps:
            steps[step] = StepState(runbook=runbook, step=step, status="pending")
        return steps, step

    def _apply(self, event: Event) -> None:  # noqa: C901 - one branch per event kind
        t = parse_time(event.t)
        d = event.data
        f = self._f
        kind = event.kind
        f["head"] = event.hash
        f["events"] += 1
        f["last_event_at"] = t
        self._milestones.feed(kind, t, d)
        entry = timeline_entry(event, t)
        if entry is not None:
            self._timeline.append(entry)
        if kind == K.INCIDENT_OPENED:
            f["opened_at"] = f["opened_at"] or t
            for key in ("scenario", "environment", "mode", "title", "config"):
                if d.get(key) is not None:
                    f[key] = str(d[key])
            f["read_only"] = bool(d.get("read_only", False))
        elif kind == K.INCIDENT_DECLARED:
            f["declared_at"] = f["declared_at"] or t
            self._facts.add("incident_declared")
            if d.get("severity"):
                f["severity"] = str(d["severity"])
        elif kind == K.INCIDENT_CLOSED:
            f["closed_at"] = t
        elif kind == K.SEVERITY_SET:
            value = str(d.get("severity")) if d.get("severity") is not None else None
            f["severity"] = value
            f["severity_record"] = AnswerRecord(value, _by(event, d), _engine_time(d, t))
            self._effective(d)
        elif kind == K.SEVERITY_SUGGESTED:
            value = str(d.get("severity")) if d.get("severity") is not None else None
            f["suggested_severity"] = AnswerRecord(value, None, _engine_time(d, t))
            self._effective(d)
        elif kind == K.RECOMMENDATION_CHANGED:
            f["recommendation"] = AnswerRecord(str(d.get("recommendation", "")), None,
                                               _engine_time(d, t))
        elif kind == K.TRIGGER_CHANGED:
            name = str(d.get("trigger", ""))
            state = str(d.get("state", ""))
            previous = self._triggers.get(name)
            first = previous.first_fired_at if previous else None
            if first is None and state.lower() in DETECTED_STATES:
                first = t
            self._triggers[name] = TriggerState(
                trigger=name,
                state=state,
                value=d.get("value"),
                action=d.get("action"),
                decide_by=d.get("decide_by"),
                changed_at=t,
                first_fired_at=first,
                at=_engine_time(d, t),
                fired_at=_time_or_none(d.get("fired_at")),
                window_start=_time_or_none(d.get("window_start")),
                metric=str(d["metric"]) if d.get("metric") is not None else None,
                fired_value=_number(d.get("fired_value")),
                windows=MappingProxyType(
                    {str(m): _time_or_none(at) for m, at in d["windows"].items()}
                    if isinstance(d.get("windows"), Mapping) else {}),
            )
        elif kind == K.DECISION_RECORDED:
            reasons = d.get("reasons") or ()
            if isinstance(reasons, str):
                reasons = (reasons,)
            decision = str(d.get("decision", ""))
            deadline = d.get("deadline")
            self._decisions.append(
                Decision(_engine_time(d, t), decision, tuple(map(str, reasons)), _by(event, d),
                         MappingProxyType(dict(deadline)) if isinstance(deadline, Mapping)
                         else None)
            )
            if is_rollback_decision(decision):
                self._facts.add("rollback_decided")
        elif kind == K.TREE_ANSWERED:
            question, answer = str(d.get("question", "")), str(d.get("answer", ""))
            self._answers.append(TreeAnswer(_engine_time(d, t), question, answer, _by(event, d)))
            self._tree[question] = AnswerRecord(answer, _by(event, d), _engine_time(d, t))
        elif kind == K.RUNBOOK_OPENED:
            self._runbook(str(d.get("runbook", "")), t)
        elif kind == K.RUNBOOK_ABORTED:
            rb = self._runbook(str(d.get("runbook", "")), t)
            rb["aborted_at"] = t
            rb["abort_reason"] = d.get("reason")
        elif kind == K.RUNBOOK_VARIABLES:
            rb = self._runbook(str(d.get("runbook", "")), t)
            values = d.get("variables")
            if isinstance(values, Mapping):
                rb["variables"].update({str(k): str(v) for k, v in values.items()})
        elif kind == K.STEP_STARTED:
            steps, step = self._step(d, t)
            steps[step] = dataclasses.replace(
                steps[step],
                status="running",
                title=d.get("title"),
                preview=d.get("preview"),
                destructive=bool(d.get("destructive", False)),
                started_at=t,
                finished_at=None,
                duration_s=None,
                output=None,
                output_sha256=None,
                reason=None,
            )
        elif kind == K.STEP_FINISHED:
            steps, step = self._step(d, t)
            outcome = str(d.get("outcome", "done"))
            steps[step] = dataclasses.replace(
                steps[step],
                status=outcome if outcome in FINISHED else "failed",
                finished_at=t,
                duration_s=d.get("duration_s"),
                output=d.get("output"),
                output_sha256=d.get("output_sha256"),
                reason=d.get("reason"),
            )
            if outcome == "done":
                self._steps_done.add(f"{d.get('runbook')}/{d.get('step')}")
                self._reached(str(x) for x in d.get("notified") or ())
                notifying = d.get("notifying")
                if isinstance(notifying, Mapping):
                    self._notifying_step(notifying)
        elif kind == K.STEP_SKIPPED:
            steps, step = self._step(d, t)
            steps[step] = dataclasses.replace(
                steps[step], status="skipped", finished_at=t, reason=d.get("reason")
            )
        elif kind == K.STEP_INTERRUPTED:
            steps, step = self._step(d, t)
            preview = d.get("preview") or steps[step].preview
            steps[step] = dataclasses.replace(steps[step], status="interrupted", preview=preview,
                                              reason=INTERRUPTED_REASON)
        elif kind in (K.STEP_REFUSED, K.STEP_DRY_RUN, K.ACTION_OFF_BOOK):
            text = d.get("reason") if kind == K.STEP_REFUSED else d.get("result")
            if kind == K.ACTION_OFF_BOOK:
                argv = d.get("argv")
                text = " ".join(map(str, argv)) if isinstance(argv, list) else str(argv or "")
            self._attempts.append(Attempt(
                t, kind, _str_or_none(d.get("runbook")), _str_or_none(d.get("step")),
                str(text or ""), _by(event, d),
                _str_or_none(d.get("code")) if kind == K.STEP_REFUSED else None))
        elif kind == K.APPROVAL_RECORDED:
            role, approver = str(d.get("role", "")), str(d.get("approver", ""))
            self._approvals.append(Approval(t, role, approver, d.get("step")))
            self._role_approvals[role] = approver
        elif kind == K.FACT_ESTABLISHED:
            self._facts.add(str(d.get("fact", "")))
        elif kind == K.NOTE_ADDED:
            self._notes.append(TextEntry(t, str(d.get("text", "")), _by(event, d)))
        elif kind == K.STATUS_UPDATE:
            self._status.append(
                TextEntry(t, str(d.get("text", "")), _by(event, d), d.get("channel"))
            )
        elif kind in (K.EVENT_PINNED, K.EVENT_UNPINNED):
            seq = d.get("seq")
            if isinstance(seq, int) and not isinstance(seq, bool):
                if kind == K.EVENT_PINNED:
                    self._pins[seq] = Pin(seq, _by(event, d), t)
                else:
                    self._pins.pop(seq, None)
                self._pin_changes += 1
        elif kind == K.NOTIFICATION_ATTESTED:
            target = str(d.get("target", ""))
            self._reached([target])
            self._attested[target] = f"{_by(event, d) or 'unknown'}: {d.get('how', '')}"
        elif kind.startswith("notification."):
            self._delivery(kind, d)
            status = kind.split(".", 1)[1]
            channel_summary = (str(d.get("channel", "")), str(d.get("summary", "")))
            self._notifications.pop(channel_summary, None)
            self._notifications[channel_summary] = Notification(
                t, status, *channel_summary, d.get("outcome"), d.get("head")
            )
        elif kind == K.SOURCE_STALE:
            self._stale[str(d.get("source", ""))] = str(d.get("reason", ""))
        elif kind == K.SOURCE_RECOVERED:
            self._stale.pop(str(d.get("source", "")), None)
        elif kind == K.OPERATOR_DISCONNECTED:
            f["operator_connected"] = False
        elif kind == K.OPERATOR_RESUMED:
            f["operator_connected"] = True
        elif kind == K.SAMPLE:
            value = d.get("value")
            if isinstance(value, int | float) and not isinstance(value, bool):
                # the sample's own time when recorded (a metric point's), else the line's
                self._samples.setdefault(str(d.get("metric", "")), []).append(
                    (_engine_time(d, t), float(value)))
        elif kind == K.TRAINING_STARTED:
            seed, speed = d.get("seed"), d.get("speed")
            f["training"] = TrainingInfo(
                mode=_str_or_none(d.get("mode")),
                seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
                speed=float(speed) if isinstance(speed, int | float)
                and not isinstance(speed, bool) else None,
                scenario=_str_or_none(d.get("scenario")),
            )
        elif kind in (K.SIM_EVENT, K.SIM_CONSEQUENCE):
            amount = d.get("amount")
            record = SimEventRecord(t, str(d.get("kind", "")), str(d.get("detail", "")),
                                    float(amount) if isinstance(amount, int | float) else 0.0)
            (self._sim_events if kind == K.SIM_EVENT else self._consequences).append(record)
        elif kind in _ROLLBACK_KINDS:
            self._rollback(kind, d, t, _by(event, d))
        elif kind == K.TRAINING_OUTCOME:
            f["outcome"] = MappingProxyType(dict(d))
        elif kind == K.SCORE_RECORDED:
            f["score"] = MappingProxyType(dict(d))
        else:
            self._others.append(GenericEvent(event.seq, t, kind, dict(d)))

    def _rollback(self, kind: str, d: Mapping[str, Any], t: datetime, by: str | None) -> None:
        """Fold the armed rollback's events (``rollback.*``)."""
        f = self._f
        armed: ArmedRollback = f["armed_rollback"]
        at = _engine_time(d, t)
        if kind == K.ROLLBACK_ARMED:
            raw = d.get("triggers")
            triggers = tuple(str(x) for x in raw) if isinstance(raw, list | tuple) else ()
            f["armed_rollback"] = dataclasses.replace(
                armed, triggers=triggers, by=by, at=at,
                authority=_str_or_none(d.get("authority")), hold_s=_number(d.get("hold_s")))
        elif kind == K.ROLLBACK_DISARMED:
            f["armed_rollback"] = dataclasses.replace(armed, triggers=(), by=by, at=at)
        elif kind == K.ROLLBACK_HOLD_STARTED:
            revision = d.get("to_revision")
            hold = RollbackHold(
                trigger=str(d.get("trigger", "")), fired_at=_time_or_none(d.get("fired_at")),
                started_at=at, ends_at=_time_or_none(d.get("ends_at")) or at,
                command=str(d.get("command", "")), why=str(d.get("why", "")),
                deployment=_str_or_none(d.get("deployment")),
                namespace=_str_or_none(d.get("namespace")),
                to_revision=revision if isinstance(revision, int)
                and not isinstance(revision, bool) else None,
                automatic=bool(d.get("automatic", True)), blocked=str(d.get("blocked", "")))
            f["armed_rollback"] = dataclasses.replace(armed, holds=(*armed.holds, hold))
        elif kind in (K.ROLLBACK_HOLD_CANCELLED, K.ROLLBACK_HOLD_CONFIRMED,
                      K.ROLLBACK_HOLD_LAPSED):
            current = armed.hold
            if current is None:
                return
            outcome = ("cancelled" if kind == K.ROLLBACK_HOLD_CANCELLED else "lapsed"
                       if kind == K.ROLLBACK_HOLD_LAPSED else
                       str(d.get("how")) if d.get("how") in ("timeout", "asked")
                       else "confirmed")
            ended = dataclasses.replace(current, outcome=outcome, ended_by=by, ended_at=at,
                                        reason=str(d.get("reason", "")))
            holds = tuple(ended if h is current else h for h in armed.holds)
            f["armed_rollback"] = dataclasses.replace(armed, holds=holds)

    # -- reading ---------------------------------------------------------------------------

    @property
    def state(self) -> IncidentState:
        """The current state (a fresh frozen snapshot, cached until the next event)."""
        if self._cached is None:
            self._cached = self._snapshot()
        return self._cached

    def _snapshot(self, settle: bool = False) -> IncidentState:
        runbooks: dict[str, RunbookState] = {}
        for name, rb in self._runbooks.items():
            steps = dict(rb["steps"])
            if settle:
                for key, step in steps.items():
                    if step.status == "running":
                        steps[key] = dataclasses.replace(step, status="interrupted",
                                                         reason=INTERRUPTED_REASON)
            runbooks[name] = RunbookState(
                runbook=name,
                opened_at=rb["opened_at"],
                aborted_at=rb["aborted_at"],
                abort_reason=rb["abort_reason"],
                steps=MappingProxyType(steps),
                variables=MappingProxyType(dict(rb["variables"])),
                last_at=rb["last_at"],
            )
        return IncidentState(
            incident_id=self.incident_id,
            triggers=MappingProxyType(dict(self._triggers)),
            decisions=tuple(self._decisions),
            answers=tuple(self._answers),
            runbooks=MappingProxyType(runbooks),
            approvals=tuple(self._approvals),
            notes=tuple(self._notes),
            status_updates=tuple(self._status),
            notifications=tuple(self._notifications.values()),
            stale_sources=MappingProxyType(dict(self._stale)),
            samples=MappingProxyType({k: tuple(v) for k, v in self._samples.items()}),
            others=tuple(self._others),
            milestones=self._milestones.milestones,
            facts=Facts(frozenset(self._facts), MappingProxyType(dict(self._role_approvals)),
                        frozenset(self._notified), frozenset(self._steps_done),
                        MappingProxyType(dict(self._undelivered)),
                        MappingProxyType(dict(self._attested))),
            tree=MappingProxyType(dict(self._tree)),
            sim_events=tuple(self._sim_events),
            consequences=tuple(self._consequences),
            attempts=tuple(self._attempts),
            timeline=Timeline(self._timeline, len(self._timeline), self._pins,
                              self._pin_changes),
            **self._f,
        )

    def settled(self) -> IncidentState:
        """The state as seen after the fact: steps still running count as interrupted."""
        return self._snapshot(settle=True)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _str_or_none(value: Any) -> str | None:
    return str(value) if value is not None else None


def replay(
    events: Iterable[Event],
    incident_id: str = "",
    *,
    settle: bool = False,
    restored_after: timedelta = DEFAULT_RESTORED_AFTER,
) -> IncidentState:
    """Fold ``events`` into a fresh :class:`IncidentState`.

    With ``settle=True`` steps that started and never finished are reported as
    ``interrupted`` (what a resume or an export should show); without it the
    result equals the live reducer's state.
    """
    reducer = Reducer(incident_id, restored_after)
    for event in events:
        reducer._apply(event)
    return reducer.settled() if settle else reducer.state


def resume(journal: Journal) -> Reducer:
    """Resume an incident: replay its journal, record interrupted steps and ``operator.resumed``.

    Returns the live reducer, already fed with everything including the new events.
    """
    reducer = Reducer(journal.incident_id)
    reducer.apply_all(journal.events)
    for step in reducer.state.steps():
        if step.status == "running":
            event = journal.append(
                K.STEP_INTERRUPTED,
                {"runbook": step.runbook, "step": step.step, "preview": step.preview},
            )
            reducer.apply(event)
    reducer.apply(journal.append(K.OPERATOR_RESUMED, {}))
    return reducer
