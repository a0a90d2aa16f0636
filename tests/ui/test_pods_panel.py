"""The pods panel: deployments, problem pods first, a virtualised list that repaints only
what changed, keys that survive duplicates, a cursor that follows its pod."""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.geometry import Region

from cockpit.domain import ClusterSnapshot, DeploymentInfo, PodInfo
from tests.ui.pilot_wait import wait_until
from widgets.pods_panel import PodsList, PodsPanel

AT = datetime(2025, 1, 21, 14, 25, tzinfo=UTC)


def pod(name: str, *, deployment: str = "web", ready: bool = True, restarts: int = 0,
        phase: str = "Running", age_s: float = 7200.0, reason: str = "") -> PodInfo:
    return PodInfo(name, deployment, 3, "1.4.2", ready, restarts, phase, age_s, reason)


def web_pods(count: int) -> list[PodInfo]:
    # the Kubernetes shape: deployment, 10-character template hash, 5-character suffix
    return [pod(f"web-5d8f7c9b6a-{i:05d}") for i in range(count)]


def snapshot(pods: list[PodInfo], *, at: datetime = AT) -> ClusterSnapshot:
    by_dep: dict[str, list[PodInfo]] = {}
    for p in pods:
        by_dep.setdefault(p.deployment, []).append(p)
    deployments = tuple(
        DeploymentInfo(name, "production", 3, "1.4.2", f"registry/{name}:1.4.2", len(members),
                       sum(p.ready for p in members), len(members))
        for name, members in by_dep.items())
    return ClusterSnapshot(at, "production", deployments, tuple(pods))


class PodsApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.cursor_messages: list[Any] = []

    def compose(self) -> ComposeResult:
        yield PodsPanel(id="pods")

    def on_pods_list_cursor_moved(self, message: PodsList.CursorMoved) -> None:
        self.cursor_messages.append(message.row)


def shown(app: PodsApp) -> PodsList:
    return app.query_one(PodsList)


async def show(pilot: Any, app: PodsApp, snap: ClusterSnapshot) -> None:
    app.query_one(PodsPanel).show_snapshot(snap)
    await app.workers.wait_for_complete()
    await pilot.pause()


def screen_lines(listing: PodsList) -> list[str]:
    return [listing.render_line(y).text for y in range(listing.scrollable_content_region.height)]


class RefreshSpy:
    """Every region the list asks to repaint (a call without regions is the whole list)."""

    def __init__(self, listing: PodsList) -> None:
        self.regions: list[Region | None] = []
        original = listing.refresh

        def refresh(*regions: Region, **kwargs: Any) -> Any:
            self.regions.extend(regions or [None])
            return original(*regions, **kwargs)

        listing.refresh = refresh  # type: ignore[method-assign]


async def test_an_unchanged_snapshot_refreshes_nothing() -> None:
    app = PodsApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pods = web_pods(30) + [pod("api-0a1b2c3d4e-zzzzz", deployment="api", ready=False,
                                   phase="Pending", reason="ContainerCreating")]
        await show(pilot, app, snapshot(pods))
        spy = RefreshSpy(shown(app))
        # the same numbers polled again: a new snapshot object, equal to the last
        await show(pilot, app, snapshot([dataclasses.replace(p) for p in pods]))
        await show(pilot, app, snapshot(pods))
        assert spy.regions == []
        assert "0/1 NOT READY" in "\n".join(screen_lines(shown(app)))


