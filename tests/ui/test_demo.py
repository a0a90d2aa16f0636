"""`cockpit train --mode demo`: the war room watching the autopilot play a scenario."""

from __future__ import annotations

import time

from cockpit.app import make_demo_app
from cockpit.timeline.journal import read_events
from cockpit.timeline.verify import verify
from widgets.incident_header import IncidentHeader
from widgets.runbook_panel import RunbookPanel
from widgets.status_bar import StatusBar

SIZE = (80, 24)


async def test_demo_plays_the_ideal_response_to_the_debrief() -> None:
    app = make_demo_app("bad-deploy", speed=60)
    app.demo.pace = 10  # 600 simulated seconds per real second
    async with app.run_test(size=SIZE) as pilot:
        from screens.debrief import DebriefScreen

        narration: list[str] = []
        deadline = time.monotonic() + 90  # about 3 s on an idle machine
        while not isinstance(app.screen, DebriefScreen) and time.monotonic() < deadline:
            narration += [m.text for m in app.messages
                          if m.title == "Autopilot" and m.text not in narration]
            await pilot.pause(0.05)
        assert isinstance(app.screen, DebriefScreen)
        assert app.screen.score.full_marks and app.screen.score.restored
        header = app.screen_stack[0].query_one(IncidentHeader)
        assert "DEMO" in header.estate and header.incident == app.demo.session.incident_id
        # the decision panel followed the autopilot's answers through the journal
        state = app.engine.state(app.clock.now())
        assert str(state.severity) == "critical"
        assert state.decision is not None and state.decision.decision == "rollback"
        # the runbook pane followed the autopilot's runs
        pane = app.screen_stack[0].query_one(RunbookPanel)
        assert pane.current == "post-rollback-verification"
        assert any("why:" in line for line in narration)
        assert not list(app._notifications), "nothing may cover the debrief (no toasts)"
        await pilot.press("escape", "s")  # the trainee's hands are off
        await pilot.pause(0.05)
        latest = app.messages.latest
        assert latest is not None and "autopilot is at the keyboard" in latest.text
        assert "autopilot is at the keyboard" in app.screen.query_one(StatusBar).plain
        path = app.demo.session.incident.journal.path
        await pilot.press("q")
    kinds = [e.kind for e in read_events(path)]
    assert kinds[-1] == "incident.closed" and "score.recorded" in kinds
    assert verify(path).ok


async def test_quitting_a_demo_stops_the_autopilot_and_keeps_the_record() -> None:
    app = make_demo_app("bad-deploy", speed=60)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.5)
        path = app.demo.session.incident.journal.path
        await pilot.press("q")
    assert app.demo.done.is_set(), "the autopilot was still running after the quit"
    events = read_events(path)
    # closed as far as it went: exportable, and not offered back as an open incident
    assert events[-1].kind == "incident.closed"
    assert verify(path).ok
