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


def timeline_app():  # type: ignore[no-untyped-def]
    """The war room at 7 minutes with a fixed operator (the timeline says who did what)."""
    app = make_sim_app("bad-deploy", seed=SEED, start_clock=False, advance_s=AT_S,
                       incident_id=INCIDENT, operator="dana@bastion")
    app.animation_level = "none"
    return app


async def note_and_pin(pilot, group: str = "") -> None:  # type: ignore[no-untyped-def]
    """A note, pinned for the RCA from the timeline pane (group 7 at 80x24)."""
    await settle(pilot)
    await pilot.press("n", *[c if c != " " else "space" for c in "api restarts since deploy"],
                      "enter")
    await pilot.pause(0.1)
    if group:
        await pilot.press(group)
        await pilot.pause(0.1)
    pilot.app.screen.query_one("#timeline").focus()
    await pilot.press("p")
    await pilot.pause(0.2)


def test_timeline_group_80x24_with_a_pin(snap_compare) -> None:  # type: ignore[no-untyped-def]
    """Group 7: the recorded events newest last, the pinned note marked ◆PIN, the status
    bar saying so above the key bar."""
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await note_and_pin(pilot, "7")

    assert snap_compare(timeline_app(), terminal_size=(80, 24), run_before=run_before)


def test_war_room_160x48_timeline_with_a_pin(snap_compare) -> None:  # type: ignore[no-untyped-def]
    """The timeline pane beside the others (under the decision panel, the runbook pane
    the whole height beside them)."""
    assert snap_compare(timeline_app(), terminal_size=(160, 48), run_before=note_and_pin)


def test_timeline_group_80x24_no_color(snap_compare, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """NO_COLOR: the pin, the cursor and the message's severity are words and glyphs."""
    monkeypatch.setenv("NO_COLOR", "1")

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await note_and_pin(pilot, "7")

    assert snap_compare(timeline_app(), terminal_size=(80, 24), run_before=run_before)


def test_pods_group_80x24_filtered_and_sorted(snap_compare) -> None:  # type: ignore[no-untyped-def]
    """Group 2 with ``/api`` kept and sorted by restarts: the title says the filter, how
    many pods match and the sort in words; the heading's arrow marks RST."""
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        await pilot.press("2")
        await pilot.pause(0.1)
        await pilot.press("slash", "a", "p", "i", "enter", "R")
        panel = pilot.app.screen.query_one("#pods")
        deadline = time.monotonic() + 30
        while "sort: restarts" not in panel.title_text:
            assert time.monotonic() < deadline, "the filtered, sorted rows in 30 s"
            await pilot.pause(0.02)
        await pilot.pause(0.1)

    assert snap_compare(app_at(), terminal_size=(80, 24), run_before=run_before)
