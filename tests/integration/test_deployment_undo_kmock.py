"""Undo to a chosen revision from the revision history, against the loopback Kubernetes
API (kmock) with the real ``kubernetes`` client; the history, events and logs read there.

The history modal sits over the runbook pane's harness with the live executor on kmock
as the desk's executor and reader: the history is the api Deployment's ReplicaSets, the
destructive modal shows the server's dry run of the undo (a PATCH with ``dryRun=All``:
kmock stores nothing for it only because the test looks at what was sent), and the
confirmed undo sends the selected revision's pod template, recorded with its revision.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from kmock import Response
from live_helpers import executor
from test_connector_kubernetes import deployment
from test_live_executor_kubernetes import NS, load, mutations

from cockpit.actions.inspect import InspectError
from cockpit.config import Config, KubernetesSettings
from cockpit.connectors.executor import LiveExecutor
from cockpit.runbook.engine import StepState

sys.path.insert(0, str(Path(__file__).parents[1] / "ui"))
from pilot_wait import wait_until  # noqa: E402
from runbook_harness import PaneHarness  # noqa: E402
from textual.widgets import DataTable, Static  # noqa: E402

from screens.revision_history import RevisionHistory  # noqa: E402
from screens.step_confirm import StepConfirm  # noqa: E402

SIZE = (80, 24)
UNDO_5 = "act/production/api/undo-5"


def live(kmock: Any, tmp_path: Path, read_only: bool = False) -> LiveExecutor:
    settings = KubernetesSettings(host=str(kmock.url).rstrip("/"), namespace=NS,
                                  timeout_s=3.0)
    return executor(Config(kubernetes=settings), tmp_path, read_only=read_only)


class LiveHistoryHarness(PaneHarness):
    """The runbook pane on the live executor (kmock), for the history modal to act through."""

    def __init__(self, kmock: Any, tmp_path: Path) -> None:
        super().__init__()
        self.executor = live(kmock, tmp_path)


def keys(text: str) -> list[str]:
    return ["space" if c == " " else c for c in text]


async def test_the_history_is_the_deployments_replicasets_with_the_template_diff(
        kmock: Any, tmp_path: Path) -> None:
    load(kmock)
    ex = live(kmock, tmp_path, read_only=True)  # reading needs no write
    history = await asyncio.to_thread(ex.read_history, "api", NS)
    ex.close()
    assert [(r.revision, r.version, r.change_cause, r.replica_set, r.running)
            for r in history.revisions] == [
        (5, "1.9.0", "deploy v1.9.0", "api-rs5", False),
        (6, "2.0.0", "deploy v2.0.0", "api-rs6", False),
        (7, "2.1.0", "deploy v2.1.0", "api-rs7", True)]
    assert history.selector == "app=api" and history.replicas == 3
    diff = history.diff(5)
    assert diff[:2] == ["--- revision 7 (running)", "+++ revision 5"]
    assert "-    - image: reg.example/api:v2.1.0" in diff
    assert "+    - image: reg.example/api:v1.9.0" in diff
    assert not any("pod-template-hash" in line for line in diff)
    assert mutations(kmock) == []


async def test_undo_to_the_selected_revision_shows_the_dry_run_and_sends_its_template(
        kmock: Any, tmp_path: Path) -> None:
    load(kmock)
    rs5 = kmock.objects["apps/v1/replicasets", NS, "api-rs5"]
    expected = {**rs5["spec"]["template"]}
    expected["metadata"] = {"labels": {"app": "api"}}  # pod-template-hash stripped
    app = LiveHistoryHarness(kmock, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        modal = RevisionHistory("api", NS, app.executor, app.desk)
        await app.push_screen(modal)
        await wait_until(pilot, lambda: modal.history is not None, "the history from kmock")
        table = modal.query_one("#history-table", DataTable)
        assert [str(c) for c in table.get_row_at(0)][:3] == ["  7", "RUNNING", "v2.1.0"]
        await pilot.press("down")  # revision 5
        assert modal.selected is not None and modal.selected.revision == 5
        await pilot.press("u")
        await wait_until(pilot, lambda: isinstance(app.screen, StepConfirm), "the modal")
        confirm = app.screen
        assert isinstance(confirm, StepConfirm)
        assert confirm.preview == ("kubectl rollout undo deployment/api -n production "
                                   "--to-revision=5")

        def dry_line() -> str:
            return str(confirm.query_one("#confirm-dry-run", Static).render())

        await wait_until(pilot, lambda: not dry_line().endswith("asking the server…"),
                         "the server's dry run")
        assert dry_line() == ("server dry run: ok · deployment.apps/api rolled back: would go "
                              "to revision 5, image reg.example/api:v1.9.0")
        (dry,) = mutations(kmock)
        assert dry.params.get("dryRun") == "All"
        # kmock applied the dry run (the real API server stores nothing): as it was
        kmock.objects["apps/v1/deployments", NS, "api"] = deployment(
            "api", 7, "reg.example/api:v2.1.0")
        await pilot.press(*keys("api"), "enter", *keys("Dana Reyes"), "enter")
        await wait_until(pilot, lambda: UNDO_5 in app.desk.runs and app.desk.run(UNDO_5)
                         .state("undo").state is StepState.DONE, "the undo")
        dry, sent = mutations(kmock)
        assert "dryRun" not in sent.params
        assert sent.headers["Content-Type"].startswith("application/json-patch+json")
        template_op = next(op for op in sent.data if op["path"] == "/spec/template")
        assert template_op["value"] == expected
        stored = kmock.objects["apps/v1/deployments", NS, "api"]["spec"]["template"]
        assert stored["spec"]["containers"][0]["image"] == "reg.example/api:v1.9.0"
        # the record: what the server said, what ran and on which revision, and who said yes
        recorded = {e["kind"]: e["data"] for e in app.events
                    if e["data"].get("runbook") == UNDO_5}
        assert recorded["step.dry_run"]["result"].endswith("would go to revision 5, image "
                                                           "reg.example/api:v1.9.0")
        assert recorded["step.started"]["preview"].endswith("--to-revision=5")
        assert recorded["step.started"]["approver"] == "Dana Reyes"
        assert "rolled back to revision 5 (reg.example/api:v1.9.0)" in \
            recorded["step.finished"]["output"]
        # the history read again: the template is revision 5's now
        await wait_until(pilot, lambda: modal.history is not None and modal.history.running
                         is not None and modal.history.running.revision == 5,
                         "the history read again")
    app.executor.close()


async def test_events_and_logs_are_read_redacted_and_tailed(kmock: Any, tmp_path: Path) -> None:
    load(kmock)
    kmock.objects["v1/events", NS, "api.1"] = {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "api.1", "namespace": NS},
        "involvedObject": {"kind": "Deployment", "name": "api", "namespace": NS},
        "type": "Normal", "reason": "ScalingReplicaSet",
        "message": "Scaled up replica set api-rs7 to 3", "lastTimestamp": "2025-01-21T14:20:00Z"}
    kmock.objects["v1/events", NS, "api-rs7-b.1"] = {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "api-rs7-b.1", "namespace": NS},
        "involvedObject": {"kind": "Pod", "name": "api-rs7-b", "namespace": NS},
        "type": "Warning", "reason": "BackOff",
        "message": "Back-off restarting failed container", "lastTimestamp": "2025-01-21T14:24:00Z"}
    kmock.objects["v1/events", NS, "frontend.1"] = {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "frontend.1", "namespace": NS},
        "involvedObject": {"kind": "Deployment", "name": "frontend", "namespace": NS},
        "type": "Normal", "reason": "ScalingReplicaSet", "message": "not about api",
        "lastTimestamp": "2025-01-21T14:21:00Z"}
    kmock[f"get /api/v1/namespaces/{NS}/pods/api-rs7-b/log"] << Response(
        payload=b"\x1b]0;owned\x07boot\nlookup patient ssn 123-45-6789\n\x1b[2Jdone\n",
        headers={"Content-Type": "text/plain"})
    ex = live(kmock, tmp_path, read_only=True)
    events = await asyncio.to_thread(ex.read_text, "deployment", "api", NS, "events")
    logs = await asyncio.to_thread(ex.read_text, "pod", "api-rs7-b", NS, "logs", tail=30)
    described = await asyncio.to_thread(ex.read_text, "deployment", "api", NS, "describe")
    pod_described = await asyncio.to_thread(ex.read_text, "pod", "api-rs7-b", NS, "describe")
    try:
        await asyncio.to_thread(ex.read_text, "pod", "gone", NS, "describe")
        raise AssertionError("a missing pod must fail")
    except InspectError as exc:
        assert str(exc).startswith('pods "gone" not found')
    ex.close()
    text = "\n".join(events.lines)
    assert "ScalingReplicaSet" in text and "deployment/api" in text
    assert "BackOff" in text and "pod/api-rs7-b" in text   # its pods' events too
    assert "not about api" not in text
    assert described.lines[0] == "Name:                   api"
    assert "Selector:               app=api" in described.lines
    assert "Pod Template:" in described.lines
    assert any("image: reg.example/api:v2.1.0" in line for line in described.lines)
    assert "    State:          Waiting (CrashLoopBackOff)" in pod_described.lines
    assert "    Restart Count:  4" in pod_described.lines
    assert logs.lines == ("[pod/api-rs7-b/api] boot",
                          "[pod/api-rs7-b/api] lookup patient ssn [REDACTED:ssn]",
                          "[pod/api-rs7-b/api] done")
    (sent,) = [r for r in list(kmock) if str(r.url.path).endswith("/log")]
    assert sent.params.get("tailLines") == "30"
    assert mutations(kmock) == []


async def test_rollout_restart_patches_that_deployment_only(kmock: Any, tmp_path: Path) -> None:
    from live_helpers import action, run

    from cockpit.actions.executor import RunContext

    load(kmock)
    ex = live(kmock, tmp_path)
    dry = await asyncio.to_thread(ex.dry_run, action("k8s.rollout_restart", deployment="api",
                                                     namespace=NS),
                                  RunContext(deadline=float("inf")))
    result, ctx = await asyncio.to_thread(run, ex, "k8s.rollout_restart", 30.0,
                                          deployment="api", namespace=NS)
    ex.close()
    assert dry.ok and "restarted (server dry run)" in dry.output
    assert result.ok and ctx.lines == ["deployment.apps/api restarted"]
    first, second = mutations(kmock)
    assert first.params.get("dryRun") == "All" and "dryRun" not in second.params
    assert {str(r.url.path) for r in (first, second)} == {
        f"/apis/apps/v1/namespaces/{NS}/deployments/api"}
    annotations = second.data["spec"]["template"]["metadata"]["annotations"]
    assert set(annotations) == {"kubectl.kubernetes.io/restartedAt"}
