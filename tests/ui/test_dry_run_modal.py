"""The destructive-step modal shows the executor's server-side dry run, off the event loop.

A fake executor declaring ``dry_run`` stands in for the live one (the kmock test in
tests/integration/test_dry_run_preview.py drives the real LiveExecutor); the simulator
declares no dry run and the modal shows no such line.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from runbook_harness import NotingHarness
from textual.widgets import Static

from cockpit.actions.executor import ActionResult, Capabilities, RunContext
from cockpit.actions.types import ResolvedAction
from cockpit.runbook.desk import DRY_RUN_LINE_MAX, dry_run_line
from cockpit.runbook.engine import StepState
from screens.step_confirm import StepConfirm

SIZE = (80, 24)


class DryRunExecutor:
    """The harness's simulator for runs, plus a scripted ``dry_run`` that can be held."""

    capabilities = Capabilities(dry_run=True)

    def __init__(self, inner: Any, result: ActionResult | None = None,
                 raises: Exception | None = None) -> None:
        self.inner = inner
        self.result = result or ActionResult(True, "deployment.apps/frontend rolled back "
                                             "(server dry run): would go to revision 11, "
                                             "image registry/web:3.4.0")
        self.raises = raises
        self.release = threading.Event()
        self.release.set()
        self.asked: list[tuple[str, dict[str, Any], float]] = []
        self.ran: list[str] = []

    def run(self, action: ResolvedAction, ctx: RunContext) -> ActionResult:
        self.ran.append(action.type)
        return self.inner.run(action, ctx)

    def dry_run(self, action: ResolvedAction, ctx: RunContext) -> ActionResult:
        self.asked.append((action.type, dict(action.params), ctx.remaining()))
        self.release.wait(10)
        if self.raises is not None:
            raise self.raises
        return self.result


