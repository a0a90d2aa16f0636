"""The incident session: record, replay, resume, engine history, sources, status updates."""

from __future__ import annotations

import errno
import os
import sys
import types
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from cockpit.clock import SimClock
from cockpit.commands.resume import resume as resume_command
from cockpit.decision import DecisionEngine, load_policy
from cockpit.decision.engine import iso
from cockpit.incident import (
    STATUS_HEAD_PREFIX,
    IncidentClosedError,
    IncidentSession,
    JournalLockedError,
    JournalWriteError,
    NoOpenIncidentError,
    PlannedStep,
    Progress,
    inspect_incident,
)
from cockpit.runtime.build import resume_clock
from cockpit.runtime.restore import recorded_decision
from cockpit.sim.scenario import find_scenario
from cockpit.timeline import journal as journal_mod
from cockpit.timeline.journal import read_events
from cockpit.timeline.replay import replay
from cockpit.timeline.verify import verify

T0 = datetime(2025, 1, 21, 14, 0, tzinfo=UTC)


def start(tmp_path: Path, clock: SimClock | None = None, **kw: object) -> IncidentSession:
    return IncidentSession.start(
        scenario=kw.pop("scenario", "bad-deploy"), environment="production",
        mode=str(kw.pop("mode", "training")), title="API 5xx after v2.4.0",
        clock=clock or SimClock(T0), state_dir=tmp_path, **kw,  # type: ignore[arg-type]
    )


def kinds(session: IncidentSession) -> list[str]:
    return [e.kind for e in read_events(session.journal.path)]


def breach(engine: DecisionEngine, session: IncidentSession, clock: SimClock,
           seconds: int, value: float = 7.0) -> None:
    """Error rate over 5% every 10 s for ``seconds``, recorded as the app would."""
    for _ in range(seconds // 10):
        clock.advance(10)
        engine.observe("error_rate_pct", clock.now(), value)
        session.record_sample("error_rate_pct", value)
        session.record_engine_history(engine)


# -- start and record ------------------------------------------------------------------------


def test_start_records_opening_at_the_simulated_time(tmp_path: Path) -> None:
    session = start(tmp_path)
    [opened] = read_events(session.journal.path)
    assert opened.kind == "incident.opened"
    assert opened.time == T0
    assert opened.data == {"scenario": "bad-deploy", "environment": "production",
                           "mode": "training", "title": "API 5xx after v2.4.0"}
    assert session.folder == tmp_path / "incidents" / session.incident_id
    assert session.state.is_open and session.scenario == "bad-deploy"
    session.disconnect()


def test_unknown_mode_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="training, live"):
        start(tmp_path, mode="exercise")
    assert not (tmp_path / "incidents").exists() or not any((tmp_path / "incidents").iterdir())


def test_live_state_equals_a_replay_of_the_journal(tmp_path: Path) -> None:
    clock = SimClock(T0)
    session = start(tmp_path, clock)
    engine = DecisionEngine(load_policy(), started_at=T0)
    breach(engine, session, clock, 400)
    session.record("step.started", {"runbook": "backend-api", "step": "undo",
                                    "title": "Roll back API", "destructive": True})
    clock.advance(30)
    session.record("step.finished", {"runbook": "backend-api", "step": "undo",
                                     "outcome": "done", "duration_s": 30})
    session.note("v1 pods ready", "oncall")
    session.record_source("database", "stale", "timeout after 5 s")
    live = session.state
    assert live == replay(read_events(session.journal.path), session.incident_id)
    assert live.triggers["error_rate"].state == "fired"
    assert live.runbooks["backend-api"].steps["undo"].status == "done"
    assert live.last_event_at == clock.now()
    session.disconnect()


