"""The briefing before a training scenario: shown over the war room with the clock held at
T=0, the keys it lists are the ones bound now, enter starts the clock, escape quits; never
for a resumed incident."""

from __future__ import annotations

from pilot_wait import wait_until

from cockpit.app import make_sim_app
from cockpit.incident import IncidentSession, inspect_incident
from cockpit.runtime.build import resume_clock
from cockpit.sim.scenario import find_scenario
from cockpit.timeline.journal import read_events
from screens.briefing import BriefingScreen
from screens.war_room import WarRoomScreen
from widgets.incident_header import IncidentHeader

SIZE = (80, 24)


def briefing_text(app) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(str(row.render()) for row in app.screen.query("#briefing-body Static"))


def footer_text(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one("#briefing-keys").render())


async def test_the_briefing_holds_the_clock_until_enter_and_lists_the_bound_keys() -> None:
    scenario = find_scenario("db-migration-failure")
    app = make_sim_app(scenario.id, speed=60, mode="guided", briefing=True)
    # a keymap moved two keys: the briefing says the keys bound now, not the defaults
    app.set_keymap({"decision.severity": "ctrl+v", "runbook.run": "ctrl+r"})
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, BriefingScreen), "the briefing")
        text = briefing_text(app)
        assert f"Briefing: {scenario.title}" in text
        assert "Your goal" in text and "without losing a row" in text
        assert "^v" in text and "declare: set the severity" in text
        assert "^r" in text and "run the selected step" in text
        assert "record the decision" in text  # d: still its default key
        assert "enter start" in footer_text(app) and "esc quit" in footer_text(app)
        # the clock is held at the scenario's start while the trainee reads, and says so
        await pilot.pause(0.6)
        assert app.clock.now() == scenario.start
        header = app.screen_stack[0].query_one(IncidentHeader)
        assert "PAUSED" in header.estate and "x60" in header.estate
        # keys of the war room do nothing under the briefing
        await pilot.press("s")
        assert isinstance(app.screen, BriefingScreen)
        assert app.runtime.state is not None and app.runtime.state.severity is None
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, WarRoomScreen), "the war room")
        await wait_until(pilot, lambda: app.clock.now() > scenario.start, "the clock to start")
        assert "PAUSED" not in header.estate
        assert app.runtime.session is not None
        kinds = [e.kind for e in read_events(app.runtime.session.journal.path)]
    # reading the briefing is not an incident event: the record is the one a headless run
    # (which has no briefing) writes
    assert not any(kind.startswith("training.brief") for kind in kinds)


async def test_the_briefing_scrolls_at_80x24_and_escape_quits_leaving_the_incident_open(
) -> None:
    app = make_sim_app("full-rollback", briefing=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, BriefingScreen), "the briefing")
        body = app.screen.query_one("#briefing-body")
        assert body.max_scroll_y > 0, "a long briefing scrolls at 80x24"
        assert app.screen.query_one("#briefing-keys").region.bottom <= SIZE[1]
        await pilot.press("down", "down")
        assert body.scroll_y > 0
        await pilot.press("escape")
        await wait_until(pilot, lambda: not app.is_running, "the cockpit to quit")
    ident = app.runtime.incident_id
    assert inspect_incident(ident).is_open


async def test_a_resumed_incident_goes_straight_in_and_guided_plays_at_speed_1() -> None:
    app = make_sim_app("bad-deploy", mode="guided", start_clock=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, WarRoomScreen), "the war room")
        # guided defaults to real time, and the header says the speed
        assert app.clock.speed == 1  # type: ignore[attr-defined]
        header = app.screen.query_one(IncidentHeader)
        await wait_until(pilot, lambda: "GUIDED x1" in header.estate, "the speed in the header")
        app.runtime.advance(60)
        await pilot.press("q", "l")
    info = inspect_incident(app.runtime.incident_id)
    session = IncidentSession.resume(info.id, clock=resume_clock(info))
    resumed = make_sim_app("bad-deploy", session=session, briefing=True)
    async with resumed.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(resumed.screen, WarRoomScreen)
                         and resumed.screen.is_composed, "the war room")
        await pilot.pause(0.3)
        assert not isinstance(resumed.screen, BriefingScreen)
        assert not any(isinstance(s, BriefingScreen) for s in resumed.screen_stack)
        await pilot.press("q", "l")
