"""The cluster panel from the Kubernetes API: deployments, their history and pods.

Uses the official ``kubernetes`` client, configured from a kubeconfig (with an
optional context) or the pod's service account, or a bare API URL (``host``).
Every call passes an explicit ``_request_timeout`` (the client default is
none) and urllib3 retries are off: the poller decides when to try again.

History works like ``kubectl rollout history``: the ReplicaSets owned by a
deployment (by ownerReferences, not by label selector) with their
``deployment.kubernetes.io/revision`` annotation and pod-template image.

In read-only mode the API client's REST layer is :class:`ReadOnlyRESTClient`:
it refuses every mutating verb before it is sent, except the questions
(SelfSubjectAccessReview) and server-side dry runs (``dryRun=All``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client import rest as k8s_rest
from kubernetes.client.exceptions import ApiException

from cockpit.config import KubernetesSettings
from cockpit.connectors.readonly import kubernetes_request_allowed, refuse
from cockpit.domain import ClusterSnapshot, DeploymentInfo, PodInfo, Revision, normalize_version
from cockpit.sources.base import SourceError

REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE_ANNOTATION = "kubernetes.io/change-cause"


class ReadOnlyRESTClient(k8s_rest.RESTClientObject):
    """The client's REST layer, refusing mutating requests (read-only mode)."""

    refused = 0

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if not kubernetes_request_allowed(method, url):
            ReadOnlyRESTClient.refused += 1
            raise refuse(method, url, "read-only: only reads, access reviews and dry runs")
        return super().request(method, url, *args, **kwargs)


