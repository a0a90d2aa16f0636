"""The header at 80x24: the alarm in words, the incident id (its end when short of room)
and the estate's mode, whatever panel group is shown; live mode offers no simulation keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.app import make_app, make_sim_app
from cockpit.clock import WallClock
from cockpit.timeline.journal import JOURNAL_NAME, incidents_dir
from cockpit.timeline.store import UnknownIncidentError, resolve_journal
from tests.ui.pilot_wait import wait_until
from widgets.incident_header import IncidentHeader
from widgets.key_bar import KeyBar


async def test_80_columns_show_the_alarm_the_id_and_the_mode_in_every_group() -> None:
    app = make_sim_app(start_clock=False, advance_s=420, seed=7)
    async with app.run_test(size=(80, 24)) as pilot:
        header = app.screen.query_one(IncidentHeader)
        await wait_until(pilot, lambda: "FIRED" in header.plain, "the fired trigger in words")
        for group in "123456":
            await pilot.press(group)
            await pilot.pause()
            text = header.plain
            assert "FIRED Errors" in text and ("OVERDUE" in text or "decide" in text)
            assert app.runtime.incident_id.endswith(text.split("│")[2].strip().lstrip("…"))
            assert "SIM" in text and "PAUSED" in text
            assert len(text) <= 80


async def test_a_wide_terminal_shows_the_whole_id_the_operator_and_the_time_of_day() -> None:
    app = make_sim_app(start_clock=False, advance_s=60, seed=7)
    async with app.run_test(size=(160, 48)) as pilot:
        header = app.screen.query_one(IncidentHeader)
        await wait_until(pilot, lambda: app.runtime.incident_id in header.plain,
                         "the whole incident id")
        assert "14:26:00Z" in header.plain and "bad-deploy" in header.plain
        assert "BREACH Errors 0s/5m" in header.plain  # a breach starting, said in words
        assert f"│ {app.runtime.header().operator} │" in header.plain  # who is at the keys


async def test_live_mode_offers_no_simulation_keys() -> None:
    app = make_app([], clock=WallClock(), environment="staging")
    async with app.run_test(size=(160, 48)) as pilot:
        bar = app.screen.query_one(KeyBar)
        await wait_until(pilot, lambda: "Quit" in bar.plain, "the key bar")
        assert "Faster" not in bar.plain and "Pause" not in bar.plain
        assert "Severity" in bar.plain
    sim = make_sim_app(start_clock=False)
    async with sim.run_test(size=(160, 48)) as pilot:
        bar = sim.screen.query_one(KeyBar)
        await wait_until(pilot, lambda: "Pause" in bar.plain, "the simulation's keys")


def _incident(state: Path, name: str) -> Path:
    folder = incidents_dir(state) / name
    folder.mkdir(parents=True)
    journal = folder / JOURNAL_NAME
    journal.write_text("")
    return journal


def test_the_end_of_an_id_finds_its_incident(tmp_path: Path) -> None:
    one = _incident(tmp_path, "INC-20250121-142500-3971")
    _incident(tmp_path, "INC-20250121-152500-3971")
    assert resolve_journal("…42500-3971", state_dir=tmp_path) == one  # as the header shows it
    assert resolve_journal("42500-3971", state_dir=tmp_path) == one
    with pytest.raises(UnknownIncidentError, match="2 incidents end with 2500-3971"):
        resolve_journal("2500-3971", state_dir=tmp_path)
    with pytest.raises(UnknownIncidentError, match="unknown incident"):
        resolve_journal("ffff", state_dir=tmp_path)


async def test_the_key_bar_puts_the_focused_panels_keys_first() -> None:
    app = make_sim_app(start_clock=False)
    async with app.run_test(size=(80, 24)) as pilot:
        bar = app.screen.query_one(KeyBar)
        await wait_until(pilot, lambda: "Quit" in bar.plain, "the key bar")
        assert bar.plain.split()[:2] == ["q", "Quit"]  # nothing focused: the app's keys
        await pilot.press("6")
        await wait_until(pilot, lambda: bar.plain.split()[:1] != ["q"],
                         "the runbook pane's keys first")
        assert "Quit" not in bar.plain.split()[:4]
