"""One runtime: a headless walkthrough and a war-room walkthrough write the same record.

The same scenario, seed and inputs at the same simulated times, once through
:class:`TrainingSession` (what ``train --headless``, the autopilot and the benchmark
drive) and once through the war room's keys in Textual's pilot: the journals hold the
same sequence of event kinds and the debrief gives the same score.
"""

from __future__ import annotations

from pathlib import Path

from pilot_wait import settle, wait_until

from cockpit.app import make_sim_app
from cockpit.runbook.engine import Confirmation, StepState
from cockpit.sim.executor import SimExecutor
from cockpit.sim.scenario import find_scenario
from cockpit.timeline.journal import read_events
from cockpit.training.session import POLL_S, TrainingSession
from screens.debrief import DebriefScreen

RUNBOOK = "frontend-kubernetes"
STEPS = ("history", "undo", "status", "verify-pods", "logs")
VARIABLES = {"deployment": "api", "selector": "app=api"}


def headless(tmp_path: Path) -> tuple[list[str], int]:
    s = TrainingSession(find_scenario("bad-deploy"), mode="exam", seed=7, state_dir=tmp_path)
    s.advance(400)
    s.declare("high")
    s.answer_fix_forward(False)
    s.decide("rollback")
    s.open(RUNBOOK, VARIABLES)
    for step in STEPS:
        status = s.desk.run(RUNBOOK).state(step)
        confirmation = Confirmation(status.target, "Dana Reyes") if status.needs_confirmation \
            else None
        assert s.execute(RUNBOOK, step, confirmation).state is StepState.DONE
    s.advance(300)
    s.status_update()
    score = s.finish()
    return [e.kind for e in read_events(s.incident.journal.path)], score.total


async def test_headless_and_war_room_runs_write_the_same_record(tmp_path: Path) -> None:
    kinds, total = headless(tmp_path / "headless")

    app = make_sim_app("bad-deploy", seed=7, mode="exam", start_clock=False)
    runtime = app.runtime
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        runtime.advance(400)
        await pilot.press("s", "h")  # severity High (declares the incident)
        await pilot.press("f", "n")  # cannot fix forward
        await pilot.press("d", "r")  # roll back
        desk = runtime.open_desk()
        # steps wait on the simulated clock as the headless driver's do: 10 s a poll
        runtime.executor = desk.executor = SimExecutor(  # type: ignore[misc]
            runtime.estate, sleep=runtime.advance, poll_s=POLL_S)  # type: ignore[arg-type]
        desk.open(RUNBOOK)
        desk.set_variables(RUNBOOK, VARIABLES)
        for step in STEPS:
            status = desk.run(RUNBOOK).state(step)
            confirmation = Confirmation(status.target, "Dana Reyes") \
                if status.needs_confirmation else None
            assert desk.start(RUNBOOK, step, confirmation, background=False).state \
                is StepState.DONE
        runtime.advance(300)
        await pilot.press("u")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "StatusUpdateScreen",
                         "the status update screen")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: runtime.state is not None
                         and len(runtime.state.status_updates) == 1, "the status update")
        await pilot.press("q", "c")
        await wait_until(pilot, lambda: isinstance(app.screen, DebriefScreen), "the debrief")
        war_room_total = app.screen.score.total  # type: ignore[attr-defined]
        await pilot.press("escape")
    assert runtime.session is not None
    war_room_kinds = [e.kind for e in read_events(runtime.session.journal.path)]
    assert war_room_kinds == kinds
    assert war_room_total == total
