"""Play a recorded incident back: its events in time order, and its metrics as a source.

``cockpit replay ID`` opens the war room on a journal instead of an estate: the metric
panels draw the recorded samples up to the replay clock, the decision engine re-evaluates
them and re-applies the recorded severity, answers and decisions at their times, and every
other event (notes, steps, notifications, status updates) is announced as it comes. Nothing
is written: the journal is read once, without its lock.

The same :class:`Playback` follows a journal that is still being written (the autopilot of
a demo walkthrough), through ``source``: a callable returning the events so far.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta

from cockpit.domain import MetricsSnapshot, Series
from cockpit.timeline.journal import Event
from cockpit.timeline.kinds import EventKind as K

#: How much history the metric panels show (like the live sources' ``--from=-30m``).
WINDOW = timedelta(minutes=30)
#: The metrics a :class:`MetricsSnapshot` carries; other samples go to the engine only.
SNAPSHOT_METRICS: tuple[str, ...] = ("error_rate_pct", "latency_p95_ms", "cpu_pct", "memory_pct")
#: Event kinds that are plumbing, not news for the person watching.
QUIET_KINDS = frozenset({K.SAMPLE, K.TRIGGER_CHANGED, K.SEVERITY_SET, K.TREE_ANSWERED,
                         K.DECISION_RECORDED, K.TRAINING_STARTED, K.INCIDENT_OPENED,
                         K.SOURCE_RECOVERED, K.RUNBOOK_VARIABLES, K.SCORE_RECORDED,
                         K.TRAINING_OUTCOME, K.FACT_ESTABLISHED})


class Playback:
    """The events of one incident handed out as the replay clock reaches them."""

    def __init__(self, events: Iterable[Event] | Callable[[], Sequence[Event]]) -> None:
        if callable(events):
            self._source: Callable[[], Sequence[Event]] = events
        else:
            fixed = list(events)
            self._source = lambda: fixed
        self._next = 0
        self._samples: dict[str, tuple[list[datetime], list[float]]] = {}
        self._indexed = 0

    @property
    def events(self) -> Sequence[Event]:
        """Every event known so far (a live journal grows)."""
        return self._source()

    @property
    def opened_at(self) -> datetime | None:
        """The first event's time."""
        events = self.events
        return events[0].time if events else None

    @property
    def last_at(self) -> datetime | None:
        """The last event's time."""
        events = self.events
        return events[-1].time if events else None

    @property
    def finished(self) -> bool:
        """Whether every event has been handed out."""
        return self._next >= len(self.events)

    def due(self, now: datetime) -> list[Event]:
        """The events not handed out yet whose time is at or before ``now``, in order."""
        events = self.events
        out: list[Event] = []
        while self._next < len(events) and events[self._next].time <= now:
            out.append(events[self._next])
            self._next += 1
        return out

    def _index(self) -> None:
        events = self.events
        for event in events[self._indexed:]:
            if event.kind != "sample":
                continue
            value = event.data.get("value")
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            times, values = self._samples.setdefault(str(event.data.get("metric")), ([], []))
            if times and event.time < times[-1]:
                continue  # out of order: the journal keeps one clock, so this is noise
            times.append(event.time)
            values.append(float(value))
        self._indexed = len(events)

    def series(self, metric: str, now: datetime, window: timedelta = WINDOW) -> Series:
        """The recorded samples of ``metric`` in the ``window`` before ``now``."""
        self._index()
        times, values = self._samples.get(metric, ([], []))
        lo = bisect.bisect_left(times, now - window)
        hi = bisect.bisect_right(times, now)
        return Series(metric, tuple(zip(times[lo:hi], values[lo:hi], strict=True)))

    def metrics_snapshot(self, now: datetime) -> MetricsSnapshot:
        """What the metrics source showed at ``now``, as far as the record tells."""
        error, latency, cpu, memory = (self.series(m, now) for m in SNAPSHOT_METRICS)
        return MetricsSnapshot(now, error, latency, cpu, memory)


class PlaybackSource:
    """The ``metrics`` source of a replay: the recorded samples up to the replay clock."""

    kind = "metrics"
    label = "recorded"

    def __init__(self, playback: Playback, now: Callable[[], datetime],
                 interval_s: float = 1.0, timeout_s: float = 3.0) -> None:
        self.playback = playback
        self.now = now
        self.interval_s = interval_s
        self.timeout_s = timeout_s

    def revision(self) -> None:
        """Always fetched (the playback's position moves with its clock)."""
        return None

    def fetch(self) -> MetricsSnapshot:
        """The recorded metrics at the replay clock's time."""
        return self.playback.metrics_snapshot(self.now())

    def close(self) -> None:
        """Nothing to release: the events are in memory."""


