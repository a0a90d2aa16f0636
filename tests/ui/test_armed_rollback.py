"""The armed automatic rollback at the keyboard: arm with b, the header says ARMED, a fired
trigger's hold shows its countdown and exact command; any key cancels, enter confirms, the
hold's end runs it (on the SimClock), and never in read-only."""

from __future__ import annotations

from typing import Any

from pilot_wait import settle, wait_until
from textual.widgets import OptionList

from cockpit.app import CockpitApp, make_app, make_sim_app, open_incident_app
from cockpit.clock import SimClock
from cockpit.sim.scenario import find_scenario
from screens.arm_rollback import ArmRollbackScreen
from screens.rollback_hold import RollbackHoldScreen
from widgets.incident_header import IncidentHeader
from widgets.status_bar import StatusBar

UNDO = "kubectl rollout undo deployment/api -n production --to-revision=7"
CTO = "CTO or VP Engineering"


def header(app: CockpitApp) -> str:
    return app.screen_stack[0].query_one(IncidentHeader).plain


def status(app: CockpitApp) -> str:
    return app.screen_stack[0].query_one(StatusBar).plain


def kinds(app: CockpitApp, prefix: str) -> list[str]:
    assert app.runtime.session is not None
    return [e.kind for e in app.runtime.session.journal.events if e.kind.startswith(prefix)]


def last(app: CockpitApp, kind: str) -> dict[str, Any]:
    assert app.runtime.session is not None
    return next(dict(e.data) for e in reversed(app.runtime.session.journal.events)
                if e.kind == kind)


def screen_text(screen: Any) -> str:
    return " ".join(str(w.render()) for w in screen.query("Static"))


async def ready(app: CockpitApp, pilot: Any) -> None:
    await settle(pilot)
    await wait_until(pilot, lambda: app.runtime.desk is not None, "the runbook desk")


async def arm_by_keys(app: CockpitApp, pilot: Any, role: str = CTO) -> None:
    await pilot.press("b")
    await wait_until(pilot, lambda: isinstance(app.screen, ArmRollbackScreen), "the arm modal")
    await pilot.press("space")  # error_rate, the first armable trigger
    screen = app.screen
    assert isinstance(screen, ArmRollbackScreen)
    checked = str(screen.query_one(OptionList).get_option_at_index(0).prompt)
    assert checked.startswith("[x] error_rate")  # in words, not by colour
    await pilot.press("tab", *role)
    await pilot.press("enter")
    await wait_until(pilot, lambda: not isinstance(app.screen, ArmRollbackScreen),
                     "the arm modal to close")


async def until_hold(app: CockpitApp, pilot: Any) -> RollbackHoldScreen:
    # the SimClock moves the incident, never a wall-clock wait: error_rate fires at T+6m
    for _ in range(90):
        if app.runtime.armed_rollback.hold is not None:
            break
        app.runtime.advance(10)
    app._refresh()
    await wait_until(pilot, lambda: isinstance(app.screen, RollbackHoldScreen), "the hold")
    assert isinstance(app.screen, RollbackHoldScreen)
    return app.screen


