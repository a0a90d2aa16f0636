"""The armed rollback's hold at 80x24 with NO_COLOR: the countdown, why and the exact command in
words over the war room, and the header's ROLLBACK in 45s ahead of the alarm."""

from __future__ import annotations

import time

from cockpit.app import make_sim_app

INCIDENT = "INC-20250121-142500-0007"


def test_rollback_hold_80x24_no_color(snap_compare, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_sim_app("bad-deploy", seed=7, start_clock=False, advance_s=300,
                       incident_id=INCIDENT)
    app.animation_level = "none"

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        from screens.rollback_hold import RollbackHoldScreen

        deadline = time.monotonic() + 30  # a loaded machine answers late, never not at all
        while not app.has_first_data() or app.runtime.desk is None:
            assert time.monotonic() < deadline, "no first data or runbook desk in 30 s"
            await pilot.pause(0.02)
        runtime = app.runtime
        runtime.arm(["error_rate"], by="Dana", authority="CTO or VP Engineering")
        while runtime.armed_rollback.hold is None:
            runtime.advance(10)
        runtime.advance(15)
        app._refresh()
        while not isinstance(app.screen, RollbackHoldScreen):
            assert time.monotonic() < deadline, "no hold modal in 30 s"
            await pilot.pause(0.02)
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_header_armed_80x24_no_color(snap_compare, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Armed, nothing fired yet: the header says ARMED in words before the alarm."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_sim_app("bad-deploy", seed=7, start_clock=False, advance_s=300,
                       incident_id=INCIDENT)
    app.animation_level = "none"

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + 30
        while not app.has_first_data() or app.runtime.desk is None:
            assert time.monotonic() < deadline, "no first data or runbook desk in 30 s"
            await pilot.pause(0.02)
        app.runtime.arm(["error_rate"], by="Dana", authority="CTO or VP Engineering")
        app._refresh()
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
