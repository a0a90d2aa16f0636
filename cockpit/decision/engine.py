"""The decision engine: trigger windows, the decision tree and severity, evaluated continuously.

Feed it samples (:meth:`DecisionEngine.observe`), events (:meth:`~DecisionEngine.observe_event`)
and the clock (:meth:`~DecisionEngine.tick`); read a frozen :class:`DecisionState` with
:meth:`~DecisionEngine.state`.  Every state change and every answer is kept in
:attr:`~DecisionEngine.history` so the timeline can journal it.

Window rules (per trigger and per metric; CPU and memory have separate windows):

* a window starts at the first sample strictly greater than the threshold;
* it is broken by a sample at or below the threshold, or by a gap of more than
  ``policy.max_gap`` (60 s) between two consecutive samples of the metric — missing
  data is not evidence of a breach; a breaching sample after a gap starts a new window;
* the trigger fires at the first sample at or after ``window start + sustained``, all
  samples in between breaching; ``decide_by = fire time + decide_within``;
* samples of a metric older than (or as old as) its latest sample are ignored.

Trigger states: ``ok``, ``breaching`` (a window is open), ``fired`` (it fired and a metric
is still over the threshold), ``recovered`` (it fired and every fresh sample is back at or
below the threshold), ``stale`` (no sample for more than ``policy.stale_after``; a window
does not survive staleness).  A fired trigger never un-fires: its first fire time and
``decide_by`` are the incident's record, whatever the metric does afterwards, and it keeps
counting as fired for the decision tree.  Event triggers fire on the first event and
stay fired.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any, ClassVar

from cockpit.decision.policy import Action, Policy, SeverityRule, TriggerSpec
from cockpit.decision.tree import (
    Q_FIX_FORWARD,
    Q_IMPACT,
    Answer,
    RecommendationKind,
    TreeInputs,
    TreeResult,
    TreeStep,
    evaluate_tree,
    suggest_severity,
)

__all__ = [
    "IMPACT_METRICS",
    "Q_PATIENT_SAFETY",
    "DecisionDeadline",
    "DecisionEngine",
    "DecisionRecord",
    "DecisionState",
    "RecordedDecisionState",
    "RecordedTrigger",
    "Recommendation",
    "Record",
    "TriggerChange",
    "TriggerState",
    "TriggerStatus",
    "UnknownInputError",
    "iso",
]

#: Metrics whose latest values give "user impact" for the decision tree (max of them).
IMPACT_METRICS: tuple[str, ...] = ("error_rate_pct", "health_check_failing_pct")
Q_PATIENT_SAFETY = "Patient safety risk?"

_ZERO = timedelta(0)
_RESTARTED = "window restarted"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso(moment: datetime) -> str:
    """Format an aware datetime as ISO 8601 UTC with a ``Z`` (``2025-01-21T14:30:00Z``)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _hms(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%H:%M:%SZ")


class UnknownInputError(ValueError):
    """A sample's metric or an event's kind is not in the policy."""


class TriggerStatus(StrEnum):
    """The state of one trigger (see the module docstring)."""

    OK = "ok"
    BREACHING = "breaching"
    FIRED = "fired"
    RECOVERED = "recovered"
    STALE = "stale"


@dataclass(frozen=True, slots=True)
class TriggerChange:
    """A trigger's state changed (or its breach window restarted); a timeline event."""

    kind: ClassVar[str] = "trigger.changed"

    at: datetime
    trigger: str
    state: TriggerStatus
    previous: TriggerStatus
    action: Action
    needed: timedelta
    metric: str | None = None
    value: float | None = None
    window_start: datetime | None = None
    fired_at: datetime | None = None
    decide_by: datetime | None = None
    note: str = ""
    fired_value: float | None = None
    windows: tuple[tuple[str, datetime | None], ...] = ()
    """Every metric window of the trigger and its start (``None``: closed), at the change."""

    @property
    def data(self) -> dict[str, Any]:
        """JSON-safe payload (the timeline's ``trigger.changed`` fields and a few more)."""
        return {
            "trigger": self.trigger,
            "state": self.state.value,
            "previous": self.previous.value,
            "metric": self.metric,
            "value": self.value,
            "action": self.action.value,
            "window_start": iso(self.window_start) if self.window_start else None,
            "needed_s": self.needed.total_seconds(),
            "fired_at": iso(self.fired_at) if self.fired_at else None,
            "decide_by": iso(self.decide_by) if self.decide_by else None,
            "fired_value": self.fired_value,
            "windows": {m: iso(start) if start else None for m, start in self.windows},
            "note": self.note,
        }

    def to_event(self) -> dict[str, Any]:
        """``{"t", "kind", "data"}``, JSON-safe, for the timeline journal."""
        return {"t": iso(self.at), "kind": self.kind, "data": self.data}


@dataclass(frozen=True, slots=True)
class Record:
    """Any other recorded change: an answer, a severity, a recommendation, a decision."""

    at: datetime
    kind: str
    data: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def to_event(self) -> dict[str, Any]:
        """``{"t", "kind", "data"}``, JSON-safe, for the timeline journal."""
        return {"t": iso(self.at), "kind": self.kind, "data": dict(self.data)}


def _record(at: datetime, kind: str, **data: Any) -> Record:
    return Record(at, kind, MappingProxyType(data))


@dataclass(frozen=True, slots=True)
class TriggerState:
    """One trigger as the Decision panel shows it.

    ``metric``/``value`` are the most relevant sample (the breaching or firing one);
    ``elapsed`` is evidence-based: from window start to the latest breaching sample.
    """

    spec: TriggerSpec
    state: TriggerStatus
    metric: str | None = None
    value: float | None = None
    sampled_at: datetime | None = None
    window_start: datetime | None = None
    elapsed: timedelta = _ZERO
    fired_at: datetime | None = None
    fired_value: float | None = None
    decide_by: datetime | None = None

    @property
    def id(self) -> str:
        """The trigger id (``error_rate``)."""
        return self.spec.id

    @property
    def action(self) -> Action:
        """What to do when it fires."""
        return self.spec.action

    @property
    def needed(self) -> timedelta:
        """How long a breach must be sustained to fire."""
        return self.spec.sustained

    @property
    def has_fired(self) -> bool:
        """True once the trigger has fired in this incident (even if recovered since)."""
        return self.fired_at is not None


@dataclass(frozen=True, slots=True)
class Recommendation:
    """What the tree recommends now, why, since when, and by when to act."""

    kind: RecommendationKind
    reasons: tuple[str, ...]
    since: datetime | None = None
    deadline: datetime | None = None
    pending: str | None = None

    @property
    def text(self) -> str:
        """One line: ``IMMEDIATE ROLLBACK: Error rate fired at 10:05:00Z``."""
        if self.kind is RecommendationKind.AWAITING_ANSWER:
            if self.pending == "fix_forward":
                return "awaiting answer: can we fix forward?"
            # the tree states the question with the policy's threshold among its reasons
            asked = next((r for r in self.reasons if r.startswith("awaiting answer: is user")),
                         None)
            return asked or "awaiting answer: is user impact > 5%?"
        return self.kind.label


@dataclass(frozen=True, slots=True)
class DecisionDeadline:
    """When the open decision must be taken, what sets that time, and the other limit.

    ``at`` is the earlier of the fired triggers' ``decide_by`` and the severity's maximum
    decision time; ``source`` names the one that binds (``Error rate trigger``,
    ``severity High``); ``other_at``/``other_source`` the later one, if there is one.
    """

    at: datetime
    source: str
    other_at: datetime | None = None
    other_source: str | None = None

    @property
    def data(self) -> dict[str, Any]:
        """JSON-safe form (``decision.recorded``'s ``deadline``)."""
        return {
            "at": iso(self.at),
            "source": self.source,
            "other_at": iso(self.other_at) if self.other_at else None,
            "other_source": self.other_source,
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any] | None) -> DecisionDeadline | None:
        """The deadline :attr:`data` recorded; ``None`` if absent or unreadable."""
        if not isinstance(data, Mapping):
            return None
        at = _time(data.get("at"))
        source = data.get("source")
        if at is None or not isinstance(source, str):
            return None
        other = data.get("other_source")
        return cls(at, source, _time(data.get("other_at")),
                   other if isinstance(other, str) else None)


