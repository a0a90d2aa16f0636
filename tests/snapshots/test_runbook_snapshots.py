"""The runbook pane and its destructive-step modal at 80x24 against stored SVG snapshots.

Fixed seed, simulated time that does not move, fixed size; no step is running when
the picture is taken (a running step's elapsed time is wall-clock).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "ui"))

from runbook_harness import PaneHarness  # noqa: E402

SIZE = (80, 24)


def harness() -> PaneHarness:
    app = PaneHarness(advance_s=420)
    app.animation_level = "none"
    return app


async def history_done_undo_selected(pilot) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("p", *"frontend-kubernetes", "enter")
    await pilot.pause()
    await pilot.press("enter")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    pilot.app.clear_notifications()
    await pilot.pause()


def test_runbook_pane_80x24(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(harness(), terminal_size=SIZE, run_before=history_done_undo_selected)


def test_destructive_step_modal_80x24(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await history_done_undo_selected(pilot)
        await pilot.press("enter")
        await pilot.pause()

    assert snap_compare(harness(), terminal_size=SIZE, run_before=run_before)
