"""What a resumed or following cockpit rebuilds from the recorded state, never from samples.

Everything here reads the reducer's :class:`~cockpit.timeline.replay.IncidentState`
(the one fold of the journal), so a cockpit that did not write a journal rebuilds the
same incident from it as the one that did.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from cockpit.decision.engine import (
    Q_PATIENT_SAFETY,
    DecisionDeadline,
    DecisionRecord,
    RecordedDecisionState,
    RecordedTrigger,
)
from cockpit.decision.tree import Q_FIX_FORWARD, Q_IMPACT, Answer
from cockpit.timeline.replay import AnswerRecord, IncidentState

if TYPE_CHECKING:
    from cockpit.runbook.model import Library
    from cockpit.sim.estate import SimEstate

#: Reads on a real system that still leave a trace the simulated estate remembers.
_ALSO_CHANGE_THE_ESTATE = frozenset({"pg.backup"})


def _float(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _answer(record: AnswerRecord | None) -> Answer | None:
    if record is None:
        return None
    return Answer(str(record.value).lower() == "yes", record.by or "unknown", record.at)


def recorded_decision(state: IncidentState) -> RecordedDecisionState:
    """The decision engine's state as the journal recorded it (for ``engine.restore``)."""
    triggers = tuple(
        RecordedTrigger(
            trigger=t.trigger, state=t.state, at=t.at or t.changed_at, fired_at=t.fired_at,
            decide_by=t.decide_by_at, window_start=t.window_start, metric=t.metric,
            value=_float(t.value), fired_value=t.fired_value, windows=t.windows,
        )
        for t in state.triggers.values()
    )
    last_samples = {metric: points[-1] for metric, points in state.samples.items() if points}
    severity = None
    record = state.severity_record
    if record is not None and record.value:
        severity = (record.value, record.by or "unknown", record.at)
    decision = None
    if state.decisions:
        last = state.decisions[-1]
        decision = DecisionRecord(last.decision, last.by or "unknown", last.t, last.reasons,
                                  DecisionDeadline.from_data(last.deadline))
    effective = state.effective_severity
    severity_since = effective.at if effective is not None else None
    return RecordedDecisionState(
        triggers=triggers,
        last_samples=last_samples,
        severity=severity,
        patient_safety=_answer(state.tree.get(Q_PATIENT_SAFETY)),
        fix_forward=_answer(state.tree.get(Q_FIX_FORWARD)),
        impact_answer=_answer(state.tree.get(Q_IMPACT)),
        decision=decision,
        recommendation_since=state.recommendation.at if state.recommendation else None,
        severity_since=severity_since,
    )


def replay_actions(estate: SimEstate, state: IncidentState, library: Library,
                   variables: Mapping[str, str]) -> list[str]:
    """Apply again to a rebuilt simulated estate, at their recorded times, the steps that
    changed it (an undo, a scale, a backup). Returns ``runbook/step`` for each, in order.

    Steps of runbooks no longer in the library, or whose variables no longer resolve,
    are left out.
    """
    from cockpit.actions.executor import RunContext
    from cockpit.actions.types import ActionError, effective_variables, resolve
    from cockpit.clock import SimClock
    from cockpit.sim.executor import SimExecutor

    done = sorted(
        (step.started_at, step.runbook, step.step)
        for rb in state.runbooks.values() for step in rb.steps.values()
        if step.status == "done" and step.started_at is not None
    )
    executor = SimExecutor(estate, sleep=lambda _s: None)
    live_clock = estate.clock
    replayed: list[str] = []
    try:
        for at, runbook_id, step_id in done:
            if runbook_id not in library:
                continue
            runbook = library.get(runbook_id)
            run_values = effective_variables(runbook.variables, variables,
                                             state.runbooks[runbook_id].variables)
            try:
                action = resolve(runbook.step(step_id).action, run_values)
            except (ActionError, KeyError):
                continue
            if not (action.mutates or action.type in _ALSO_CHANGE_THE_ESTATE):
                continue
            clock = SimClock(estate.scenario.start, 1)
            clock.advance(max(0.0, (at - estate.scenario.start).total_seconds()))
            estate.clock = clock
            folder = Path(runbook.path).parent if runbook.path else None
            ctx = RunContext(deadline=float("inf"),
                             variables={**run_values,
                                        **({"runbooks_dir": str(folder)} if folder else {})},
                             runbook_id=runbook_id, step_id=step_id)
            executor.run(action, ctx)
            replayed.append(f"{runbook_id}/{step_id}")
    finally:
        estate.clock = live_clock
    return replayed
