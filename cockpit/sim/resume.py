"""Bring a fresh simulated estate back to where a resumed training incident left it.

The estate is a pure function of its scenario, seed, time and the actions taken. A
resumed incident rebuilds the estate from the scenario, so the actions its runbook
steps took (an undo, a scale, a backup, a migration undo...) must be applied again,
each at the simulated time it was taken, or the metrics would jump back to the
incident's worst. Only steps that finished ``done`` and whose action changes the
estate (or, like a backup, leaves a trace in it) are replayed; checks and waits
changed nothing. Nothing is recorded: the
journal already holds these steps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from cockpit.actions.executor import RunContext
from cockpit.actions.types import ActionError
from cockpit.clock import SimClock
from cockpit.runbook.engine import IncidentFacts, RunbookRun
from cockpit.runbook.model import Library
from cockpit.sim.estate import SimEstate
from cockpit.sim.executor import SimExecutor
from cockpit.timeline.replay import replay

#: Reads on a real system that still leave a trace the simulated estate remembers.
_ALSO_CHANGE_THE_ESTATE = frozenset({"pg.backup"})


def replay_actions(estate: SimEstate, events: Iterable[Any], library: Library,
                   variables: Mapping[str, Any] | None = None) -> list[str]:
    """Apply again, at their recorded times, the estate-changing steps in ``events``.

    Returns ``runbook/step`` for each step replayed, in order. Steps of runbooks no
    longer in the library, or whose variables no longer resolve, are left out.
    """
    events = list(events)
    started: dict[tuple[str, str], datetime] = {}
    done: list[tuple[datetime, str, str]] = []
    for event in events:
        data = event.data
        key = (str(data.get("runbook", "")), str(data.get("step", "")))
        if event.kind == "step.started":
            started[key] = event.time
        elif event.kind == "step.finished" and data.get("outcome") == "done" and key in started:
            done.append((started[key], *key))
    done.sort(key=lambda item: item[0])

    recorded = replay(events).runbooks  # the operator's variables of each run
    executor = SimExecutor(estate, sleep=lambda _s: None)
    runs: dict[str, RunbookRun] = {}
    live_clock = estate.clock
    replayed: list[str] = []
    try:
        for at, runbook_id, step_id in done:
            if runbook_id not in library:
                continue
            run = runs.get(runbook_id)
            if run is None:
                run = runs[runbook_id] = RunbookRun.from_state(
                    library.get(runbook_id), recorded.get(runbook_id), IncidentFacts(),
                    executor, lambda _kind, _data: None, variables)
            try:
                action = run.resolve(run.runbook.step(step_id))
            except (ActionError, KeyError):
                continue
            if not (action.mutates or action.type in _ALSO_CHANGE_THE_ESTATE):
                continue
            clock = SimClock(estate.scenario.start, 1)
            clock.advance(max(0.0, (at - estate.scenario.start).total_seconds()))
            estate.clock = clock
            folder = Path(run.runbook.path).parent if run.runbook.path else None
            ctx = RunContext(deadline=float("inf"),
                             variables={**run.variables,
                                        **({"runbooks_dir": str(folder)} if folder else {})},
                             runbook_id=runbook_id, step_id=step_id)
            executor.run(action, ctx)
            replayed.append(f"{runbook_id}/{step_id}")
    finally:
        estate.clock = live_clock
    return replayed
