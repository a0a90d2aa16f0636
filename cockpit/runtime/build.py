"""Building a runtime: a new training incident, a live one, a resumed one, a replay.

The app's factories (``cockpit.app.make_*``), the headless trainer and the tests all
build their :class:`~cockpit.runtime.runtime.IncidentRuntime` here, so a training
incident is the same object whoever drives it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from cockpit.actions.executor import Executor
from cockpit.clock import Clock, SimClock, WallClock
from cockpit.decision import default_policy_path, load_policy
from cockpit.decision.policy import Policy
from cockpit.incident import IncidentInfo, IncidentSession
from cockpit.incident_actor import Operator, operator_name
from cockpit.runtime.restore import replay_actions
from cockpit.runtime.runtime import IncidentRuntime
from cockpit.timeline.journal import JournalError
from cockpit.timeline.kinds import EventKind as K
from cockpit.timeline.playback import Playback

if TYPE_CHECKING:
    from cockpit.runbook.model import Library
    from cockpit.sim.estate import SimEstate
    from cockpit.sim.scenario import Scenario

TRAINING_MODES = ("guided", "exam", "demo")


def default_policy() -> Policy:
    """The procedures' policy (``runbooks/policy.yaml``)."""
    return load_policy(default_policy_path())


def start_session(clock: Clock, *, scenario: str | None, environment: str, mode: str,
                  title: str, incident_id: str | None = None, config: str | None = None,
                  read_only: bool = False, state_dir: Path | None = None,
                  status_update_minutes: float | None = None,
                  operator: Operator | None = None,
                  ) -> tuple[IncidentSession | None, str]:
    """Open a new incident's journal; on failure, ``None`` and the reason (the war room
    still opens, saying NOT RECORDING). ``operator`` writes its events (default: this
    process's without a config)."""
    extra = {} if status_update_minutes is None else {
        "status_update_minutes": status_update_minutes}
    try:
        return IncidentSession.start(scenario=scenario, environment=environment, mode=mode,
                                     title=title, clock=clock, incident_id=incident_id,
                                     config=config, read_only=read_only, state_dir=state_dir,
                                     actor=operator.actor() if operator else None,
                                     **extra), ""
    except (JournalError, OSError) as exc:
        return None, str(exc)


def resume_clock(info: IncidentInfo, speed: float | None = None) -> Clock:
    """The clock to resume ``info`` with: a training incident's :class:`SimClock` at its
    last event's simulated time and its recorded speed (unless ``speed``); else the wall
    clock. Raises ``KeyError`` if the scenario no longer exists."""
    if info.mode == "training" and info.scenario:
        from cockpit.sim.scenario import find_scenario

        scenario = find_scenario(info.scenario)
        clock = SimClock(scenario.start, speed or info.training_speed or scenario.speed)
        clock.advance(info.sim_offset_s(scenario.start))
        return clock
    return WallClock()


def training_runtime(
    scenario: Scenario,
    *,
    clock: SimClock,
    session: IncidentSession | None,
    journal_problem: str = "",
    mode: str | None = None,
    seed: int | None = None,
    operator: Callable[[], str] = operator_name,
    library: Library | None = None,
    policy: Policy | None = None,
    executor: Executor | None = None,
) -> IncidentRuntime:
    """A training incident on the simulated estate playing ``scenario``.

    A new incident records ``training.started`` (mode, seed, speed, scenario); a resumed
    one (its session already has it) rebuilds the estate with the recorded seed and
    applies again, at their recorded times, the steps that changed it. ``mode``:
    ``guided`` (the coach hints), ``exam``, ``demo`` (the autopilot plays) or ``None``
    (free play); a resumed walkthrough keeps its mode, a resumed demo is free play.
    """
    from cockpit.sim.estate import SimEstate

    state = session.state if session is not None else None
    recorded = state.training if state is not None else None
    resumed = recorded is not None and recorded.scenario is not None
    if resumed and recorded is not None:
        seed = recorded.seed if recorded.seed is not None else seed
        if mode is None:
            mode = recorded.mode if recorded.mode in ("guided", "exam") else None
    estate = SimEstate(scenario, seed=seed, clock=clock)
    policy = policy or default_policy()
    coach = None
    if mode == "guided":
        from cockpit.training.coach import Coach

        coach = Coach(scenario, mode, policy=policy, library=library)
    runtime = IncidentRuntime(
        clock=clock, policy=policy, session=session, journal_problem=journal_problem,
        environment=scenario.environment, estate_label=f"SIM {scenario.id}", estate=estate,
        executor=executor, operator=operator, library=library,
        training_mode=mode if mode != "demo" else "demo", coach=coach,
        scenario_id=scenario.id,
    )
    if session is not None and state is not None:
        if resumed:
            replay_actions(estate, state, runtime.runbook_library(),
                           runtime.incident_variables())
        else:
            runtime._write(session.record, K.TRAINING_STARTED,
                           {"mode": mode or "free", "seed": estate.seed,
                            "speed": clock.speed, "scenario": scenario.id})
    return runtime


def follower_runtime(playback: Playback, *, clock: Clock, environment: str, label: str,
                     incident_id: str, estate: SimEstate | None = None,
                     training_mode: str | None = None,
                     scenario_id: str | None = None) -> IncidentRuntime:
    """A runtime that follows a journal it does not write (replay, the demo's war room)."""
    return IncidentRuntime(clock=clock, policy=default_policy(), follow=playback,
                           environment=environment, estate_label=label, estate=estate,
                           incident_id=incident_id, training_mode=training_mode,
                           scenario_id=scenario_id)
