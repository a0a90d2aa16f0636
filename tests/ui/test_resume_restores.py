"""Resume restores what was recorded, whatever speed the war room ran at.

A training incident is played in the war room at speed 1, 20 or 60 (a trigger fires, a
severity, the tree's answer, a decision, a runbook opened and a step run), left open,
then taken back as ``cockpit resume`` does. At the same simulated time the resumed
cockpit shows the same decision state (every trigger's fire time and decide-by, the
recommendation, the severity and its deadline, the answers, the decision), the same
simulated estate (same seed, same values, the step's undo still applied) and the same
runbook pane. Before the runtime, the engine was rebuilt from the 10 s samples: at speed
20 the fire time moved by ~10 s, and at 60 a fired trigger was not restored at all.
"""

from __future__ import annotations

import math

import pytest
from pilot_wait import settle, wait_until

from cockpit.app import CockpitApp, make_sim_app, open_incident_app
from cockpit.incident import IncidentSession, inspect_incident
from cockpit.runbook.engine import Confirmation, StepState
from cockpit.runtime.build import resume_clock
from widgets.runbook_panel import RunbookPanel

SIZE = (100, 30)
RUNBOOK = "frontend-kubernetes"


def pane_text(app: CockpitApp) -> list[str]:
    panel = app.screen.query_one(RunbookPanel)
    run = panel.run
    assert run is not None
    return [line.plain for line in panel.pane_lines(run, 90, 24)]


def to_whole_second(app: CockpitApp) -> None:
    """Pause, and move the clock to a whole second: the journal keeps milliseconds."""
    clock = app.clock
    clock.paused = True  # type: ignore[attr-defined]
    now = clock.now()
    app.runtime.advance(math.ceil(now.timestamp()) - now.timestamp() + 1)


@pytest.mark.parametrize("speed", [1, 20, 60])
async def test_a_training_incident_resumes_exactly_as_it_was_recorded(speed: int) -> None:
    app = make_sim_app("bad-deploy", speed=speed, seed=11, advance_s=330)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        # the clock runs at the war room's speed until the error-rate trigger fires
        if speed == 1:
            app.runtime.advance(60)
        await wait_until(pilot, lambda: bool(app.runtime.decision().fired),
                         "the error-rate trigger to fire")
        await pilot.press("s", "h")            # severity High
        await pilot.press("f", "n")            # cannot fix forward
        await pilot.press("d", "r")            # decide: roll back
        desk = app.runtime.open_desk()
        run = desk.open(RUNBOOK)
        desk.set_variables(RUNBOOK, {"deployment": "api", "selector": "app=api"})
        assert desk.start(RUNBOOK, "history", background=False).state is StepState.DONE
        undo = run.state("undo")
        assert desk.start(RUNBOOK, "undo", Confirmation(undo.target, "Dana Reyes"),
                          background=False).state is StepState.DONE
        await pilot.pause()
        to_whole_second(app)
        await pilot.pause()
        at = app.clock.now()
        decision_before = app.runtime.decision(at)
        estate_before = app.estate.sample_values()  # type: ignore[union-attr]
        pane_before = pane_text(app)
        header_before = app.runtime.header(at)
        await pilot.press("q", "l")            # leave it open
    assert decision_before.fired and decision_before.decision is not None
    ident = app.runtime.incident_id

    info = inspect_incident(ident)
    assert info.training_seed == 11 and info.training_speed == speed
    session = IncidentSession.resume(ident, clock=resume_clock(info))
    resumed = open_incident_app(session)
    resumed.start_clock = False
    assert resumed.clock.now() == at
    assert resumed.estate is not None and resumed.estate.seed == 11
    assert resumed.runtime.decision(at) == decision_before
    assert resumed.estate.sample_values() == estate_before
    api = resumed.estate.cluster_snapshot().deployment("api")
    assert api is not None and api.version == "1.9.3", "the undo was lost on resume"
    after = resumed.runtime.header(at)
    assert (after.severity, after.elapsed, after.incident) == (
        header_before.severity, header_before.elapsed, header_before.incident)
    async with resumed.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await wait_until(pilot, lambda: resumed.screen.query_one(RunbookPanel).run is not None,
                         "the runbook pane to come back")
        assert pane_text(resumed) == pane_before
        await pilot.press("q", "l")


async def test_an_undo_taken_from_a_deployments_history_is_replayed_on_resume() -> None:
    """The history's `u` runs a one-step deployment action (act/NS/api/undo-7): a resumed
    training incident applies it to its estate again, as it does a runbook's undo."""
    from cockpit.runbook.deployment_actions import DeploymentAction

    app = make_sim_app("bad-deploy", seed=11, start_clock=False, advance_s=120)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        desk = app.runtime.open_desk()
        action = DeploymentAction("undo", "production", "api", 7)
        desk.open(action.runbook_id)
        assert desk.start(action.runbook_id, action.step_id,
                          Confirmation("api", "Dana Reyes"),
                          background=False).state is StepState.DONE
        to_whole_second(app)
        await pilot.pause()
        await pilot.press("q", "l")
    ident = app.runtime.incident_id
    session = IncidentSession.resume(ident, clock=resume_clock(inspect_incident(ident)))
    resumed = open_incident_app(session)
    try:
        assert resumed.estate is not None
        api = resumed.estate.cluster_snapshot().deployment("api")
        assert api is not None and api.version == "1.9.3", "the history's undo was lost"
    finally:
        resumed.runtime.shutdown()
