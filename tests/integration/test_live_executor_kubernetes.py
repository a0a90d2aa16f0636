"""The live executor's Kubernetes actions against kmock's API emulator on loopback.

kmock stores what it is sent but has no deployment controller, no label
selectors, no dry run and no scale subresource: where a test relies on one of
these, it says what the real API server does differently.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from kmock import Response
from live_helpers import Ctx, action, executor, run
from test_connector_kubernetes import NS, deployment, pod, replicaset

from cockpit.config import Config, KubernetesSettings
from cockpit.connectors.actions.kubernetes import KubernetesActions
from cockpit.connectors.executor import RESTARTED_AT, LiveExecutor
from cockpit.connectors.readonly import ReadOnlyError

VS = "networking.istio.io/v1/virtualservices"


def with_labels(obj: dict[str, Any], **labels: str) -> dict[str, Any]:
    obj["metadata"]["labels"] = labels
    return obj


def load(kmock: Any) -> None:
    objects = kmock.objects
    objects["apps/v1/deployments", NS, "api"] = deployment("api", 7, "reg.example/api:v2.1.0")
    objects["apps/v1/deployments", NS, "frontend"] = deployment("frontend", 3,
                                                                "reg.example/web:v5.0.1")
    for rev, tag in ((5, "v1.9.0"), (6, "v2.0.0"), (7, "v2.1.0")):
        rs = replicaset("api", rev, f"reg.example/api:{tag}", cause=f"deploy {tag}")
        rs["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] = f"h{rev}"
        objects["apps/v1/replicasets", NS, f"api-rs{rev}"] = rs
    objects["v1/pods", NS, "api-rs7-a"] = with_labels(
        pod("api", 7, "api-rs7-a", "reg.example/api:v2.1.0"), app="api")
    objects["v1/pods", NS, "api-rs7-b"] = with_labels(
        pod("api", 7, "api-rs7-b", "reg.example/api:v2.1.0", ready=False, restarts=4,
            waiting="CrashLoopBackOff"), app="api")
    objects["v1/pods", NS, "frontend-rs3-a"] = with_labels(
        pod("frontend", 3, "frontend-rs3-a", "reg.example/web:v5.0.1"), app="frontend")
    objects[VS, NS, "api"] = {
        "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
        "metadata": {"name": "api", "namespace": NS},
        "spec": {"hosts": ["api"], "http": [{
            "match": [{"uri": {"prefix": "/v1"}}], "retries": {"attempts": 3},
            "route": [{"destination": {"host": "api", "subset": "v1", "port": {"number": 80}},
                       "weight": 0},
                      {"destination": {"host": "api", "subset": "v2"}, "weight": 100}]}]},
    }


def live(kmock: Any, tmp_path, read_only: bool = False) -> LiveExecutor:
    settings = KubernetesSettings(host=str(kmock.url).rstrip("/"), namespace=NS, timeout_s=3.0)
    return executor(Config(kubernetes=settings), tmp_path, read_only=read_only)


async def call(ex: LiveExecutor, type_: str, **params: Any):
    return await asyncio.to_thread(run, ex, type_, 30.0, **params)


def mutations(kmock: Any) -> list[Any]:
    return [r for r in list(kmock) if str(r.method).upper().endswith(("PATCH", "PUT",
                                                                         "DELETE", "POST"))]


async def test_undo_patches_the_template_from_the_previous_revision(kmock: Any, tmp_path) -> None:
    load(kmock)
    ex = live(kmock, tmp_path)
    result, ctx = await call(ex, "k8s.rollout_undo", deployment="api", namespace=NS)
    ex.close()
    assert result.ok, result.detail
    assert "deployment.apps/api rolled back to revision 6 (reg.example/api:v2.0.0)" in ctx.text
    dep = kmock.objects["apps/v1/deployments", NS, "api"]
    template = dep["spec"]["template"]
    assert template["spec"]["containers"][0]["image"] == "reg.example/api:v2.0.0"
    # kubectl drops the ReplicaSet's pod-template-hash and never copies its revision
    assert "pod-template-hash" not in template["metadata"]["labels"]
    assert dep["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "7"
    assert dep["metadata"]["annotations"]["kubernetes.io/change-cause"] == "deploy v2.0.0"
    (patch,) = [r for r in mutations(kmock)]
    assert patch.headers["Content-Type"].startswith("application/json-patch+json")
    assert [op["path"] for op in patch.data] == ["/spec/template", "/metadata/annotations"]


async def test_undo_to_a_given_revision_and_an_unknown_one(kmock: Any, tmp_path) -> None:
    load(kmock)
    ex = live(kmock, tmp_path)
    result, _ = await call(ex, "k8s.rollout_undo", deployment="api", namespace=NS,
                           to_revision=5)
    assert result.ok
    image = kmock.objects["apps/v1/deployments", NS, "api"]["spec"]["template"]["spec"][
        "containers"][0]["image"]
    assert image == "reg.example/api:v1.9.0"
    result, ctx = await call(ex, "k8s.rollout_undo", deployment="api", namespace=NS,
                             to_revision=9)
    ex.close()
    assert not result.ok
    assert result.detail == "unable to find the specified revision 9 (revisions: 5, 6, 7)"
    assert "error: unable to find" in ctx.text


async def test_undo_of_a_missing_deployment_is_one_line(kmock: Any, tmp_path) -> None:
    load(kmock)
    ex = live(kmock, tmp_path)
    result, _ = await call(ex, "k8s.rollout_undo", deployment="nope", namespace=NS)
    ex.close()
    assert not result.ok and result.detail.startswith('deployments.apps "nope" not found')
    assert mutations(kmock) == []


async def test_history_lists_revisions_with_images(kmock: Any, tmp_path) -> None:
    load(kmock)
    ex = live(kmock, tmp_path)
    result, ctx = await call(ex, "k8s.rollout_history", deployment="api", namespace=NS)
    ex.close()
    assert result.ok
    assert ctx.lines[2:] == ["5         reg.example/api:v1.9.0  deploy v1.9.0",
                             "6         reg.example/api:v2.0.0  deploy v2.0.0",
                             "7         reg.example/api:v2.1.0  deploy v2.1.0"]


async def test_rollout_status_done_and_waiting_until_the_step_timeout(kmock: Any,
                                                                      tmp_path) -> None:
    load(kmock)
    dep = kmock.objects["apps/v1/deployments", NS, "frontend"]
    dep.patch({"status": {"availableReplicas": 3, "replicas": 3}})
    ex = live(kmock, tmp_path)
    result, ctx = await call(ex, "k8s.rollout_status", deployment="frontend", namespace=NS)
    assert result.ok and ctx.lines == ['deployment "frontend" successfully rolled out']
    # api: 3 updated, 1 available -> waits; the step's own deadline ends it
    kmock.objects["apps/v1/deployments", NS, "api"].patch(
        {"status": {"availableReplicas": 1, "replicas": 3}})
    result, ctx = await asyncio.to_thread(run, ex, "k8s.rollout_status", 0.5,
                                          deployment="api", namespace=NS)
    ex.close()
    assert not result.ok and result.detail == "step timeout reached"
    assert ctx.lines[0] == ('Waiting for deployment "api" rollout to finish: 1 of 3 updated '
                            "replicas are available...")


def test_rollout_state_follows_kubectl() -> None:
    state = KubernetesActions.rollout_state
    base = {"metadata": {"name": "api", "generation": 4}, "spec": {"replicas": 3}}
    assert state({**base, "status": {"observedGeneration": 3}})[2] == \
        "Waiting for deployment spec update to be observed..."
    assert state({**base, "status": {"observedGeneration": 4, "updatedReplicas": 1}})[2] == (
        'Waiting for deployment "api" rollout to finish: 1 out of 3 new replicas have been '
        "updated...")
    assert state({**base, "status": {"observedGeneration": 4, "updatedReplicas": 3,
                                     "replicas": 4}})[2].endswith(
        "1 old replicas are pending termination...")
    failed = state({**base, "status": {"observedGeneration": 4, "conditions": [
        {"type": "Progressing", "reason": "ProgressDeadlineExceeded"}]}})
    assert failed == (False, True, 'deployment "api" exceeded its progress deadline')


async def test_scale_restart_and_set_env(kmock: Any, tmp_path) -> None:
    load(kmock)
    ex = live(kmock, tmp_path)
    result, ctx = await call(ex, "k8s.scale", deployment="api", namespace=NS, replicas=5)
    assert result.ok and ctx.lines == ["deployment.apps/api scaled to 5"]
    scale = [r for r in mutations(kmock) if str(r.url.path).endswith("/deployments/api/scale")]
    assert scale and scale[-1].data == {"spec": {"replicas": 5}}

    result, ctx = await call(ex, "k8s.restart_pods", namespace=NS, selector="app=frontend")
    assert result.ok and ctx.lines == ["deployment.apps/frontend restarted"]
    frontend = kmock.objects["apps/v1/deployments", NS, "frontend"]
    assert RESTARTED_AT in frontend["spec"]["template"]["metadata"]["annotations"]
    api = kmock.objects["apps/v1/deployments", NS, "api"]
    assert RESTARTED_AT not in (api["spec"]["template"]["metadata"].get("annotations") or {})

    result, _ = await call(ex, "k8s.set_env", deployment="api", namespace=NS,
                           env={"FEATURE_X": "off"})
    ex.close()
    assert result.ok
    env = kmock.objects["apps/v1/deployments", NS, "api"]["spec"]["template"]["spec"][
        "containers"][0]["env"]
    assert env == [{"name": "FEATURE_X", "value": "off"}]


async def test_restart_with_no_matching_deployment_changes_nothing(kmock: Any, tmp_path) -> None:
    load(kmock)
    ex = live(kmock, tmp_path)
    result, _ = await call(ex, "k8s.restart_pods", namespace=NS, selector="app=ghost")
    ex.close()
    assert not result.ok and "no deployment in production has pods matching app=ghost" in \
        result.detail
    assert mutations(kmock) == []


async def test_pod_health_reports_unready_pods(kmock: Any, tmp_path) -> None:
    load(kmock)
    ex = live(kmock, tmp_path)
    result, ctx = await call(ex, "k8s.pod_health", namespace=NS, selector="app=api")
    frontend, _ = await call(ex, "k8s.pod_health", namespace=NS, selector="app=frontend")
    ex.close()
    assert not result.ok and result.detail == "1 of 2 pods not ready"
    assert "api-rs7-b" in ctx.text and "CrashLoopBackOff" in ctx.text and "0/1" in ctx.text
    assert "frontend-rs3-a" not in ctx.text  # selector applied (kmock ignores it: we filter)
    assert frontend.ok


async def test_logs_are_prefixed_and_redacted(kmock: Any, tmp_path) -> None:
    load(kmock)
    for name in ("api-rs7-a", "api-rs7-b"):
        # the API server answers text/plain (kmock's default for bytes is octet-stream)
        kmock[f"get /api/v1/namespaces/{NS}/pods/{name}/log"] << Response(
            payload=f"GET /v1/health 200\nlookup patient ssn 123-45-6789 from {name}\n".encode(),
            headers={"Content-Type": "text/plain"})
    ex = live(kmock, tmp_path)
    result, ctx = await call(ex, "k8s.logs", namespace=NS, selector="app=api", tail=50)
    ex.close()
    assert result.ok
    assert "[pod/api-rs7-a/api] GET /v1/health 200" in ctx.lines
    assert "123-45-6789" not in ctx.text and "[REDACTED:ssn]" in ctx.text
    sent = [r for r in list(kmock) if str(r.url.path).endswith("/log")]
    assert {r.params.get("tailLines") for r in sent} == {"50"}


async def test_traffic_weights_keep_the_route_rules(kmock: Any, tmp_path) -> None:
    load(kmock)
    ex = live(kmock, tmp_path)
    result, ctx = await call(ex, "k8s.traffic_weights", namespace=NS, virtualservice="api",
                             host="api", weights={"v1": 90, "v2": 10})
    ex.close()
    assert result.ok, result.detail
    assert ctx.lines == ["virtualservice.networking.istio.io/api patched: v1 90%, v2 10% "
                         "(1 route)"]
    (http,) = kmock.objects[VS, NS, "api"]["spec"]["http"]
    assert http["match"] == [{"uri": {"prefix": "/v1"}}] and http["retries"] == {"attempts": 3}
    assert http["route"] == [
        {"destination": {"host": "api", "subset": "v1", "port": {"number": 80}}, "weight": 90},
        {"destination": {"host": "api", "subset": "v2"}, "weight": 10}]


async def test_dry_run_sends_dry_run_all(kmock: Any, tmp_path) -> None:
    load(kmock)
    ex = live(kmock, tmp_path)
    result = await asyncio.to_thread(
        ex.dry_run, action("k8s.rollout_undo", deployment="api", namespace=NS),
        Ctx().ctx)
    preview = await asyncio.to_thread(
        ex.dry_run, action("redis.get", key="maintenance_mode"), Ctx().ctx)
    ex.close()
    assert result.ok and "(server dry run): would go to revision 6" in result.output
    (patch,) = mutations(kmock)
    # the real API server validates and admits, then stores nothing; kmock ignores dryRun
    assert patch.params.get("dryRun") == "All"
    assert preview.ok and preview.output.startswith("no server-side dry run for redis.get")


async def test_read_only_sends_no_mutation_but_allows_dry_runs_and_questions(
        kmock: Any, tmp_path) -> None:
    load(kmock)
    ex = live(kmock, tmp_path, read_only=True)
    for type_, params in (("k8s.scale", {"deployment": "api", "replicas": 0}),
                          ("k8s.rollout_undo", {"deployment": "api"}),
                          ("k8s.restart_pods", {"selector": "app=api"})):
        result, ctx = await call(ex, type_, namespace=NS, **params)
        assert not result.ok and result.detail.startswith("read-only mode:"), type_
    # below the executor: the client's own REST layer refuses before anything is sent
    apps = ex.kubernetes.apps()
    with pytest.raises(ReadOnlyError, match=r"refused PATCH /apis/apps/v1/namespaces/production"):
        await asyncio.to_thread(apps.patch_namespaced_deployment, "api", NS,
                                {"spec": {"replicas": 0}}, _request_timeout=3,
                                _content_type="application/merge-patch+json")
    assert mutations(kmock) == []
    # reads still work, and a server-side dry run is not a mutation
    health, _ = await call(ex, "k8s.pod_health", namespace=NS, selector="app=frontend")
    assert health.ok
    dry = await asyncio.to_thread(ex.dry_run, action("k8s.scale", deployment="api", namespace=NS,
                                                     replicas=0),
                                  Ctx().ctx)
    ex.close()
    assert dry.ok and [r.params.get("dryRun") for r in mutations(kmock)] == ["All"]
