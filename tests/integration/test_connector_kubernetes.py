"""The Kubernetes connector against kmock's API emulator on loopback.

kmock runs on the test's event loop, so the (synchronous) client is called
through ``asyncio.to_thread``. Differences from a real API server are noted
where a test relies on them.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import free_port
from kmock import RawHandler, Response

from cockpit.config import KubernetesSettings
from cockpit.connectors.kubernetes import KubernetesSource, image_version
from cockpit.sources.base import SourceError

NS = "production"
CREATED = (datetime.now(UTC) - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")


def deployment(name: str, revision: int, image: str, replicas: int = 3,
               ready: int = 3) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS, "uid": f"uid-{name}",
                     "annotations": {"deployment.kubernetes.io/revision": str(revision)}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": name, "image": image}]}}},
        "status": {"replicas": replicas, "readyReplicas": ready, "updatedReplicas": replicas},
    }


def replicaset(dep: str, revision: int, image: str, cause: str = "") -> dict[str, Any]:
    annotations = {"deployment.kubernetes.io/revision": str(revision)}
    if cause:
        annotations["kubernetes.io/change-cause"] = cause
    return {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": f"{dep}-rs{revision}", "namespace": NS, "annotations": annotations,
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                          "name": dep, "uid": f"uid-{dep}",
                                          "controller": True}]},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": dep}},
                 "template": {"metadata": {"labels": {"app": dep}},
                              "spec": {"containers": [{"name": dep, "image": image}]}}},
    }


def pod(dep: str, revision: int, name: str, image: str, ready: bool = True, restarts: int = 0,
        waiting: str | None = None, phase: str = "Running") -> dict[str, Any]:
    state: dict[str, Any] = ({"waiting": {"reason": waiting}} if waiting
                             else {"running": {"startedAt": CREATED}})
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "creationTimestamp": CREATED,
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                          "name": f"{dep}-rs{revision}", "uid": "x",
                                          "controller": True}]},
        "spec": {"containers": [{"name": dep, "image": image}]},
        "status": {"phase": phase, "containerStatuses": [{
            "name": dep, "image": image, "imageID": "", "ready": ready,
            "restartCount": restarts, "state": state}]},
    }


def load_estate(kmock: Any) -> None:
    objects = kmock.objects
    objects["apps/v1/deployments", NS, "api"] = deployment("api", 7, "reg.example/api:v2.1.0",
                                                           ready=1)
    objects["apps/v1/deployments", NS, "frontend"] = deployment("frontend", 3,
                                                                "reg.example/web:v5.0.1")
    objects["apps/v1/deployments", NS, "unrelated"] = deployment("unrelated", 1, "x:1")
    for rev, tag in ((5, "v1.9.0"), (6, "v2.0.0"), (7, "v2.1.0")):
        objects["apps/v1/replicasets", NS, f"api-rs{rev}"] = replicaset(
            "api", rev, f"reg.example/api:{tag}", cause=f"deploy {tag}" if rev == 7 else "")
    objects["apps/v1/replicasets", NS, "frontend-rs3"] = replicaset("frontend", 3,
                                                                    "reg.example/web:v5.0.1")
    objects["v1/pods", NS, "api-rs7-a"] = pod("api", 7, "api-rs7-a", "reg.example/api:v2.1.0")
    objects["v1/pods", NS, "api-rs7-b"] = pod("api", 7, "api-rs7-b", "reg.example/api:v2.1.0",
                                              ready=False, restarts=4,
                                              waiting="CrashLoopBackOff")
    objects["v1/pods", NS, "frontend-rs3-a"] = pod("frontend", 3, "frontend-rs3-a",
                                                   "reg.example/web:v5.0.1")


def source_for(kmock: Any, **kw: Any) -> KubernetesSource:
    settings = KubernetesSettings(host=str(kmock.url).rstrip("/"), namespace=NS,
                                  deployments=("frontend", "api", "workers"), timeout_s=3.0, **kw)
    return KubernetesSource(settings, namespace="ignored")


async def test_snapshot_has_deployments_history_and_pods(kmock: Any) -> None:
    load_estate(kmock)
    source = source_for(kmock)
    snap = await asyncio.to_thread(source.fetch)
    source.close()
    assert snap.namespace == NS
    # configured order; "workers" does not exist, "unrelated" is not configured
    assert [d.name for d in snap.deployments] == ["frontend", "api"]
    api = snap.deployment("api")
    assert api is not None
    # versions are kept normalised (the image tag's one leading v dropped, shown as v2.1.0)
    assert (api.revision, api.version, api.desired, api.ready) == (7, "2.1.0", 3, 1)
    assert [(r.revision, r.version) for r in api.history] == [(5, "1.9.0"), (6, "2.0.0"),
                                                              (7, "2.1.0")]
    assert api.history[-1].change_cause == "deploy v2.1.0"
    assert api.previous is not None and api.previous.version == "2.0.0"
    crashing = next(p for p in snap.pods if p.name == "api-rs7-b")
    assert (crashing.deployment, crashing.revision, crashing.version) == ("api", 7, "2.1.0")
    assert (crashing.ready, crashing.restarts, crashing.reason) == (False, 4, "CrashLoopBackOff")
    assert 500 < crashing.age_s < 1200
    assert {p.deployment for p in snap.pods} == {"api", "frontend"}


async def test_every_call_carries_an_explicit_timeout(kmock: Any) -> None:
    # kmock answers instantly; a slow reaction proves the client gives up on its own
    load_estate(kmock)

    async def slow(request: Any) -> dict[str, Any]:
        await asyncio.sleep(3)
        return {"kind": "PodList", "apiVersion": "v1", "items": []}

    kmock["get /api/v1/namespaces/production/pods"] << slow
    settings = KubernetesSettings(host=str(kmock.url).rstrip("/"), namespace=NS, timeout_s=0.5)
    source = KubernetesSource(settings, namespace=NS)
    with pytest.raises(SourceError, match=r"did not answer within 0.5s"):
        await asyncio.to_thread(source.fetch)


async def test_forbidden_is_a_short_reason(kmock: Any) -> None:
    kmock["get /apis/apps/v1/namespaces/production/deployments"] << Response(status=403, payload={
        "kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Forbidden",
        "message": 'deployments.apps is forbidden: User "bob" cannot list', "code": 403})
    with pytest.raises(SourceError, match=r"^Kubernetes API 403 Forbidden"):
        await asyncio.to_thread(source_for(kmock).fetch)


@pytest.mark.kmock(cls=RawHandler)
async def test_access_review_asks_for_patch_and_scale(kmock: Any) -> None:
    # kmock has no authorizer, and its emulator would store the nameless reviews (409 on the
    # second); a real API server never stores them. A raw handler plays RBAC allowing patch
    # but not scale.
    def review(request: Any) -> dict[str, Any]:
        attrs = request.data["spec"]["resourceAttributes"]
        allowed = attrs["verb"] == "patch" and attrs["resource"] == "deployments"
        return {**request.data, "status": {"allowed": allowed,
                                           "reason": "" if allowed else "no RBAC rule"}}

    kmock["post /apis/authorization.k8s.io/v1/selfsubjectaccessreviews"] << review
    source = source_for(kmock)
    assert await asyncio.to_thread(source.can_i, "patch", "deployments") == (True, "")
    allowed, reason = await asyncio.to_thread(source.can_i, "update", "deployments", "scale")
    assert (allowed, reason) == (False, "no RBAC rule")
    sent = kmock["post /apis/authorization.k8s.io/v1/selfsubjectaccessreviews"][-1].data
    assert sent["spec"]["resourceAttributes"] == {
        "namespace": NS, "verb": "update", "group": "apps", "resource": "deployments",
        "subresource": "scale"}


def test_unreachable_api_server() -> None:
    settings = KubernetesSettings(host=f"http://127.0.0.1:{free_port()}", timeout_s=1.0)
    with pytest.raises(SourceError, match="cannot reach the Kubernetes API"):
        KubernetesSource(settings, namespace=NS).fetch()


def test_missing_kubeconfig_is_a_source_error(tmp_path) -> None:
    with pytest.raises(SourceError, match="cannot load Kubernetes credentials"):
        KubernetesSource(KubernetesSettings(kubeconfig=str(tmp_path / "nope")), NS)


@pytest.mark.parametrize(("image", "version"), [
    ("reg.example:5000/api:v2.1.0", "v2.1.0"), ("api", "latest"),
    ("reg.example:5000/api", "latest"), ("api@sha256:" + "a" * 64, "sha256:aaaaaaaaaaaa"),
])
def test_image_version(image: str, version: str) -> None:
    assert image_version(image) == version
