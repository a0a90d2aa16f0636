"""Screens against stored SVG snapshots: fixed seed, fixed simulated time, fixed size."""

from __future__ import annotations

import time

from cockpit.app import make_sim_app

SEED = 7
AT_S = 420  # 7 simulated minutes in: error rate breaching, the trigger has fired
INCIDENT = "INC-20250121-142500-0007"  # a fixed ID: the header shows it


def app_at(at: float = AT_S):  # type: ignore[no-untyped-def]
    app = make_sim_app("bad-deploy", seed=SEED, start_clock=False, advance_s=at,
                       incident_id=INCIDENT)
    app.animation_level = "none"
    return app


async def settle(pilot) -> None:  # type: ignore[no-untyped-def]
    app = pilot.app
    deadline = time.monotonic() + 30  # a loaded machine answers late, never not at all
    while not app.has_first_data():
        assert time.monotonic() < deadline, "no first data from every source in 30 s"
        await pilot.pause(0.02)
    await pilot.pause(0.1)


def test_war_room_80x24(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(app_at(), terminal_size=(80, 24), run_before=settle)


def test_war_room_160x48(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(app_at(), terminal_size=(160, 48), run_before=settle)


def test_decision_group_80x24_one_breaching_one_fired(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        await pilot.press("5")
        await pilot.pause(0.1)

    assert snap_compare(app_at(), terminal_size=(80, 24), run_before=run_before)