def test_write_failure_propagates_and_nothing_is_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = start(tmp_path)
    before = session.state

    def disk_full(fd: int, data: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(journal_mod.os, "write", disk_full)
    with pytest.raises(JournalWriteError, match="No space left on device"):
        session.record("step.started", {"runbook": "backend-api", "step": "undo"})
    monkeypatch.undo()
    assert session.state == before
    assert kinds(session) == ["incident.opened"]
    session.disconnect()


def test_nothing_can_be_recorded_after_the_session_ends(tmp_path: Path) -> None:
    session = start(tmp_path)
    session.disconnect()
    with pytest.raises(JournalWriteError, match="session has ended"):
        session.note("too late", "oncall")
    # the data flow keeps running until the app stops: passive recorders stay quiet
    assert session.record_sample("error_rate_pct", 3.0) is None
    assert session.record_source("metrics", "stale", "x") is None
    assert session.disconnect() is False
    assert kinds(session) == ["incident.opened", "operator.disconnected"]


# -- resume ----------------------------------------------------------------------------------


def interrupted_incident(tmp_path: Path) -> tuple[str, SimClock]:
    """An incident with severity, answers, a decision, notes, one done and one running step."""
    clock = SimClock(T0)
    session = start(tmp_path, clock)
    engine = DecisionEngine(load_policy(), started_at=T0)
    breach(engine, session, clock, 330)
    engine.set_severity("high", "oncall", clock.now())
    engine.answer_fix_forward(False, "oncall", clock.now())
    engine.record_decision("rollback", "ic.jones", clock.now(), ["error rate fired"])
    session.record_engine_history(engine)
    session.note("paged the DBA", "oncall")
    session.record("step.started", {"runbook": "backend-api", "step": "check",
                                    "title": "Check schema"})
    session.record("step.finished", {"runbook": "backend-api", "step": "check",
                                     "outcome": "done"})
    clock.advance(20)
    session.record("step.started", {"runbook": "backend-api", "step": "scale-down",
                                    "title": "Scale v2 to zero", "destructive": True,
                                    "preview": "kubectl scale deployment/api-v2 --replicas=0"})
    ident = session.incident_id
    # the SSH session drops: no disconnect, the lock dies with the process
    session.journal.close()
    return ident, clock


def test_resume_restores_the_record_and_marks_the_running_step_interrupted(
    tmp_path: Path,
) -> None:
    ident, clock = interrupted_incident(tmp_path)
    session = IncidentSession.resume(None, clock=clock, state_dir=tmp_path)
    assert session.incident_id == ident
    assert kinds(session)[-2:] == ["step.interrupted", "operator.resumed"]
    assert session.severity == "high"
    assert [(d.decision, d.by) for d in session.decisions] == [("rollback", "ic.jones")]
    assert [(a.question, a.answer) for a in session.answers] == [("Can fix forward?", "no")]
    assert [n.text for n in session.notes] == ["paged the DBA"]
    assert [(s.step, s.status) for s in session.steps] == [
        ("check", "done"), ("scale-down", "interrupted")]
    [cut] = session.interrupted
    assert cut.preview == "kubectl scale deployment/api-v2 --replicas=0"
    assert session.last_event_at == clock.now()
    assert session.state == replay(read_events(session.journal.path), ident)
    session.disconnect()


def test_the_engine_restored_from_the_record_writes_nothing(tmp_path: Path) -> None:
    ident, clock = interrupted_incident(tmp_path)
    [fired_event] = [e for e in read_events(tmp_path / "incidents" / ident / "journal.jsonl")
                     if e.kind == "trigger.changed" and e.data["state"] == "fired"]
    session = IncidentSession.resume(ident, clock=clock, state_dir=tmp_path)
    written = len(kinds(session))
    engine = DecisionEngine(load_policy(), started_at=session.state.opened_at)
    engine.restore(recorded_decision(session.state))
    state = engine.state(clock.now())
    assert state.severity == "high" and state.severity_set_by == "oncall"
    assert state.fix_forward is not None and state.fix_forward.value is False
    assert state.decision is not None and state.decision.decision == "rollback"
    # the trigger fired at the same simulated time as before the drop
    [fired] = state.fired
    assert fired.fired_at is not None and fired.decide_by is not None
    assert iso(fired.fired_at) == fired_event.data["fired_at"]
    assert iso(fired.decide_by) == fired_event.data["decide_by"]
    assert len(kinds(session)) == written
    # what the restore put into the engine's history is not journaled a second time
    assert session.record_engine_history(engine) == []
    assert len(kinds(session)) == written
    session.disconnect()


def test_second_cockpit_is_told_who_holds_the_incident(tmp_path: Path) -> None:
    session = start(tmp_path)
    with pytest.raises(JournalLockedError, match=f"pid {os.getpid()}") as caught:
        IncidentSession.resume(session.incident_id, clock=SimClock(T0), state_dir=tmp_path)
    assert f"incident {session.incident_id} is open in another cockpit" in str(caught.value)
    assert kinds(session) == ["incident.opened"]
    session.disconnect()
    again = IncidentSession.resume(session.incident_id, clock=SimClock(T0), state_dir=tmp_path)
    assert kinds(again)[-1] == "operator.resumed"
    again.disconnect()


def test_closed_incident_is_not_resumed(tmp_path: Path) -> None:
    session = start(tmp_path)
    session.close()
    with pytest.raises(IncidentClosedError, match="cockpit export"):
        IncidentSession.resume(session.incident_id, clock=SimClock(T0), state_dir=tmp_path)
    with pytest.raises(NoOpenIncidentError):
        IncidentSession.resume(None, clock=SimClock(T0), state_dir=tmp_path)
    assert kinds(session) == ["incident.opened", "incident.closed"]
    assert verify(session.journal.path).ok


def test_resume_clock_fast_forwards_the_scenario_to_the_last_event(tmp_path: Path) -> None:
    scenario = find_scenario("bad-deploy")
    clock = SimClock(scenario.start)
    session = start(tmp_path, clock)
    clock.advance(420)
    session.note("still degraded", "oncall")
    session.disconnect()
    info = inspect_incident(session.incident_id, tmp_path)
    assert info.sim_offset_s(scenario.start) == 420
    again = resume_clock(info)
    assert isinstance(again, SimClock)
    assert again.start == scenario.start and again.now() == scenario.start + timedelta(minutes=7)
    assert again.speed == scenario.speed


# -- engine history and sources --------------------------------------------------------------


def test_engine_history_is_journaled_once(tmp_path: Path) -> None:
    clock = SimClock(T0)
    session = start(tmp_path, clock)
    engine = DecisionEngine(load_policy(), started_at=T0)
    breach(engine, session, clock, 330)
    session.record_engine_history(engine)
    session.record_engine_history(engine)
    engine_kinds = [item.kind for item in engine.history]
    journaled = [k for k in kinds(session) if k not in ("incident.opened", "sample")]
    assert journaled == engine_kinds
    assert "trigger.changed" in journaled
    fired = [e for e in read_events(session.journal.path)
             if e.kind == "trigger.changed" and e.data["state"] == "fired"]
    assert fired[0].data["decide_by"] is not None and fired[0].data["at"].endswith("Z")
    session.disconnect()


def test_engine_history_after_a_write_failure_is_retried_not_duplicated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = SimClock(T0)
    session = start(tmp_path, clock)
    engine = DecisionEngine(load_policy(), started_at=T0)
    engine.set_severity("high", "oncall", clock.now())
    engine.record_decision("rollback", "ic", clock.now())

    def disk_full(fd: int, data: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(journal_mod.os, "write", disk_full)
    with pytest.raises(JournalWriteError):
        session.record_engine_history(engine)
    monkeypatch.undo()
    session.record_engine_history(engine)
    assert kinds(session).count("decision.recorded") == 1
    assert kinds(session).count("severity.set") == 1
    session.disconnect()


def test_sources_are_recorded_on_transitions_only(tmp_path: Path) -> None:
    session = start(tmp_path)
    polls = [("ok", ""), ("stale", "timeout after 5 s"), ("stale", "timeout after 5 s"),
             ("stale", "401 Unauthorized"), ("ok", ""), ("ok", ""), ("not_configured", "")]
    for state, reason in polls:
        session.record_source("metrics", state, reason)
    stale = [e for e in read_events(session.journal.path) if e.kind.startswith("source.")]
    assert [(e.kind, e.data.get("reason")) for e in stale] == [
        ("source.stale", "timeout after 5 s"), ("source.recovered", None)]
    assert dict(session.state.stale_sources) == {}
    session.disconnect()


# -- status updates --------------------------------------------------------------------------


def test_status_template_is_filled_from_the_record(tmp_path: Path) -> None:
    clock = SimClock(T0)
    session = start(tmp_path, clock)
    session.record("step.started", {"runbook": "backend-api", "step": "check",
                                    "title": "Check schema compatibility"})
    session.record("step.finished", {"runbook": "backend-api", "step": "check",
                                     "outcome": "done"})
    session.record("step.started", {"runbook": "backend-api", "step": "start-v1",
                                    "title": "Start api-v1"})
    session.record_source("database", "stale", "connection refused")
    clock.advance(600)
    plan = Progress(steps=(
        PlannedStep("backend-api", "check", "Check schema compatibility", "done"),
        PlannedStep("backend-api", "start-v1", "Start api-v1", "running"),
        PlannedStep("backend-api", "health", "Verify v1 health", "pending"),
        PlannedStep("backend-api", "scale-v2", "Scale v2 to zero", "blocked"),
    ), eta="14:30 UTC", contact="oncall")
    text = session.status_update_template(plan)
    assert text.startswith("ROLLBACK STATUS UPDATE - 2025-01-21 14:10 UTC\n")
    for line in ("Current Status: In Progress", "Phase: Application", "Progress: 25%",
                 "✓ Check schema compatibility (backend-api)",
                 "▶ Start api-v1 (backend-api)",
                 "- Verify v1 health (backend-api)", "- Scale v2 to zero (backend-api)",
                 "- Data source stale: database (connection refused)",
                 "ETA: 14:30 UTC", "Questions: Contact oncall on the incident channel",
                 f"{STATUS_HEAD_PREFIX}{session.state.head_short}"):
        assert line in text.splitlines(), line
    session.disconnect()


def test_status_template_reports_failure_and_completion(tmp_path: Path) -> None:
    session = start(tmp_path)
    session.record("step.started", {"runbook": "database-rollback", "step": "restore"})
    session.record("step.finished", {"runbook": "database-rollback", "step": "restore",
                                     "outcome": "failed"})
    text = session.status_update_template()
    assert "Current Status: Failed" in text and "Phase: Database" in text
    assert "- Step failed: restore (database-rollback)" in text
    session.disconnect()
    done = Progress(steps=(PlannedStep("frontend", "undo", "Undo", "done"),))
    fresh = start(tmp_path / "2")
    text = fresh.status_update_template(done)
    assert "Current Status: Completed" in text and "Progress: 100%" in text
    fresh.disconnect()


def test_status_update_carries_the_current_journal_head(tmp_path: Path) -> None:
    session = start(tmp_path)
    template = session.status_update_template()
    stale_head = session.state.head_short
    session.note("something happened since the template was drafted", "oncall")
    head = session.state.head_short
    event = session.status_update(template, "slack")
    assert event.data["head"] == head != stale_head
    lines = str(event.data["text"]).splitlines()
    assert lines[-1] == f"{STATUS_HEAD_PREFIX}{head}"
    assert not any(stale_head in line for line in lines)
    plain = session.status_update("Rollback of api done, watching metrics", "journal")
    assert str(plain.data["text"]).endswith(f"{STATUS_HEAD_PREFIX}{plain.prev[:12]}")
    assert session.state.status_updates[-1].channel == "journal"
    session.disconnect()


def test_status_is_due_every_15_minutes_since_the_last_one(tmp_path: Path) -> None:
    clock = SimClock(T0)
    session = start(tmp_path, clock)
    assert not session.status_due(T0 + timedelta(minutes=14, seconds=59))
    assert session.status_due(T0 + timedelta(minutes=15))
    clock.advance(16 * 60)
    session.status_update("first update", "journal")
    assert not session.status_due(clock.now() + timedelta(minutes=10))
    assert session.status_due(clock.now() + timedelta(minutes=15))
    session.status_update_minutes = 5
    assert session.status_due(clock.now() + timedelta(minutes=5))
    session.close()
    assert not session.status_due(clock.now() + timedelta(hours=1))


def test_export_to_writes_an_owner_only_file_with_the_head(tmp_path: Path) -> None:
    session = start(tmp_path)
    session.note("canary SSN 078-05-1120", "oncall")
    result = session.export_to("md")
    assert result.path == session.folder / f"{session.incident_id}.md"
    assert oct(result.path.stat().st_mode & 0o777) == "0o600"
    text = result.path.read_text(encoding="utf-8")
    assert result.head_short in text and "078-05-1120" not in text
    assert result.head == session.journal.head and result.events == 2
    session.disconnect()


# -- cockpit resume --------------------------------------------------------------------------


def test_resume_command_unknown_id_exits_2() -> None:
    result = CliRunner().invoke(resume_command, ["INC-20250121-140000-abcd"])
    assert result.exit_code == 2
    assert result.output.strip().startswith("error: unknown incident: INC-20250121-140000-abcd")
    assert len(result.output.strip().splitlines()) == 1


def test_resume_command_without_open_incident_exits_2() -> None:
    result = CliRunner().invoke(resume_command, [])
    assert result.exit_code == 2
    assert "error: no open incident in" in result.output


def test_resume_command_refuses_a_closed_or_locked_incident(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state = Path(os.environ["COCKPIT_STATE_DIR"])
    closed = start(state)
    closed.close()
    result = CliRunner().invoke(resume_command, [closed.incident_id])
    assert result.exit_code == 2 and "was closed" in result.output
    held = start(state)
    fake = types.ModuleType("cockpit.app")
    fake.open_incident_app = lambda session: pytest.fail("must not open")  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "cockpit.app", fake)
    result = CliRunner().invoke(resume_command, [held.incident_id])
    assert result.exit_code == 2 and "is open in another cockpit" in result.output
    held.disconnect()


def test_resume_command_opens_the_latest_open_incident(monkeypatch: pytest.MonkeyPatch) -> None:
    state = Path(os.environ["COCKPIT_STATE_DIR"])
    ident, _clock = interrupted_incident(state)
    opened: list[IncidentSession] = []

    class FakeApp:
        return_code = 0

        def run(self) -> None:
            assert opened[0].state.operator_connected

    def open_incident_app(session: IncidentSession) -> FakeApp:
        opened.append(session)
        return FakeApp()

    fake = types.ModuleType("cockpit.app")
    fake.open_incident_app = open_incident_app  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "cockpit.app", fake)
    result = CliRunner().invoke(resume_command, [])
    assert result.exit_code == 0, result.output
    assert "interrupted: backend-api/scale-down - check before retrying" in result.output
    [session] = opened
    assert session.incident_id == ident and session.finished
    assert kinds(session)[-3:] == ["step.interrupted", "operator.resumed",
                                   "operator.disconnected"]
    listing = CliRunner().invoke(resume_command, ["--list"])
    assert ident in listing.output
