"""The pods panel: deployments, problem pods first, a virtualised list that repaints only
what changed, keys that survive duplicates, a cursor that follows its pod; the ``/``
filter, the sort keys and the keys that ask for a deployment's history or a reading."""

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
        phase: str = "Running", age_s: float = 7200.0, reason: str = "", revision: int = 3,
        version: str = "1.4.2") -> PodInfo:
    return PodInfo(name, deployment, revision, version, ready, restarts, phase, age_s, reason)


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
        self.requests: list[tuple[Any, ...]] = []
        """What the panel asked the war room for: ("history", deployment, namespace) or
        ("inspect", kind, name, namespace, view)."""

    def compose(self) -> ComposeResult:
        yield PodsPanel(id="pods")

    def on_pods_list_cursor_moved(self, message: PodsList.CursorMoved) -> None:
        self.cursor_messages.append(message.row)

    def on_pods_panel_history_requested(self, message: PodsPanel.HistoryRequested) -> None:
        self.requests.append(("history", message.deployment, message.namespace))

    def on_pods_panel_inspect_requested(self, message: PodsPanel.InspectRequested) -> None:
        self.requests.append(("inspect", message.kind, message.name, message.namespace,
                              message.view))


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


# ---------------------------------------------------------------- filter, sort, keys

def estate_pods() -> list[PodInfo]:
    """A rollback's cluster: web (revision 3, 1.4.2) and api, half of it rolled to
    revision 8 (v2.1.0) and crashing, half still on revision 7 (v2.0.3); a worker on
    2.10.0 that a filter for 2.1 must not find."""
    pods = web_pods(6)
    pods += [pod(f"api-6f2f371000-new{i:02d}", deployment="api", revision=8, version="v2.1.0",
                 ready=False, restarts=i + 1, reason="CrashLoopBackOff", age_s=120.0 + i)
             for i in range(3)]
    pods += [pod(f"api-4c1b2a9d0e-old{i:02d}", deployment="api", revision=7, version="v2.0.3",
                 age_s=86_400.0 + i) for i in range(4)]
    pods.append(pod("worker-9a8b7c6d5e-qq111", deployment="worker", revision=12,
                    version="2.10.0", ready=False, phase="Pending", reason="ContainerCreating",
                    age_s=30.0))
    return pods


def rows_shown(listing: PodsList) -> list[str]:
    """The names in the list, top first: deployments, then pods."""
    rows = listing.rows
    return [rows.row(i).cells[0] for i in range(len(rows))]


async def type_filter(pilot: Any, text: str, *, then: str | None = "enter") -> None:
    await pilot.press("slash", *[{" ": "space"}.get(c, c) for c in text])
    if then:
        await pilot.press(then)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def focused_pods(pilot: Any, app: PodsApp, pods: list[PodInfo]) -> PodsList:
    await show(pilot, app, snapshot(pods))
    listing = shown(app)
    listing.focus()
    await pilot.pause()
    return listing


@pytest.mark.parametrize(("typed", "expected"), [
    # a pod's name: its suffix
    ("00004", ["web", "web-5d8f7c9b6a-00004"]),
    # a deployment: its summary and its pods
    ("worker", ["worker", "worker-9a8b7c6d5e-qq111"]),
    # status, phase and reason, any case; "not ready"
    ("crashloop", ["api"] + [f"api-6f2f371000-new{i:02d}" for i in (2, 1, 0)][::-1]),
    ("pending", ["worker", "worker-9a8b7c6d5e-qq111"]),
    ("not ready", ["api", "worker"] + [f"api-6f2f371000-new{i:02d}" for i in range(3)]
     + ["worker-9a8b7c6d5e-qq111"]),
    # a revision, as r7 or 7: exactly (not r70, not a 7 in a name)
    ("r7", ["api"] + [f"api-4c1b2a9d0e-old{i:02d}" for i in range(4)]),
    ("7", ["api"] + [f"api-4c1b2a9d0e-old{i:02d}" for i in range(4)]),
    # a version with or without its v; whole components: 2.1 is not 2.10.0
    ("v2.1.0", ["api"] + [f"api-6f2f371000-new{i:02d}" for i in range(3)]),
    ("2.1", ["api"] + [f"api-6f2f371000-new{i:02d}" for i in range(3)]),
    ("2.10", ["worker", "worker-9a8b7c6d5e-qq111"]),
    # two words: both must match
    ("api r8", ["api"] + [f"api-6f2f371000-new{i:02d}" for i in range(3)]),
    # ! before a word, as in k9s: what it does not match (the deployments' rows match)
    ("!running", ["web", "api", "worker", "worker-9a8b7c6d5e-qq111"]),
    ("api !r8", ["api"] + [f"api-4c1b2a9d0e-old{i:02d}" for i in range(4)]),
])
async def test_slash_filters_by_name_deployment_status_revision_or_version(
        typed: str, expected: list[str]) -> None:
    app = PodsApp()
    async with app.run_test(size=(100, 30)) as pilot:
        listing = await focused_pods(pilot, app, estate_pods())
        await type_filter(pilot, typed)
        assert rows_shown(listing) == expected
        panel = app.query_one(PodsPanel)
        pods = len([name for name in expected if name.count("-") >= 2])
        assert panel.title_text == f"Pods · /{typed} · {pods} of 14 pods"
        # enter kept the filter and gave the keys back to the list
        assert listing.has_focus
        assert f"/{typed} · " in str(panel.border_title)