def describe(event: Event) -> str:
    """One line for the person watching a replay (``QUIET_KINDS`` are not announced)."""
    d = event.data
    who = d.get("by") or event.actor.get("user") or ""
    where = f"{d.get('runbook')}/{d.get('step')}" if d.get("step") else ""
    kind = event.kind
    if kind == K.NOTE_ADDED:
        return f"note by {who}: {d.get('text', '')}"
    if kind == K.STATUS_UPDATE:
        first = str(d.get("text", "")).strip().splitlines()
        return f"status update ({d.get('channel', 'journal')}): {first[0] if first else ''}"
    if kind == K.STEP_STARTED:
        return f"{where} started: {d.get('preview', '')}"
    if kind == K.STEP_FINISHED:
        reason = f" ({d.get('reason')})" if d.get("reason") else ""
        return f"{where} {d.get('outcome', '?')}{reason}"
    if kind in (K.STEP_SKIPPED, K.STEP_REFUSED, K.STEP_INTERRUPTED):
        return f"{where} {kind.split('.', 1)[1]}: {d.get('reason') or d.get('preview') or ''}"
    if kind == K.RUNBOOK_OPENED:
        return f"runbook opened: {d.get('runbook')} - {d.get('title', '')}"
    if kind == K.TRAINING_MOVE:
        return f"{d.get('move', '')} - why: {d.get('why', '')}"
    if kind == K.SOURCE_STALE:
        return f"source {d.get('source')} STALE: {d.get('reason', '')}"
    if kind == K.SIM_CONSEQUENCE:
        return f"consequence: {d.get('detail', '')}"
    if kind == K.SIM_EVENT:
        return f"event: {d.get('detail') or d.get('kind')}"
    if kind == K.APPROVAL_RECORDED:
        return f"approval by {d.get('approver')} as {d.get('role')}"
    # the decision engine and the answers it was given (the timeline pane shows them)
    if kind == K.TRIGGER_CHANGED:
        value = f" at {d.get('value')}" if d.get("value") is not None else ""
        return f"trigger {d.get('trigger')} {str(d.get('state', '?')).upper()}{value}"
    if kind == K.RECOMMENDATION_CHANGED:
        return f"engine recommends: {str(d.get('recommendation', '?')).replace('_', ' ')}"
    if kind == K.SEVERITY_SUGGESTED:
        return f"severity suggested: {d.get('severity') or 'none'}"
    if kind == K.SEVERITY_SET:
        if d.get("severity") is None:
            return f"severity cleared (the suggested one applies), by {who}"
        return f"severity set to {d.get('severity')} by {who}"
    if kind == K.INCIDENT_DECLARED:
        return f"incident declared ({d.get('severity')}) by {who}"
    if kind == K.TREE_ANSWERED:
        return f"{d.get('question')}: {d.get('answer')} (by {who})"
    if kind == K.DECISION_RECORDED:
        return f"decision: {str(d.get('decision', '?')).replace('_', ' ')} by {who}"
    if kind == K.INCIDENT_OPENED:
        return f"incident opened: {d.get('title') or d.get('scenario') or ''}"
    if kind == K.INCIDENT_CLOSED:
        return f"incident closed by {who}"
    if kind in (K.OPERATOR_DISCONNECTED, K.OPERATOR_RESUMED):
        return f"{who} {kind.split('.', 1)[1]}"
    if kind == K.SOURCE_RECOVERED:
        return f"source {d.get('source')} recovered"
    if kind == K.RUNBOOK_ABORTED:
        return f"runbook {d.get('runbook')} aborted: {d.get('reason', '')}"
    if kind == K.RUNBOOK_VARIABLES:
        values = d.get("variables")
        names = ", ".join(map(str, values)) if isinstance(values, dict) else ""
        return f"runbook {d.get('runbook')} variables set: {names}"
    if kind == K.STEP_DRY_RUN:
        return f"{where} dry run: {d.get('result', '')}"
    if kind == K.ACTION_OFF_BOOK:
        argv = d.get("argv")
        return "off-book: " + (" ".join(map(str, argv)) if isinstance(argv, list) else str(argv))
    if kind == K.NOTIFICATION_ATTESTED:
        return f"{who} attests telling {d.get('target')}: {d.get('how', '')}"
    if kind == K.ROLLBACK_ARMED:
        triggers = d.get("triggers")
        names = ", ".join(map(str, triggers)) if isinstance(triggers, list) else ""
        return f"automatic rollback ARMED for {names} by {who}"
    if kind == K.ROLLBACK_DISARMED:
        return f"automatic rollback disarmed by {who}"
    if kind == K.ROLLBACK_HOLD_STARTED:
        return f"ROLLBACK hold: {d.get('why', '')}: {d.get('command', '')}"
    if kind == K.ROLLBACK_HOLD_CANCELLED:
        return f"rollback hold cancelled by {who}: nothing ran"
    if kind == K.ROLLBACK_HOLD_CONFIRMED:
        how = "the hold ended" if d.get("how") == "timeout" else f"{d.get('how')} by {who}"
        return f"rollback hold {how}: the rollback starts"
    if kind == K.ROLLBACK_HOLD_LAPSED:
        return f"rollback hold lapsed: {d.get('reason', '')}"
    if kind.startswith("notification."):
        why = f" ({d.get('reason')})" if d.get("reason") else ""
        return (f"{d.get('channel', '?')} message {kind.split('.', 1)[1]}: "
                f"{d.get('summary') or d.get('id') or ''}{why}")
    if kind in (K.EVENT_PINNED, K.EVENT_UNPINNED):
        return f"#{d.get('seq')} {kind.split('.', 1)[1]} by {who}"
    details = ", ".join(f"{k}={v}" for k, v in d.items() if k not in ("at",))
    return f"{kind}: {details}" if details else kind
