"""The runbook picker in the war room recommends by what fired and what the estate shows."""

from __future__ import annotations

from pilot_wait import settle, wait_until
from textual.widgets import OptionList

from cockpit.app import make_sim_app
from screens.runbook_picker import RunbookPicker


async def test_the_suspects_rollback_is_recommended_with_why_and_api_finds_it() -> None:
    app = make_sim_app(start_clock=False, advance_s=420)  # api went to r8; error_rate fired
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await wait_until(pilot, lambda: app.runtime.desk is not None, "the runbook desk")
        await pilot.press("o")
        await wait_until(pilot, lambda: isinstance(app.screen, RunbookPicker), "the picker")
        options = app.screen.query_one(OptionList)
        prompts = [str(options.get_option_at_index(i).prompt)
                   for i in range(options.option_count)]
        marked = [p.split(" · ")[0] for p in prompts if "recommended" in p]
        assert marked[:2] == ["incident-declaration", "initial-assessment"]
        assert len(marked) == 3, marked  # and the suspect's rollback; nothing else
        assert "recommended (error_rate fired 7m after api went to r8)" in prompts[2]
        assert "on api" in prompts[2]
        migration = next(p for p in prompts if p.startswith("database-migration"))
        assert "recommended" not in migration and "reserved for data_corruption" in migration
        await pilot.press("a", "p", "i")
        await pilot.pause()
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert marked[2] in ids and "backend-api" in ids
        await pilot.press("enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, RunbookPicker), "it to open")
        desk = app.runtime.desk
        assert desk is not None and desk.current == marked[2]
        # opened from the recommendation: the suspect filled in, and recorded
        assert desk.run(marked[2]).variables["deployment"] == "api"
