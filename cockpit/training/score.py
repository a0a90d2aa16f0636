"""The training rubric, computed from an incident's recorded state alone.

:func:`score_state` reads the :class:`~cockpit.timeline.replay.IncidentState` the
journal's reducer folds (the one reader of event payloads), so the score is the same
for a headless autopilot run, a trainee in the UI and a replay of either;
:func:`score_events` is the same for a list of events. It is recorded in the journal
as ``score.recorded`` so the export carries it. The rubric (100 points) is
documented in ``docs/training.md``:

==================  ===  ===========================================================
category            max  how points are lost
==================  ===  ===========================================================
decision             30  wrong or no decision (15); late against the matrix (5 per
                         started minute, up to 10); severity not the expected (5)
runbooks             25  each expected runbook is worth an equal share: half for
                         opening it, half for finishing it; a destructive step of a
                         runbook the incident did not call for costs 10
guards               15  5 per step a guard, the order or a confirmation refused (not
                         a key pressed on a running or finished step); 15 per
                         command run outside any runbook
communication        10  not declared (3); an expected audience never notified (3);
                         2 per missed status-update slot (up to 4)
outcome              20  not restored at the end (10); any patient data or queued
                         message lost (10)
==================  ===  ===========================================================

Each category bottoms out at 0. Pure and deterministic: the same state gives the
same score. The end of the exercise is the state's last event (``training.outcome``
when the score is taken).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cockpit.decision.policy import Policy
from cockpit.runbook.deployment_actions import parse_id
from cockpit.runbook.desk import Refusal
from cockpit.runbook.model import Library
from cockpit.timeline.journal import Event
from cockpit.timeline.kinds import EventKind as K
from cockpit.timeline.kinds import decision_kind
from cockpit.timeline.replay import Attempt, IncidentState, replay
from cockpit.training.spec import TrainingSpec

CATEGORIES: tuple[tuple[str, str, int], ...] = (
    ("decision", "Decision", 30),
    ("runbooks", "Runbooks", 25),
    ("guards", "Guards", 15),
    ("communication", "Communication", 10),
    ("outcome", "Outcome", 20),
)
MAX_POINTS = sum(points for _, _, points in CATEGORIES)
STATUS_GRACE = timedelta(minutes=1)
_NEVER = datetime.max.replace(tzinfo=UTC)
#: The refusals that are the procedure saying no to a move: scored. The others refuse a
#: key press that would do nothing (run pressed again on a running step, a done step, a
#: failed one that waits for an explicit retry, an aborted runbook): recorded, not scored.
VIOLATIONS = frozenset({Refusal.GUARD, Refusal.ORDER, Refusal.CONFIRMATION,
                        Refusal.READ_ONLY})


def is_violation(attempt: Attempt) -> bool:
    """Whether a refused step counts against the trainee (a record written before
    refusals carried a code: every refusal does, as it did then)."""
    return attempt.kind == K.STEP_REFUSED and (attempt.code is None
                                               or attempt.code in VIOLATIONS)


@dataclass(frozen=True)
class Penalty:
    """Points lost in a category, and why (one line a trainee can act on)."""

    category: str
    points: int
    why: str


@dataclass(frozen=True)
class Category:
    """One line of the breakdown."""

    name: str
    label: str
    points: int
    max: int


@dataclass(frozen=True)
class Score:
    """A training run's score: breakdown, penalties with why, and the outcome."""

    scenario: str
    total: int
    max: int
    categories: tuple[Category, ...]
    penalties: tuple[Penalty, ...]
    restored: bool
    data_lost: bool
    data_lost_rows: int = 0
    messages_lost: int = 0
    decision: str | None = None
    expected_decision: str = ""
    time_to_decision_s: float | None = None
    allowance_s: float = 0.0
    root_cause: str = ""
    consequences: tuple[str, ...] = field(default_factory=tuple)

    @property
    def full_marks(self) -> bool:
        """True when nothing was lost."""
        return self.total == self.max

    def category(self, name: str) -> Category:
        """The category called ``name``."""
        return next(c for c in self.categories if c.name == name)

    def to_data(self) -> dict[str, Any]:
        """JSON-safe form (the ``score.recorded`` event's data)."""
        return {
            "scenario": self.scenario, "total": self.total, "max": self.max,
            "categories": [{"name": c.name, "label": c.label, "points": c.points, "max": c.max}
                           for c in self.categories],
            "penalties": [{"category": p.category, "points": p.points, "why": p.why}
                          for p in self.penalties],
            "restored": self.restored, "data_lost": self.data_lost,
            "data_lost_rows": self.data_lost_rows, "messages_lost": self.messages_lost,
            "decision": self.decision, "expected_decision": self.expected_decision,
            "time_to_decision_s": self.time_to_decision_s, "allowance_s": self.allowance_s,
            "root_cause": self.root_cause, "consequences": list(self.consequences),
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Score:
        """Rebuild a score from a ``score.recorded`` event's data."""
        return cls(
            scenario=str(data.get("scenario", "")),
            total=int(data.get("total", 0)), max=int(data.get("max", MAX_POINTS)),
            categories=tuple(Category(str(c["name"]), str(c["label"]), int(c["points"]),
                                      int(c["max"])) for c in data.get("categories", [])),
            penalties=tuple(Penalty(str(p["category"]), int(p["points"]), str(p["why"]))
                            for p in data.get("penalties", [])),
            restored=bool(data.get("restored")), data_lost=bool(data.get("data_lost")),
            data_lost_rows=int(data.get("data_lost_rows") or 0),
            messages_lost=int(data.get("messages_lost") or 0),
            decision=data.get("decision"), expected_decision=str(data.get("expected_decision", "")),
            time_to_decision_s=data.get("time_to_decision_s"),
            allowance_s=float(data.get("allowance_s") or 0.0),
            root_cause=str(data.get("root_cause", "")),
            consequences=tuple(str(c) for c in data.get("consequences", [])),
        )

    def lines(self) -> list[str]:
        """A plain-text report (the headless CLI prints it)."""
        out = [f"Score: {self.total}/{self.max}" + ("  (full marks)" if self.full_marks else "")]
        for cat in self.categories:
            out.append(f"  {cat.label:<14} {cat.points:>3}/{cat.max}")
        out.append(f"  Outcome: {'RESTORED' if self.restored else 'NOT RESTORED'}; "
                   f"data lost: {'YES' if self.data_lost else 'no'}")
        for pen in self.penalties:
            out.append(f"  -{pen.points:<3} {pen.category}: {pen.why}")
        return out


def _undo_of(runbook_id: str, deployments: set[str]) -> bool:
    """Whether ``runbook_id`` is a deployment action undoing one of ``deployments``."""
    action = parse_id(runbook_id)
    return action is not None and action.verb == "undo" and action.deployment in deployments


def _fmt(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def score_events(events: Iterable[Event], spec: TrainingSpec, policy: Policy,
                 library: Library | None = None) -> Score:
    """Score an incident's journal events: :func:`score_state` of their :func:`replay`."""
    return score_state(replay(events), spec, policy, library)


def score_state(state: IncidentState, spec: TrainingSpec, policy: Policy,
                library: Library | None = None) -> Score:
    """Score an incident's recorded state against ``spec`` (see the module docstring)."""
    penalties: list[Penalty] = []

    def lose(category: str, points: int, why: str) -> None:
        penalties.append(Penalty(category, points, why))

    # ---------------------------------------------------------------- decision
    fired = fired_at(state, spec.trigger)
    allowance = spec.allowance(policy.trigger(spec.trigger).decide_within)
    decided: str | None = None
    to_decision: float | None = None
    if not state.decisions:
        lose("decision", 15, f"no decision recorded; the scenario called for "
             f"{spec.decision.replace('_', ' ')}")
        lose("decision", 10, "no decision, so none on time")
    else:
        first = state.decisions[0]
        decided = decision_kind(first.decision)
        if decided != spec.decision:
            lose("decision", 15, f"decided {decided.replace('_', ' ')}; the scenario called "
                 f"for {spec.decision.replace('_', ' ')}")
        if fired is not None:
            to_decision = (first.t - fired).total_seconds()
            late = to_decision - allowance.total_seconds()
            if late > 0:
                points = min(10, 5 * math.ceil(late / 60))
                allowed = _fmt(allowance.total_seconds())
                lose("decision", points, f"decided {_fmt(to_decision)} after the "
                     f"{spec.trigger} trigger fired; the matrix allows {allowed}")
    severity = _severity(state)
    if severity is None:
        lose("decision", 5, f"severity never set (expected {spec.severity})")
    elif severity != spec.severity:
        lose("decision", 5, f"severity {severity}; the matrix says {spec.severity} here")

    # ---------------------------------------------------------------- runbooks
    expected = spec.runbooks
    share = 25 / len(expected) if expected else 0
    lost_share = 0.0
    for rb in expected:
        run = state.runbooks.get(rb)
        if run is None:
            lost_share += share
            lose("runbooks", round(share), f"never opened {rb}")
            continue
        status = {step_id: step.status for step_id, step in run.steps.items()}
        if library is not None and rb in library:
            ok = all(status.get(s.id) in ("done", "skipped") or (
                status.get(s.id) == "failed" and s.on_failure == "continue")
                for s in library.get(rb).steps)
        else:
            ok = "done" in status.values()
        if not ok:
            lost_share += share / 2
            lose("runbooks", round(share / 2), f"did not finish {rb}")
    called_for = set(expected) | set(spec.accept)
    # an undo taken from the history of a deployment the plan rolls back is the plan's
    # rollback by another path (act/NS/DEPLOYMENT/undo-N): not off the plan
    rolled_back = {item.variables["deployment"] for item in spec.plan
                   if "deployment" in item.variables}
    off_plan = sorted((s for s in state.steps() if s.destructive and s.started_at is not None
                       and s.runbook not in called_for
                       and not _undo_of(s.runbook, rolled_back)),
                      key=lambda s: s.started_at or _NEVER)
    for step in off_plan:
        lose("runbooks", 10, f"ran destructive step {step.runbook}/{step.step}, "
             "which this incident did not call for")

    # ---------------------------------------------------------------- guards
    for attempt in state.attempts:
        if is_violation(attempt):
            lose("guards", 5, f"tried {attempt.runbook}/{attempt.step}: {attempt.text}")
        elif attempt.kind == K.ACTION_OFF_BOOK:
            lose("guards", 15, f"ran `{attempt.text}` outside any runbook: no guard, "
                 "confirmation or approval")

    # ---------------------------------------------------------------- communication
    if state.declared_at is None:
        lose("communication", 3, "the incident was never declared")
    missing = [target for target in spec.notify if target not in state.facts.notified]
    if missing:
        lose("communication", 3, f"never notified {', '.join(missing)}")
    missed = _missed_updates(state, spec.status_every + STATUS_GRACE)
    if missed:
        lose("communication", min(4, 2 * missed),
             f"{missed} status update(s) missed (due every "
             f"{_fmt(spec.status_every.total_seconds())})")

    # ---------------------------------------------------------------- outcome
    outcome = state.outcome
    consequences = tuple(c.detail for c in state.consequences)
    rows = sum(int(c.amount) for c in state.consequences if c.kind == "data_lost")
    messages = sum(int(c.amount) for c in state.consequences if c.kind == "messages_lost")
    restored = bool(outcome and outcome.get("restored"))
    if outcome is None:
        lose("outcome", 10, "the exercise did not finish (no outcome recorded)")
    elif not restored:
        faults = ", ".join(str(f) for f in outcome.get("active_faults") or []) or "unhealthy"
        lose("outcome", 10, f"services not restored at the end ({faults})")
    if rows or messages:
        lose("outcome", 10, "; ".join(consequences))

    # ---------------------------------------------------------------- total
    cats = []
    for name, label, maximum in CATEGORIES:
        lost = sum(p.points for p in penalties if p.category == name)
        if name == "runbooks":  # the shares are summed before rounding
            lost = round(lost_share) + 10 * len(off_plan)
        cats.append(Category(name, label, max(0, maximum - lost), maximum))
    return Score(
        scenario=spec.scenario_id,
        total=sum(c.points for c in cats),
        max=MAX_POINTS,
        categories=tuple(cats),
        penalties=tuple(penalties),
        restored=restored,
        data_lost=bool(rows or messages),
        data_lost_rows=rows,
        messages_lost=messages,
        decision=decided,
        expected_decision=spec.decision,
        time_to_decision_s=to_decision,
        allowance_s=allowance.total_seconds(),
        root_cause=spec.root_cause,
        consequences=consequences,
    )


def fired_at(state: IncidentState, trigger_id: str) -> datetime | None:
    """When a trigger fired (``None``: it has not): the engine's recorded fire time.

    The engine keeps a trigger's fire time once it has fired, so its latest change
    carries it; a journal that did not record it dates the fire by that change. The
    decision clock and the coach's stall clock both start here.
    """
    trigger = state.triggers.get(trigger_id)
    if trigger is None:
        return None
    if trigger.fired_at is not None:
        return trigger.fired_at
    return trigger.at if trigger.state == "fired" else None


def _severity(state: IncidentState) -> str | None:
    """The severity in force: the last one set; cleared after a set, the suggested one."""
    if state.severity is not None:
        return state.severity
    if state.severity_record is not None and state.suggested_severity is not None:
        return state.suggested_severity.value
    return None


def _missed_updates(state: IncidentState, slot: timedelta) -> int:
    """Status-update slots missed between the declaration, each update and the end."""
    start = state.declared_at or state.opened_at
    end = state.last_event_at
    if start is None or end is None:
        return 0
    updates = [u.t for u in state.status_updates if u.t >= start]
    marks = [start, *updates, end]
    missed = sum(int((b - a) // slot) for a, b in zip(marks, marks[1:], strict=False))
    return missed if updates else max(missed, 2)
