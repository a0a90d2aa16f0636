"""The war room keeps the incident's record: every answer, note and update is journaled,
quitting leaves the incident resumable, and a resumed incident comes back as it was."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from pilot_wait import settle, wait_until

from cockpit.app import CockpitApp, make_sim_app, open_incident_app
from cockpit.incident import IncidentSession, inspect_incident
from cockpit.runtime.build import resume_clock
from cockpit.timeline.journal import read_events
from cockpit.timeline.verify import verify
from widgets.incident_header import IncidentHeader

SIZE = (80, 24)
AT_S = 420  # the error-rate trigger has fired


def kinds(app: CockpitApp) -> list[str]:
    assert app.session is not None
    return [event.kind for event in read_events(app.session.journal.path)]


def events_of(path: Path, kind: str) -> list[dict]:  # type: ignore[type-arg]
    return [event.data for event in read_events(path) if event.kind == kind]




def typed(text: str) -> list[str]:
    return ["space" if c == " " else c for c in text]


async def test_answers_notes_and_triggers_reach_the_journal_before_quitting() -> None:
    app = make_sim_app("bad-deploy", start_clock=False, advance_s=AT_S)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s", "h")          # severity: high
        await pilot.press("d", "r")          # decision: roll back
        await pilot.press("n", *typed("v2 pods crashlooping"), "enter")
        await pilot.pause(0.1)
        assert app.session is not None
        path = app.session.journal.path
        recorded = kinds(app)
        # the header names the incident the engineer can resume or export
        assert app.screen.query_one(IncidentHeader).incident == app.session.incident_id
    assert recorded[0] == "incident.opened"
    assert recorded.index("incident.declared") < recorded.index("severity.set")
    for kind in ("severity.set", "decision.recorded", "note.added", "trigger.changed",
                 "sample"):
        assert kind in recorded, kind
    assert events_of(path, "severity.set")[-1]["severity"] == "high"
    assert events_of(path, "note.added")[-1]["text"] == "v2 pods crashlooping"
    fired = [d for d in events_of(path, "trigger.changed") if d.get("state") == "fired"]
    assert fired, "the fired error-rate trigger is not in the record"


async def test_quit_leaves_the_incident_open_and_resume_restores_it() -> None:
    app = make_sim_app("bad-deploy", start_clock=False, advance_s=AT_S)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s", "c")          # severity: critical
        await pilot.press("d", "r")
        await pilot.press("q")
        await pilot.pause(0.05)
        from screens.choice import ChoiceScreen

        assert isinstance(app.screen, ChoiceScreen)  # quitting asks: leave open or close
        await pilot.press("l")
        await pilot.pause(0.05)
    assert app.session is not None
    ident, path = app.session.incident_id, app.session.journal.path
    assert read_events(path)[-1].kind == "operator.disconnected"
    info = inspect_incident(ident)
    assert info.is_open and info.severity == "critical"

    session = IncidentSession.resume(ident, clock=resume_clock(info))
    resumed = open_incident_app(session)
    async with resumed.run_test(size=SIZE) as pilot:
        await settle(pilot)
        state = resumed.engine.state(resumed.clock.now())
        assert str(state.severity) == "critical"
        assert state.decision is not None and state.decision.decision == "rollback"
        assert resumed.screen.query_one(IncidentHeader).severity == "CRITICAL"
        await pilot.press("q", "c")          # now close it
        await pilot.pause(0.05)
    assert not inspect_incident(ident).is_open
    assert verify(path).ok


async def test_a_journal_that_cannot_be_written_is_shown_not_swallowed() -> None:
    app = make_sim_app("bad-deploy", start_clock=False, advance_s=AT_S)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.session is not None
        app.session.journal.close()          # the journal goes away under the app
        await pilot.press("n", *typed("checked"), "enter")
        await pilot.pause(0.1)
        header = app.screen.query_one(IncidentHeader)
        assert header.recording == "NOT RECORDING"
        assert "NOT RECORDING" in header.render().plain
        assert any("NOT RECORDING" in m.text for m in app.messages)


async def test_status_update_is_prefilled_recorded_with_the_journal_head() -> None:
    app = make_sim_app("bad-deploy", start_clock=False, advance_s=AT_S)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("u")
        await pilot.pause(0.05)
        from textual.widgets import TextArea

        assert "ROLLBACK STATUS UPDATE" in app.screen.query_one(TextArea).text
        await pilot.press("ctrl+s")
        await pilot.pause(0.05)
        assert app.session is not None
        path = app.session.journal.path
    update = events_of(path, "status.update")[-1]
    assert update["channel"] == "journal"
    assert f"Journal head: {update['head']}" in update["text"]


async def test_status_update_reminder_after_fifteen_minutes() -> None:
    app = make_sim_app("bad-deploy", start_clock=False, advance_s=AT_S)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert not any("status update is due" in m.text for m in app.messages)
        app.clock.advance(15 * 60)  # type: ignore[attr-defined]
        await pilot.pause(0.4)
        assert any("status update is due" in m.text for m in app.messages)


async def test_export_key_writes_the_rca(tmp_path: Path) -> None:
    app = make_sim_app("bad-deploy", start_clock=False, advance_s=AT_S)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("e", "m")
        await pilot.pause(0.5)
        assert app.session is not None
        target = app.session.folder / f"{app.session.incident_id}.md"
        await wait_until(pilot, target.exists, "the export to be written")
    assert "Incident Summary" in target.read_text() or "Incident summary" in target.read_text()


async def test_sighup_records_the_disconnect_and_exits_129() -> None:
    app = make_sim_app("bad-deploy", start_clock=False, advance_s=AT_S)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        os.kill(os.getpid(), signal.SIGHUP)
        await pilot.pause(0.2)
    assert app.return_code == 129
    assert app.session is not None
    last = read_events(app.session.journal.path)[-1]
    assert last.kind == "operator.disconnected"
    assert inspect_incident(app.session.incident_id).is_open


async def test_scenario_events_fire_event_triggers_and_reach_the_record() -> None:
    # security-breach: the security team confirms an exploit 60 simulated seconds in
    app = make_sim_app("security-breach", start_clock=False, advance_s=120)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.pause(0.3)
        state = app.engine.state(app.clock.now())
        fired = [t.id for t in state.fired]
        assert app.session is not None
        path = app.session.journal.path
    assert "security_breach" in fired
    assert [d["kind"] for d in events_of(path, "sim.event")] == ["security_breach"]
    changes = [d for d in events_of(path, "trigger.changed") if d["trigger"] == "security_breach"]
    assert changes and changes[-1]["state"] == "fired"


async def test_guided_mode_coaches_a_stalled_trainee() -> None:
    app = make_sim_app("bad-deploy", start_clock=False, advance_s=AT_S, mode="guided")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "GUIDED" in app.screen.query_one(IncidentHeader).estate
        app.clock.advance(120)  # type: ignore[attr-defined]  # the trainee does nothing
        await pilot.pause(1.3)
        hints = [m.text for m in app.messages if m.title == "Coach"]
    assert hints, "no hint for a trainee who has not declared a fired incident"
    assert "Declare: press s" in hints[0], hints


async def test_closing_a_training_incident_scores_it_and_shows_the_debrief() -> None:
    app = make_sim_app("bad-deploy", start_clock=False, advance_s=AT_S, mode="exam")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s", "c", "d", "r")      # declared critical, decided: roll back
        await pilot.press("q", "c")
        await pilot.pause(0.2)
        from screens.debrief import DebriefScreen

        assert isinstance(app.screen, DebriefScreen)
        assert app.session is not None
        path = app.session.journal.path
        # nothing was rolled back: the debrief says the estate was not restored
        assert app.screen.score.restored is False and not app.screen.score.full_marks
        assert not any(m.title == "Coach" for m in app.messages)  # exam: no hints
        await pilot.press("escape")
        await pilot.pause(0.1)
    kinds = [e.kind for e in read_events(path)]
    assert kinds[-3:] == ["training.outcome", "score.recorded", "incident.closed"]
    outcome = events_of(path, "training.outcome")[-1]
    assert outcome["restored"] is False
    assert events_of(path, "score.recorded")[-1]["total"] < 100


async def test_a_resumed_training_incident_keeps_what_its_steps_did_to_the_estate() -> None:
    from cockpit.runbook.engine import Confirmation, StepState

    app = make_sim_app("bad-deploy", start_clock=False, advance_s=AT_S)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s", "c", "d", "r")
        desk = app.runtime.open_desk()
        rb = "frontend-kubernetes"
        run = desk.open(rb)
        desk.set_variables(rb, {"deployment": "api", "selector": "app=api"})
        assert desk.start(rb, "history", background=False).state is StepState.DONE
        undo = run.state("undo")
        assert desk.start(rb, "undo", Confirmation(undo.target, "Dana (IC)"),
                          background=False).state is StepState.DONE
        api = app.estate.cluster_snapshot().deployment("api")  # type: ignore[attr-defined]
        assert api is not None and api.version == "1.9.3"
        await pilot.press("q", "l")
    assert app.session is not None
    ident = app.session.incident_id

    info = inspect_incident(ident)
    resumed = open_incident_app(IncidentSession.resume(ident, clock=resume_clock(info)))
    api = resumed.estate.cluster_snapshot().deployment("api")  # type: ignore[attr-defined]
    assert api is not None and api.version == "1.9.3", "the undo was lost on resume"
    resumed.clock.advance(300)  # type: ignore[attr-defined]
    assert resumed.estate.sample_values()["error_rate_pct"] < 5  # type: ignore[attr-defined]
    assert resumed.session is not None
    resumed.session.disconnect()