def make_api_client(settings: KubernetesSettings, read_only: bool = False) -> k8s.ApiClient:
    """An API client configured from the settings (kubeconfig, in-cluster or host)."""
    configuration = k8s.Configuration()
    try:
        if settings.in_cluster:
            k8s_config.load_incluster_config(client_configuration=configuration)
        elif settings.kubeconfig or not settings.host:
            k8s_config.load_kube_config(config_file=settings.kubeconfig,
                                        context=settings.context,
                                        client_configuration=configuration)
    except (k8s_config.ConfigException, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SourceError(f"cannot load Kubernetes credentials: {first[:80]}") from None
    if settings.host:
        configuration.host = settings.host.rstrip("/")
    configuration.retries = 0
    api_client = k8s.ApiClient(configuration)
    if read_only:
        api_client.rest_client = ReadOnlyRESTClient(configuration)
    return api_client


def describe_api_error(exc: BaseException, timeout_s: float) -> str:
    """A short, credential-free reason for a failed Kubernetes call."""
    if isinstance(exc, ApiException):
        names = {401: "401 Unauthorized: credentials rejected",
                 403: "403 Forbidden: not allowed", 404: "404 Not Found"}
        if exc.status in names:
            return f"Kubernetes API {names[exc.status]}"
        return f"Kubernetes API error {exc.status}"
    reason = getattr(exc, "reason", None) or exc
    # NewConnectionError is a ConnectTimeoutError in urllib3: test it first
    if isinstance(reason, (urllib3.exceptions.NewConnectionError, ConnectionError)):
        return "cannot reach the Kubernetes API (connection failed)"
    if isinstance(reason, (urllib3.exceptions.TimeoutError, TimeoutError)):
        return f"Kubernetes API did not answer within {timeout_s:g}s"
    return f"Kubernetes API request failed ({type(reason).__name__})"


def image_version(image: str) -> str:
    """The tag of an image reference (``repo/app:v2.1.0`` -> ``v2.1.0``), or the digest."""
    if "@" in image:
        return image.rsplit("@", 1)[1][:19]
    last = image.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else "latest"


def kept_version(image: str) -> str:
    """The version the cockpit keeps for an image: its tag, normalised once
    (``repo/app:v2.1.0`` -> ``2.1.0``, as the simulator and the version endpoints give
    it; the screen adds the one ``v`` where it writes one); ``""`` without an image."""
    return normalize_version(image_version(image)) if image else ""


def _revision(meta: Any) -> int:
    raw = (meta.annotations or {}).get(REVISION_ANNOTATION) if meta is not None else None
    try:
        return int(raw) if raw is not None else 0
    except ValueError:
        return 0


def _first_image(template: Any) -> str:
    try:
        containers = template.spec.containers or []
    except AttributeError:
        return ""
    return containers[0].image or "" if containers else ""


def _owner(meta: Any, kind: str) -> tuple[str, str] | None:
    for ref in (meta.owner_references or []) if meta is not None else []:
        if ref.kind == kind:
            return ref.name, ref.uid or ""
    return None


class KubernetesSource:
    """The ``cluster`` source backed by the Kubernetes API."""

    kind = "cluster"
    label = "kubernetes"

    def __init__(self, settings: KubernetesSettings, namespace: str,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC),
                 api_client: k8s.ApiClient | None = None, read_only: bool = False) -> None:
        self.settings = settings
        self.namespace = settings.namespace or namespace
        self.interval_s = settings.interval_s
        self.timeout_s = settings.timeout_s * 3 + 2  # three list calls per poll
        self._now = now
        self.read_only = read_only
        self.api_client = api_client or make_api_client(settings, read_only=read_only)
        self.apps = k8s.AppsV1Api(self.api_client)
        self.core = k8s.CoreV1Api(self.api_client)

    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, _request_timeout=self.settings.timeout_s, **kwargs)
        except (ApiException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise SourceError(describe_api_error(exc, self.settings.timeout_s)) from None

    def revision(self) -> None:
        """A live system cannot say cheaply that nothing changed: always fetched."""
        return None

    def fetch(self) -> ClusterSnapshot:
        """List deployments, ReplicaSets and pods of the namespace."""
        at = self._now()
        ns = self.namespace
        deps = self._call(self.apps.list_namespaced_deployment, ns).items or []
        rsets = self._call(self.apps.list_namespaced_replica_set, ns).items or []
        pods = self._call(self.core.list_namespaced_pod, ns).items or []
        wanted = set(self.settings.deployments)
        deps = [d for d in deps if not wanted or d.metadata.name in wanted]
        order = {name: i for i, name in enumerate(self.settings.deployments)}
        deps.sort(key=lambda d: (order.get(d.metadata.name, len(order)), d.metadata.name))

        # ReplicaSet name -> (deployment, revision, version)
        rs_info: dict[str, tuple[str, int, str]] = {}
        history: dict[str, dict[int, Revision]] = {}
        names = {d.metadata.name for d in deps}
        for rs in rsets:
            owner = _owner(rs.metadata, "Deployment")
            if owner is None or owner[0] not in names:
                continue
            revision = _revision(rs.metadata)
            image = _first_image(rs.spec.template if rs.spec else None)
            cause = (rs.metadata.annotations or {}).get(CHANGE_CAUSE_ANNOTATION, "")
            rs_info[rs.metadata.name] = (owner[0], revision, kept_version(image))
            if revision:
                history.setdefault(owner[0], {})[revision] = Revision(
                    revision, kept_version(image), image, cause)

        deployments = []
        for dep in deps:
            image = _first_image(dep.spec.template)
            status = dep.status
            deployments.append(DeploymentInfo(
                name=dep.metadata.name,
                namespace=dep.metadata.namespace or ns,
                revision=_revision(dep.metadata),
                version=kept_version(image),
                image=image,
                desired=dep.spec.replicas if dep.spec.replicas is not None else 1,
                ready=(status.ready_replicas or 0) if status else 0,
                updated=(status.updated_replicas or 0) if status else 0,
                history=tuple(rev for _, rev in sorted(history.get(dep.metadata.name, {}).items())),
            ))

        pod_infos = []
        for pod in pods:
            owner = _owner(pod.metadata, "ReplicaSet")
            if owner is None or owner[0] not in rs_info:
                continue
            deployment, revision, version = rs_info[owner[0]]
            pod_infos.append(self._pod(pod, deployment, revision, version, at))
        pod_infos.sort(key=lambda p: (p.deployment, p.name))
        return ClusterSnapshot(at=at, namespace=ns, deployments=tuple(deployments),
                               pods=tuple(pod_infos))

    @staticmethod
    def _pod(pod: Any, deployment: str, revision: int, version: str, at: datetime) -> PodInfo:
        statuses = (pod.status.container_statuses or []) if pod.status else []
        ready = bool(statuses) and all(s.ready for s in statuses)
        restarts = sum(s.restart_count or 0 for s in statuses)
        reason = ""
        for s in statuses:
            state = s.state
            if state is not None and state.waiting is not None and state.waiting.reason:
                reason = state.waiting.reason
                break
            if state is not None and state.terminated is not None and state.terminated.reason:
                reason = reason or state.terminated.reason
        if not reason and pod.status is not None and pod.status.reason:
            reason = pod.status.reason
        images = [c.image for c in (pod.spec.containers or [])] if pod.spec else []
        if images and not version:
            version = kept_version(images[0])
        created = pod.metadata.creation_timestamp
        if isinstance(created, datetime):
            if created.tzinfo is None:
                created = created.replace(tzinfo=UTC)
            age = max(0.0, (at - created).total_seconds())
        else:
            age = 0.0
        return PodInfo(
            name=pod.metadata.name, deployment=deployment, revision=revision, version=version,
            ready=ready, restarts=restarts,
            phase=(pod.status.phase or "Unknown") if pod.status else "Unknown",
            age_s=age, reason=reason,
        )

    def can_i(self, verb: str, resource: str, subresource: str = "",
              group: str = "apps") -> tuple[bool, str]:
        """Ask the API (SelfSubjectAccessReview) whether we may ``verb`` the resource here."""
        body = k8s.V1SelfSubjectAccessReview(spec=k8s.V1SelfSubjectAccessReviewSpec(
            resource_attributes=k8s.V1ResourceAttributes(
                namespace=self.namespace, verb=verb, group=group, resource=resource,
                subresource=subresource or None)))
        review = self._call(k8s.AuthorizationV1Api(self.api_client)
                            .create_self_subject_access_review, body)
        status = review.status
        allowed = bool(status and status.allowed)
        reason = (status.reason or status.evaluation_error or "") if status else ""
        return allowed, reason

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self.api_client.close()
