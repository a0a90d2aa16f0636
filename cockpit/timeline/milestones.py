"""The six RCA milestones, captured from journal events as they arrive.

Rules (the RCA's "Timeline" section is built from these):

- **Issue first detected**: the first ``trigger.changed`` whose state is
  ``breaching`` or ``fired``.
- **Incident declared**: the first ``incident.declared``.
- **Rollback decision made**: the first ``decision.recorded`` whose decision
  mentions "rollback" and is not a negation ("no rollback", "no-rollback",
  "not rollback", "skip rollback", "avoid rollback").
- **Rollback initiated**: the first *rollback step* that starts. A rollback step
  is a ``step.started`` with ``destructive: true``, or whose step id, ``kind``
  or ``action`` field contains "rollback" or "undo" (the runbook's name does
  not count: a rollback runbook also has read-only steps).
- **Rollback completed**: the time the last rollback step finished ``done``,
  once no rollback step is still running (later rollback steps move it).
- **Services restored**: the start of the first period, after the issue was
  detected, in which every trigger seen so far is ``ok``/``recovered``
  (also ``clear``, ``normal``, ``resolved``) and no health-check step has
  failed, provided an event at least N minutes (default 5) later finds it
  still so. The time reported is when health came back, not when it was
  confirmed. An *event* trigger (a security breach, data corruption: no metric,
  it never goes back to ``ok``) counts as handled once a rollback completed; and
  while a rollback step runs, or a started rollback has not completed, health
  cannot come back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cockpit.timeline.kinds import EventKind as K
from cockpit.timeline.kinds import is_rollback_decision as is_rollback_decision
from cockpit.timeline.kinds import mentions_rollback

DETECTED_STATES = frozenset({"breaching", "fired"})
HEALTHY_STATES = frozenset({"ok", "recovered", "clear", "normal", "resolved"})
DEFAULT_RESTORED_AFTER = timedelta(minutes=5)

_HEALTH_STEP = re.compile(r"health", re.IGNORECASE)


@dataclass(frozen=True)
class Milestones:
    """The RCA timeline; each field is None until it happens."""

    issue_detected: datetime | None = None
    incident_declared: datetime | None = None
    rollback_decided: datetime | None = None
    rollback_initiated: datetime | None = None
    rollback_completed: datetime | None = None
    services_restored: datetime | None = None

    LABELS = (
        ("issue_detected", "Issue first detected"),
        ("incident_declared", "Incident declared"),
        ("rollback_decided", "Rollback decision made"),
        ("rollback_initiated", "Rollback initiated"),
        ("rollback_completed", "Rollback completed"),
        ("services_restored", "Services restored"),
    )

    def items(self) -> list[tuple[str, str, datetime | None]]:
        """Return ``(field, label, time)`` in RCA order."""
        return [(name, label, getattr(self, name)) for name, label in self.LABELS]


def is_rollback_step(data: Mapping[str, Any]) -> bool:
    """True if a ``step.started`` payload describes a rollback step (see module rules)."""
    if data.get("destructive") is True:
        return True
    fields = (data.get("step"), data.get("kind"), data.get("action"))
    return any(isinstance(f, str) and mentions_rollback(f) for f in fields)


class MilestoneTracker:
    """Feeds on events (kind, time, data) and keeps the milestones up to date."""

    def __init__(self, restored_after: timedelta = DEFAULT_RESTORED_AFTER) -> None:
        """``restored_after`` is the N minutes of continuous health that confirm a restore."""
        self.restored_after = restored_after
        self._m: dict[str, datetime | None] = {name: None for name, _ in Milestones.LABELS}
        self._triggers: dict[str, str] = {}
        self._failing_health: set[str] = set()
        self._rollback_steps: set[str] = set()
        self._running_rollback: set[str] = set()
        self._last_rollback_done: datetime | None = None
        self._healthy_since: datetime | None = None
        self._event_triggers: set[str] = set()

    def feed(self, kind: str, t: datetime, data: Mapping[str, Any]) -> None:
        """Account for one event."""
        m = self._m
        if kind == K.TRIGGER_CHANGED:
            name = str(data.get("trigger", ""))
            state = str(data.get("state", "")).lower()
            self._triggers[name] = state
            if "metric" in data and data.get("metric") is None and state == "fired":
                self._event_triggers.add(name)
            if state in DETECTED_STATES and m["issue_detected"] is None:
                m["issue_detected"] = t
        elif kind == K.INCIDENT_DECLARED and m["incident_declared"] is None:
            m["incident_declared"] = t
        elif kind == K.DECISION_RECORDED:
            decision = str(data.get("decision", ""))
            if m["rollback_decided"] is None and is_rollback_decision(decision):
                m["rollback_decided"] = t
        elif kind == K.STEP_STARTED:
            key = f"{data.get('runbook')}/{data.get('step')}"
            if is_rollback_step(data):
                self._rollback_steps.add(key)
                self._running_rollback.add(key)
                if m["rollback_initiated"] is None:
                    m["rollback_initiated"] = t
        elif kind in (K.STEP_FINISHED, K.STEP_INTERRUPTED):
            key = f"{data.get('runbook')}/{data.get('step')}"
            self._running_rollback.discard(key)
            outcome = data.get("outcome")
            if key in self._rollback_steps and kind == K.STEP_FINISHED and outcome == "done":
                self._last_rollback_done = t
            if _HEALTH_STEP.search(key) and kind == K.STEP_FINISHED:
                if outcome == "failed":
                    self._failing_health.add(key)
                elif outcome == "done":
                    self._failing_health.discard(key)
            if not self._running_rollback and self._last_rollback_done is not None:
                m["rollback_completed"] = self._last_rollback_done
        self._track_health(t)

    def _track_health(self, t: datetime) -> None:
        m = self._m
        if m["issue_detected"] is None or m["services_restored"] is not None:
            return
        rolled_back = m["rollback_completed"] is not None
        healthy = not self._failing_health and all(
            state in HEALTHY_STATES or (name in self._event_triggers and rolled_back)
            for name, state in self._triggers.items()
        )
        if m["rollback_initiated"] is not None and (not rolled_back or self._running_rollback):
            healthy = False  # a rollback under way: nothing is restored yet
        if not healthy:
            self._healthy_since = None
            return
        if self._healthy_since is None:
            self._healthy_since = t
        if t - self._healthy_since >= self.restored_after:
            m["services_restored"] = self._healthy_since

    @property
    def milestones(self) -> Milestones:
        """The milestones so far."""
        return Milestones(**self._m)
