"""Benchmark: the pods panel with 18, 5,000 and 20,000 pods, and the simulator behind it.

The event loop's stall is what an operator feels (the clock late, a key answered late).
A probe on the loop schedules itself every 5 ms with ``call_later`` and records how late
each call runs. It runs inside a Textual ``run_test`` app at 80x24 showing the real
``PodsPanel``, which is given a changed ``ClusterSnapshot`` every 2 s (the simulator's
``bad-deploy`` estate, ``api`` scaled to the pod count, its clock 2 s on each time, so
every pod's age changes), the snapshot read in a thread as the poller does.

Baselines from the same run: the same probe in a bare Textual app doing nothing, and,
for contrast, a plain ``DataTable`` given the same rows once. The simulator's time to
build a snapshot of 20,000 pods (first, again at the same instant, 2 s later) is set
against constructing 20,000 ``PodInfo`` objects, the floor any source pays, and so is
the poller's ``sanitize_value`` over it (every string of every pod checked).
The same again while the operator filters (``/`` and a term typed key by key), sorts
(``R`` ``A`` ``S``) and clears the filter: every one a rebuild of the rows.
Targets (issue 13): 5,000 pods every 2 s, max stall <= 50 ms; 20,000: <= 100 ms, no crash.
Not a test: nothing is asserted.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable

from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from cockpit.clock import SimClock
from cockpit.domain import ClusterSnapshot, PodInfo
from cockpit.sim.estate import SimEstate
from cockpit.sim.scenario import find_scenario
from cockpit.timeline.sanitize import sanitize_value
from widgets.pods_panel import PodsList, PodsPanel
from widgets.source_panel import format_age

SIZE = (80, 24)
PROBE_S = 0.005
EVERY_S = 2.0


def estate_with(pods: int) -> SimEstate:
    """bad-deploy seven minutes in, ``api`` scaled so the estate holds ``pods`` pods."""
    scenario = find_scenario("bad-deploy")
    others = sum(dep.replicas for dep in scenario.deployments if dep.name != "api")
    deployments = tuple(
        dataclasses.replace(dep, replicas=max(1, pods - others)) if dep.name == "api" else dep
        for dep in scenario.deployments)
    scenario = dataclasses.replace(scenario, deployments=deployments)
    estate = SimEstate(scenario, seed=7, clock=SimClock(scenario.start, 1))
    estate.clock.advance(420)
    return estate


class Probe:
    """Lateness of a 5 ms ``call_later`` chain on the running loop."""

    def __init__(self) -> None:
        self.late: list[float] = []
        self._due = 0.0
        self._running = False

    def start(self) -> None:
        self._running = True
        loop = asyncio.get_running_loop()
        self._due = loop.time() + PROBE_S
        loop.call_later(PROBE_S, self._tick)

    def _tick(self) -> None:
        if not self._running:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        self.late.append(max(0.0, now - self._due))
        self._due = now + PROBE_S
        loop.call_later(PROBE_S, self._tick)

    def stop(self) -> tuple[float, float]:
        """(max, p95) lateness in milliseconds."""
        self._running = False
        late = sorted(self.late) or [0.0]
        p95 = late[min(len(late) - 1, int(0.95 * len(late)))]
        return late[-1] * 1000, p95 * 1000


class PodsApp(App[None]):
    def compose(self) -> ComposeResult:
        yield PodsPanel(id="pods")


class BareApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("nothing happens here")


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield DataTable(id="table")


async def probed(app: App[None], seconds: float,
                 during: Callable[[App[None]], Awaitable[None]] | None = None
                 ) -> tuple[float, float]:
    """Run ``app`` at 80x24 for ``seconds`` with the probe on its loop."""
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        probe = Probe()
        probe.start()
        if during is not None:
            await during(app)
        else:
            await asyncio.sleep(seconds)
        figures = probe.stop()
    return figures


def feeder(estate: SimEstate, seconds: float, *, every_row: bool = True
           ) -> Callable[[App[None]], Awaitable[None]]:
    async def feed(app: App[None]) -> None:
        panel = app.query_one(PodsPanel)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            # read in a thread, as the poller does, then handed to the panel on the loop
            snapshot = await asyncio.to_thread(estate.cluster_snapshot)
            panel.show_snapshot(snapshot)
            estate.clock.advance(EVERY_S)
            await asyncio.sleep(min(EVERY_S, max(0.0, end - time.monotonic())))
        await app.workers.wait_for_complete()
        listing = app.query_one(PodsList)
        if every_row:  # not while a filter hides some
            assert len(listing.rows) >= len(snapshot.pods), "the rows never reached the list"
    return feed


def filtering(estate: SimEstate, seconds: float) -> Callable[[App[None]], Awaitable[None]]:
    """:func:`feeder`'s snapshots, and the operator at the list meanwhile: ``/`` then a
    filter typed a key every 120 ms, enter, then R, A, S and S again (each a rebuild of
    every row, in the worker above 2,000 pods), then escape."""
    feed = feeder(estate, seconds, every_row=False)

    async def operate(app: App[None]) -> None:
        pilot = Pilot(app)
        app.query_one(PodsList).focus()
        await asyncio.sleep(0.5)
        for key in ("slash", *"crash", "enter", "R", "A", "S", "S", "escape"):
            await pilot.press(key)
            await asyncio.sleep(0.12 if len(key) == 1 and key.islower() else 0.4)
        panel = app.query_one(PodsPanel)
        assert not panel.view.filter, "escape left the filter on"

    async def both(app: App[None]) -> None:
        await asyncio.gather(feed(app), operate(app))
    return both


def table_once(snapshot: ClusterSnapshot, seconds: float
               ) -> Callable[[App[None]], Awaitable[None]]:
    async def fill(app: App[None]) -> None:
        table: DataTable[str] = app.query_one(DataTable)
        await asyncio.sleep(0.2)
        for column in ("POD", "REV", "VERSION", "READY", "RESTARTS", "STATUS", "AGE"):
            table.add_column(column, key=column)
        table.add_rows(
            (p.name, str(p.revision), p.version, "1/1" if p.ready else "0/1 NOT READY",
             str(p.restarts), p.phase, format_age(p.age_s)) for p in snapshot.pods)
        await asyncio.sleep(seconds)
    return fill


def ratio(value: float, base: float) -> str:
    return f"{value / base:.1f}x" if base > 0 else "-"


def sim_figures(pods: int = 20_000) -> None:
    estate = estate_with(pods)
    started = time.perf_counter()
    first = estate.cluster_snapshot()
    first_s = time.perf_counter() - started
    started = time.perf_counter()
    again = estate.cluster_snapshot()
    again_s = time.perf_counter() - started
    estate.clock.advance(EVERY_S)
    started = time.perf_counter()
    later = estate.cluster_snapshot()
    later_s = time.perf_counter() - started
    template = first.pods[0]
    started = time.perf_counter()
    floor = [PodInfo(p.name, p.deployment, p.revision, p.version, p.ready, p.restarts,
                     p.phase, p.age_s + 2, p.reason) for p in later.pods]
    floor_s = time.perf_counter() - started
    assert len(floor) == len(later.pods) and again is first and template is not None
    started = time.perf_counter()
    checked = sanitize_value(later)
    sanitize_s = time.perf_counter() - started
    names = {p.name for p in later.pods}
    print(f"   simulator, {len(first.pods):,} pods: first snapshot {first_s * 1000:.0f} ms, "
          f"same instant {again_s * 1000:.2f} ms (the same object), "
          f"2 s later {later_s * 1000:.0f} ms ({ratio(later_s, floor_s)} of building "
          f"{len(floor):,} PodInfo: {floor_s * 1000:.0f} ms); names unique: "
          f"{len(names) == len(later.pods)}")
    print(f"   the poller's sanitize_value over that snapshot: {sanitize_s * 1000:.0f} ms "
          f"({ratio(sanitize_s, floor_s)} of building the PodInfo; nothing to change, the "
          f"same object back: {checked is later})")


def main(quick: bool = False) -> None:
    seconds = 3.0 if quick else 10.0
    counts = (5_000,) if quick else (18, 5_000, 20_000)
    bare_max, bare_p95 = asyncio.run(probed(BareApp(), seconds))
    print(f"   baseline, bare Textual app doing nothing: stall max {bare_max:.1f} ms, "
          f"p95 {bare_p95:.1f} ms ({seconds:.0f} s)")
    for count in counts:
        estate = estate_with(count)
        target = {5_000: 50.0, 20_000: 100.0}.get(count)
        worst, p95 = asyncio.run(probed(PodsApp(), seconds, feeder(estate, seconds)))
        verdict = "" if target is None else (
            f"; target <= {target:.0f} ms: {'met' if worst <= target else 'MISSED'}")
        print(f"   PodsPanel, {len(estate.cluster_snapshot().pods):,} pods, a changed snapshot "
              f"every {EVERY_S:.0f} s: stall max {worst:.1f} ms ({ratio(worst, bare_max)} "
              f"bare), p95 {p95:.1f} ms ({ratio(p95, bare_p95)} bare){verdict}")
    for count in (5_000,) if quick else (5_000, 20_000):
        estate = estate_with(count)
        target = {5_000: 50.0, 20_000: 100.0}[count]
        worst, p95 = asyncio.run(probed(PodsApp(), seconds, filtering(estate, seconds)))
        print(f"   PodsPanel, {len(estate.cluster_snapshot().pods):,} pods, snapshots as above "
              f"while / filters (typed), R A S sort and escape clears: stall max "
              f"{worst:.1f} ms ({ratio(worst, bare_max)} bare), p95 {p95:.1f} ms "
              f"({ratio(p95, bare_p95)} bare); target <= {target:.0f} ms: "
              f"{'met' if worst <= target else 'MISSED'}")
    for count in counts[-1:] if quick else (5_000, 20_000):
        snapshot = estate_with(count).cluster_snapshot()
        worst, p95 = asyncio.run(probed(TableApp(), 2.0, table_once(snapshot, 1.5)))
        print(f"   contrast, a plain DataTable given the {len(snapshot.pods):,} rows once: "
              f"stall max {worst:.0f} ms ({ratio(worst, bare_max)} bare)")
    sim_figures(5_000 if quick else 20_000)


if __name__ == "__main__":
    main()
