"""The coach for guided mode: one hint when the trainee stalls or errs.

``Coach(scenario, mode).hint(state, now)`` is pure and deterministic: it reads
only the incident's recorded state (the journal reducer's
:class:`~cockpit.timeline.replay.IncidentState`), the time, and the scenario's
training block, and returns one line or ``None``. In ``exam`` and ``demo`` mode
it never hints (the autopilot narrates demo itself).

Hints, most urgent first:

1. in the last two minutes, the latest of: an error (a step the procedure refused:
   why, and what to do first; a command run outside the runbooks; damage done, data or
   messages lost), a key press refused because it would do nothing (the step runs, is
   done...: said so, and not counted), or a trigger the procedure itself set off (the
   scenario's ``expected`` side effects: "Expected: ..." and why, instead of an
   unexplained alarm);
2. a stall: nothing done for ``stall_s`` (90 s) at a point where the procedure
   expects a move: the trigger fired and the incident is not declared; declared
   and no severity; the tree waits on "can we fix forward?"; no decision yet; the
   next expected runbook not opened; the open runbook's next step not started;
3. a status update is due (the cadence, 15 minutes by default).

The key names in the hints (``s``, ``f``, ``d``) are the war room's.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from cockpit.decision.policy import Policy
from cockpit.runbook.model import Library
from cockpit.sim.scenario import Scenario
from cockpit.timeline.kinds import EventKind as K
from cockpit.timeline.replay import IncidentState
from cockpit.training.score import fired_at, is_violation
from cockpit.training.spec import ExpectedTrigger, TrainingSpec, parse_training

ERROR_WINDOW = timedelta(minutes=2)
#: The guided walkthrough's default pace: real time, so each hint can be read and acted
#: on as it comes (``--speed`` still sets another).
GUIDED_SPEED = 1.0


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

    def hint(self, state: IncidentState, now: datetime) -> str | None:
        """The hint to show now, or ``None`` (always ``None`` outside guided mode)."""
        if self.mode != "guided":
            return None
        return self._error(state, now) or self._stall(state, now) or self._status(state, now)

    # ------------------------------------------------------------------ errors

    def _error(self, state: IncidentState, now: datetime) -> str | None:
        errors: list[tuple[datetime, str]] = []
        for attempt in state.attempts:
            if is_violation(attempt):
                errors.append((attempt.t, f"Refused: {attempt.text}. The guards are the "
                               "procedure's data-loss rules: do what they name first."))
            elif attempt.kind == K.STEP_REFUSED:
                errors.append((attempt.t, f"Not run: {attempt.text}. Nothing was wrong "
                               "with that, and it does not count against you."))
            elif attempt.kind == K.ACTION_OFF_BOOK:
                errors.append((attempt.t, "That command ran outside the runbooks: no guard, "
                               "no confirmation, no approval. Use the runbook step; it is "
                               "recorded and protected."))
        # a consequence is recorded after the action that caused it: at the same time, it wins
        errors.extend((c.t, f"Damage: {c.detail}. The debrief will show it; protect the "
                       "data first next time (writes off, backup, approvals).")
                      for c in state.consequences)
        errors.extend(self._side_effects(state))
        recent = sorted((e for e in errors if now - e[0] <= ERROR_WINDOW), key=lambda e: e[0])
        return recent[-1][1] if recent else None

    def _side_effects(self, state: IncidentState) -> list[tuple[datetime, str]]:
        """Triggers breaching or firing because of a step the procedure calls for."""
        out = []
        for effect in self.spec.expected:
            trigger = state.triggers.get(effect.trigger)
            if trigger is None or trigger.state not in ("breaching", "fired"):
                continue
            at = trigger.at or trigger.changed_at
            if self.expects(state, effect, at):
                title = self.policy.trigger(effect.trigger).title
                out.append((at, f"Expected: {title} {trigger.state} after {effect.runbook} / "
                            f"{self._step_title(effect)}. {effect.why}"))
        return out

    def expects(self, state: IncidentState, effect: ExpectedTrigger, at: datetime) -> bool:
        """Whether a change of ``effect``'s trigger at ``at`` is that side effect: its step
        had started, and the step that ends it (``until``, else the runbook's last) was
        not done yet."""
        run = state.runbooks.get(effect.runbook)
        started = run.steps.get(effect.step) if run is not None else None
        if run is None or started is None or started.started_at is None \
                or at < started.started_at:
            return False
        until = effect.until
        if until is None and effect.runbook in self.library:
            until = self.library.get(effect.runbook).steps[-1].id
        ended = run.steps.get(until) if until is not None else None
        return not (ended is not None and ended.status in ("done", "skipped")
                    and ended.finished_at is not None and ended.finished_at < at)

    def _step_title(self, effect: ExpectedTrigger) -> str:
        if effect.runbook in self.library:
            try:
                return self.library.get(effect.runbook).step(effect.step).title
            except KeyError:
                pass
        return effect.step

    # ------------------------------------------------------------------ stalls

    def _stall(self, state: IncidentState, now: datetime) -> str | None:
        spec = self.spec
        fired = fired_at(state, spec.trigger)
        if fired is None:
            return None
        if now - max([fired, *_moves(state)]) < self.stall:
            return None
        trigger = self.policy.trigger(spec.trigger)
        if state.declared_at is None and state.severity_record is None:
            rule = self.policy.severity(spec.severity)
            # what to do first: a status line at 80 columns shows only the start
            return (f"Declare: press s and set the severity. The {trigger.title} trigger "
                    f"fired ({trigger.action.label}); this is {spec.severity} "
                    f"({rule.criteria}), and {rule.authority} decides.")
        if not state.decisions:
            allowance = spec.allowance(trigger.decide_within)
            late = now - fired > allowance
            if spec.fix_forward is not None and not state.answers \
                    and spec.decision == "hot_fix":
                return ("The decision tree asks: can we fix forward? Press f. Think about "
                        "whether the cause can be relieved without a rollback.")
            when = "the matrix's time is up" if late else (
                f"the matrix gives {int(allowance.total_seconds() // 60)} min from the trigger")
            return f"Record the decision with d: {when}. The Decision panel shows the path."
        done = {tuple(s.split("/", 1)) for s in state.facts.steps_done}
        done |= {(s.runbook, s.step) for s in state.steps() if s.status == "skipped"}
        for item in spec.plan:
            if item.runbook not in self.library:
                continue
            runbook = self.library.get(item.runbook)
            if item.runbook not in state.runbooks:
                why = item.why or runbook.summary
                return f"Open the {runbook.title} runbook ({item.runbook}): {why}"
            for step in runbook.steps:
                if (item.runbook, step.id) not in done:
                    why = " ".join(step.why.split())
                    return f"Next: {item.runbook} / {step.title}. Why: {why}"
                if step.id == item.through:
                    break
        return None

    def _status(self, state: IncidentState, now: datetime) -> str | None:
        declared = state.declared_at
        if declared is None:
            return None
        last = max([declared, *(u.t for u in state.status_updates)])
        if now - last >= self.spec.status_every:
            minutes = int(self.spec.status_every.total_seconds() // 60)
            return f"A status update is due (every {minutes} min): stakeholders are waiting."
        return None


def _moves(state: IncidentState) -> list[datetime]:
    """When the trainee did something: declared, set the severity, answered, decided,
    opened a runbook, started, finished or skipped a step, wrote a status update or a
    note, or tried a step a guard refused or a command outside the runbooks."""
    times = [state.declared_at, state.severity_record.at if state.severity_record else None]
    for run in state.runbooks.values():
        times.append(run.opened_at)
        times.extend(t for step in run.steps.values() for t in (step.started_at, step.finished_at))
    for entries in (state.answers, state.decisions, state.status_updates, state.notes):
        times.extend(entry.t for entry in entries)
    times.extend(a.t for a in state.attempts if a.kind in (K.STEP_REFUSED, K.ACTION_OFF_BOOK))
    return [t for t in times if t is not None]
