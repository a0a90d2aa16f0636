"""Repaint only what changed: what a slow SSH link notices as bytes it did not have to carry."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from textual.widget import Widget

from cockpit.app import make_sim_app
from cockpit.domain import MetricsSnapshot
from tests.ui.pilot_wait import wait_until
from widgets.incident_header import IncidentHeader
from widgets.metric_panel import MetricPanel, Spark


def count_refreshes(app: object) -> list[str]:
    """Every refresh a widget of the app asks for from now on, by widget."""
    asked: list[str] = []
    original = Widget.refresh

    def spy(self: Widget, *regions: object, **kwargs: object) -> Widget:
        if self.app is app:
            asked.append(f"{type(self).__name__}#{self.id}")
        return original(self, *regions, **kwargs)  # type: ignore[arg-type]

    Widget.refresh = spy  # type: ignore[method-assign]
    return asked


async def test_pause_stops_every_repaint() -> None:
    app = make_sim_app(speed=10)
    original = Widget.refresh
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(pilot, app.has_first_data, "the first data")
            await pilot.press("space")
            await wait_until(pilot, lambda: "PAUSED" in app.screen.query_one(
                IncidentHeader).plain, "the header to say PAUSED")
            def all_answered_the_paused_estate() -> bool:
                return all(poller.answered(poller.source.revision())
                           for poller in app.pollers.values())

            await wait_until(pilot, all_answered_the_paused_estate,
                             "every source to answer the paused estate once")
            await pilot.pause(0.3)  # and what they said to be drawn
            asked = count_refreshes(app)
            await pilot.pause(2.5)  # ten ticks, two and a half polls of every source
            assert asked == []
            await pilot.press("space")  # and it moves again
            await wait_until(pilot, lambda: asked, "a repaint once the estate moves")
    finally:
        Widget.refresh = original  # type: ignore[method-assign]


async def test_a_poll_that_brings_the_same_numbers_repaints_nothing() -> None:
    app = make_sim_app(start_clock=False, advance_s=300)
    original = Widget.refresh
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(pilot, app.has_first_data, "the first data")
            panel = app.screen.query_one("#error-rate", MetricPanel)
            status = app.runtime.statuses["metrics"]
            snapshot = status.snapshot
            assert isinstance(snapshot, MetricsSnapshot)
            asked = count_refreshes(app)
            # the same numbers, read ten seconds later within the same minute
            later = replace(snapshot, at=snapshot.at.replace(second=min(
                snapshot.at.second + 10, 59)))
            panel.show_status(replace(status, snapshot=later))
            await pilot.pause()
            assert asked == []
            # one new point: the sparkline repaints its last column, nothing else
            at, value = snapshot.error_rate_pct.points[-1]
            grown = replace(later, error_rate_pct=replace(
                snapshot.error_rate_pct,
                points=(*snapshot.error_rate_pct.points, (at + timedelta(seconds=1), value))))
            spark = panel.query_one(Spark)
            regions: list[object] = []
            spark_refresh = spark.refresh
            spark.refresh = lambda *r, **kw: (regions.extend(r), spark_refresh(*r, **kw))[1]  # type: ignore[method-assign]
            panel.show_status(replace(status, snapshot=grown))
            assert all(region.width == 1 for region in regions)  # type: ignore[attr-defined]
    finally:
        Widget.refresh = original  # type: ignore[method-assign]


async def test_low_bandwidth_means_16_colours_and_metric_panels_at_most_every_5s(
        monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COCKPIT_LOW_BANDWIDTH", "1")
    app = make_sim_app(start_clock=False, advance_s=300)
    assert app.console.color_system == "standard"
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, app.has_first_data, "the first data")
        panel = app.screen.query_one("#error-rate", MetricPanel)
        await wait_until(pilot, lambda: panel.query_one(Spark).values, "the first numbers")
        shown = panel.query_one(Spark).values
        app.runtime.clock.advance(60)  # a minute of new points: the next poll brings them
        await pilot.pause(2.0)
        assert panel.query_one(Spark).values == shown  # held back: not 5 s yet
        await wait_until(pilot, lambda: panel.query_one(Spark).values != shown,
                         "the held-back numbers, drawn when 5 s have passed", within_s=8)
