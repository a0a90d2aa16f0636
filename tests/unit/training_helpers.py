"""Shared helpers for the training tests (a plain module: no new conftest)."""

from __future__ import annotations

from pathlib import Path

from cockpit.sim.scenario import find_scenario
from cockpit.training.autopilot import Autopilot
from cockpit.training.score import Score
from cockpit.training.session import TrainingSession

SCENARIO_IDS = (
    "bad-deploy", "latency-degradation", "failing-health-checks", "db-migration-failure",
    "db-connection-exhaustion", "database-corruption", "security-breach",
    "integration-failure", "full-rollback",
)


def session(scenario_id: str, tmp_path: Path, seed: int | None = None) -> TrainingSession:
    return TrainingSession(find_scenario(scenario_id), seed=seed, state_dir=tmp_path)


def autopilot(scenario_id: str, tmp_path: Path, seed: int | None = None
              ) -> tuple[TrainingSession, Score]:
    s = session(scenario_id, tmp_path, seed)
    lines: list[str] = []
    score = Autopilot(s, lines.append).play()
    return s, score


def until_fired(s: TrainingSession) -> None:
    """Advance until the scenario's trigger has fired."""
    trigger = s.spec.trigger

    def fired() -> bool:
        state = s.engine.state(s.clock.now())
        return any(t.id == trigger and t.fired_at is not None for t in state.triggers)

    assert s.run_until(fired, 3600), f"{trigger} never fired"


def declare_and_decide(s: TrainingSession, decision: str | None = None) -> None:
    s.declare(s.spec.severity)
    s.decide(decision or s.spec.decision)
    s.status_update()
