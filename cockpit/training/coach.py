"""The coach for guided mode: one hint when the trainee stalls or errs.

``Coach(scenario, mode).hint(events, now)`` is pure and deterministic: it reads
only the journal events so far, the time, and the scenario's training block, and
returns one line or ``None``. In ``exam`` and ``demo`` mode it never hints (the
autopilot narrates demo itself).

Hints, most urgent first:

1. an error in the last two minutes: a refused step (why, and what to do first),
   a command run outside the runbooks, or damage done (data or messages lost);
2. a stall: nothing done for ``stall_s`` (90 s) at a point where the procedure
   expects a move: the trigger fired and the incident is not declared; declared
   and no severity; the tree waits on "can we fix forward?"; no decision yet; the
   next expected runbook not opened; the open runbook's next step not started;
3. a status update is due (the cadence, 15 minutes by default).

The key names in the hints (``s``, ``f``, ``d``) are the war room's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from cockpit.decision.policy import Policy
from cockpit.runbook.model import Library
from cockpit.sim.scenario import Scenario
from cockpit.training.score import event_parts
from cockpit.training.spec import TrainingSpec, parse_training

ERROR_WINDOW = timedelta(minutes=2)
#: Event kinds that count as the trainee doing something.
_MOVES = frozenset({
    "incident.declared", "severity.set", "tree.answered", "decision.recorded",
    "runbook.opened", "step.started", "step.finished", "step.skipped", "status.update",
    "note.added", "step.refused", "action.off_book",
})


class Coach:
    """Hints for one scenario in one mode (see the module docstring)."""

    def __init__(self, scenario: Scenario, mode: str = "guided", *, stall_s: float = 90.0,
                 policy: Policy | None = None, library: Library | None = None) -> None:
        self.scenario = scenario
        self.mode = mode
        self.spec: TrainingSpec = parse_training(scenario)
        self.stall = timedelta(seconds=stall_s)
        if policy is None:
            from cockpit.decision import load_policy

            policy = load_policy()
        if library is None:
            from cockpit.paths import runbooks_dir
            from cockpit.runbook.loader import load_library

            library = load_library(runbooks_dir())
        self.policy = policy
        self.library = library

    def hint(self, events: Iterable[Any], now: datetime) -> str | None:
        """The hint to show now, or ``None`` (always ``None`` outside guided mode)."""
        if self.mode != "guided":
            return None
        parsed = [p for p in (event_parts(e) for e in events) if p[1] is not None]
        return self._error(parsed, now) or self._stall(parsed, now) or self._status(parsed, now)

    # ------------------------------------------------------------------ errors

    def _error(self, parsed: list[tuple[str, Any, Mapping[str, Any]]],
               now: datetime) -> str | None:
        for kind, t, d in reversed(parsed):
            if now - t > ERROR_WINDOW:
                break
            if kind == "step.refused":
                return (f"Refused: {d.get('reason')}. The guards are the procedure's "
                        "data-loss rules: do what they name first.")
            if kind == "action.off_book":
                return ("That command ran outside the runbooks: no guard, no confirmation, no "
                        "approval. Use the runbook step; it is recorded and protected.")
            if kind == "sim.consequence":
                return (f"Damage: {d.get('detail')}. The debrief will show it; protect the "
                        "data first next time (writes off, backup, approvals).")
        return None

    # ------------------------------------------------------------------ stalls

    def _stall(self, parsed: list[tuple[str, Any, Mapping[str, Any]]],
               now: datetime) -> str | None:
        spec = self.spec
        fired = next((t for kind, t, d in parsed if kind == "trigger.changed"
                      and d.get("trigger") == spec.trigger and d.get("state") == "fired"), None)
        if fired is None:
            return None
        last_move = max([fired, *(t for kind, t, _d in parsed if kind in _MOVES)])
        if now - last_move < self.stall:
            return None
        kinds = {kind for kind, _t, _d in parsed}
        trigger = self.policy.trigger(spec.trigger)
        if "incident.declared" not in kinds and "severity.set" not in kinds:
            rule = self.policy.severity(spec.severity)
            return (f"The {trigger.title} trigger fired ({trigger.action.label}). Declare: "
                    f"press s and set the severity; this is {spec.severity} "
                    f"({rule.criteria}), and {rule.authority} decides.")
        if "decision.recorded" not in kinds:
            allowance = spec.allowance(trigger.decide_within)
            late = now - fired > allowance
            if spec.fix_forward is not None and "tree.answered" not in kinds \
                    and spec.decision == "hot_fix":
                return ("The decision tree asks: can we fix forward? Press f. Think about "
                        "whether the cause can be relieved without a rollback.")
            when = "the matrix's time is up" if late else (
                f"the matrix gives {int(allowance.total_seconds() // 60)} min from the trigger")
            return f"Record the decision with d: {when}. The Decision panel shows the path."
        opened = {str(d.get("runbook")) for kind, _t, d in parsed if kind == "runbook.opened"}
        done = {(str(d.get("runbook")), str(d.get("step"))) for kind, _t, d in parsed
                if kind == "step.skipped"
                or (kind == "step.finished" and d.get("outcome") == "done")}
        for item in spec.plan:
            if item.runbook not in self.library:
                continue
            runbook = self.library.get(item.runbook)
            if item.runbook not in opened:
                why = item.why or runbook.summary
                return f"Open the {runbook.title} runbook ({item.runbook}): {why}"
            for step in runbook.steps:
                if (item.runbook, step.id) not in done:
                    why = " ".join(step.why.split())
                    return f"Next: {item.runbook} / {step.title}. Why: {why}"
                if step.id == item.through:
                    break
        return None

    def _status(self, parsed: list[tuple[str, Any, Mapping[str, Any]]],
                now: datetime) -> str | None:
        declared = next((t for kind, t, _d in parsed if kind == "incident.declared"), None)
        if declared is None:
            return None
        last = max([declared, *(t for kind, t, _d in parsed if kind == "status.update")])
        if now - last >= self.spec.status_every:
            minutes = int(self.spec.status_every.total_seconds() // 60)
            return f"A status update is due (every {minutes} min): stakeholders are waiting."
        return None
