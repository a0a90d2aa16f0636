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

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from cockpit.timeline.journal import GENESIS, Event, parse_time
from cockpit.timeline.milestones import (
    DEFAULT_RESTORED_AFTER,
    DETECTED_STATES,
    Milestones,
    MilestoneTracker,
)

if TYPE_CHECKING:
    from cockpit.timeline.journal import Journal

FINISHED = frozenset({"done", "failed", "cancelled"})


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


@dataclass(frozen=True)
class Decision:
    """A recorded decision and who made it."""

    t: datetime
    decision: str
    reasons: tuple[str, ...]
    by: str | None


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


def _by(event: Event, data: Mapping[str, Any]) -> str | None:
    by = data.get("by")
    if by:
        return str(by)
    user = event.actor.get("user")
    return str(user) if user else None


class Reducer:
    """Folds events into an :class:`IncidentState`; the one code path for live and replay."""

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
        }
        self._triggers: dict[str, TriggerState] = {}
        self._decisions: list[Decision] = []
        self._answers: list[TreeAnswer] = []
        self._runbooks: dict[str, dict[str, Any]] = {}
        self._approvals: list[Approval] = []
        self._notes: list[TextEntry] = []
        self._status: list[TextEntry] = []
        self._notifications: dict[tuple[str, str], Notification] = {}
        self._stale: dict[str, str] = {}
        self._samples: dict[str, list[tuple[datetime, float]]] = {}
        self._others: list[GenericEvent] = []
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

    def _runbook(self, name: str, t: datetime | None) -> dict[str, Any]:
        rb = self._runbooks.get(name)
        if rb is None:
            rb = {"opened_at": t, "aborted_at": None, "abort_reason": None, "steps": {}}
            self._runbooks[name] = rb
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
        if kind == "incident.opened":
            f["opened_at"] = f["opened_at"] or t
            for key in ("scenario", "environment", "mode", "title"):
                if d.get(key) is not None:
                    f[key] = str(d[key])
        elif kind == "incident.declared":
            f["declared_at"] = f["declared_at"] or t
            if d.get("severity"):
                f["severity"] = str(d["severity"])
        elif kind == "incident.closed":
            f["closed_at"] = t
        elif kind == "severity.set":
            f["severity"] = str(d.get("severity")) if d.get("severity") is not None else None
        elif kind == "trigger.changed":
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
            )
        elif kind == "decision.recorded":
            reasons = d.get("reasons") or ()
            if isinstance(reasons, str):
                reasons = (reasons,)
            self._decisions.append(
                Decision(t, str(d.get("decision", "")), tuple(map(str, reasons)), _by(event, d))
            )
        elif kind == "tree.answered":
            self._answers.append(
                TreeAnswer(t, str(d.get("question", "")), str(d.get("answer", "")), _by(event, d))
            )
        elif kind == "runbook.opened":
            self._runbook(str(d.get("runbook", "")), t)
        elif kind == "runbook.aborted":
            rb = self._runbook(str(d.get("runbook", "")), t)
            rb["aborted_at"] = t
            rb["abort_reason"] = d.get("reason")
        elif kind == "step.started":
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
        elif kind == "step.finished":
            steps, step = self._step(d, t)
            outcome = str(d.get("outcome", "done"))
            steps[step] = dataclasses.replace(
                steps[step],
                status=outcome if outcome in FINISHED else "failed",
                finished_at=t,
                duration_s=d.get("duration_s"),
                output=d.get("output"),
                output_sha256=d.get("output_sha256"),
            )
        elif kind == "step.skipped":
            steps, step = self._step(d, t)
            steps[step] = dataclasses.replace(
                steps[step], status="skipped", finished_at=t, reason=d.get("reason")
            )
        elif kind == "step.interrupted":
            steps, step = self._step(d, t)
            preview = d.get("preview") or steps[step].preview
            steps[step] = dataclasses.replace(steps[step], status="interrupted", preview=preview)
        elif kind == "approval.recorded":
            self._approvals.append(
                Approval(t, str(d.get("role", "")), str(d.get("approver", "")), d.get("step"))
            )
        elif kind == "note.added":
            self._notes.append(TextEntry(t, str(d.get("text", "")), _by(event, d)))
        elif kind == "status.update":
            self._status.append(
                TextEntry(t, str(d.get("text", "")), _by(event, d), d.get("channel"))
            )
        elif kind.startswith("notification."):
            status = kind.split(".", 1)[1]
            key = (str(d.get("channel", "")), str(d.get("summary", "")))
            self._notifications.pop(key, None)
            self._notifications[key] = Notification(
                t, status, key[0], key[1], d.get("outcome"), d.get("head")
            )
        elif kind == "source.stale":
            self._stale[str(d.get("source", ""))] = str(d.get("reason", ""))
        elif kind == "source.recovered":
            self._stale.pop(str(d.get("source", "")), None)
        elif kind == "operator.disconnected":
            f["operator_connected"] = False
        elif kind == "operator.resumed":
            f["operator_connected"] = True
        elif kind == "sample":
            value = d.get("value")
            if isinstance(value, int | float) and not isinstance(value, bool):
                self._samples.setdefault(str(d.get("metric", "")), []).append((t, float(value)))
        else:
            self._others.append(GenericEvent(event.seq, t, kind, dict(d)))

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
                        steps[key] = dataclasses.replace(step, status="interrupted")
            runbooks[name] = RunbookState(
                runbook=name,
                opened_at=rb["opened_at"],
                aborted_at=rb["aborted_at"],
                abort_reason=rb["abort_reason"],
                steps=MappingProxyType(steps),
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
            **self._f,
        )

    def settled(self) -> IncidentState:
        """The state as seen after the fact: steps still running count as interrupted."""
        return self._snapshot(settle=True)


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
                "step.interrupted",
                {"runbook": step.runbook, "step": step.step, "preview": step.preview},
            )
            reducer.apply(event)
    reducer.apply(journal.append("operator.resumed", {}))
    return reducer