async def test_disarmed_by_default_and_b_arms_with_the_header_saying_armed() -> None:
    app = make_sim_app(start_clock=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        assert "ARMED" not in header(app)
        await arm_by_keys(app, pilot)
        assert kinds(app, "rollback.") == ["rollback.armed"]
        armed = last(app, "rollback.armed")
        assert armed["triggers"] == ["error_rate"] and armed["authority"] == CTO
        assert header(app).startswith(" ARMED ")
        assert "ARMED: error_rate" in status(app)
        # b again with nothing checked disarms
        await pilot.press("b")
        await wait_until(pilot, lambda: isinstance(app.screen, ArmRollbackScreen), "the modal")
        await pilot.press("space", "enter")
        await wait_until(pilot, lambda: "ARMED" not in header(app), "the header to drop ARMED")
        assert kinds(app, "rollback.")[-1] == "rollback.disarmed"


async def test_any_other_key_cancels_the_hold_and_nothing_runs() -> None:
    app = make_sim_app(start_clock=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await arm_by_keys(app, pilot)
        hold = await until_hold(app, pilot)
        text = screen_text(hold)
        assert "AUTOMATIC ROLLBACK in 60s" in text and UNDO in text
        assert "error_rate fired 7m after api went to r8" in text
        assert " ROLLBACK in 60s " in header(app)  # in words, over the alarm
        app.runtime.advance(15)
        app._refresh()
        await pilot.pause()
        assert "AUTOMATIC ROLLBACK in 45s" in screen_text(hold)
        await pilot.press("x")  # not the patient-safety key here: an answer to the hold
        await wait_until(pilot, lambda: not isinstance(app.screen, RollbackHoldScreen),
                         "the hold to close")
        assert kinds(app, "rollback.")[-1] == "rollback.hold_cancelled"
        assert "@" in last(app, "rollback.hold_cancelled")["by"]
        assert kinds(app, "tree.") == []  # x reached no war-room binding
        app.runtime.advance(120)
        app._refresh()
        await pilot.pause()
        assert app.runtime.estate is not None and app.runtime.estate.actions == []
        assert "step.started" not in kinds(app, "step.")
        assert header(app).startswith(" ARMED ")


async def test_enter_confirms_and_the_rollback_runs_through_the_desk() -> None:
    app = make_sim_app(start_clock=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await arm_by_keys(app, pilot)
        await until_hold(app, pilot)
        await pilot.press("enter")
        await wait_until(pilot, lambda: "step.finished" in kinds(app, "step."),
                         "the rollback to finish")
        assert last(app, "rollback.hold_confirmed")["how"] == "confirmed"
        started = last(app, "step.started")
        assert (started["runbook"], started["preview"]) == ("automatic-rollback", UNDO)
        assert "(armed the automatic rollback)" in started["approver"]
        assert app.runtime.estate is not None
        assert "rollout undo deployment/api" in app.runtime.estate.actions[-1][1]
        assert not isinstance(app.screen, RollbackHoldScreen)


async def test_the_hold_ends_on_the_sim_clock_and_runs_by_itself() -> None:
    app = make_sim_app(start_clock=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await arm_by_keys(app, pilot)
        await until_hold(app, pilot)
        app.runtime.advance(59)
        app._refresh()
        await pilot.pause()
        assert isinstance(app.screen, RollbackHoldScreen) and "step.started" not in kinds(
            app, "step.")
        app.runtime.advance(1)
        app._refresh()
        await wait_until(pilot, lambda: not isinstance(app.screen, RollbackHoldScreen),
                         "the hold's modal to close at its end")
        await wait_until(pilot, lambda: "step.finished" in kinds(app, "step."),
                         "the rollback to finish")
        assert last(app, "rollback.hold_confirmed")["how"] == "timeout"
        assert "Automatic rollback started (the hold ended)" in status(app)


async def test_never_armed_in_read_only_and_the_key_says_why(tmp_path: Any) -> None:
    clock = SimClock(find_scenario("bad-deploy").start, 1)
    app = make_app([], clock=clock, read_only=True, start_clock=False,
                   estate_label="LIVE READ-ONLY")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.runtime.desk is not None, "the runbook desk")
        await pilot.press("b")
        await pilot.pause()
        assert not isinstance(app.screen, ArmRollbackScreen)
        assert "Read-only session: an automatic rollback is never armed here" in status(app)
        assert kinds(app, "rollback.") == []
        assert "ARMED" not in header(app)


async def test_a_resumed_incident_shows_its_hold_counting_on() -> None:
    from cockpit.incident import IncidentSession, inspect_incident
    from cockpit.runtime.build import resume_clock
    from cockpit.training.session import TrainingSession

    s = TrainingSession(find_scenario("bad-deploy"), mode="exam")
    s.runtime.arm(["error_rate"], by="Dana", authority=CTO)
    assert s.run_until(lambda: s.runtime.armed_rollback.hold is not None, 900)
    s.advance(20)
    s.abandon()
    info = inspect_incident(s.incident_id)
    app = open_incident_app(IncidentSession.resume(s.incident_id, clock=resume_clock(info)))
    app.start_clock = False
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await wait_until(pilot, lambda: isinstance(app.screen, RollbackHoldScreen),
                         "the resumed hold's modal")
        assert "AUTOMATIC ROLLBACK in 40s" in screen_text(app.screen)
        assert " ROLLBACK in 40s " in header(app)
        await pilot.press("escape")  # any other key: cancelled, recorded in the resumed record
        await wait_until(pilot, lambda: kinds(app, "rollback.")[-1] == "rollback.hold_cancelled",
                         "the cancel to be recorded")


async def test_a_hold_the_armers_role_cannot_approve_asks_for_the_usual_confirmation() -> None:
    from screens.step_confirm import StepConfirm

    app = make_sim_app(start_clock=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await arm_by_keys(app, pilot, role="Tech Lead")
        hold = await until_hold(app, pilot)
        text = screen_text(hold)
        assert "ROLLBACK NEEDS YOU" in text and "needs CTO or VP Engineering's approval" in text
        assert " ROLLBACK? in 60s " in header(app)
        await pilot.press("enter")  # confirm it yourself: the destructive step's own modal
        await wait_until(pilot, lambda: isinstance(app.screen, StepConfirm), "the confirmation")
        assert last(app, "rollback.hold_confirmed")["how"] == "asked"
        assert "step.started" not in kinds(app, "step.")
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, StepConfirm), "it to close")
        assert "step.started" not in kinds(app, "step.")
        assert app.runtime.estate is not None and app.runtime.estate.actions == []
