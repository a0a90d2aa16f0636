"""The training briefing against stored SVG snapshots: before the clock starts, 80x24."""

from __future__ import annotations

import time

from cockpit.app import make_sim_app
from screens.briefing import BriefingScreen

INCIDENT = "INC-20250218-130500-0031"


async def briefed(pilot) -> None:  # type: ignore[no-untyped-def]
    app = pilot.app
    deadline = time.monotonic() + 30  # a loaded machine answers late, never not at all
    while not isinstance(app.screen, BriefingScreen) or not app.has_first_data():
        assert time.monotonic() < deadline, "no briefing in 30 s"
        await pilot.pause(0.02)
    await pilot.pause(0.1)


def test_briefing_80x24(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app = make_sim_app("db-migration-failure", seed=31, mode="guided", incident_id=INCIDENT,
                       briefing=True)
    app.animation_level = "none"
    assert snap_compare(app, terminal_size=(80, 24), run_before=briefed)
