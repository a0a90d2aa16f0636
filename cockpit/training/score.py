"""The training rubric, computed from an incident's journal events alone.

Because the score reads only journal events, it is the same for a headless
autopilot run, a trainee in the UI and a replay of either; it is recorded in the
journal as ``score.recorded`` so the export carries it. The rubric (100 points)
is documented in ``docs/training.md``:

==================  ===  ===========================================================
category            max  how points are lost
==================  ===  ===========================================================
decision             30  wrong or no decision (15); late against the matrix (5 per
                         started minute, up to 10); severity not the expected (5)
runbooks             25  each expected runbook is worth an equal share: half for
                         opening it, half for finishing it; a destructive step of a
                         runbook the incident did not call for costs 10
guards               15  5 per step a guard or confirmation refused; 15 per command
                         run outside any runbook
communication        10  not declared (3); an expected audience never notified (3);
                         2 per missed status-update slot (up to 4)
outcome              20  not restored at the end (10); any patient data or queued
                         message lost (10)
==================  ===  ===========================================================

Each category bottoms out at 0. Pure and deterministic: the same events give the
same score.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cockpit.decision.policy import Policy
from cockpit.runbook.model import Library
from cockpit.timeline.journal import parse_time
from cockpit.timeline.kinds import decision_kind as decision_kind
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


def event_parts(event: Any) -> tuple[str, datetime | None, Mapping[str, Any]]:
    if isinstance(event, Mapping):
        raw_t = event.get("t")
        return (str(event.get("kind", "")),
                parse_time(raw_t) if isinstance(raw_t, str) else raw_t,
                event.get("data") or {})
    return str(event.kind), event.time, event.data or {}


def _at(data: Mapping[str, Any], key: str, fallback: datetime | None) -> datetime | None:
    value = data.get(key)
    if isinstance(value, str):
        try:
            return parse_time(value)
        except ValueError:
            return fallback
    return fallback


def _fmt(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def score_events(events: Iterable[Any], spec: TrainingSpec, policy: Policy,
                 library: Library | None = None) -> Score:
    """Score an incident's journal events against ``spec`` (see the module docstring)."""
    parsed = [event_parts(e) for e in events]
    penalties: list[Penalty] = []

    def lose(category: str, points: int, why: str) -> None:
        penalties.append(Penalty(category, points, why))

    # ---------------------------------------------------------------- decision
    fired_at: datetime | None = None
    for kind, t, d in parsed:
        if (kind == "trigger.changed" and d.get("trigger") == spec.trigger
                and d.get("state") == "fired" and fired_at is None):
            fired_at = _at(d, "fired_at", _at(d, "at", t))
    matrix = policy.trigger(spec.trigger).decide_within
    allowance = spec.allowance(matrix)
    decisions = [(t, d) for kind, t, d in parsed if kind == "decision.recorded"]
    decided: str | None = None
    to_decision: float | None = None
    if not decisions:
        lose("decision", 15, f"no decision recorded; the scenario called for "
             f"{spec.decision.replace('_', ' ')}")
        lose("decision", 10, "no decision, so none on time")
    else:
        t_dec, d_dec = decisions[0]
        decided_at = _at(d_dec, "at", t_dec)
        decided = decision_kind(str(d_dec.get("decision", "")))
        if decided != spec.decision:
            lose("decision", 15, f"decided {decided.replace('_', ' ')}; the scenario called "
                 f"for {spec.decision.replace('_', ' ')}")
        if fired_at is not None and decided_at is not None:
            to_decision = (decided_at - fired_at).total_seconds()
            late = to_decision - allowance.total_seconds()
            if late > 0:
                points = min(10, 5 * math.ceil(late / 60))
                allowed = _fmt(allowance.total_seconds())
                lose("decision", points, f"decided {_fmt(to_decision)} after the "
                     f"{spec.trigger} trigger fired; the matrix allows {allowed}")
    severities = [str(d.get("severity")) for kind, _t, d in parsed
                  if kind in ("severity.set", "incident.declared") and d.get("severity")]
    if not severities:
        lose("decision", 5, f"severity never set (expected {spec.severity})")
    elif severities[-1] != spec.severity:
        lose("decision", 5, f"severity {severities[-1]}; the matrix says {spec.severity} here")

    # ---------------------------------------------------------------- runbooks
    opened = {str(d.get("runbook")) for kind, _t, d in parsed if kind == "runbook.opened"}
    finished: dict[str, dict[str, str]] = {}
    for kind, _t, d in parsed:
        if kind in ("step.finished", "step.skipped"):
            outcome = "skipped" if kind == "step.skipped" else str(d.get("outcome"))
            finished.setdefault(str(d.get("runbook")), {})[str(d.get("step"))] = outcome
    expected = spec.runbooks
    share = 25 / len(expected) if expected else 0
    lost_share = 0.0
    for rb in expected:
        if rb not in opened:
            lost_share += share
            lose("runbooks", round(share), f"never opened {rb}")
            continue
        steps = finished.get(rb, {})
        if library is not None and rb in library:
            runbook = library.get(rb)
            ok = all(steps.get(s.id) in ("done", "skipped") or (
                steps.get(s.id) == "failed" and s.on_failure == "continue")
                for s in runbook.steps)
        else:
            ok = any(v == "done" for v in steps.values())
        if not ok:
            lost_share += share / 2
            lose("runbooks", round(share / 2), f"did not finish {rb}")
    allowed = set(expected) | set(spec.accept)
    for kind, _t, d in parsed:
        if kind == "step.started" and d.get("destructive") and d.get("runbook") not in allowed:
            lose("runbooks", 10, f"ran destructive step {d.get('runbook')}/{d.get('step')}, "
                 "which this incident did not call for")

    # ---------------------------------------------------------------- guards
    for kind, _t, d in parsed:
        if kind == "step.refused":
            lose("guards", 5, f"tried {d.get('runbook')}/{d.get('step')}: {d.get('reason')}")
        elif kind == "action.off_book":
            argv = " ".join(str(a) for a in d.get("argv") or [])
            lose("guards", 15, f"ran `{argv}` outside any runbook: no guard, confirmation "
                 "or approval")

    # ---------------------------------------------------------------- communication
    declared = [t for kind, t, _d in parsed if kind == "incident.declared"]
    if not declared:
        lose("communication", 3, "the incident was never declared")
    notified: set[str] = set()
    for kind, _t, d in parsed:
        if kind == "step.finished" and d.get("outcome") == "done":
            notified.update(str(x) for x in d.get("notified") or [])
    missing = [target for target in spec.notify if target not in notified]
    if missing:
        lose("communication", 3, f"never notified {', '.join(missing)}")
    start = declared[0] if declared else next((t for k, t, _d in parsed
                                               if k == "incident.opened"), None)
    end_t = next((t for k, t, _d in reversed(parsed) if k == "training.outcome"), None)
    if end_t is None and parsed:
        end_t = parsed[-1][1]
    updates = [t for kind, t, _d in parsed if kind == "status.update"
               and start is not None and t is not None and t >= start]
    missed = 0
    if start is not None and end_t is not None:
        marks = [start, *updates, end_t]
        slot = spec.status_every + STATUS_GRACE
        for a, b in zip(marks, marks[1:], strict=False):
            if a is not None and b is not None:
                missed += int((b - a) // slot)
        if not updates:
            missed = max(missed, 2)
    if missed:
        lose("communication", min(4, 2 * missed),
             f"{missed} status update(s) missed (due every "
             f"{_fmt(spec.status_every.total_seconds())})")

    # ---------------------------------------------------------------- outcome
    outcome = next((d for k, _t, d in reversed(parsed) if k == "training.outcome"), None)
    consequences = tuple(str(d.get("detail")) for k, _t, d in parsed if k == "sim.consequence")
    rows = sum(int(d.get("amount") or 0) for k, _t, d in parsed
               if k == "sim.consequence" and d.get("kind") == "data_lost")
    messages = sum(int(d.get("amount") or 0) for k, _t, d in parsed
                   if k == "sim.consequence" and d.get("kind") == "messages_lost")
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
        if name == "runbooks":
            lost = round(lost_share) + sum(p.points for p in penalties
                                           if p.category == name and p.points == 10
                                           and p.why.startswith("ran destructive"))
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
