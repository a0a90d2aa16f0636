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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cockpit.actions.executor import ActionResult, RunContext
from cockpit.actions.model import ActionSpec
from cockpit.actions.types import resolve
from cockpit.clock import SimClock
from cockpit.decision import load_policy
from cockpit.decision.policy import Policy
from cockpit.incident import IncidentSession
from cockpit.paths import runbooks_dir
from cockpit.runbook.engine import Confirmation, RunbookRun, StepStatus
from cockpit.runbook.loader import load_library
from cockpit.runbook.model import Library
from cockpit.sim.estate import SimEstate, estate_outcome
from cockpit.sim.executor import SimExecutor
from cockpit.sim.scenario import Scenario
from cockpit.timeline.kinds import EventKind as K
from cockpit.training.spec import TrainingSpec, parse_training

if TYPE_CHECKING:
    from cockpit.decision.engine import DecisionEngine
    from cockpit.runbook.desk import RunbookDesk
    from cockpit.runtime.runtime import IncidentRuntime
    from cockpit.training.score import Score

MODES: tuple[str, ...] = ("demo", "guided", "exam")
#: How many seconds one executor poll moves the simulated clock.
POLL_S = 10.0


class TrainingSession:
    """One training incident, driven step by step (see the module docstring): a thin
    driver over the :class:`~cockpit.runtime.runtime.IncidentRuntime` the war room runs."""

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
        from cockpit.runtime.build import training_runtime

        if mode not in MODES:
            raise ValueError(f"training mode must be one of {', '.join(MODES)}, got {mode!r}")
        self.scenario = scenario
        self.spec: TrainingSpec = parse_training(scenario)
        self.mode = mode
        self.actor = actor
        self.speed = speed
        self._real_sleep = real_sleep
        self.clock = SimClock(scenario.start, speed or scenario.speed)
        self.policy = policy or load_policy()
        self.library = library or load_library(runbooks_dir())
        self.incident = IncidentSession.start(
            scenario=scenario.id, environment=scenario.environment, mode="training",
            title=f"Training: {scenario.title}", clock=self.clock, state_dir=state_dir,
            status_update_minutes=self.spec.status_every.total_seconds() / 60,
        )
        self.runtime: IncidentRuntime = training_runtime(
            scenario, clock=self.clock, session=self.incident, mode=mode, seed=seed,
            operator=lambda: actor, library=self.library, policy=self.policy)
        assert self.runtime.estate is not None
        self.estate: SimEstate = self.runtime.estate
        # steps that wait move simulated time (and observe the estate as they do)
        self.executor = SimExecutor(self.estate, sleep=self._poll_sleep, poll_s=POLL_S)
        self.runtime.executor = self.executor
        self.desk: RunbookDesk = self.runtime.open_desk()
        self.runtime.tick()

    # ------------------------------------------------------------------ reading

    @property
    def incident_id(self) -> str:
        """The journal's incident id."""
        return self.incident.incident_id

    @property
    def engine(self) -> DecisionEngine:
        """The decision engine (the runtime's)."""
        return self.runtime.engine

    @property
    def runs(self) -> Mapping[str, RunbookRun]:
        """The runbooks opened so far (the desk's runs)."""
        return self.desk.runs

    @property
    def tick_hooks(self) -> list[Callable[[], None]]:
        """Called after every simulated 10 s (the autopilot sends status updates from one)."""
        return self.runtime.tick_hooks

    @property
    def elapsed_s(self) -> float:
        """Simulated seconds since the scenario's T=0."""
        return (self.clock.now() - self.scenario.start).total_seconds()

    def _monotonic(self) -> float:
        return self.elapsed_s

    # ------------------------------------------------------------------ time

    def advance(self, seconds: float) -> None:
        """Move simulated time forward, observing the estate every 10 simulated seconds."""
        self.runtime.advance(seconds, real_sleep=self._real_sleep, speed=self.speed)

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

    # ------------------------------------------------------------------ record

    def record(self, kind: str, data: Mapping[str, Any] | None = None) -> None:
        """Write one event to the journal (write-ahead: raises when it cannot)."""
        self.incident.record(kind, dict(data or {}))

    def events(self) -> list[Any]:
        """Every journal event so far."""
        return list(self.incident.journal.events)

    def narrate(self, move: str, why: str) -> None:
        """Record a move and the procedure's reason for it (``training.move``)."""
        self.record(K.TRAINING_MOVE, {"move": move, "why": why})

    # ------------------------------------------------------------------ decision

    def declare(self, severity: str, by: str | None = None) -> None:
        """Declare the incident at ``severity`` (``incident.declared`` then ``severity.set``)."""
        self.runtime.set_severity(severity, by or self.actor)

    def set_severity(self, severity: str, by: str | None = None) -> None:
        """Change the severity (the first one set declares the incident)."""
        self.runtime.set_severity(severity, by or self.actor)

    def answer_fix_forward(self, yes: bool, by: str | None = None) -> None:
        """Answer the tree's "Can fix forward?"."""
        self.runtime.answer_fix_forward(yes, by or self.actor)

    def decide(self, decision: str, by: str | None = None, reasons: Iterable[str] = ()) -> None:
        """Record the decision (``rollback``, ``hot_fix``, ``no_action``)."""
        self.runtime.decide(decision, by or self.actor, tuple(reasons))

    def status_update(self, text: str | None = None) -> None:
        """Send a status update (the procedures' template when no text is given)."""
        self.runtime.status_update(text or self.runtime.status_template())

    # ------------------------------------------------------------------ runbooks

    def variables(self) -> dict[str, str]:
        """The incident's runtime variables every runbook sees."""
        return self.runtime.incident_variables()

    def open(self, runbook_id: str, variables: Mapping[str, str] | None = None) -> RunbookRun:
        """Open ``runbook_id`` (once; later calls return the same run). The scenario's
        values for its variables are set as the operator would (``runbook.variables``), so
        a resumed incident replays the steps with the same values."""
        fresh = runbook_id not in self.desk.runs
        run = self.desk.open(runbook_id)
        if fresh:
            chosen = {**self.spec.variables_for(runbook_id), **(variables or {})}
            editable = self.desk.editable_variables(runbook_id)
            wanted = {k: v for k, v in chosen.items() if k in editable}
            if wanted:
                self.desk.set_variables(runbook_id, wanted)
        return run

    def start_step(self, runbook_id: str, step_id: str,
                   confirmation: Confirmation | None = None) -> StepStatus:
        """Start a step and run it to its end; a refusal is journaled (``step.refused``)
        and re-raised as :class:`~cockpit.runbook.engine.StepRefused`."""
        self.open(runbook_id)
        status = self.desk.start(runbook_id, step_id, confirmation, background=False)
        self.runtime.record_consequences()
        return status

    def execute(self, runbook_id: str, step_id: str,
                confirmation: Confirmation | None = None) -> StepStatus:
        """Start then run a step to its end (simulated time passes while it waits)."""
        return self.start_step(runbook_id, step_id, confirmation)

    def skip(self, runbook_id: str, step_id: str, reason: str) -> StepStatus:
        """Skip a step with a reason."""
        self.open(runbook_id)
        return self.desk.skip(runbook_id, step_id, reason)

    def off_book(self, argv: list[str], by: str | None = None) -> ActionResult:
        """Run a command outside any runbook (no guards, no confirmation): a mistake.

        Recorded (``action.off_book``) before it runs, like every action; what it
        damages shows up as ``sim.consequence`` events.
        """
        self.record(K.ACTION_OFF_BOOK, {"argv": list(argv), "by": by or self.actor})
        action = resolve(ActionSpec("shell", {"argv": list(argv)}), self.variables())
        result = self.executor.run(action, RunContext(deadline=float("inf"),
                                                      monotonic=self._monotonic))
        self.runtime.record_consequences()
        return result

    # ------------------------------------------------------------------ end

    def outcome(self) -> dict[str, Any]:
        """Where the estate stands: restored? data lost? (the truth the debrief shows)."""
        return estate_outcome(self.estate)

    def finish(self, *, close: bool = True) -> Score:
        """Record the outcome and the score (``training.outcome``, ``score.recorded``).

        Returns the :class:`~cockpit.training.score.Score`. With ``close`` the
        incident is closed (``incident.closed``) and its journal released.
        """
        if close:
            score = self.runtime.close()
        else:
            score = self.runtime.score()
        assert score is not None
        return score

    def abandon(self) -> None:
        """Release the journal without closing the incident (after an error)."""
        if not self.incident.finished:
            self.incident.disconnect()
