"""Replay equals the live reducer; milestones; interrupted steps and resume."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from timeline_recorded import ACTOR, INCIDENT_ID, START, StepClock, record

from cockpit.timeline.journal import Journal, read_events
from cockpit.timeline.milestones import is_rollback_decision, is_rollback_step
from cockpit.timeline.redact import Redactor
from cockpit.timeline.replay import Reducer, replay, resume


def test_replay_rebuilds_the_live_state(tmp_path: Path) -> None:
    live = Reducer(INCIDENT_ID)
    states = []

    def on_event(event):
        states.append(live.apply(event))

    journal = record(tmp_path, on_event=on_event)
    replayed = replay(read_events(journal.path), INCIDENT_ID)
    assert replayed == live.state
    # and at every point along the way, not just at the end
    events = read_events(journal.path)
    for n in (1, 9, 20, 33):
        assert replay(events[:n], INCIDENT_ID) == states[n - 1]


def test_state_holds_what_the_incident_team_needs(tmp_path: Path) -> None:
    state = replay(read_events(record(tmp_path).path), INCIDENT_ID)
    assert state.scenario == "bad-deploy" and state.severity == "critical"
    assert not state.is_open and state.closed_at is not None
    assert state.triggers["error_rate"].state == "recovered"
    assert state.triggers["error_rate"].first_fired_at == START + timedelta(seconds=30)
    assert [(d.decision, d.by) for d in state.decisions] == [("rollback", "oncall")]
    assert state.answers[0].answer == "yes"
    steps = state.runbooks["k8s-rollback"].steps
    assert [s.status for s in steps.values()] == ["done", "done", "done"]
    assert state.approvals[0].approver == "d.chen"
    assert state.notifications[0].status == "failed"
    assert len(state.samples["error_rate"]) == 11
    assert state.head == read_events(record(tmp_path / "again").path)[-1].hash


def test_milestones_follow_the_documented_rules(tmp_path: Path) -> None:
    m = replay(read_events(record(tmp_path).path), INCIDENT_ID).milestones
    assert m.issue_detected == START + timedelta(seconds=30)
    assert m.incident_declared == START + timedelta(seconds=60)
    assert m.rollback_decided == START + timedelta(seconds=110)
    # "history" is read-only; "undo" is destructive and named like a rollback
    assert m.rollback_initiated == START + timedelta(seconds=148)
    assert m.rollback_completed == START + timedelta(seconds=238)
    # healthy from the two recovery events on; confirmed 5 minutes later
    assert m.services_restored == START + timedelta(seconds=276)


def test_services_restored_needs_n_continuous_minutes(tmp_path: Path) -> None:
    events = read_events(record(tmp_path).path)
    assert replay(events, restored_after=timedelta(minutes=30)).milestones.services_restored is None


def test_rollback_rules() -> None:
    assert is_rollback_decision("Rollback within 30 min")
    assert not is_rollback_decision("no rollback - hot fix")
    assert not is_rollback_decision("hotfix")
    assert is_rollback_step({"step": "helm-undo", "destructive": False})
    assert is_rollback_step({"step": "switch-lb", "destructive": True})
    assert not is_rollback_step({"runbook": "k8s-rollback", "step": "check-history",
                                 "destructive": False})


def test_unfinished_step_is_interrupted_and_resume_records_it(tmp_path: Path) -> None:
    clock = StepClock()
    with Journal.create(tmp_path, clock=clock, actor=ACTOR, redactor=Redactor()) as journal:
        journal.append("incident.opened", {"scenario": "s"})
        journal.append("step.started", {"runbook": "db", "step": "migrate-down",
                                        "preview": "alembic downgrade -1",
                                        "destructive": True})
        journal.append("custom.thing", {"x": 1})
    events = read_events(journal.path)
    assert replay(events).runbooks["db"].steps["migrate-down"].status == "running"
    settled = replay(events, settle=True).runbooks["db"].steps["migrate-down"]
    assert (settled.status, settled.preview) == ("interrupted", "alembic downgrade -1")
    assert replay(events).others[0].kind == "custom.thing"

    with Journal.open(journal.folder, clock=clock, actor=ACTOR, redactor=Redactor()) as again:
        reducer = resume(again)
    kinds = [e.kind for e in read_events(journal.path)]
    assert kinds[-2:] == ["step.interrupted", "operator.resumed"]
    assert reducer.state == replay(read_events(journal.path), journal.incident_id)
    assert reducer.state.runbooks["db"].steps["migrate-down"].status == "interrupted"


def test_an_event_trigger_is_restored_only_after_the_rollback_completes() -> None:
    from datetime import UTC, datetime

    from cockpit.timeline.milestones import MilestoneTracker

    t0 = datetime(2025, 3, 4, 11, 16, tzinfo=UTC)

    def at(minutes: float) -> datetime:
        return t0 + timedelta(minutes=minutes)

    tracker = MilestoneTracker(restored_after=timedelta(minutes=5))
    breach = {"trigger": "security_breach", "state": "fired", "metric": None}
    tracker.feed("trigger.changed", at(0), breach)
    tracker.feed("step.started", at(1), {"runbook": "sec", "step": "undo", "destructive": True})
    tracker.feed("sample", at(8), {})  # a breach never goes back to ok by itself
    assert tracker.milestones.services_restored is None
    tracker.feed("step.finished", at(9), {"runbook": "sec", "step": "undo", "outcome": "done"})
    # a second rollback step: nothing is restored while it runs
    tracker.feed("step.started", at(10), {"runbook": "sec", "step": "rotate-undo",
                                          "destructive": True})
    tracker.feed("sample", at(16), {})
    assert tracker.milestones.services_restored is None
    tracker.feed("step.finished", at(17), {"runbook": "sec", "step": "rotate-undo",
                                           "outcome": "done"})
    tracker.feed("sample", at(20), {})
    assert tracker.milestones.services_restored is None  # not yet 5 minutes
    tracker.feed("sample", at(22.5), {})
    assert tracker.milestones.services_restored == at(17)
    assert tracker.milestones.rollback_completed == at(17)
