"""Describe, events and logs of a deployment or a pod (i, v, l in the Pods panel): the
reader on the simulated estate, with search, the last N lines and follow."""

from __future__ import annotations

from typing import Any

from textual.app import App
from textual.widgets import Static

from cockpit.clock import SimClock
from cockpit.sim.estate import SimEstate
from cockpit.sim.executor import SimExecutor
from cockpit.sim.scenario import find_scenario
from screens.resource_view import ResourceView
from tests.ui.pilot_wait import wait_until

SIZE = (80, 24)
NS = "production"


class ReaderApp(App[None]):
    """The reader alone over an empty screen, on the bad-deploy estate 5 minutes in."""

    def __init__(self) -> None:
        super().__init__()
        scenario = find_scenario("bad-deploy")
        self.clock = SimClock(scenario.start, 1.0)
        self.estate = SimEstate(scenario, seed=7, clock=self.clock)
        self.clock.advance(300)
        self.sim = SimExecutor(self.estate, sleep=lambda _s: None)


async def open_reader(pilot: Any, kind: str, name: str, view: str,
                      **kwargs: Any) -> ResourceView:
    reader = ResourceView(pilot.app.sim, kind, name, NS, view, **kwargs)
    await pilot.app.push_screen(reader)
    await wait_until(pilot, lambda: reader.reads > 0, f"the {view} read")
    return reader


def status(reader: ResourceView) -> str:
    return str(reader.query_one("#reader-status", Static).render())


def shown(reader: ResourceView) -> str:
    return str(reader.query_one("#reader-text", Static).render())


async def test_logs_are_searched_with_slash_and_stepped_with_n() -> None:
    app = ReaderApp()
    async with app.run_test(size=SIZE) as pilot:
        reader = await open_reader(pilot, "deployment", "api", "logs")
        assert reader.lines and all(line.startswith("[pod/api-") for line in reader.lines[1:])
        errors = [i for i, line in enumerate(reader.lines) if "ERROR" in line]
        assert errors, "the bad version logs its errors"
        await pilot.press("slash", *"error", "enter")
        await pilot.pause()
        assert reader.matches == errors
        assert f"'error': match 1/{len(errors)}" in status(reader)
        # the current match is marked in words on screen, not by colour alone
        assert f"▶ {reader.lines[errors[0]]}" in shown(reader)
        await pilot.press("n")
        assert f"'error': match 2/{len(errors)}" in status(reader)
        await pilot.press("N", "N")
        assert f"'error': match {len(errors)}/{len(errors)}" in status(reader)
        await pilot.press("slash", *"nothing-like-this", "enter")
        await pilot.pause()
        assert "'nothing-like-this': no match" in status(reader)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ResourceView)


async def test_t_reads_more_of_the_last_lines_and_escape_leaves_the_search_first() -> None:
    app = ReaderApp()
    async with app.run_test(size=SIZE) as pilot:
        reader = await open_reader(pilot, "deployment", "api", "logs", tail=50)
        assert len(reader.lines) <= 50 and "last 50 asked" in status(reader)
        before = reader.reads
        await pilot.press("t")
        await wait_until(pilot, lambda: reader.reads > before, "the logs read again")
        assert "last 200 asked" in status(reader) and len(reader.lines) > 50
        await pilot.press("slash")
        await pilot.press("escape")  # leaves the search field, not the reader
        await pilot.pause()
        assert app.screen is reader


async def test_follow_reads_the_logs_again_as_time_moves() -> None:
    app = ReaderApp()
    async with app.run_test(size=SIZE) as pilot:
        reader = await open_reader(pilot, "deployment", "api", "logs",
                                   follow_every_s=0.05)
        first = reader.lines
        await pilot.press("f")
        assert "FOLLOWING" in status(reader)
        app.clock.advance(60)
        await wait_until(pilot, lambda: reader.lines != first, "new lines while following")
        assert reader.lines[-1] != first[-1]
        await pilot.press("f")
        assert "follow off" in status(reader)


async def test_events_tell_what_happened_to_the_deployment() -> None:
    app = ReaderApp()
    async with app.run_test(size=SIZE) as pilot:
        app.estate.rollout_undo("api", 7)
        app.clock.advance(5)
        reader = await open_reader(pilot, "deployment", "api", "events")
        text = "\n".join(reader.lines)
        assert reader.lines[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "MESSAGE"]
        assert 'Rolled back deployment "api" to revision 7 (1.9.3), now revision 9' in text
        assert "Pulling image \"registry.whitecross.health/api:1.9.3\"" in text
        await pilot.press("f")  # only logs are followed
        await pilot.pause()
        assert "only logs are followed, not the events" in status(reader)


async def test_describe_of_a_pod_and_a_missing_one_is_one_line() -> None:
    app = ReaderApp()
    async with app.run_test(size=SIZE) as pilot:
        pod = next(p for p in app.estate.cluster_snapshot().pods if p.deployment == "api")
        reader = await open_reader(pilot, "pod", pod.name, "describe")
        assert reader.lines[0] == f"Name:             {pod.name}"
        assert any(line.strip().startswith("Image:") and "api:2.0.0" in line
                   for line in reader.lines)
        await pilot.press("escape")
        await pilot.pause()
        missing = await open_reader(pilot, "pod", "api-gone-xxxxx", "describe")
        assert shown(missing) == 'cannot read the describe: pods "api-gone-xxxxx" not found'
