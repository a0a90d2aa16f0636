"""The war room in Textual's pilot: panels, groups at 80x24, STALE sources, rollout undo."""

from __future__ import annotations

import threading

from pilot_wait import settle, wait_until

from cockpit.app import CockpitApp, make_app, make_sim_app
from cockpit.domain import SOURCE_KINDS
from cockpit.sim.sources import SimSource
from widgets.metric_panel import MetricPanel
from widgets.pods_panel import PodsPanel
from widgets.source_panel import SourcePanel

PANEL_TITLES = ("Error rate", "Latency p95", "Endpoints", "Pods", "Database", "Cache",
                "Decision", "Runbook")


async def wait_for_data(app: CockpitApp, pilot) -> None:  # type: ignore[no-untyped-def]
    await settle(pilot)


def visible_titles(app: CockpitApp) -> set[str]:
    return {
        str(widget.border_title)
        for widget in app.screen.query("*")
        if widget.border_title and widget.display and widget.region.area > 0
    }


async def test_all_panels_show_at_once_on_a_big_terminal() -> None:
    app = make_sim_app(start_clock=False, advance_s=300)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for_data(app, pilot)
        assert set(PANEL_TITLES) <= visible_titles(app)
        error = app.screen.query_one("#error-rate", MetricPanel)
        assert "OVER 5.00%" in str(error.query_one(".metric-value").render())


async def test_small_terminal_shows_groups_switched_by_number_keys() -> None:
    app = make_sim_app(start_clock=False, advance_s=300)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_data(app, pilot)
        assert {"Error rate", "Latency p95", "Endpoints"} <= visible_titles(app)
        assert "Pods" not in visible_titles(app)
        for key, title in (("2", "Pods"), ("3", "Database"), ("4", "Cache"),
                           ("5", "Decision"), ("6", "Runbook"), ("1", "Error rate")):
            await pilot.press(key)
            await pilot.pause()
            assert title in visible_titles(app), key


async def test_help_opens_with_question_mark_and_closes_with_escape() -> None:
    app = make_sim_app(start_clock=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ == "WarRoomScreen"


class HangingSource(SimSource):
    """A database source whose client hangs until released."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.hang = threading.Event()
        self.release = threading.Event()

    def fetch(self):  # type: ignore[no-untyped-def]
        if self.hang.is_set():
            self.release.wait(10)
        return super().fetch()

    def close(self) -> None:
        self.release.set()


async def test_hung_source_shows_stale_while_others_keep_updating_and_recovers() -> None:
    seed_app = make_sim_app(start_clock=False, advance_s=120)
    estate = seed_app.estate  # type: ignore[attr-defined]
    sources = [SimSource(kind, estate, interval_s=0.05) for kind in SOURCE_KINDS]
    hanging = HangingSource("database", estate, interval_s=0.05, timeout_s=0.3)
    sources[SOURCE_KINDS.index("database")] = hanging
    app = make_app(sources, clock=estate.clock, start_clock=False)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for_data(app, pilot)
        hanging.hang.set()
        estate.clock.advance(60)
        database = app.screen.query_one("#database", SourcePanel)
        await wait_until(pilot, lambda: "STALE" in str(database.border_subtitle),
                         "the hanging database source to show STALE")
        assert "no answer after" in str(database.border_subtitle)
        assert database.has_class("-stale")
        # the other panels kept updating: their timestamps moved with the estate's clock
        cache = app.screen.query_one("#cache", SourcePanel)
        expected = f"{estate.now():%H:%M}Z"  # the border says the minute
        await wait_until(pilot, lambda: expected in str(cache.border_subtitle),
                         f"the cache panel's data of {expected}")
        # the source answers again: the panel recovers by itself
        hanging.hang.clear()
        hanging.release.set()
        await wait_until(pilot, lambda: "STALE" not in str(database.border_subtitle),
                         "the database panel to recover")
        assert not database.has_class("-stale")


async def test_rollout_undo_on_the_estate_shows_recovery_in_the_panels() -> None:
    app = make_sim_app(start_clock=False, advance_s=600)
    estate = app.estate  # type: ignore[attr-defined]
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for_data(app, pilot)
        error = app.screen.query_one("#error-rate", MetricPanel)
        assert "OVER" in str(error.query_one(".metric-value").render())
        estate.rollout_undo("api")
        estate.clock.advance(150)
        pods = app.screen.query_one("#pods", PodsPanel)

        def api_row() -> tuple[str, ...]:
            row = pods.deployment_row("api")
            return tuple(row.cells) if row is not None else ()

        def recovered() -> bool:
            # each source polls on its own interval: the metrics and the pods answer apart
            cells = api_row()
            return ("ok (limit" in str(error.query_one(".metric-value").render())
                    and len(cells) > 3 and cells[3] == "10/10" and cells[1] == "r9")

        await wait_until(pilot, recovered, "the error rate and the api's pods to recover")
        assert "ok (limit 5.00%)" in str(error.query_one(".metric-value").render())
        assert api_row()[1:4] == ("r9", "1.9.3", "10/10")


async def test_speed_keys_change_the_simulation_speed_within_bounds() -> None:
    app = make_sim_app(speed=30)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("plus")
        assert app.clock.speed == 60  # type: ignore[attr-defined]
        await pilot.press("plus")
        assert app.clock.speed == 60  # type: ignore[attr-defined]
        for _ in range(8):
            await pilot.press("minus")
        assert app.clock.speed == 1  # type: ignore[attr-defined]
