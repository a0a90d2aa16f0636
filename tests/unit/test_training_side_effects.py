"""What the trainee is not blamed for: a key pressed on a step that runs (recorded with its
reason code, not scored), and the triggers the procedure itself sets off (the coach says
"Expected: ..." and why)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from cockpit.runbook.engine import Confirmation, StepRefused, StepState
from cockpit.timeline.kinds import EventKind as K
from cockpit.timeline.replay import replay
from cockpit.training.coach import Coach
from cockpit.training.score import score_state
from tests.unit.training_helpers import autopilot, declare_and_decide, session, until_fired

RUNBOOK = "frontend-kubernetes"


def test_run_pressed_on_a_running_step_is_recorded_but_not_scored(tmp_path: Path) -> None:
    s = session("bad-deploy", tmp_path)
    held: list[Callable[[], object]] = []
    s.desk._spawn = lambda run, _name: held.append(run)  # the step stays running
    until_fired(s)
    declare_and_decide(s)
    s.open(RUNBOOK)
    assert s.desk.start(RUNBOOK, "history").state is StepState.RUNNING
    with pytest.raises(StepRefused, match="still running"):
        s.desk.start(RUNBOOK, "history")  # enter pressed again while it runs
    with pytest.raises(StepRefused, match="still running"):
        s.desk.start(RUNBOOK, "undo", Confirmation("api", "Dana"))
    held.pop()()  # the step finishes
    with pytest.raises(StepRefused, match="is done"):
        s.desk.start(RUNBOOK, "history")  # and once more on the done step
    with pytest.raises(StepRefused, match="not yet"):
        s.desk.start(RUNBOOK, "status")  # out of order: the procedure says no
    state = replay(s.events())
    refusals = [(a.step, a.code) for a in state.attempts if a.kind == K.STEP_REFUSED]
    assert refusals == [("history", "running"), ("undo", "running"), ("history", "finished"),
                        ("status", "order")]
    score = score_state(state, s.spec, s.policy, s.library)
    guards = [p for p in score.penalties if p.category == "guards"]
    assert [(p.points, "status" in p.why) for p in guards] == [(5, True)]
    assert score.category("guards").points == 10
    # the coach says the press did nothing wrong; the out-of-order one it explains
    coach = Coach(s.scenario, "guided", library=s.library, policy=s.policy)
    assert coach.hint(replay(s.events()[:-1]), s.clock.now()).startswith(  # type: ignore[union-attr]
        "Not run: step 'history' is done. Nothing was wrong with that")
    assert coach.hint(state, s.clock.now()).startswith(  # type: ignore[union-attr]
        "Refused: not yet")
    s.abandon()


def test_a_record_without_refusal_codes_scores_every_refusal(tmp_path: Path) -> None:
    s = session("bad-deploy", tmp_path)
    until_fired(s)
    s.open(RUNBOOK)
    with pytest.raises(StepRefused):
        s.desk.start(RUNBOOK, "status")
    events = s.events()
    old = [e if e.kind != K.STEP_REFUSED else type(e)(**{
        **e.__dict__, "data": {k: v for k, v in e.data.items() if k != "code"}})
        for e in events]
    score = score_state(replay(old), s.spec, s.policy, s.library)
    assert score.category("guards").points == 10
    s.abandon()


def stop_the_api(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A trainee in the migration scenario, up to the API scaled to zero."""
    s = session("db-migration-failure", tmp_path)
    until_fired(s)
    declare_and_decide(s)
    for step in ("migration-status", "connection-activity"):
        assert s.execute("database-migration", step).state is StepState.DONE
    status = s.desk.run("database-migration").state("stop-api")
    assert s.execute("database-migration", "stop-api",
                     Confirmation(status.target, "Dana Reyes")).state is StepState.DONE
    return s


def test_health_checks_failing_after_the_api_is_stopped_are_expected(tmp_path: Path) -> None:
    s = stop_the_api(tmp_path)
    coach = Coach(s.scenario, "guided", library=s.library, policy=s.policy)
    assert s.run_until(lambda: s.engine.state(s.clock.now()).fired and any(
        t.id == "health_checks" and t.fired_at is not None
        for t in s.engine.state(s.clock.now()).triggers), 120), "health checks never fired"
    hint = coach.hint(replay(s.events()), s.clock.now())
    assert hint is not None and hint.startswith(
        "Expected: Failed health checks fired after database-migration / Scale the API to zero."
    ), hint
    assert "not counted against you" in hint
    # the score does not count it: the guards and the decision are intact
    score = score_state(replay(s.events()), s.spec, s.policy, s.library)
    assert score.category("guards").points == 15
    assert not any("health" in p.why for p in score.penalties)
    s.abandon()


def test_the_same_trigger_before_the_step_or_after_its_end_is_not_expected(tmp_path: Path
                                                                          ) -> None:
    s, score = autopilot("db-migration-failure", tmp_path)
    assert score.full_marks
    state = replay(s.events())
    coach = Coach(s.scenario, "guided", library=s.library, policy=s.policy)
    [effect] = coach.spec.expected
    run = state.runbooks["database-migration"]
    stopped = run.steps["stop-api"].started_at
    ready = run.steps["api-ready"].finished_at
    assert stopped is not None and ready is not None
    assert not coach.expects(state, effect, stopped - timedelta(seconds=10))
    assert coach.expects(state, effect, stopped)
    assert coach.expects(state, effect, ready)
    assert not coach.expects(state, effect, ready + timedelta(seconds=10))


def test_the_headless_migration_run_fires_health_checks_and_the_coach_expected_it(
        tmp_path: Path) -> None:
    s, score = autopilot("db-migration-failure", tmp_path)
    assert score.full_marks  # the side effect costs nothing
    events = s.events()
    coach = Coach(s.scenario, "guided", library=s.library, policy=s.policy)
    fired = [i for i, e in enumerate(events) if e.kind == K.TRIGGER_CHANGED
             and e.data.get("trigger") == "health_checks" and e.data.get("state") == "fired"]
    assert fired, "scaling the API to zero fires the health-check trigger"
    at_fire = replay(events[:fired[0] + 1])
    hint = coach.hint(at_fire, events[fired[0]].time)
    assert hint is not None and hint.startswith("Expected: Failed health checks fired"), hint
