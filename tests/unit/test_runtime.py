"""The incident runtime without a screen: resume, following a journal, refusals, failures."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.clock import SimClock
from cockpit.incident import IncidentSession, inspect_incident
from cockpit.runtime.build import follower_runtime, resume_clock, training_runtime
from cockpit.runtime.notices import Notice, RecordingFailed
from cockpit.sim.scenario import find_scenario
from cockpit.timeline.journal import JournalWriteError
from cockpit.timeline.playback import Playback
from cockpit.training.session import TrainingSession


def resumed(ident: str, state_dir: Path):  # type: ignore[no-untyped-def]
    info = inspect_incident(ident, state_dir)
    session = IncidentSession.resume(ident, clock=resume_clock(info), state_dir=state_dir)
    assert isinstance(session.clock, SimClock)
    return training_runtime(find_scenario(str(info.scenario)), clock=session.clock,
                            session=session)


def test_a_resumed_training_incident_keeps_its_seed(tmp_path: Path) -> None:
    s = TrainingSession(find_scenario("bad-deploy"), mode="exam", seed=11, state_dir=tmp_path)
    s.advance(120)
    before = s.estate.sample_values()
    s.abandon()
    again = resumed(s.incident_id, tmp_path)
    assert again.estate is not None and again.estate.seed == 11
    assert again.estate.sample_values() == before
    assert again.training_mode == "exam"  # a walkthrough resumes in its mode
    again.disconnect()


def test_a_severity_set_before_any_trigger_fired_survives_a_resume(tmp_path: Path) -> None:
    s = TrainingSession(find_scenario("bad-deploy"), mode="exam", state_dir=tmp_path)
    s.declare("medium")
    s.abandon()
    again = resumed(s.incident_id, tmp_path)
    state = again.decision()
    assert state.severity == "medium" and state.severity_set_by == "trainee"
    again.disconnect()


def test_a_follower_rebuilds_the_decision_state_from_a_journal_it_did_not_write(
        tmp_path: Path) -> None:
    s = TrainingSession(find_scenario("bad-deploy"), mode="exam", state_dir=tmp_path)
    s.advance(420)  # the error-rate trigger fired
    s.declare("high")
    s.decide("rollback")
    clock = SimClock(s.scenario.start, 1)
    follower = follower_runtime(Playback(lambda: s.incident.journal.events), clock=clock,
                                environment="production", label="FOLLOW",
                                incident_id=s.incident_id)
    clock.advance(s.elapsed_s)
    follower.tick()
    now = s.clock.now()
    assert follower.decision(now) == s.engine.state(now)
    with pytest.raises(JournalWriteError, match="replay"):
        follower.note("not mine to write")
    s.abandon()


def test_a_journal_that_fails_is_said_and_the_verb_is_refused(tmp_path: Path) -> None:
    s = TrainingSession(find_scenario("bad-deploy"), mode="exam", state_dir=tmp_path)
    said: list[Notice] = []
    s.runtime.subscribe(said.append)
    s.incident.journal.close()  # the journal goes away under the runtime
    with pytest.raises(JournalWriteError):
        s.runtime.note("checked the dashboards")
    assert any(isinstance(n, RecordingFailed) for n in said)
    assert s.runtime.header().recording == "NOT RECORDING"
