"""The destructive-step modal asks the real LiveExecutor for a server-side dry run (kmock).

The runbook pane runs on its harness with the live executor pointed at kmock's
Kubernetes API on loopback: the first step reads the rollout history for real, and
pressing enter on the destructive undo sends one PATCH with ``dryRun=All`` before
anyone confirms. kmock ignores dry runs (it would store the patch: the real API server
admits and validates, then stores nothing), so the tests look at what was sent.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from kmock import Response
from live_helpers import executor
from test_live_executor_kubernetes import NS, load, mutations

from cockpit.config import Config, KubernetesSettings
from cockpit.runbook.engine import StepState

sys.path.insert(0, str(Path(__file__).parents[1] / "ui"))
from runbook_harness import FIXTURES, PaneHarness  # noqa: E402
from textual.widgets import Static  # noqa: E402

from screens.step_confirm import StepConfirm  # noqa: E402

SIZE = (80, 24)


class LiveHarness(PaneHarness):
    """The pane on the fixtures' api-undo runbook, with the live executor on kmock."""

    def __init__(self, kmock: Any, tmp_path: Path) -> None:
        super().__init__(folder=FIXTURES)
        settings = KubernetesSettings(host=str(kmock.url).rstrip("/"), namespace=NS,
                                      timeout_s=3.0)
        self.executor = executor(Config(kubernetes=settings), tmp_path)


async def undo_modal(pilot: Any) -> StepConfirm:
    app = pilot.app
    app.desk.open("api-undo")
    await pilot.pause()
    await pilot.press("enter")  # the history check, read from kmock
    await app.workers.wait_for_complete()
    await pilot.pause()
    assert app.panel.run.state("history").state is StepState.DONE, app.pane_text()
    await pilot.press("enter")
    assert isinstance(app.screen, StepConfirm)
    return app.screen


async def dry_line(pilot: Any, modal: StepConfirm) -> str:
    for _ in range(300):
        text = str(modal.query_one("#confirm-dry-run", Static).render())
        if not text.endswith("asking the server…"):
            return text
        await pilot.pause(0.02)
    raise AssertionError("the dry run never answered")


async def test_the_modal_shows_the_servers_dry_run_of_the_undo(kmock: Any, tmp_path) -> None:
    load(kmock)
    app = LiveHarness(kmock, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        modal = await undo_modal(pilot)
        text = await dry_line(pilot, modal)
        assert text == ("server dry run: ok · deployment.apps/api rolled back: would go to "
                        "revision 6, image reg.example/api:v2.0.0")
        (patch,) = mutations(kmock)
        assert patch.params.get("dryRun") == "All"
        await pilot.press("escape")
        await pilot.pause()
        assert app.panel.run.state("undo").state is StepState.READY
        assert "step.started" not in [e["kind"] for e in app.events
                                      if e["data"].get("step") == "undo"]
    app.executor.close()


async def test_an_admission_refusal_is_shown_before_anyone_confirms(kmock: Any, tmp_path) -> None:
    load(kmock)
    kmock[f"patch /apis/apps/v1/namespaces/{NS}/deployments/api"] << Response(
        status=403, payload={
            "kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Forbidden",
            "message": 'admission webhook "freeze.example.org" denied the request: '
                       "production is frozen", "code": 403})
    app = LiveHarness(kmock, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        modal = await undo_modal(pilot)
        text = await dry_line(pilot, modal)
        assert text.startswith("server dry run: refused: ")
        assert 'admission webhook "freeze.example.org" denied the request: production is ' \
               "frozen" in text
        (patch,) = mutations(kmock)
        assert patch.params.get("dryRun") == "All"
    app.executor.close()