def _time(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """A decision the incident commander recorded, and the deadline it was taken against."""

    decision: str
    by: str
    at: datetime
    reasons: tuple[str, ...] = ()
    deadline: DecisionDeadline | None = None

    @property
    def margin(self) -> timedelta | None:
        """How long before its deadline it was taken (negative: that late); ``None``: none."""
        return self.deadline.at - self.at if self.deadline is not None else None

    @property
    def in_time(self) -> bool | None:
        """True if taken at or before its deadline; ``None`` when there was no deadline."""
        margin = self.margin
        return None if margin is None else margin >= _ZERO


@dataclass(frozen=True, slots=True)
class DecisionState:
    """Everything the Decision panel displays, computed at ``at``."""

    at: datetime
    triggers: tuple[TriggerState, ...]
    tree: tuple[TreeStep, ...]
    recommendation: Recommendation
    user_impact_pct: float | None
    suggested_severity: str | None
    severity: str | None
    severity_set_by: str | None
    severity_rule: SeverityRule | None
    severity_deadline: datetime | None
    deadline: DecisionDeadline | None
    """The open decision's one deadline; ``None`` once decided (and nothing fired since)."""
    patient_safety: Answer | None = None
    fix_forward: Answer | None = None
    decision: DecisionRecord | None = None

    @property
    def decision_deadline(self) -> datetime | None:
        """When the open decision must be taken (``deadline.at``), if one is open."""
        return self.deadline.at if self.deadline is not None else None

    @property
    def decision_open(self) -> bool:
        """True while something awaits a decision: nothing recorded, or a trigger fired since."""
        return self.deadline is not None

    def counts_down(self, trigger: TriggerState) -> bool:
        """True if ``trigger``'s ``decide_by`` belongs to the open decision (fired since any
        recorded decision); a trigger decided on shows no countdown."""
        if trigger.decide_by is None or trigger.fired_at is None or self.deadline is None:
            return False
        return self.decision is None or trigger.fired_at > self.decision.at

    @property
    def authority(self) -> str | None:
        """Who must decide at the current severity (``CTO or VP Engineering``)."""
        return self.severity_rule.authority if self.severity_rule else None

    @property
    def max_decision(self) -> timedelta | None:
        """The current severity's maximum decision time."""
        return self.severity_rule.max_decision if self.severity_rule else None

    @property
    def fired(self) -> tuple[TriggerState, ...]:
        """Triggers that have fired in this incident, in fire order."""
        done = [t for t in self.triggers if t.fired_at is not None]
        return tuple(sorted(done, key=lambda t: t.fired_at or self.at))


@dataclass(frozen=True, slots=True)
class RecordedTrigger:
    """One trigger as its last ``trigger.changed`` event recorded it (the event's data)."""

    trigger: str
    state: str
    """``ok`` | ``breaching`` | ``fired`` | ``recovered`` | ``stale``"""
    at: datetime
    """When that change happened (the event data's ``at``, the engine's time)."""
    fired_at: datetime | None = None
    decide_by: datetime | None = None
    window_start: datetime | None = None
    metric: str | None = None
    value: float | None = None
    fired_value: float | None = None
    windows: Mapping[str, datetime | None] = field(
        default_factory=lambda: MappingProxyType({})
    )
    """Each metric window's start at that change (``windows``; absent in older records)."""


@dataclass(frozen=True, slots=True)
class RecordedDecisionState:
    """What the journal recorded of the engine: enough for :meth:`DecisionEngine.restore`.

    Built by the journal's reducer: the last ``trigger.changed`` of each trigger, the
    latest ``sample`` of each metric, the last ``severity.set``, the last
    ``tree.answered`` of each question, the last ``decision.recorded``, and the ``at`` of
    the last ``recommendation.changed`` and of the last ``severity.set``/``severity.suggested``
    that changed the effective severity (their data's ``effective_changed``).
    """

    triggers: tuple[RecordedTrigger, ...] = ()
    last_samples: Mapping[str, tuple[datetime, float]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    severity: tuple[str, str, datetime] | None = None
    """(severity, by, at) as the engineer set it; ``None``: the suggestion applies."""
    patient_safety: Answer | None = None
    fix_forward: Answer | None = None
    impact_answer: Answer | None = None
    decision: DecisionRecord | None = None
    recommendation_since: datetime | None = None
    severity_since: datetime | None = None


class _Window:
    """The breach window of one metric for one trigger."""

    __slots__ = ("above", "last_t", "last_value", "metric", "stale", "start")

    def __init__(self, metric: str, above: float) -> None:
        self.metric = metric
        self.above = above
        self.last_t: datetime | None = None
        self.last_value: float | None = None
        self.start: datetime | None = None
        self.stale = False


class _Trigger:
    """Mutable runtime of one trigger."""

    __slots__ = (
        "decide_by",
        "fired_at",
        "fired_metric",
        "fired_value",
        "spec",
        "starts",
        "state",
        "window_start",
        "windows",
    )

    def __init__(self, spec: TriggerSpec) -> None:
        self.spec = spec
        self.windows = [_Window(m, spec.above) for m in spec.metrics]
        self.fired_at: datetime | None = None
        self.fired_metric: str | None = None
        self.fired_value: float | None = None
        self.decide_by: datetime | None = None
        self.state = TriggerStatus.OK
        self.window_start: datetime | None = None
        self.starts: tuple[datetime | None, ...] = tuple(None for _ in self.windows)

    def current_starts(self) -> tuple[datetime | None, ...]:
        """Each window's start now (``None``: closed), in ``spec.metrics`` order."""
        return tuple(win.start for win in self.windows)

    def evaluate(self) -> tuple[TriggerStatus, datetime | None]:
        """The trigger-level state and window start implied by its windows."""
        if self.spec.event is not None:
            return (TriggerStatus.FIRED if self.fired_at else TriggerStatus.OK), None
        start: datetime | None = None
        stale = False
        for win in self.windows:
            if win.stale:
                stale = True
            elif win.start is not None and (start is None or win.start < start):
                start = win.start
        if self.fired_at is not None:
            if start is not None:
                return TriggerStatus.FIRED, None
            return (TriggerStatus.STALE if stale else TriggerStatus.RECOVERED), None
        if start is not None:
            return TriggerStatus.BREACHING, start
        return (TriggerStatus.STALE if stale else TriggerStatus.OK), None

    def lead(self) -> _Window | None:
        """The window to show: the oldest open one, else the highest fresh value, else any."""
        best: _Window | None = None
        for win in self.windows:
            if win.stale or win.last_t is None:
                continue
            if best is None:
                best = win
            elif win.start is not None and (best.start is None or win.start < best.start):
                best = win
            elif (
                best.start is None
                and win.start is None
                and (win.last_value or 0.0) > (best.last_value or 0.0)
            ):
                best = win
        if best is None:
            seen = [w for w in self.windows if w.last_t is not None]
            best = max(seen, key=lambda w: w.last_t or _EPOCH, default=None)
        return best


def _check_aware(moment: datetime, what: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got {moment!r}")


def _check_actor(actor: str) -> str:
    if not isinstance(actor, str) or not actor.strip():
        raise ValueError("every answer needs the name of who gave it")
    return actor.strip()


class DecisionEngine:
    """Evaluates the policy's triggers, the decision tree and the severity table.

    Not thread-safe: call it from one thread (the app's event loop).  ``started_at``
    (for example the incident's start) makes metrics that never report go STALE after
    ``policy.stale_after``; without it a metric is only stale after it has reported once.
    """

    def __init__(self, policy: Policy, *, started_at: datetime | None = None) -> None:
        if started_at is not None:
            _check_aware(started_at, "started_at")
        self.policy = policy
        self._started_at = started_at
        self._gap = policy.max_gap
        self._stale_after = policy.stale_after
        self._triggers = [_Trigger(spec) for spec in policy.triggers]
        self._by_metric: dict[str, list[tuple[_Trigger, _Window]]] = {}
        self._by_event: dict[str, _Trigger] = {}
        for trig in self._triggers:
            for win in trig.windows:
                self._by_metric.setdefault(win.metric, []).append((trig, win))
            if trig.spec.event is not None:
                self._by_event[trig.spec.event] = trig
        self._impact_windows: list[_Window] = []
        for name in IMPACT_METRICS:
            for _trig, win in self._by_metric.get(name, [])[:1]:
                self._impact_windows.append(win)
        self._impact_metrics = frozenset(w.metric for w in self._impact_windows)
        self._impact_class = 0
        self._stale_bound: datetime | None = None

        self._history: list[TriggerChange | Record] = []
        self._severity: tuple[str, str, datetime] | None = None  # (severity, by, at)
        self._patient_safety: Answer | None = None
        self._fix_forward: Answer | None = None
        self._impact_answer: Answer | None = None
        self._decision: DecisionRecord | None = None

        self._outcome: tuple[RecommendationKind, str | None] = (RecommendationKind.NO_ACTION, None)
        self._outcome_since: datetime | None = started_at
        self._suggested: str | None = None
        self._effective: str | None = None
        self._effective_since: datetime | None = None

    # ------------------------------------------------------------------ inputs

    @property
    def history(self) -> tuple[TriggerChange | Record, ...]:
        """Every recorded change and answer, in the order they happened."""
        return tuple(self._history)

    def observe(self, metric: str, t: datetime, value: float) -> list[TriggerChange]:
        """Feed one sample; return the trigger changes it caused (usually none).

        Samples older than or as old as the metric's latest sample are ignored.
        Raises ``UnknownInputError`` for a metric the policy does not watch.
        """
        entries = self._by_metric.get(metric)
        if entries is None:
            raise UnknownInputError(f"unknown metric {metric!r}")
        if t.tzinfo is None:
            raise ValueError(f"sample time must be timezone-aware, got {t!r}")
        changes: list[TriggerChange] = []
        gap = self._gap
        for trig, win in entries:
            last = win.last_t
            if last is not None and t <= last:
                continue
            if last is None or win.stale:
                self._stale_bound = None
            if value > win.above:
                if win.start is None or t - last > gap:  # type: ignore[operator]
                    win.start = t
            else:
                win.start = None
            win.last_t = t
            win.last_value = value
            win.stale = False
            change = self._update(trig, t, win, value)
            if change is not None:
                changes.append(change)
        dirty = bool(changes)
        if metric in self._impact_metrics:
            cls = self._classify_impact()
            if cls != self._impact_class:
                self._impact_class = cls
                dirty = True
        if dirty:
            self._reevaluate(t)
        return changes

    def observe_event(self, kind: str, t: datetime) -> list[TriggerChange]:
        """Feed one event (``security_breach``, ``data_corruption``); it fires its trigger."""
        trig = self._by_event.get(kind)
        if trig is None:
            raise UnknownInputError(f"unknown event {kind!r}")
        _check_aware(t, "event time")
        if trig.fired_at is not None:
            return []
        trig.fired_at = t
        trig.fired_value = 1.0
        trig.decide_by = t + trig.spec.decide_within
        change = self._commit(trig, t, None, 1.0, "")
        self._reevaluate(t)
        return [change] if change is not None else []

    def tick(self, now: datetime) -> list[TriggerChange]:
        """Mark metrics with no sample for more than ``stale_after`` as STALE.

        A change is dated at the moment the metric became stale (its last sample +
        ``stale_after``), not at ``now``.  A fresh sample brings a metric back.
        """
        bound = self._stale_bound
        if bound is not None and now <= bound:
            return []
        stale_after = self._stale_after
        due: list[tuple[datetime, int, _Trigger, _Window]] = []
        new_bound: datetime | None = None
        for index, trig in enumerate(self._triggers):
            for win in trig.windows:
                if win.stale:
                    continue
                ref = win.last_t if win.last_t is not None else self._started_at
                if ref is None:
                    continue
                moment = ref + stale_after
                if now - ref > stale_after:
                    due.append((moment, index, trig, win))
                elif new_bound is None or moment < new_bound:
                    new_bound = moment
        self._stale_bound = new_bound
        if not due:
            return []
        due.sort(key=lambda item: (item[0], item[1]))
        changes: list[TriggerChange] = []
        for moment, _index, trig, win in due:
            win.stale = True
            win.start = None
            change = self._commit(
                trig, moment, win.metric, win.last_value, f"no {win.metric} sample since"
                f" {_hms(win.last_t) if win.last_t else 'the start'}"
            )
            if change is not None:
                changes.append(change)
            if win.metric in self._impact_metrics:
                self._impact_class = self._classify_impact()
            self._reevaluate(moment)
        return changes

    def set_severity(self, severity: str | None, actor: str, at: datetime) -> Record:
        """The engineer sets the severity (``None`` goes back to the suggested one)."""
        _check_aware(at, "at")
        by = _check_actor(actor)
        if severity is not None:
            severity = self.policy.severity(severity).severity  # KeyError if unknown
            self._severity = (severity, by, at)
        else:
            self._severity = None
        index = len(self._history)
        self._reevaluate(at)
        # recorded before what it caused, with the severity whose clock now runs
        rec = _record(at, "severity.set", severity=severity, by=by, **self._effective_data())
        self._history.insert(index, rec)
        return rec

    def flag_patient_safety(self, actor: str, at: datetime, flagged: bool = True) -> Record:
        """The engineer flags (or clears) a patient-safety risk: a critical issue."""
        return self._answer("_patient_safety", Q_PATIENT_SAFETY, flagged, actor, at)

    def answer_fix_forward(self, yes: bool, actor: str, at: datetime) -> Record:
        """The engineer answers the tree's "Can fix forward?"."""
        return self._answer("_fix_forward", Q_FIX_FORWARD, yes, actor, at)

    def answer_user_impact(self, yes: bool, actor: str, at: datetime) -> Record:
        """The engineer answers "User impact > 5%?"; used only while there is no data."""
        return self._answer("_impact_answer", Q_IMPACT, yes, actor, at)

    def record_decision(
        self, decision: str, actor: str, at: datetime, reasons: Iterable[str] = ()
    ) -> Record:
        """Record the decision taken (``rollback``, ``hot_fix``, ...) and who took it."""
        _check_aware(at, "at")
        by = _check_actor(actor)
        previous = self._decision.at if self._decision is not None else None
        deadline = self._deadline(self._triggers_now(), previous)
        self._decision = DecisionRecord(decision, by, at, tuple(reasons), deadline)
        rec = _record(
            at,
            "decision.recorded",
            decision=decision,
            reasons=list(self._decision.reasons),
            by=by,
            deadline=deadline.data if deadline is not None else None,
        )
        self._history.append(rec)
        return rec

    def restore(self, recorded: RecordedDecisionState) -> None:
        """Seed a fresh engine with what the journal recorded, writing nothing to ``history``.

        Afterwards :meth:`state` says what the engine said when that was recorded (each
        trigger's state, fire time, ``decide_by`` and window, the recommendation and its
        deadline, severity and its deadline, answers and the decision), and new samples
        continue from the last recorded one: within ``max_gap`` they continue a breach
        window, a fired trigger stays fired, staleness counts from the last sample.
        Triggers, metrics and severities the policy no longer has are left out.
        Raises ``RuntimeError`` if the engine has already been fed.
        """
        if self._history or any(w.last_t is not None for t in self._triggers for w in t.windows):
            raise RuntimeError("restore() seeds a fresh engine; this one has been fed")
        latest = self._latest_samples(recorded)
        by_id = {trig.spec.id: trig for trig in self._triggers}
        for rec in recorded.triggers:
            trig = by_id.get(rec.trigger)
            if trig is None:
                continue
            try:
                status = TriggerStatus(rec.state)
            except ValueError:
                continue
            self._restore_trigger(trig, rec, status, latest)
        for trig in self._triggers:  # metrics whose triggers never changed: latest sample only
            for win in trig.windows:
                if win.last_t is None and win.metric in latest:
                    win.last_t, win.last_value = latest[win.metric]
        if recorded.severity is not None:
            name, by, at = recorded.severity
            try:
                self._severity = (self.policy.severity(name).severity, by, at)
            except KeyError:
                self._severity = None
        self._patient_safety = recorded.patient_safety
        self._fix_forward = recorded.fix_forward
        self._impact_answer = recorded.impact_answer
        self._decision = recorded.decision
        self._impact_class = self._classify_impact()
        inputs = self._inputs()
        result = evaluate_tree(inputs)
        self._outcome = (result.outcome, result.pending)
        self._outcome_since = (
            recorded.recommendation_since
            if recorded.recommendation_since is not None
            else self._started_at
        )
        self._suggested = self._suggest(inputs)
        self._effective = self._severity[0] if self._severity else self._suggested
        since = recorded.severity_since
        if since is None and self._severity is not None:
            since = self._severity[2]
        self._effective_since = since if self._effective is not None else None
        self._stale_bound = None

    # ------------------------------------------------------------------ output

    def state(self, now: datetime) -> DecisionState:
        """A frozen snapshot of triggers, tree, recommendation and severity at ``now``."""
        _check_aware(now, "now")
        triggers = self._triggers_now()
        inputs = self._inputs()
        result = evaluate_tree(inputs)
        severity, set_by = (self._severity[0], self._severity[1]) if self._severity else (
            self._suggested,
            None,
        )
        rule = self.policy.severity(severity) if severity else None
        severity_deadline = (
            self._effective_since + rule.max_decision
            if rule is not None and self._effective_since is not None
            else None
        )
        return DecisionState(
            at=now,
            triggers=triggers,
            tree=result.path,
            recommendation=self._recommendation(result, triggers, severity_deadline),
            user_impact_pct=inputs.user_impact_pct,
            suggested_severity=self._suggested,
            severity=severity,
            severity_set_by=set_by,
            severity_rule=rule,
            severity_deadline=severity_deadline,
            deadline=self._deadline(
                triggers, self._decision.at if self._decision is not None else None
            ),
            patient_safety=self._patient_safety,
            fix_forward=self._fix_forward,
            decision=self._decision,
        )

    # ------------------------------------------------------------------ internals

    def _update(
        self, trig: _Trigger, t: datetime, win: _Window, value: float
    ) -> TriggerChange | None:
        note = ""
        if (
            trig.fired_at is None
            and win.start is not None
            and t - win.start >= trig.spec.sustained
        ):
            trig.fired_at = t
            trig.fired_metric = win.metric
            trig.fired_value = value
            trig.decide_by = t + trig.spec.decide_within
            note = f"{win.metric} {value:g} > {win.above:g}"
        elif (
            trig.state is TriggerStatus.BREACHING
            and win.start == t
            and trig.window_start is not None
            and trig.window_start != t
        ):
            note = _RESTARTED
        return self._commit(trig, t, win.metric, value, note)

    def _commit(
        self, trig: _Trigger, t: datetime, metric: str | None, value: float | None, note: str
    ) -> TriggerChange | None:
        state, start = trig.evaluate()
        # before it fires, a trigger watching several metrics records each window's
        # opening and closing too: resume restores every window, not only the oldest.
        # (With one window its start is the trigger's: comparing that is enough, and it
        # keeps the per-sample path as cheap as before.)
        windows_moved = False
        if len(trig.windows) > 1 and trig.fired_at is None:
            windows_moved = trig.current_starts() != trig.starts
        if state is trig.state and start == trig.window_start and not windows_moved:
            return None
        starts = trig.current_starts()
        if state is trig.state and start == trig.window_start and note in ("", _RESTARTED):
            # only a window other than the oldest open one moved
            opened = dict(zip(trig.spec.metrics, starts, strict=True)).get(metric or "")
            note = f"{metric} window {'opened' if opened is not None else 'closed'}"
        change = TriggerChange(
            at=t,
            trigger=trig.spec.id,
            state=state,
            previous=trig.state,
            action=trig.spec.action,
            needed=trig.spec.sustained,
            metric=metric,
            value=value,
            window_start=start,
            fired_at=trig.fired_at,
            decide_by=trig.decide_by,
            note=note,
            fired_value=trig.fired_value,
            windows=tuple(zip(trig.spec.metrics, starts, strict=True)),
        )
        trig.state = state
        trig.window_start = start
        trig.starts = starts
        self._history.append(change)
        return change

    def _triggers_now(self) -> tuple[TriggerState, ...]:
        return tuple(self._trigger_state(trig) for trig in self._triggers)

    def _deadline(
        self, triggers: tuple[TriggerState, ...], after: datetime | None
    ) -> DecisionDeadline | None:
        """The one deadline of the decision open since ``after`` (the last decision, if any).

        The earlier of the fired triggers' ``decide_by`` and the effective severity's
        maximum decision time.  After a recorded decision only what started since counts:
        a trigger fired after it (which opens a new decision) and a severity that changed
        after it; with no trigger fired since, nothing is open.
        """
        fired = [
            t
            for t in triggers
            if t.decide_by is not None
            and t.fired_at is not None
            and (after is None or t.fired_at > after)
        ]
        if after is not None and not fired:
            return None
        limits: list[tuple[datetime, str]] = []
        if fired:
            first = min(fired, key=lambda t: t.decide_by or self._EPOCH_MAX)
            if first.decide_by is not None:
                limits.append((first.decide_by, f"{first.spec.title} trigger"))
        severity = self._effective
        since = self._effective_since
        if severity is not None and since is not None and (after is None or since > after):
            try:
                rule = self.policy.severity(severity)
            except KeyError:
                rule = None
            if rule is not None:
                limits.append((since + rule.max_decision, f"severity {severity.capitalize()}"))
        if not limits:
            return None
        limits.sort(key=lambda item: item[0])  # stable: on a tie the trigger binds
        (at, source), *rest = limits
        other_at, other_source = rest[0] if rest else (None, None)
        return DecisionDeadline(at, source, other_at, other_source)

    _EPOCH_MAX = datetime.max.replace(tzinfo=UTC)

    def _latest_samples(self, recorded: RecordedDecisionState) -> dict[str, tuple[datetime, float]]:
        """Each watched metric's latest known sample: the recorded samples and the samples
        that caused a recorded change (a STALE change is dated by the clock, not a sample)."""
        latest = {
            metric: (t, float(value))
            for metric, (t, value) in recorded.last_samples.items()
            if metric in self._by_metric
        }
        for rec in recorded.triggers:
            if (
                rec.metric is None
                or rec.value is None
                or rec.state == TriggerStatus.STALE.value
                or rec.metric not in self._by_metric
            ):
                continue
            known = latest.get(rec.metric)
            if known is None or rec.at > known[0]:
                latest[rec.metric] = (rec.at, float(rec.value))
        return latest

    def _restore_trigger(
        self,
        trig: _Trigger,
        rec: RecordedTrigger,
        status: TriggerStatus,
        latest: Mapping[str, tuple[datetime, float]],
    ) -> None:
        spec = trig.spec
        if spec.event is not None:
            if status is TriggerStatus.FIRED or rec.fired_at is not None:
                fired = rec.fired_at or rec.at
                trig.fired_at = fired
                trig.fired_value = 1.0
                trig.decide_by = rec.decide_by or fired + spec.decide_within
                trig.state = TriggerStatus.FIRED
            return
        if rec.fired_at is not None:
            trig.fired_at = rec.fired_at
            trig.decide_by = rec.decide_by or rec.fired_at + spec.decide_within
            trig.fired_value = rec.fired_value
            if trig.fired_value is None and rec.at == rec.fired_at:  # the firing change itself
                trig.fired_value = rec.value
        single = len(trig.windows) == 1
        stale_after = self._stale_after
        newest = max((t for t, _value in latest.values()), default=None)
        live = status in (TriggerStatus.BREACHING, TriggerStatus.FIRED)
        for win in trig.windows:
            if win.metric in latest:
                win.last_t, win.last_value = latest[win.metric]
            ref = win.last_t if win.last_t is not None else self._started_at
            if single:
                win.stale = status is TriggerStatus.STALE
            elif status is not TriggerStatus.OK and status is not TriggerStatus.RECOVERED:
                # the window that went stale at that change, or one silent for longer than
                # stale_after at the latest sample (the engine is ticked as samples come)
                win.stale = ref is not None and (
                    (status is TriggerStatus.STALE and ref + stale_after == rec.at)
                    or (newest is not None and newest - ref > stale_after)
                )
            if not live or win.stale:
                continue
            breaching = win.last_value is not None and win.last_value > win.above
            moved_since = win.last_t is not None and win.last_t > rec.at
            if win.metric in rec.windows:
                win.start = rec.windows[win.metric]
                if moved_since and (win.start is None) == breaching:
                    # a fired trigger's other window opened or closed since (not recorded):
                    # its start no longer matters, only whether it is open
                    win.start = win.last_t if breaching else None
            elif breaching:  # a record from before ``windows``: the recorded window start
                win.start = rec.window_start or rec.fired_at or win.last_t
        if status is TriggerStatus.STALE and not any(w.stale for w in trig.windows):
            oldest = min(trig.windows, key=lambda w: w.last_t or _EPOCH)
            oldest.stale = True
            oldest.start = None
        if live and not any(w.start is not None for w in trig.windows):
            fresh = [w for w in trig.windows if not w.stale]
            lead = next((w for w in fresh if w.metric == rec.metric), fresh[0] if fresh else None)
            if lead is not None:
                lead.start = rec.window_start or rec.fired_at or rec.at
        trig.state = status
        trig.window_start = trig.evaluate()[1] if status is TriggerStatus.BREACHING else None
        trig.starts = trig.current_starts()

    def _classify_impact(self) -> int:
        impact = self._impact()
        if impact is None:
            return 0
        if impact > 20:
            return 3
        return 2 if impact > self.policy.user_impact_above else 1

    def _impact(self) -> float | None:
        values = [
            w.last_value for w in self._impact_windows if not w.stale and w.last_value is not None
        ]
        return max(values) if values else None

    def _inputs(self) -> TreeInputs:
        critical: list[str] = []
        issue: list[str] = []
        for trig in self._triggers:
            spec = trig.spec
            if trig.fired_at is not None:
                text = f"{spec.title} fired at {_hms(trig.fired_at)} ({spec.action.label})"
                if trig.state is TriggerStatus.RECOVERED:
                    text += ", recovered since"
                (critical if spec.action.is_critical else issue).append(text)
            elif trig.state is TriggerStatus.BREACHING and trig.window_start is not None:
                issue.append(f"{spec.title} breaching since {_hms(trig.window_start)}")
        if self._patient_safety is not None and self._patient_safety.value:
            critical.append(f"patient-safety risk flagged by {self._patient_safety.by}")
        if self._severity is not None:
            severity, by, _at = self._severity
            text = f"severity {severity.capitalize()} set by {by}"
            (critical if severity == "critical" else issue).append(text)
        return TreeInputs(
            critical=tuple(critical),
            issue=tuple(critical + issue),
            user_impact_pct=self._impact(),
            user_impact_above=self.policy.user_impact_above,
            impact_answer=self._impact_answer,
            fix_forward=self._fix_forward,
        )

    def _reevaluate(self, at: datetime) -> None:
        inputs = self._inputs()
        result = evaluate_tree(inputs)
        outcome = (result.outcome, result.pending)
        if outcome != self._outcome:
            self._outcome = outcome
            self._outcome_since = at
            self._history.append(
                _record(
                    at,
                    "recommendation.changed",
                    recommendation=result.outcome.value,
                    pending=result.pending,
                    reasons=list(result.reasons),
                )
            )
        suggested = self._suggest(inputs)
        changed = suggested != self._suggested
        self._suggested = suggested
        effective = self._severity[0] if self._severity else suggested
        if effective != self._effective:
            self._effective = effective
            self._effective_since = at if effective is not None else None
        if changed:
            self._history.append(
                _record(at, "severity.suggested", severity=suggested, **self._effective_data())
            )

    def _suggest(self, inputs: TreeInputs) -> str | None:
        return suggest_severity(
            critical=bool(inputs.critical),
            user_impact_pct=inputs.user_impact_pct,
            manual_trigger_fired=any(
                t.fired_at is not None and not t.spec.action.is_critical for t in self._triggers
            ),
            breaching=any(t.state is TriggerStatus.BREACHING for t in self._triggers),
            issue=bool(inputs.issue),
            impact_above=self.policy.user_impact_above,
        )

    def _effective_data(self) -> dict[str, Any]:
        """The severity whose clock runs and since when (``severity.*`` events carry it)."""
        since = self._effective_since
        return {"effective": self._effective, "effective_since": iso(since) if since else None}

    def _answer(self, slot: str, question: str, yes: bool, actor: str, at: datetime) -> Record:
        _check_aware(at, "at")
        by = _check_actor(actor)
        setattr(self, slot, Answer(bool(yes), by, at))
        rec = _record(
            at, "tree.answered", question=question, answer="yes" if yes else "no", by=by
        )
        self._history.append(rec)
        self._reevaluate(at)
        return rec

    def _trigger_state(self, trig: _Trigger) -> TriggerState:
        lead = trig.lead()
        elapsed = _ZERO
        if trig.state is TriggerStatus.BREACHING and lead is not None and lead.start is not None:
            elapsed = (lead.last_t or lead.start) - lead.start
        if trig.spec.event is not None:
            return TriggerState(
                spec=trig.spec,
                state=trig.state,
                metric=trig.spec.event,
                value=trig.fired_value,
                sampled_at=trig.fired_at,
                fired_at=trig.fired_at,
                fired_value=trig.fired_value,
                decide_by=trig.decide_by,
            )
        return TriggerState(
            spec=trig.spec,
            state=trig.state,
            metric=lead.metric if lead else None,
            value=lead.last_value if lead else None,
            sampled_at=lead.last_t if lead else None,
            window_start=trig.window_start,
            elapsed=elapsed,
            fired_at=trig.fired_at,
            fired_value=trig.fired_value,
            decide_by=trig.decide_by,
        )

    def _recommendation(
        self,
        result: TreeResult,
        triggers: tuple[TriggerState, ...],
        severity_deadline: datetime | None,
    ) -> Recommendation:
        since = self._outcome_since
        deadline: datetime | None = severity_deadline
        if result.outcome is RecommendationKind.IMMEDIATE_ROLLBACK:
            critical = [
                t.decide_by
                for t in triggers
                if t.decide_by is not None and t.action.is_critical
            ]
            deadline = min(critical) if critical else since
        elif result.outcome is RecommendationKind.ROLLBACK_WITHIN_30M and since is not None:
            deadline = since + self.policy.rollback_within
        elif result.outcome is RecommendationKind.NO_ACTION:
            deadline = None
        return Recommendation(result.outcome, result.reasons, since, deadline, result.pending)
