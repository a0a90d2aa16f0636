"""A training incident without a UI: estate, clock, decision engine, runbooks and journal.

:class:`TrainingSession` is what the autopilot, the headless CLI, scripted tests
and the benchmark drive. It owns one simulated estate on a :class:`SimClock`,
the real :class:`~cockpit.decision.DecisionEngine`, the real runbook engine
(:class:`~cockpit.runbook.engine.RunbookRun` over a
:class:`~cockpit.sim.executor.SimExecutor`) and a real incident journal
(``mode=training``), so ``cockpit export`` and ``cockpit timeline verify`` work on
what it leaves behind.

Time only moves when the session is told to (:meth:`TrainingSession.advance`) or
while a runbook step waits (the executor's ``sleep`` advances the clock). Every
10 simulated seconds the engine observes the estate's sample, scenario events
fire their triggers, the engine's history is journaled and so are any
consequences of wrong actions. With ``speed`` the session also sleeps in real
time (``speed`` simulated seconds per real second); without it, it runs as fast
as the machine allows.

Beyond the journal kinds the cockpit already knows, a training incident records:

=====================  ==========================================================
``training.started``   mode, seed, speed
``incident.declared``  severity, by
``step.refused``       runbook, step, reason (a guard or confirmation refused it)
``action.off_book``    argv, by (a command run outside any runbook: no guards)
``sim.event``          kind, detail (a scenario event the engine observed)
``sim.consequence``    kind, amount, detail (data or messages lost)
``training.move``      move, why (the autopilot's narration)
``training.outcome``   restored, data_lost_rows, messages_lost, active_faults
``score.recorded``     the score's breakdown (see :mod:`cockpit.training.score`)
=====================  ==========================================================
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from cockpit.actions.executor import ActionResult, RunContext
from cockpit.actions.types import resolve
from cockpit.clock import SimClock
from cockpit.decision import DecisionEngine, load_policy
from cockpit.decision.engine import iso
from cockpit.decision.policy import Policy
from cockpit.incident import IncidentSession
from cockpit.paths import runbooks_dir
from cockpit.runbook.engine import (
    Confirmation,
    IncidentFacts,
    RunbookRun,
    StepRefused,
    StepStatus,
)
from cockpit.runbook.loader import load_library
from cockpit.runbook.model import ActionSpec, Library
from cockpit.sim.estate import SAMPLE_EVERY_S, SimEstate
from cockpit.sim.executor import SimExecutor
from cockpit.sim.scenario import Scenario
from cockpit.training.spec import TrainingSpec, parse_training

MODES: tuple[str, ...] = ("demo", "guided", "exam")
#: Simulated seconds between two journaled chart samples of a metric.
CHART_EVERY_S = 60
#: How many seconds one executor poll moves the simulated clock.
POLL_S = 10.0


class TrainingSession:
    """One training incident, driven step by step (see the module docstring)."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        mode: str = "demo",
        seed: int | None = None,
        speed: float | None = None,
        state_dir: Path | None = None,
        actor: str = "trainee",
        policy: Policy | None = None,
        library: Library | None = None,
        real_sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"training mode must be one of {', '.join(MODES)}, got {mode!r}")
        self.scenario = scenario
        self.spec: TrainingSpec = parse_training(scenario)
        self.mode = mode
        self.actor = actor
        self.speed = speed
        self._real_sleep = real_sleep
        self.clock = SimClock(scenario.start, speed or scenario.speed)
        self.estate = SimEstate(scenario, seed=seed, clock=self.clock)
        self.policy = policy or load_policy()
        self.library = library or load_library(runbooks_dir())
        self.engine = DecisionEngine(self.policy, started_at=self.clock.now())
        self.facts = IncidentFacts()
        self.executor = SimExecutor(self.estate, sleep=self._poll_sleep, poll_s=POLL_S)
        self.runs: dict[str, RunbookRun] = {}
        self.tick_hooks: list[Callable[[], None]] = []
        """Called after every simulated 10 s (the autopilot sends status updates from one)."""
        self._events_seen = 0
        self._consequences_seen = 0
        self._last_chart: float | None = None
        self.incident = IncidentSession.start(
            scenario=scenario.id, environment=scenario.environment, mode="training",
            title=f"Training: {scenario.title}", clock=self.clock, state_dir=state_dir,
            status_update_minutes=self.spec.status_every.total_seconds() / 60,
        )
        self.record("training.started", {"mode": mode, "seed": self.estate.seed,
                                         "speed": speed, "scenario": scenario.id})
        self._observe()

    # ------------------------------------------------------------------ time

    @property
    def incident_id(self) -> str:
        """The journal's incident id."""
        return self.incident.incident_id

    @property
    def elapsed_s(self) -> float:
        """Simulated seconds since the scenario's T=0."""
        return (self.clock.now() - self.scenario.start).total_seconds()

    def _monotonic(self) -> float:
        return self.elapsed_s

    def advance(self, seconds: float) -> None:
        """Move simulated time forward, observing the estate every 10 simulated seconds."""
        left = seconds
        while left > 1e-9:
            step = min(SAMPLE_EVERY_S, left)
            if self.speed:
                self._real_sleep(step / self.speed)
            self.clock.advance(step)
            left -= step
            self._observe()
            for hook in list(self.tick_hooks):
                hook()

    def _poll_sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def run_until(self, done: Callable[[], bool], limit_s: float, step_s: float = 10) -> bool:
        """Advance until ``done()`` or ``limit_s`` simulated seconds; returns ``done()``."""
        waited = 0.0
        while not done():
            if waited >= limit_s:
                return False
            self.advance(step_s)
            waited += step_s
        return True

    def _observe(self) -> None:
        now = self.clock.now()
        values = self.estate.sample_values()
        for metric, value in values.items():
            self.engine.observe(metric, now, value)
        events = self.estate.events_until(now)
        for event in events[self._events_seen:]:
            at = self.scenario.start + timedelta(seconds=event.at)
            self.engine.observe_event(event.kind, at)
            self.record("sim.event", {"kind": event.kind, "detail": event.detail})
        self._events_seen = len(events)
        self.engine.tick(now)
        self.incident.record_engine_history(self.engine)
        rel = self.elapsed_s
        if self._last_chart is None or rel - self._last_chart >= CHART_EVERY_S:
            self._last_chart = rel
            for metric, value in values.items():
                self.incident.record_sample(metric, value)
        self._record_consequences()

    def _record_consequences(self) -> None:
        new = self.estate.consequences[self._consequences_seen:]
        self._consequences_seen += len(new)
        for item in new:
            self.record("sim.consequence", {"kind": item.kind, "amount": item.amount,
                                            "detail": item.detail})

    # ------------------------------------------------------------------ record

    def record(self, kind: str, data: Mapping[str, Any] | None = None) -> None:
        """Write one event to the journal (write-ahead: raises when it cannot)."""
        self.incident.record(kind, dict(data or {}))

    def events(self) -> list[Any]:
        """Every journal event so far."""
        return list(self.incident.journal.events)

    def narrate(self, move: str, why: str) -> None:
        """Record a move and the procedure's reason for it (``training.move``)."""
        self.record("training.move", {"move": move, "why": why})

    # ------------------------------------------------------------------ decision

    def declare(self, severity: str, by: str | None = None) -> None:
        """Declare the incident at ``severity`` (``incident.declared`` then ``severity.set``)."""
        who = by or self.actor
        self.record("incident.declared", {"severity": severity, "by": who})
        self.facts.establish("incident_declared")
        self.engine.set_severity(severity, who, self.clock.now())
        self.incident.record_engine_history(self.engine)

    def set_severity(self, severity: str, by: str | None = None) -> None:
        """Change the severity."""
        self.engine.set_severity(severity, by or self.actor, self.clock.now())
        self.incident.record_engine_history(self.engine)

    def answer_fix_forward(self, yes: bool, by: str | None = None) -> None:
        """Answer the tree's "Can fix forward?"."""
        self.engine.answer_fix_forward(yes, by or self.actor, self.clock.now())
        self.incident.record_engine_history(self.engine)

    def decide(self, decision: str, by: str | None = None, reasons: Iterable[str] = ()) -> None:
        """Record the decision (``rollback``, ``hot_fix``, ``no_action``)."""
        self.engine.record_decision(decision, by or self.actor, self.clock.now(), reasons)
        self.incident.record_engine_history(self.engine)
        if "rollback" in decision and "no" not in decision.split("_"):
            self.facts.establish("rollback_decided")

    def status_update(self, text: str | None = None) -> None:
        """Send a status update (the procedures' template when no text is given)."""
        self.incident.status_update(text or self.incident.status_update_template())

    # ------------------------------------------------------------------ runbooks

    def variables(self) -> dict[str, str]:
        """The incident's runtime variables every runbook sees."""
        state = self.engine.state(self.clock.now())
        return {
            "incident_id": self.incident_id,
            "reason": self.scenario.title,
            "operator": self.actor,
            "severity": state.severity or "unknown",
            "scenario": self.scenario.id,
            "now": iso(self.clock.now()),
            "environment": self.scenario.environment,
            "namespace": self.scenario.namespace,
        }

    def open(self, runbook_id: str, variables: Mapping[str, str] | None = None) -> RunbookRun:
        """Open ``runbook_id`` (once; later calls return the same run)."""
        run = self.runs.get(runbook_id)
        if run is None:
            runbook = self.library.get(runbook_id)
            chosen = {**self.spec.variables_for(runbook_id), **(variables or {})}
            probe = RunbookRun(runbook, self.facts, self.executor, lambda _k, _d: None,
                               self.variables(), _opened=True)
            editable = probe.editable_variables()
            fixed = {k: v for k, v in chosen.items() if k not in editable}
            run = RunbookRun(runbook, self.facts, self.executor, self.record,
                             {**self.variables(), **fixed}, monotonic=self._monotonic)
            # set as the operator would, so the journal holds them (runbook.variables):
            # a resumed incident replays the steps with the same values
            run.set_variables({k: v for k, v in chosen.items() if k in editable})
            self.runs[runbook_id] = run
        return run

    def start_step(self, runbook_id: str, step_id: str,
                   confirmation: Confirmation | None = None) -> StepStatus:
        """Start a step; a refusal is journaled (``step.refused``) and re-raised."""
        run = self.open(runbook_id)
        try:
            return run.start(step_id, confirmation)
        except StepRefused as exc:
            self.record("step.refused", {"runbook": runbook_id, "step": step_id,
                                         "reason": str(exc), "by": self.actor})
            raise

    def execute(self, runbook_id: str, step_id: str,
                confirmation: Confirmation | None = None) -> StepStatus:
        """Start then run a step to its end (simulated time passes while it waits)."""
        status = self.start_step(runbook_id, step_id, confirmation)
        if status.state.value != "running":
            return status
        result = self.runs[runbook_id].run_step(step_id)
        self._record_consequences()
        return result

    def skip(self, runbook_id: str, step_id: str, reason: str) -> StepStatus:
        """Skip a step with a reason."""
        return self.open(runbook_id).skip(step_id, reason)

    def off_book(self, argv: list[str], by: str | None = None) -> ActionResult:
        """Run a command outside any runbook (no guards, no confirmation): a mistake.

        Recorded (``action.off_book``) before it runs, like every action; what it
        damages shows up as ``sim.consequence`` events.
        """
        self.record("action.off_book", {"argv": list(argv), "by": by or self.actor})
        action = resolve(ActionSpec("shell", {"argv": list(argv)}), self.variables())
        result = self.executor.run(action, RunContext(deadline=float("inf"),
                                                      monotonic=self._monotonic))
        self._record_consequences()
        return result

    # ------------------------------------------------------------------ end

    def outcome(self) -> dict[str, Any]:
        """Where the estate stands: restored? data lost? (the truth the debrief shows)."""
        return estate_outcome(self.estate)

    def finish(self, *, close: bool = True) -> Any:
        """Record the outcome and the score (``training.outcome``, ``score.recorded``).

        Returns the :class:`~cockpit.training.score.Score`. With ``close`` the
        incident is closed (``incident.closed``) and its journal released.
        """
        from cockpit.training.score import score_events

        self.record("training.outcome", self.outcome())
        score = score_events(self.events(), self.spec, self.policy, self.library)
        self.record("score.recorded", score.to_data())
        if close:
            self.incident.close()
        return score

    def abandon(self) -> None:
        """Release the journal without closing the incident (after an error)."""
        if not self.incident.finished:
            self.incident.disconnect()


def estate_outcome(estate: SimEstate) -> dict[str, Any]:
    """Where a simulated estate stands: restored? data lost? (``training.outcome`` data).

    Shared by the headless session and the war room, so both debriefs tell the same truth.
    """
    values = estate.sample_values()
    faults = estate.active_faults()
    lost_rows = sum(c.amount for c in estate.consequences if c.kind == "data_lost")
    lost_msgs = sum(c.amount for c in estate.consequences if c.kind == "messages_lost")
    healthy = values["health_check_failing_pct"] == 0 and values["error_rate_pct"] < 5
    return {
        "restored": not faults and healthy,
        "active_faults": faults,
        "error_rate_pct": values["error_rate_pct"],
        "health_check_failing_pct": values["health_check_failing_pct"],
        "data_lost_rows": lost_rows,
        "messages_lost": lost_msgs,
    }