async def test_a_change_in_one_pod_refreshes_only_its_cells() -> None:
    app = PodsApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pods = web_pods(40)
        await show(pilot, app, snapshot(pods))
        listing = shown(app)
        before = screen_lines(listing)
        spy = RefreshSpy(listing)
        changed = list(pods)
        changed[4] = dataclasses.replace(pods[4], age_s=7300.0)  # 2h00m -> 2h01m
        await show(pilot, app, snapshot(changed))
        after = screen_lines(listing)
        differ = [y for y, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
        assert len(differ) == 1 and "2h01m" in after[differ[0]]
        assert len(spy.regions) == 1
        region = spy.regions[0]
        assert region is not None and region.y == differ[0] and region.height == 1
        # only the cells that changed: the AGE column, not the whole line
        assert region.width < listing.scrollable_content_region.width // 4
        assert after[differ[0]][region.x:region.right].strip() == "2h01m"


async def test_a_duplicate_pod_key_is_survived_logged_once_and_both_rows_shown(
        caplog: Any) -> None:
    app = PodsApp()
    async with app.run_test(size=(80, 24)) as pilot:
        twin = "web-5d8f7c9b6a-00002"
        pods = web_pods(5) + [pod(twin, restarts=3)]
        with caplog.at_level(logging.WARNING, logger="widgets.pods_panel"):
            await show(pilot, app, snapshot(pods))
            await show(pilot, app, snapshot(pods, at=datetime(2025, 1, 21, 14, 26, tzinfo=UTC)))
        listing = shown(app)
        rows = listing.rows
        keys = [rows.key(i) for i in range(len(rows))]
        assert len(keys) == len(set(keys)) == 1 + 6  # the deployment and six pods
        assert f"production/{twin}" in keys and f"production/{twin}#2" in keys
        text = "\n".join(screen_lines(listing))
        assert text.count(twin) == 2
        warnings = [r for r in caplog.records if "duplicate" in r.getMessage()]
        assert len(warnings) == 1 and twin in warnings[0].getMessage()


async def test_problem_pods_come_before_healthy_ones_after_the_deployments() -> None:
    app = PodsApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pods = web_pods(10)
        pods[6] = pod("web-5d8f7c9b6a-crash", restarts=4)
        pods[8] = pod("web-5d8f7c9b6a-pendg", ready=False, phase="Pending",
                      reason="ContainerCreating")
        await show(pilot, app, snapshot(pods))
        lines = screen_lines(shown(app))
        assert lines[0].split()[:2] == ["NAME", "REV"]
        assert lines[1].split()[0] == ">web" and "10" in lines[1] and "2 PROBLEMS" in lines[1]
        assert "crash" in lines[2] and "pendg" in lines[3]
        assert "0/1 NOT READY" in lines[3]
        assert all("1/1" in line for line in lines[4:12])


async def test_20000_pods_show_and_end_scrolls_to_the_last_pod() -> None:
    app = PodsApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pods = web_pods(20_000)
        await show(pilot, app, snapshot(pods))
        listing = shown(app)
        await wait_until(pilot, lambda: len(listing.rows) == 20_001, "20,000 pods' rows")
        assert pods[0].name in "\n".join(screen_lines(listing))
        listing.focus()
        await pilot.press("end")
        await pilot.pause()
        assert listing.cursor_row is not None and listing.cursor_row.pod == pods[-1].name
        lines = screen_lines(listing)
        assert any(line.startswith(">") and pods[-1].name in line for line in lines)
        assert app.cursor_messages[-1].pod == pods[-1].name
        await pilot.press("home")
        await pilot.pause()
        assert listing.cursor_row is not None and listing.cursor_row.kind == "deployment"
        assert listing.cursor_row.deployment == "web" and listing.cursor_row.pod is None


async def test_the_cursor_stays_on_its_pod_when_rows_above_it_change() -> None:
    app = PodsApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pods = web_pods(50)
        await show(pilot, app, snapshot(pods))
        listing = shown(app)
        listing.focus()
        for _ in range(9):
            await pilot.press("down")
        await pilot.press("pagedown")
        await pilot.pause()
        chosen = listing.cursor_row
        assert chosen is not None and chosen.pod is not None
        position = listing.cursor_index
        # two pods listed after it turn bad: they move to the top, above the cursor
        changed = list(pods)
        changed[40] = dataclasses.replace(pods[40], ready=False, phase="Pending")
        changed[45] = dataclasses.replace(pods[45], restarts=2)
        await show(pilot, app, snapshot(changed))
        assert listing.cursor_row == chosen
        assert listing.cursor_index == position + 2
        lines = screen_lines(listing)
        assert any(line.startswith(">") and chosen.pod in line for line in lines)
        # and when its own pod goes away, the cursor stays where it was, on a row
        gone = [p for p in changed if p.name != chosen.pod]
        await show(pilot, app, snapshot(gone))
        assert listing.cursor_row is not None and listing.cursor_row.pod != chosen.pod
        assert listing.cursor_index == position + 2


async def test_a_rollout_and_problems_are_said_in_words_and_hostile_names_are_inert() -> None:
    app = PodsApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pods = web_pods(7) + [
            pod(f"web-5d8f7c9b6a-new0{i}", ready=False, phase="Pending",
                reason="ContainerCreating", age_s=5) for i in range(3)]
        pods.append(pod("web-\x1b]52;c;aGk=\x07\x1b[2Jevil" + "x" * 5000))
        snap = snapshot(pods)
        rolling = dataclasses.replace(snap.deployments[0], desired=10, ready=7, updated=3)
        await show(pilot, app, dataclasses.replace(snap, deployments=(rolling,)))
        panel = app.query_one(PodsPanel)
        row = panel.deployment_row("web")
        assert row is not None
        assert row.cells[3] == "7/10 ROLLING" and row.cells[5] == "3 PROBLEMS"
        text = "\n".join(screen_lines(shown(app)))
        assert "7/10 ROLLING" in text and text.count("0/1 NOT READY") == 3
        assert "ContainerCreating" in text
        assert "\x1b" not in text and "\x07" not in text
        assert all(len(line) <= 80 for line in text.splitlines())



async def test_a_large_snapshot_is_let_go_once_a_newer_one_is_shown(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Not kept for the next full garbage collection by the worker that built its rows: in
    the real cockpit a finished Worker sits in a reference cycle (its task's context
    holds it), 20,000-pod snapshots piled up behind them and every full collection walked
    them with the GIL held. Here the workers are kept alive outright."""
    import gc
    import weakref

    from textual.worker_manager import WorkerManager

    kept: list[object] = []
    add_worker = WorkerManager.add_worker

    def keep(self: WorkerManager, worker: Any, *args: Any, **kwargs: Any) -> None:
        kept.append(worker)
        add_worker(self, worker, *args, **kwargs)

    monkeypatch.setattr(WorkerManager, "add_worker", keep)
    app = PodsApp()
    async with app.run_test(size=(80, 24)) as pilot:
        gc.disable()
        try:
            old = snapshot(web_pods(3_000))
            await show(pilot, app, old)
            gone = weakref.ref(old)
            del old
            newer = snapshot([dataclasses.replace(p, age_s=p.age_s + 2)
                              for p in web_pods(3_000)])
            await show(pilot, app, newer)
            await wait_until(pilot, lambda: shown(app).rows.pods[0].age_s == 7202.0,
                             "the newer snapshot's rows")
            assert kept, "the rows were built in a worker"
            assert gone() is None, "the old snapshot is still referenced"
        finally:
            gc.enable()
