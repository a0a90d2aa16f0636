"""The autopilot: plays a scenario's ideal response, narrating the procedure's "why".

It does what a good incident commander does, through the same engines a
trainee uses: waits for the scenario's trigger, declares the incident at the
expected severity, answers the decision tree, records the decision, sends a
status update, then opens the plan's runbooks and runs every step with the right
confirmation (the target typed, an approver named) and approvals. A check that
fails while the estate settles is retried after 30 simulated seconds, as an
engineer would re-run it (a failing check marked ``on_failure: continue`` is a
measurement: it is noted and the runbook goes on). Status updates go out
whenever the cadence says one is due. At the end it waits for the estate to
recover and records the score.
"""

from __future__ import annotations

from collections.abc import Callable

from cockpit.runbook.engine import Confirmation, StepRefused, StepState
from cockpit.training.score import Score
from cockpit.training.session import TrainingSession
from cockpit.training.spec import PlanItem

COMMANDER = "Dana Reyes (IC)"
#: Who approves for each role in the simulation.
APPROVERS: dict[str, str] = {
    "dba": "Priya Shah (DBA)",
    "security": "Sam Okafor (security lead)",
    "incident-commander": COMMANDER,
    "compliance": "Lee Morgan (Compliance Officer)",
    "cto": "Alex Kim (CTO)",
}
RETRIES = 12
RETRY_WAIT_S = 30.0
WAIT_LIMIT_S = 4 * 3600.0
RECOVERY_LIMIT_S = 1800.0


class AutopilotError(RuntimeError):
    """The ideal response could not be played (a scenario or plan bug): one line."""


class Autopilot:
    """Plays ``session``'s scenario; ``narrate`` receives one line per move."""

    def __init__(self, session: TrainingSession,
                 narrate: Callable[[str], None] | None = None) -> None:
        self.session = session
        self._narrate = narrate or (lambda _line: None)

    def _stamp(self) -> str:
        return self.session.clock.now().strftime("%H:%M:%S")

    def say(self, text: str) -> None:
        """Narrate one line, prefixed with the simulated time."""
        self._narrate(f"[{self._stamp()}] {text}")

    def move(self, move: str, why: str) -> None:
        """Narrate and journal a decision-level move with its reason."""
        self.say(f"{move} -- why: {why}")
        self.session.narrate(move, why)

    def _status_hook(self) -> None:
        s = self.session
        if s.incident.status_due(s.clock.now()):
            self.say("status update (the cadence says one is due)")
            s.status_update()

    def play(self) -> Score:
        """Play the whole scenario and return its score (the incident is closed)."""
        s, spec = self.session, self.session.spec
        trigger = s.policy.trigger(spec.trigger)
        self.say(f"scenario {s.scenario.id}: {s.scenario.summary}")
        self.say(f"watching the {trigger.title} trigger")

        def fired() -> bool:
            state = s.engine.state(s.clock.now())
            return any(t.id == spec.trigger and t.fired_at is not None for t in state.triggers)

        if not s.run_until(fired, WAIT_LIMIT_S):
            raise AutopilotError(f"{s.scenario.path}: trigger '{spec.trigger}' never fired")
        state = s.engine.state(s.clock.now())
        self.say(f"{trigger.title} FIRED: {state.recommendation.text}")
        self.move(f"declare the incident, severity {spec.severity}",
                  spec.why.get("declare") or "the matrix makes this "
                  f"{spec.severity}: {s.policy.severity(spec.severity).criteria}; "
                  f"{s.policy.severity(spec.severity).authority} decides")
        s.declare(spec.severity, by=COMMANDER)
        s.tick_hooks.append(self._status_hook)
        s.advance(20)
        state = s.engine.state(s.clock.now())
        if state.recommendation.pending == "fix_forward" and spec.fix_forward is not None:
            self.move(f"answer 'can we fix forward?': {'yes' if spec.fix_forward else 'no'}",
                      spec.why.get("fix_forward") or "the decision tree asks")
            s.answer_fix_forward(spec.fix_forward, by=COMMANDER)
        state = s.engine.state(s.clock.now())
        self.move(f"record the decision: {spec.decision.replace('_', ' ')}",
                  spec.why.get("decision") or "; ".join(state.recommendation.reasons))
        s.decide(spec.decision, by=COMMANDER, reasons=state.recommendation.reasons)
        s.status_update()
        for item in spec.plan:
            self._run_item(item)
        self.say("waiting for the estate to recover")
        if not s.run_until(lambda: bool(s.outcome()["restored"]), RECOVERY_LIMIT_S, 30):
            self.say(f"not recovered: {', '.join(s.estate.active_faults()) or 'unhealthy'}")
        self.move("final status update", "the procedures close with a status update")
        s.status_update()
        s.tick_hooks.remove(self._status_hook)
        return s.finish()

    def _run_item(self, item: PlanItem) -> None:
        s = self.session
        fresh = item.runbook not in s.runs
        run = s.open(item.runbook)
        if fresh:
            self.move(f"open runbook {item.runbook}: {run.runbook.title}",
                      item.why or run.runbook.summary)
        for step in run.runbook.steps:
            status = run.state(step.id)
            if status.state not in (StepState.DONE, StepState.SKIPPED) and not (
                    status.state is StepState.FAILED and step.on_failure == "continue"):
                if step.id in item.skip:
                    self.say(f"skip {item.runbook}/{step.id}: {item.skip[step.id]}")
                    s.skip(item.runbook, step.id, item.skip[step.id])
                else:
                    self._run_step(item.runbook, step.id)
            if step.id == item.through:
                break

    def _confirmation(self, runbook: str, step_id: str) -> Confirmation | None:
        run = self.session.runs[runbook]
        status = run.state(step_id)
        action = run.resolve(status.step)
        approver = COMMANDER
        if action.type == "approval":
            approver = APPROVERS.get(str(action.params["role"]), COMMANDER)
        if status.needs_confirmation:
            return Confirmation(status.target, approver)
        if action.type == "approval":
            return Confirmation("", approver)
        return None

    def _run_step(self, runbook: str, step_id: str) -> None:
        s = self.session
        run = s.runs[runbook]
        step = run.runbook.step(step_id)
        self.say(f"{runbook}/{step_id}: {step.title} -- why: {' '.join(step.why.split())}")
        for attempt in range(RETRIES + 1):
            try:
                status = s.execute(runbook, step_id, self._confirmation(runbook, step_id))
            except StepRefused as exc:
                raise AutopilotError(f"{runbook}/{step_id} refused: {exc}") from None
            if status.state is StepState.DONE:
                return
            if attempt == RETRIES or step.on_failure == "continue":
                break
            self.say(f"  {step_id} {status.state.value}: {status.reason}; checking again in "
                     f"{RETRY_WAIT_S:.0f}s")
            s.advance(RETRY_WAIT_S)
            run.retry(step_id)
        if step.on_failure == "continue":
            self.say(f"  {step_id} {status.state.value}: {status.reason}; noted, the runbook "
                     "continues past it")
            return
        raise AutopilotError(f"{runbook}/{step_id} failed: {run.state(step_id).reason}")