async def test_typing_filters_live_and_escape_clears_the_filter() -> None:
    app = PodsApp()
    async with app.run_test(size=(80, 24)) as pilot:
        listing = await focused_pods(pilot, app, estate_pods())
        panel = app.query_one(PodsPanel)
        await type_filter(pilot, "api", then=None)
        # still typing: the list already shows the api, and the field has the keys
        assert rows_shown(listing)[0] == "api" and len(listing.rows) == 1 + 7
        assert panel.title_text == 'Pods · /api · 7 of 14 pods'
        assert not listing.has_focus
        await pilot.press("escape")
        await pilot.pause()
        assert len(listing.rows) == 3 + 14 and panel.title_text == "Pods"
        assert listing.has_focus
        # enter keeps it; escape on the list clears it too
        await type_filter(pilot, "worker")
        assert len(listing.rows) == 2 and listing.has_focus
        await pilot.press("escape")
        await pilot.pause()
        assert len(listing.rows) == 3 + 14 and panel.title_text == "Pods"
        # and / again edits the filter in place
        await type_filter(pilot, "web")
        await pilot.press("slash", "backspace", "backspace", "backspace", *"api", "enter")
        await pilot.pause()
        assert rows_shown(listing)[0] == "api" and panel.title_text.endswith("7 of 14 pods")


async def test_a_filter_that_matches_nothing_says_so() -> None:
    app = PodsApp()
    async with app.run_test(size=(80, 24)) as pilot:
        listing = await focused_pods(pilot, app, estate_pods())
        await type_filter(pilot, "zzz")
        assert len(listing.rows) == 0
        assert app.query_one(PodsPanel).title_text == 'Pods · /zzz · 0 of 14 pods'
        lines = screen_lines(listing)
        assert 'No pod matches "zzz"' in lines[1] and "escape clears" in lines[1]
        # keys on an empty list ask for nothing
        await pilot.press("h", "i", "enter")
        await pilot.pause()
        assert app.requests == []


async def test_a_filter_keeps_up_with_new_snapshots() -> None:
    app = PodsApp()
    async with app.run_test(size=(80, 24)) as pilot:
        listing = await focused_pods(pilot, app, estate_pods())
        await type_filter(pilot, "crashloop")
        assert len(listing.rows) == 1 + 3
        # one more api pod starts crashing: it joins the filtered list
        pods = estate_pods()
        pods[9] = dataclasses.replace(pods[9], ready=False, restarts=1, reason="CrashLoopBackOff")
        await show(pilot, app, snapshot(pods))
        assert "api-4c1b2a9d0e-old00" in rows_shown(listing)
        assert app.query_one(PodsPanel).title_text.endswith("4 of 14 pods")


