"""The armed automatic rollback in the core: arming, the hold on the incident clock, cancel,
confirm, timeout, read-only, the authority rule, and the record it is rebuilt from."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.clock import SimClock
from cockpit.config import ConfigError, load_config
from cockpit.incident import IncidentSession, inspect_incident
from cockpit.runtime.build import default_policy, follower_runtime, resume_clock, training_runtime
from cockpit.runtime.runtime import IncidentRuntime, RollbackRefused
from cockpit.sim.scenario import find_scenario
from cockpit.timeline.playback import Playback
from cockpit.timeline.replay import replay
from cockpit.training.session import TrainingSession

CTO = "CTO or VP Engineering"
UNDO = "kubectl rollout undo deployment/api -n production --to-revision=7"


def bad_deploy(tmp_path: Path) -> TrainingSession:
    s = TrainingSession(find_scenario("bad-deploy"), mode="exam", state_dir=tmp_path)
    s.runtime.open_desk()
    return s


def until_hold(s: TrainingSession) -> None:
    assert s.run_until(lambda: s.runtime.armed_rollback.hold is not None, 900), "no hold"


def kinds(s: TrainingSession, prefix: str = "rollback.") -> list[str]:
    return [e.kind for e in s.incident.journal.events if e.kind.startswith(prefix)]


def data(s: TrainingSession, kind: str) -> dict:  # type: ignore[type-arg]
    return next(dict(e.data) for e in reversed(s.incident.journal.events) if e.kind == kind)


def test_disarmed_by_default_a_fired_trigger_starts_no_hold(tmp_path: Path) -> None:
    s = bad_deploy(tmp_path)
    s.advance(600)
    assert any(t.id == "error_rate" for t in s.runtime.decision().fired)
    assert s.runtime.header().rollback == "" and kinds(s) == []
    assert s.estate.actions == []
    s.abandon()


def test_an_armed_trigger_that_fires_holds_naming_the_exact_rollback(tmp_path: Path) -> None:
    s = bad_deploy(tmp_path)
    s.runtime.arm(["error_rate"], by="Dana", authority=CTO)
    assert s.runtime.header().rollback == "ARMED"
    until_hold(s)
    hold = s.runtime.armed_rollback.hold
    assert hold is not None and hold.automatic
    assert hold.command == UNDO
    assert hold.why == "error_rate fired 7m after api went to r8"
    assert s.runtime.header().rollback == "ROLLBACK in 60s"
    s.advance(15)
    assert s.runtime.header().rollback == "ROLLBACK in 45s"
    s.abandon()


def test_cancel_is_recorded_with_who_and_nothing_runs(tmp_path: Path) -> None:
    s = bad_deploy(tmp_path)
    s.runtime.arm(["error_rate"], by="Dana", authority=CTO)
    until_hold(s)
    s.runtime.cancel_hold(by="Sam")
    s.advance(300)
    assert s.estate.actions == []
    assert kinds(s) == ["rollback.armed", "rollback.hold_started", "rollback.hold_cancelled"]
    assert data(s, "rollback.hold_cancelled")["by"] == "Sam"
    assert s.runtime.armed_rollback.holds[-1].outcome == "cancelled"
    assert s.runtime.header().rollback == "ARMED"  # still armed; this firing had its hold
    s.abandon()


def test_confirm_runs_it_through_the_desk_the_armer_the_approver(tmp_path: Path) -> None:
    s = bad_deploy(tmp_path)
    s.runtime.arm(["error_rate"], by="Dana", authority=CTO)
    until_hold(s)
    assert s.runtime.confirm_hold(by="Sam") is None
    assert s.runtime.desk is not None
    s.runtime.desk.wait_idle()
    confirmed = data(s, "rollback.hold_confirmed")
    assert (confirmed["by"], confirmed["how"]) == ("Sam", "confirmed")
    started = data(s, "step.started")
    assert (started["runbook"], started["step"], started["preview"]) == (
        "automatic-rollback", "undo", UNDO)
    assert started["approver"] == "Dana (armed the automatic rollback)"
    assert started["confirmed_target"] == "api"
    assert data(s, "step.finished")["outcome"] == "done"
    assert "rollout undo deployment/api" in s.estate.actions[-1][1]
    assert s.runtime.header().rollback == "ARMED"
    s.abandon()


def test_the_hold_ends_on_the_incident_clock_and_the_rollback_runs(tmp_path: Path) -> None:
    s = bad_deploy(tmp_path)
    s.runtime.arm(["error_rate"], by="Dana", authority=CTO)
    until_hold(s)
    s.advance(50)
    assert s.estate.actions == [] and s.runtime.armed_rollback.hold is not None
    s.advance(10)
    assert s.runtime.desk is not None
    s.runtime.desk.wait_idle()
    assert data(s, "rollback.hold_confirmed")["how"] == "timeout"
    assert data(s, "rollback.hold_confirmed")["by"] == "Dana"
    assert data(s, "step.finished")["outcome"] == "done"
    assert len(s.estate.actions) == 1
    s.abandon()


def test_an_authority_the_armer_lacks_never_runs_by_itself(tmp_path: Path) -> None:
    s = bad_deploy(tmp_path)
    s.runtime.arm(["error_rate"], by="Dana", authority="Tech Lead")
    until_hold(s)
    hold = s.runtime.armed_rollback.hold
    assert hold is not None and not hold.automatic
    assert "needs CTO or VP Engineering's approval" in hold.blocked
    assert s.runtime.header().rollback.startswith("ROLLBACK? in ")
    s.advance(120)
    assert s.estate.actions == []
    assert s.runtime.armed_rollback.holds[-1].outcome == "lapsed"
    assert "nothing ran" in data(s, "rollback.hold_lapsed")["reason"]
    s.abandon()


def test_confirming_a_hold_that_cannot_run_hands_the_confirmation_over(tmp_path: Path) -> None:
    from cockpit.runbook.desk import ConfirmDestructive

    s = bad_deploy(tmp_path)
    s.runtime.arm(["error_rate"], by="Dana")
    until_hold(s)
    ask = s.runtime.confirm_hold(by="Sam")
    assert isinstance(ask, ConfirmDestructive)
    assert (ask.runbook, ask.step, ask.preview, ask.authority) == (
        "automatic-rollback", "undo", UNDO, CTO)
    assert s.estate.actions == [] and "step.started" not in kinds(s, "step.")
    s.abandon()


def test_no_suspect_the_hold_says_so_and_does_nothing(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    s = bad_deploy(tmp_path)
    monkeypatch.setattr(s.runtime, "revision_changes", lambda: ())
    s.runtime.arm(["error_rate"], by="Dana", authority=CTO)
    until_hold(s)
    hold = s.runtime.armed_rollback.hold
    assert hold is not None and not hold.automatic and hold.command == "(none)"
    assert "no deployment's revision changed" in hold.why
    s.advance(120)
    assert s.estate.actions == [] and s.runtime.armed_rollback.holds[-1].outcome == "lapsed"
    s.abandon()


def test_read_only_and_a_follower_never_arm(tmp_path: Path) -> None:
    from cockpit.runtime.build import start_session

    clock = SimClock(find_scenario("bad-deploy").start, 1)
    session, _ = start_session(clock, scenario=None, environment="production", mode="live",
                               title="t", read_only=True, state_dir=tmp_path)
    runtime = IncidentRuntime(clock=clock, policy=default_policy(), session=session,
                              read_only=True, arm_triggers=("error_rate",))
    assert not runtime.armed_rollback.armed  # [rollback] armed is not applied either
    with pytest.raises(RollbackRefused, match="Read-only session"):
        runtime.arm(["error_rate"], by="Dana")
    assert runtime.header().rollback == ""
    assert session is not None
    session.close()

    s = bad_deploy(tmp_path / "followed")
    s.runtime.arm(["error_rate"], by="Dana", authority=CTO)
    follow_clock = SimClock(s.scenario.start, 1)
    follower = follower_runtime(Playback(lambda: s.incident.journal.events), clock=follow_clock,
                                environment="production", label="FOLLOW",
                                incident_id=s.incident_id)
    with pytest.raises(RollbackRefused, match="Following a record"):
        follower.disarm("Sam")
    until_hold(s)
    follow_clock.advance(s.elapsed_s)
    follower.tick()
    # a second cockpit following the journal shows the same hold, and never runs it
    assert follower.header(s.clock.now()).rollback == s.runtime.header().rollback
    assert follower.armed_rollback.hold == s.runtime.armed_rollback.hold
    s.abandon()


def test_arming_only_what_the_procedures_roll_back_on() -> None:
    s = TrainingSession(find_scenario("bad-deploy"), mode="exam")
    with pytest.raises(RollbackRefused, match="latency_p95.*manual decision"):
        s.runtime.arm(["latency_p95"])
    with pytest.raises(RollbackRefused, match="unknown trigger 'typo'"):
        s.runtime.arm(["typo"])
    assert [t for t, _ in s.runtime.armable_triggers()][:2] == ["error_rate", "health_checks"]
    s.abandon()


def test_the_armed_state_is_rebuilt_from_the_journal_and_survives_a_resume(
        tmp_path: Path) -> None:
    s = bad_deploy(tmp_path)
    s.runtime.arm(["error_rate", "health_checks"], by="Dana", authority=CTO)
    until_hold(s)
    before = s.runtime.armed_rollback
    rebuilt = replay(s.incident.journal.events, s.incident_id).armed_rollback
    assert rebuilt == before and rebuilt.triggers == ("error_rate", "health_checks")
    s.abandon()
    info = inspect_incident(s.incident_id, tmp_path)
    session = IncidentSession.resume(s.incident_id, clock=resume_clock(info), state_dir=tmp_path)
    assert isinstance(session.clock, SimClock)
    again = training_runtime(find_scenario("bad-deploy"), clock=session.clock, session=session)
    hold = again.armed_rollback.hold
    assert hold is not None and hold.command == UNDO
    assert again.header().rollback.startswith("ROLLBACK in ")
    again.disarm("Sam")  # disarming cancels the hold first
    assert again.header().rollback == ""
    assert again.armed_rollback.holds[-1].outcome == "cancelled"
    again.disconnect()


def test_rollback_config_is_checked_with_its_line(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text('[rollback]\narmed = ["error_rate"]\nhold_s = 30\nauthority = "Tech Lead"\n')
    config = load_config(good, environ={})
    assert (config.rollback.armed, config.rollback.hold_s, config.rollback.authority) == (
        ("error_rate",), 30.0, "Tech Lead")
    assert load_config(None, environ={}).rollback.armed == ()  # disarmed by default
    bad = tmp_path / "bad.toml"
    bad.write_text("[rollback]\narmed = []\nhold_s = 2\n")
    with pytest.raises(ConfigError, match=r"^bad.toml:3: \[rollback\].hold_s: must be between"):
        load_config(bad, environ={})
    bad.write_text('[rollback]\narmed = ["Error Rate"]\n')
    with pytest.raises(ConfigError, match=r"^bad.toml:2: \[rollback\].armed: \"Error Rate\""):
        load_config(bad, environ={})


def test_arming_after_the_trigger_fired_starts_its_hold_at_once(tmp_path: Path) -> None:
    s = bad_deploy(tmp_path)
    s.advance(420)
    assert any(t.id == "error_rate" for t in s.runtime.decision().fired)
    assert s.runtime.armed_rollback.hold is None
    s.runtime.arm(["error_rate"], by="Dana", authority=CTO)
    hold = s.runtime.armed_rollback.hold
    assert hold is not None and hold.command == UNDO
    assert s.runtime.header().rollback == "ROLLBACK in 60s"
    s.abandon()


def test_an_undated_change_is_named_before_the_cockpit_started(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cockpit.decision.suspect import RevisionChange

    s = bad_deploy(tmp_path)
    undated = RevisionChange("api", "production", 8, "2.0.0", None, "unknown", 7)
    monkeypatch.setattr(s.runtime, "revision_changes", lambda: (undated,))
    s.runtime.arm(["error_rate"], by="Dana", authority=CTO)
    until_hold(s)
    hold = s.runtime.armed_rollback.hold
    assert hold is not None and not hold.automatic
    assert hold.why.endswith("; api went to r8 before the cockpit started (2.0.0)")
    s.abandon()