class DryRunHarness(NotingHarness):
    def __init__(self, executor_factory: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.executor = executor_factory(self.executor)


def keys(text: str) -> list[str]:
    return ["space" if c == " " else c for c in text]


async def open_undo_modal(pilot: Any) -> StepConfirm:
    """Open frontend-kubernetes, run its first check, and press enter on the undo step."""
    await pilot.press("p", *keys("frontend-kubernetes"), "enter")
    await pilot.pause()
    await pilot.press("enter")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.press("enter")
    modal = pilot.app.screen
    assert isinstance(modal, StepConfirm)
    return modal


def line(modal: StepConfirm) -> str:
    return str(modal.query_one("#confirm-dry-run", Static).render())


async def wait_for(pilot: Any, check: Any, within_s: float = 30.0) -> bool:
    """Until ``check()`` (30 s of wall clock at most: a loaded machine is slow)."""
    deadline = time.monotonic() + within_s
    while not check():
        if time.monotonic() > deadline:
            return bool(check())
        await pilot.pause(0.02)
    return True


async def test_ok_dry_run_shows_what_would_change_and_runs_nothing() -> None:
    def held(inner: Any) -> DryRunExecutor:
        executor = DryRunExecutor(inner)
        executor.release.clear()
        return executor

    app = DryRunHarness(held)
    async with app.run_test(size=SIZE) as pilot:
        app.desk.dry_run_timeout_s = 600  # never "no answer" in this test
        modal = await open_undo_modal(pilot)
        await pilot.pause()
        assert line(modal) == "server dry run: asking the server…"
        app.executor.release.set()
        assert await wait_for(pilot, lambda: "ok" in line(modal)), line(modal)
        assert line(modal) == ("server dry run: ok · deployment.apps/frontend rolled back: "
                               "would go to revision 11, image registry/web:3.4.0")
        (asked,) = app.executor.asked
        assert asked[0] == "k8s.rollout_undo" and asked[1]["deployment"] == "frontend"
        assert 0 < asked[2] <= 600  # the context carries the desk's deadline
        assert "k8s.rollout_undo" not in app.executor.ran
        await pilot.press("escape")
        assert app.panel.run.state("undo").state is StepState.READY
        assert app.estate.cluster_snapshot().deployment("frontend").version == "3.4.1"


async def test_refused_dry_run_names_the_reason_redacted() -> None:
    refused = ActionResult(False, "error: admission webhook denied", (),
                           'admission webhook "freeze.example" denied the request: change '
                           "freeze until Friday (ask jane.doe@example.org)")
    app = DryRunHarness(lambda inner: DryRunExecutor(inner, refused))
    async with app.run_test(size=SIZE) as pilot:
        modal = await open_undo_modal(pilot)
        assert await wait_for(pilot, lambda: "refused" in line(modal)), line(modal)
        assert line(modal).startswith('server dry run: refused: admission webhook '
                                      '"freeze.example" denied the request: change freeze')
        assert "jane.doe@example.org" not in line(modal)


async def test_an_executor_error_is_one_line_not_a_crash() -> None:
    app = DryRunHarness(lambda inner: DryRunExecutor(inner, raises=OSError("no route")))
    async with app.run_test(size=SIZE) as pilot:
        modal = await open_undo_modal(pilot)
        assert await wait_for(pilot, lambda: "failed" in line(modal)), line(modal)
        assert line(modal) == "server dry run: failed: OSError: no route"


async def test_a_hanging_dry_run_never_blocks_the_modal_and_says_so() -> None:
    def held(inner: Any) -> DryRunExecutor:
        executor = DryRunExecutor(inner)
        executor.release.clear()
        return executor

    app = DryRunHarness(held)
    async with app.run_test(size=SIZE) as pilot:
        app.desk.dry_run_timeout_s = 0.2  # this test only
        modal = await open_undo_modal(pilot)
        assert await wait_for(pilot, lambda: "no answer" in line(modal)), line(modal)
        assert line(modal) == "server dry run: no answer within 0.2s"
        # the keys work while the dry run still hangs: confirm and run the step
        await pilot.press(*keys("frontend"), "enter", *keys("Dana Reyes"), "enter")
        assert not isinstance(app.screen, StepConfirm)
        app.executor.release.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.panel.run.state("undo").state is StepState.DONE
        assert app.executor.ran.count("k8s.rollout_undo") == 1
        # what the engineer saw of the dry run when they confirmed is in the record
        (seen,) = [e["data"] for e in app.events if e["kind"] == "step.dry_run"]
        assert seen["step"] == "undo" and seen["result"] == (
            "server dry run: no answer within 0.2s")
        undo = [e["kind"] for e in app.events if e["data"].get("step") == "undo"]
        assert undo == ["step.dry_run", "step.started", "step.finished"]


async def test_the_simulator_has_no_dry_run_line() -> None:
    app = NotingHarness()
    async with app.run_test(size=SIZE) as pilot:
        modal = await open_undo_modal(pilot)
        assert not app.executor.capabilities.dry_run
        assert list(modal.query("#confirm-dry-run")) == []
        assert modal.dry_run_line == ""


def test_dry_run_lines_for_each_kind_of_answer() -> None:
    preview = ActionResult(True, "no server-side dry run for redis.flush; would run: "
                           "redis-cli FLUSHDB", (), "preview only")
    assert dry_run_line(preview, "redis.flush") == ("server dry run: not offered for "
                                                   "redis.flush (nothing sent)")
    assert dry_run_line(ActionResult(True, ""), "k8s.scale") == "server dry run: ok"
    quiet = ActionResult(False, "error: deployments.apps \"api\" not found")
    assert dry_run_line(quiet, "k8s.scale") == ('server dry run: refused: error: '
                                                'deployments.apps "api" not found')
    long = ActionResult(False, "", (), "denied: " + "x " * 300)
    assert len(dry_run_line(long, "k8s.scale")) == DRY_RUN_LINE_MAX
    assert "\n" not in dry_run_line(ActionResult(False, "", (), "a\nb"), "k8s.scale")