async def test_filtering_20000_pods_shows_the_right_count() -> None:
    app = PodsApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pods = web_pods(20_000)
        for i in range(0, 20_000, 1000):  # twenty crashing pods among them
            pods[i] = pod(pods[i].name, restarts=2, reason="CrashLoopBackOff")
        listing = await focused_pods(pilot, app, pods)
        await wait_until(pilot, lambda: len(listing.rows) == 20_001, "20,000 pods' rows")
        panel = app.query_one(PodsPanel)
        await type_filter(pilot, "crash")
        await wait_until(pilot, lambda: len(listing.rows) == 1 + 20, "the filtered rows")
        assert panel.title_text == 'Pods · /crash · 20 of 20,000 pods'
        # a name's digits: the pods whose name holds 1999 (01999, 11999, 19990-19999)
        await pilot.press("escape")
        await type_filter(pilot, "1999")
        await wait_until(pilot, lambda: panel.title_text == 'Pods · /1999 · 12 of '
                         "20,000 pods", "the second filter")
        assert rows_shown(listing)[1:3] == ["web-5d8f7c9b6a-01999", "web-5d8f7c9b6a-11999"]
        assert len(listing.rows) == 1 + 12
        await pilot.press("escape")
        await wait_until(pilot, lambda: len(listing.rows) == 20_001, "every row again")
        assert panel.title_text == "Pods"


def pod_names(listing: PodsList) -> list[str]:
    rows = listing.rows
    return [rows.row(i).cells[0] for i in range(len(rows.deployments), len(rows))]


async def test_shift_keys_sort_by_restarts_age_and_status_and_again_reverse() -> None:
    app = PodsApp()
    async with app.run_test(size=(120, 30)) as pilot:
        listing = await focused_pods(pilot, app, estate_pods())
        panel = app.query_one(PodsPanel)
        crashing = [f"api-6f2f371000-new{i:02d}" for i in range(3)]
        old = [f"api-4c1b2a9d0e-old{i:02d}" for i in range(4)]
        web = [f"web-5d8f7c9b6a-{i:05d}" for i in range(6)]
        pending = "worker-9a8b7c6d5e-qq111"
        # the default: problem pods first, in the source's order
        assert pod_names(listing) == crashing + [pending] + web + old

        await pilot.press("R")
        await pilot.pause()
        # most restarts first; the problem pods stay first
        assert pod_names(listing) == crashing[::-1] + [pending] + web + old
        assert panel.title_text == "Pods · sort: restarts, most first"
        # the sorted column's heading ends in its arrow (at 120 columns: RESTART↓)
        assert screen_lines(listing)[0].split()[4] == "RESTART↓"
        await pilot.press("R")
        await pilot.pause()
        assert pod_names(listing) == [pending] + crashing + web + old
        assert panel.title_text == "Pods · sort: restarts, fewest first"
        assert "RESTART↑" in screen_lines(listing)[0]

        await pilot.press("A")
        await pilot.pause()
        # newest first, problems still first
        assert pod_names(listing) == [pending] + crashing + web + old
        assert panel.title_text == "Pods · sort: age, newest first"
        assert screen_lines(listing)[0].split()[-1] == "AGE↑"
        await pilot.press("A")
        await pilot.pause()
        assert pod_names(listing) == crashing[::-1] + [pending] + old[::-1] + web
        assert panel.title_text == "Pods · sort: age, oldest first"

        await pilot.press("S")
        await pilot.pause()
        # by status, A to Z, problems mixed in: ContainerCreating, CrashLoopBackOff, Running
        assert pod_names(listing) == [pending] + crashing + web + old
        assert panel.title_text == "Pods · sort: status, A to Z"
        assert "STATUS↑" in screen_lines(listing)[0]
        await pilot.press("S")
        await pilot.pause()
        assert pod_names(listing) == web + old + crashing + [pending]
        assert panel.title_text == "Pods · sort: status, Z to A"
        # the deployments' summaries stay on top
        assert rows_shown(listing)[:3] == ["web", "api", "worker"]


async def test_sort_and_filter_together_at_80_columns() -> None:
    app = PodsApp()
    async with app.run_test(size=(80, 24)) as pilot:
        listing = await focused_pods(pilot, app, estate_pods())
        await pilot.press("R")
        await type_filter(pilot, "api")
        panel = app.query_one(PodsPanel)
        assert panel.title_text == ('Pods · /api · 7 of 14 pods · '
                                    'sort: restarts, most first')
        # narrow: RESTARTS reads RST, the arrow replaces its last letter
        assert screen_lines(listing)[0].split()[4] == "RS↓"
        assert pod_names(listing)[0] == "api-6f2f371000-new02"
        # a long filter is cut in the title, never the count or the sort: it fits the
        # border at 80 columns
        await pilot.press("escape")
        await type_filter(pilot, "api-6f2f371000-new0")
        assert panel.title_text == ("Pods · /api-6f2f371… · 3 of 14 pods · "
                                    "sort: restarts, most first")
        assert len(panel.title_text) <= 80 - 6


