"""Answering the decision tree and setting severity by keyboard, recorded with who answered."""

from __future__ import annotations

from pilot_wait import settle as first_data

from cockpit.app import make_sim_app
from widgets.decision_panel import DecisionPanel


async def settle(app, pilot) -> None:  # type: ignore[no-untyped-def]
    await first_data(pilot)


async def test_severity_fix_forward_and_decision_are_recorded_with_the_operator() -> None:
    app = make_sim_app(start_clock=False, advance_s=60)  # error rate breaching, nothing fired
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("s")
        await pilot.pause()
        assert type(app.screen).__name__ == "ChoiceScreen"
        await pilot.press("h")
        await pilot.pause()
        state = app.engine.state(app.clock.now())
        assert str(state.severity).lower() == "high"
        assert state.authority == "Engineering Manager"

        await pilot.press("f")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        answered = [r for r in app.engine.history if r.kind == "tree.answered"]
        assert answered and answered[-1].data["answer"] in (True, "yes")
        assert "@" in answered[-1].data["by"]

        await pilot.press("d")
        await pilot.pause()
        await pilot.press("r")
        await pilot.pause()
        decisions = [r for r in app.engine.history if r.kind == "decision.recorded"]
        assert decisions and decisions[-1].data["decision"] == "rollback"
        await pilot.press("5")
        await pilot.pause()
        panel = app.screen.query_one(DecisionPanel)
        assert "HIGH" in str(panel.render()).upper()


async def test_escape_cancels_without_recording() -> None:
    app = make_sim_app(start_clock=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        before = len(app.engine.history)
        await pilot.press("f")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ == "WarRoomScreen"
        assert not [r for r in app.engine.history[before:] if r.kind == "tree.answered"]
