"""The guided-mode coach: pure hints from the incident's recorded state and the time."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from cockpit.runbook.engine import Confirmation, StepRefused
from cockpit.timeline.journal import read_events
from cockpit.timeline.replay import IncidentState, replay
from cockpit.training.coach import Coach
from cockpit.training.session import TrainingSession
from tests.unit.training_helpers import session, until_fired


def state(s: TrainingSession) -> IncidentState:
    """The incident's state as the journal's reducer folds it."""
    return replay(s.events())


def test_no_hint_before_the_trigger_or_while_the_trainee_is_quick(tmp_path: Path) -> None:
    s = session("bad-deploy", tmp_path)
    coach = Coach(s.scenario, "guided", library=s.library, policy=s.policy)
    assert coach.hint(state(s), s.clock.now()) is None
    until_fired(s)
    assert coach.hint(state(s), s.clock.now()) is None  # just fired: give them a moment
    s.abandon()


def test_stall_after_the_trigger_gets_the_declare_hint_then_the_decide_hint(tmp_path: Path
                                                                             ) -> None:
    s = session("bad-deploy", tmp_path)
    coach = Coach(s.scenario, "guided", library=s.library, policy=s.policy)
    until_fired(s)
    s.advance(100)
    hint = coach.hint(state(s), s.clock.now())
    assert hint is not None and hint.startswith("Declare: press s and set the severity")
    assert "press s" in hint and "critical" in hint
    s.declare("critical")
    s.advance(100)
    hint = coach.hint(state(s), s.clock.now())
    assert hint is not None and hint.startswith("Record the decision with d")
    s.decide("rollback")
    s.advance(100)
    hint = coach.hint(state(s), s.clock.now())
    assert hint == ("Open the Declare the incident runbook (incident-declaration): "
                    + s.spec.plan[0].why)
    s.abandon()


def test_a_refused_step_is_explained_at_once(tmp_path: Path) -> None:
    s = session("db-migration-failure", tmp_path)
    coach = Coach(s.scenario, "guided", library=s.library, policy=s.policy)
    until_fired(s)
    with pytest.raises(StepRefused):
        s.start_step("database-migration", "undo-migration", Confirmation("x", "Dana"))
    hint = coach.hint(state(s), s.clock.now())
    assert hint is not None and hint.startswith("Refused: not yet: step 'migration-status'")
    # errors are hints for two minutes, then the coach moves on
    later = s.clock.now() + timedelta(minutes=3)
    assert not (coach.hint(state(s), later) or "").startswith("Refused")
    s.abandon()


def test_damage_is_named(tmp_path: Path) -> None:
    s = session("db-migration-failure", tmp_path)
    coach = Coach(s.scenario, "guided", library=s.library, policy=s.policy)
    until_fired(s)
    s.off_book(["npx", "sequelize-cli", "db:migrate:undo"])
    hint = coach.hint(state(s), s.clock.now())
    assert hint is not None and hint.startswith("Damage: undoing")
    s.abandon()


def test_exam_and_demo_never_hint_and_hints_are_deterministic(tmp_path: Path) -> None:
    s = session("bad-deploy", tmp_path)
    until_fired(s)
    s.advance(300)
    recorded, now = state(s), s.clock.now()
    guided = Coach(s.scenario, "guided", library=s.library, policy=s.policy)
    # the live state and the journal file read back (as a resume does) give the same hint
    from_file = replay(read_events(s.incident.journal.path))
    assert guided.hint(recorded, now) == guided.hint(from_file, now) is not None
    for mode in ("exam", "demo"):
        assert Coach(s.scenario, mode, library=s.library, policy=s.policy).hint(recorded,
                                                                                now) is None
    s.abandon()


def test_stalled_runbook_names_the_next_step(tmp_path: Path) -> None:
    s = session("bad-deploy", tmp_path)
    coach = Coach(s.scenario, "guided", library=s.library, policy=s.policy)
    until_fired(s)
    s.declare("critical")
    s.decide("rollback")
    for step in ("pagerduty-incident", "war-room", "announce", "page-oncall",
                 "commander-named"):
        s.execute("incident-declaration", step)
    s.open("container-rollback")
    s.execute("container-rollback", "history")
    s.execute("container-rollback", "undo", Confirmation("api", "Dana"))
    now = s.clock.now() + timedelta(minutes=16)
    hint = coach.hint(state(s), now)
    assert hint is not None
    assert hint.startswith("Next: container-rollback / Watch the rollback progress")
    s.abandon()


def test_status_update_due_hint(tmp_path: Path) -> None:
    s = session("bad-deploy", tmp_path)
    coach = Coach(s.scenario, "guided", library=s.library, policy=s.policy)
    until_fired(s)
    s.declare("critical")
    s.decide("rollback")
    s.advance(16 * 60)
    s.execute("incident-declaration", "pagerduty-incident")  # busy: not a stall
    hint = coach.hint(state(s), s.clock.now())
    assert hint == "A status update is due (every 15 min): stakeholders are waiting."
    s.status_update()
    assert coach.hint(state(s), s.clock.now()) is None
    s.abandon()