async def test_keys_on_a_deployment_ask_for_its_history_and_readings() -> None:
    app = PodsApp()
    async with app.run_test(size=(80, 24)) as pilot:
        listing = await focused_pods(pilot, app, estate_pods())
        await pilot.press("down")  # the api's summary
        await pilot.pause()
        assert listing.cursor_row is not None and listing.cursor_row.deployment == "api"
        await pilot.press("enter", "h", "i", "v", "l")
        await pilot.pause()
        assert app.requests == [
            ("history", "api", "production"),
            ("history", "api", "production"),
            ("inspect", "deployment", "api", "production", "describe"),
            ("inspect", "deployment", "api", "production", "events"),
            ("inspect", "deployment", "api", "production", "logs"),
        ]


async def test_keys_on_a_pod_ask_for_its_readings_and_its_deployments_history() -> None:
    app = PodsApp()
    async with app.run_test(size=(80, 24)) as pilot:
        listing = await focused_pods(pilot, app, estate_pods())
        await pilot.press("down", "down", "down")  # the first problem pod
        await pilot.pause()
        name = "api-6f2f371000-new00"
        assert listing.cursor_row is not None and listing.cursor_row.pod == name
        await pilot.press("i", "v", "l", "enter", "h")
        await pilot.pause()
        assert app.requests == [
            ("inspect", "pod", name, "production", "describe"),
            ("inspect", "pod", name, "production", "events"),
            ("inspect", "pod", name, "production", "logs"),
            ("inspect", "pod", name, "production", "describe"),
            ("history", "api", "production"),
        ]


async def test_letters_typed_in_the_filter_are_text_not_keys() -> None:
    app = PodsApp()
    async with app.run_test(size=(80, 24)) as pilot:
        listing = await focused_pods(pilot, app, estate_pods())
        await type_filter(pilot, "hivl RAS", then=None)
        assert app.requests == [] and listing.rows.view.sort == ""
        assert app.query_one(PodsPanel).view.filter == "hivl RAS"


def test_the_pods_keys_leave_the_war_rooms_keys_alone() -> None:
    """q ? + - space s f x d o n u e and 1-6 work on the pods list as everywhere."""
    from textual.binding import Binding

    from cockpit.app import CockpitApp
    from screens.war_room import WarRoomScreen

    def keys(bindings: Any) -> set[str]:
        return {key.strip() for binding in bindings if isinstance(binding, Binding)
                for key in binding.key.split(",")}

    ours = keys(PodsPanel.BINDINGS) | keys(PodsList.BINDINGS)
    theirs = keys(CockpitApp.BINDINGS) | keys(WarRoomScreen.BINDINGS)
    assert {"slash", "h", "i", "v", "l", "R", "A", "S", "enter"} <= ours
    assert not ours & theirs
    panel_bindings = [b for b in PodsPanel.BINDINGS if isinstance(b, Binding)]
    assert all(b.id and b.id.startswith("pods.") and b.description for b in panel_bindings)


async def test_the_key_bar_lists_the_pods_keys_when_the_list_has_the_focus() -> None:
    from widgets.key_bar import KeyBar

    class WithKeys(PodsApp):
        def compose(self) -> ComposeResult:
            yield PodsPanel(id="pods")
            yield KeyBar()

    app = WithKeys()
    async with app.run_test(size=(80, 24)) as pilot:
        await focused_pods(pilot, app, estate_pods())  # type: ignore[arg-type]
        await pilot.pause()
        bar = str(app.query_one(KeyBar).render_line(0).text)
        for words in ("/ Filter", "h History", "i Describe", "v Events", "l Logs"):
            assert words in bar
        assert "Clear filter" not in bar  # nothing to clear



async def test_a_filter_that_looks_like_markup_is_shown_as_typed() -> None:
    app = PodsApp()
    async with app.run_test(size=(80, 24)) as pilot:
        listing = await focused_pods(pilot, app, estate_pods())
        await type_filter(pilot, "[b]x")
        panel = app.query_one(PodsPanel)
        assert panel.title_text == "Pods · /[b]x · 0 of 14 pods"
        assert 'No pod matches "[b]x"' in screen_lines(listing)[1]
        # the border shows the brackets, not bold text
        assert str(panel.border_title).replace("\\[", "[") == "Pods · /[b]x · 0 of 14 pods"
