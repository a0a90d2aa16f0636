"""``k8s.*`` actions through the official Kubernetes client, with kubectl's meaning.

``rollout_undo`` patches the Deployment's template from the ReplicaSet of the
previous (or given) revision; ``rollout_status`` polls like ``kubectl rollout
status``; ``restart_pods`` sets the ``kubectl.kubernetes.io/restartedAt``
template annotation of the deployments whose pods match the selector (a
rolling restart, never a mass delete); ``traffic_weights`` patches the Istio
VirtualService through the custom objects API. In a dry run
(:meth:`cockpit.connectors.executor.LiveExecutor.dry_run`) the same mutating
requests are sent with ``dryRun=All``.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from cockpit.actions.executor import ActionResult
from cockpit.actions.inspect import DeploymentHistory, RevisionRow, age, template_lines
from cockpit.actions.model import format_duration
from cockpit.actions.types import ResolvedAction
from cockpit.connectors.actions.base import Call, Fail, LazyClient

#: Action types whose mutating requests the Kubernetes API can dry-run server-side.
DRY_RUN_TYPES: tuple[str, ...] = (
    "k8s.rollout_undo", "k8s.scale", "k8s.restart_pods", "k8s.rollout_restart",
    "k8s.traffic_weights", "k8s.set_env",
)
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
REVISION = "deployment.kubernetes.io/revision"
#: Annotations ``kubectl rollout undo`` never copies from the ReplicaSet.
_UNDO_SKIP_ANNOTATIONS = frozenset({
    "kubectl.kubernetes.io/last-applied-configuration", REVISION,
    "deployment.kubernetes.io/revision-history", "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas", "deprecated.deployment.rollback.to",
})
ISTIO_GROUP = "networking.istio.io"
ISTIO_VERSIONS = ("v1", "v1beta1")
#: ``kubectl logs -l`` reads at most this many pods (its --max-log-requests default).
MAX_LOG_PODS = 5
_JSON_PATCH = "application/json-patch+json"
_MERGE_PATCH = "application/merge-patch+json"


def _selector_requirements(selector: str) -> list[tuple[str, str, str]]:
    """``app=api,tier!=db`` -> ``[("app", "=", "api"), ("tier", "!=", "db")]``."""
    out = []
    for part in selector.split(","):
        match = re.fullmatch(r"\s*([^=!\s]+)\s*(==|=|!=)\s*(\S*)\s*", part)
        if not match:
            raise Fail(f"cannot read label selector '{selector}'")
        key, op, value = match.groups()
        out.append((key, "!=" if op == "!=" else "=", value))
    return out


def selector_matches(selector: str, labels: Mapping[str, str] | None) -> bool:
    """Whether ``labels`` satisfy an equality-based label selector (as the API server does)."""
    labels = labels or {}
    for key, op, value in _selector_requirements(selector):
        if op == "=" and labels.get(key) != value:
            return False
        if op == "!=" and labels.get(key) == value:
            return False
    return True


def _api_message(exc: Any) -> str:
    """The Kubernetes Status message of an ApiException (one line, short), or ''."""
    try:
        body = json.loads(exc.body or "{}")
    except (TypeError, ValueError):
        return ""
    message = body.get("message", "") if isinstance(body, dict) else ""
    return " ".join(str(message).split())[:160]


def _revision_of(meta: Mapping[str, Any] | None) -> int:
    try:
        return int(((meta or {}).get("annotations") or {}).get(REVISION, 0))
    except (TypeError, ValueError):
        return 0


def _strip_hash(template: dict[str, Any]) -> dict[str, Any]:
    """A pod template without the ReplicaSet's ``pod-template-hash`` label (a copy)."""
    template = json.loads(json.dumps(template))
    labels = (template.get("metadata") or {}).get("labels") or {}
    labels.pop("pod-template-hash", None)
    return template


def _first_image(template: Mapping[str, Any]) -> str:
    containers = ((template.get("spec") or {}).get("containers")) or []
    return str(containers[0].get("image", "")) if containers else ""


class KubernetesActions(LazyClient):
    """The ``k8s.*`` handlers; the API client is built on first use."""

    def _connect(self) -> Any:
        settings = self.config.kubernetes
        if settings is None:
            raise Fail("Kubernetes is not configured ([kubernetes] in the config)")
        from cockpit.connectors.kubernetes import make_api_client

        return make_api_client(settings, read_only=self.read_only)

    def _kube(self) -> Any:
        return self.client()

    def _k(self, call: Call, fn: Callable[..., Any], *args: Any, what: str = "",
           mutating: bool = False, **kwargs: Any) -> Any:
        """Call the Kubernetes API with an explicit timeout; failures become :class:`Fail`."""
        import urllib3
        from kubernetes.client.exceptions import ApiException

        from cockpit.connectors.kubernetes import describe_api_error

        assert self.config.kubernetes is not None
        timeout = call.timeout(self.config.kubernetes.timeout_s)
        if mutating and call.dry:
            kwargs["dry_run"] = "All"
        try:
            return fn(*args, _request_timeout=timeout, **kwargs)
        except ApiException as exc:
            message = _api_message(exc)
            if exc.status == 404:
                raise Fail(f"{what or 'object'} not found" +
                            (f" ({message})" if message else "")) from None
            if exc.status == 409:
                raise Fail(f"conflict: {what or 'the object'} changed while we patched it; "
                            "run the step again") from None
            reason = describe_api_error(exc, timeout)
            raise Fail(f"{reason}: {message}" if message else reason) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise Fail(describe_api_error(exc, timeout)) from None

    def apps(self) -> Any:
        """The AppsV1 API on the shared client."""
        from kubernetes import client as k8s

        return k8s.AppsV1Api(self._kube())

    def _core(self) -> Any:
        from kubernetes import client as k8s

        return k8s.CoreV1Api(self._kube())

    def _plain(self, model: Any) -> Any:
        """A client model as the API's JSON (camelCase, no nulls)."""
        return self._kube().sanitize_for_serialization(model)

    def _deployment(self, call: Call, name: str, ns: str) -> dict[str, Any]:
        dep = self._k(call, self.apps().read_namespaced_deployment, name, ns,
                      what=f'deployments.apps "{name}"')
        return dict(self._plain(dep))

    def _owned_replicasets(self, call: Call, dep: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The ReplicaSets a deployment owns (by ownerReferences, as kubectl does)."""
        meta = dep.get("metadata") or {}
        labels = ((dep.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or None
        listed = self._k(call, self.apps().list_namespaced_replica_set, meta.get("namespace"),
                         label_selector=selector, what="replicasets")
        owned = []
        for rs in (self._plain(listed).get("items") or []):
            for ref in (rs.get("metadata") or {}).get("ownerReferences") or []:
                if ref.get("kind") != "Deployment" or ref.get("name") != meta.get("name"):
                    continue
                if meta.get("uid") and ref.get("uid") and ref["uid"] != meta["uid"]:
                    continue
                owned.append(rs)
                break
        return owned

    def rollout_history(self, action: ResolvedAction, call: Call) -> ActionResult:
        """``k8s.rollout_history``: revisions with image and change cause, like kubectl."""
        p = action.params
        dep = self._deployment(call, p["deployment"], p["namespace"])
        revisions = sorted(((_revision_of(rs.get("metadata")), rs)
                            for rs in self._owned_replicasets(call, dep)), key=lambda x: x[0])
        rows = [f"deployment.apps/{p['deployment']}", "REVISION  IMAGE  CHANGE-CAUSE"]
        for rev, rs in revisions:
            if not rev:
                continue
            cause = ((rs.get("metadata") or {}).get("annotations") or {}).get(
                "kubernetes.io/change-cause", "<none>")
            image = _first_image((rs.get("spec") or {}).get("template") or {})
            rows.append(f"{rev:<9} {image}  {cause}")
        call.say("\n".join(rows))
        return call.ok()

    def rollout_undo(self, action: ResolvedAction, call: Call) -> ActionResult:
        """``k8s.rollout_undo``: the template of the previous (or given) revision's ReplicaSet."""
        p = action.params
        name, ns = p["deployment"], p["namespace"]
        dep = self._deployment(call, name, ns)
        if (dep.get("spec") or {}).get("paused"):
            raise Fail(f'deployment "{name}" is paused: resume it before rolling back '
                        "(kubectl rollout resume)")
        by_rev = {_revision_of(rs.get("metadata")): rs
                  for rs in self._owned_replicasets(call, dep)}
        by_rev.pop(0, None)
        if not by_rev:
            raise Fail(f'no rollout history found for deployment "{name}"')
        wanted = p.get("to_revision")
        if wanted:
            target_rev = int(wanted)
            if target_rev not in by_rev:
                have = ", ".join(str(r) for r in sorted(by_rev))
                raise Fail(f"unable to find the specified revision {target_rev} "
                            f"(revisions: {have})")
        else:
            revs = sorted(by_rev, reverse=True)
            if len(revs) < 2:
                raise Fail(f'no previous revision of deployment "{name}" to roll back to')
            target_rev = revs[1]
        rs = by_rev[target_rev]
        template = _strip_hash((rs.get("spec") or {}).get("template") or {})
        current = _strip_hash((dep.get("spec") or {}).get("template") or {})
        if template == current:
            call.say(f"deployment.apps/{name} skipped rollback (current template already "
                     f"matches revision {target_rev})")
            return call.ok()
        annotations = dict((dep.get("metadata") or {}).get("annotations") or {})
        for key, value in ((rs.get("metadata") or {}).get("annotations") or {}).items():
            if key not in _UNDO_SKIP_ANNOTATIONS:
                annotations[key] = value
        patch = [{"op": "replace", "path": "/spec/template", "value": template},
                 {"op": "add", "path": "/metadata/annotations", "value": annotations}]
        self._k(call, self.apps().patch_namespaced_deployment, name, ns, patch,
                _content_type=_JSON_PATCH, mutating=True, what=f'deployments.apps "{name}"')
        image = _first_image(template)
        if call.dry:
            call.say(f"deployment.apps/{name} rolled back (server dry run): would go to "
                     f"revision {target_rev}, image {image}")
        else:
            call.say(f"deployment.apps/{name} rolled back to revision {target_rev} ({image})")
        return call.ok()

    @staticmethod
    def rollout_state(dep: Mapping[str, Any]) -> tuple[bool, bool, str]:
        """``(done, failed, message)`` as ``kubectl rollout status`` judges a Deployment."""
        meta, spec, status = (dep.get("metadata") or {}, dep.get("spec") or {},
                              dep.get("status") or {})
        name = meta.get("name", "")
        if int(meta.get("generation") or 0) > int(status.get("observedGeneration") or 0):
            return False, False, "Waiting for deployment spec update to be observed..."
        for cond in status.get("conditions") or []:
            if cond.get("type") == "Progressing" and cond.get("reason") == \
                    "ProgressDeadlineExceeded":
                return False, True, f'deployment "{name}" exceeded its progress deadline'
        replicas = spec.get("replicas", 1)
        replicas = 1 if replicas is None else int(replicas)
        updated = int(status.get("updatedReplicas") or 0)
        total = int(status.get("replicas") or 0)
        available = int(status.get("availableReplicas") or 0)
        prefix = f'Waiting for deployment "{name}" rollout to finish: '
        if updated < replicas:
            return False, False, (f"{prefix}{updated} out of {replicas} new replicas have been "
                                  "updated...")
        if total > updated:
            return False, False, (f"{prefix}{total - updated} old replicas are pending "
                                  "termination...")
        if available < updated:
            return False, False, (f"{prefix}{available} of {updated} updated replicas are "
                                  "available...")
        return True, False, f'deployment "{name}" successfully rolled out'

    def rollout_status(self, action: ResolvedAction, call: Call) -> ActionResult:
        """``k8s.rollout_status``: polls until the rollout is done, failed or timed out."""
        p = action.params
        limit = float(p.get("timeout") or 300.0)
        started = call.ctx.monotonic()
        last = ""
        while True:
            dep = self._deployment(call, p["deployment"], p["namespace"])
            done, failed, message = self.rollout_state(dep)
            if message != last:
                call.say(message)
                last = message
            if failed:
                raise Fail(message)
            if done:
                return call.ok()
            stop = call.stop_reason()
            if stop:
                return ActionResult(False, call.output(), (), stop)
            if call.ctx.monotonic() - started >= limit:
                raise Fail(f"timed out waiting for the rollout ({format_duration(limit)})")
            call.pause(min(self.setup.poll_s, max(0.0, limit - (call.ctx.monotonic() - started))))

    def scale(self, action: ResolvedAction, call: Call) -> ActionResult:
        """``k8s.scale``: patches the deployment's replicas (scale subresource)."""
        p = action.params
        name, ns = p["deployment"], p["namespace"]
        self._k(call, self.apps().patch_namespaced_deployment_scale,
                name, ns, {"spec": {"replicas": int(p["replicas"])}},
                _content_type=_MERGE_PATCH, mutating=True, what=f'deployments.apps "{name}"')
        suffix = " (server dry run)" if call.dry else ""
        call.say(f"deployment.apps/{name} scaled to {p['replicas']}{suffix}")
        return call.ok()

    def _deployments_matching(self, call: Call, ns: str, selector: str) -> list[dict[str, Any]]:
        listed = self._k(call, self.apps().list_namespaced_deployment, ns, what="deployments")
        out = []
        for dep in self._plain(listed).get("items") or []:
            labels = ((((dep.get("spec") or {}).get("template") or {}).get("metadata") or {})
                      .get("labels"))
            if selector_matches(selector, labels):
                out.append(dep)
        return sorted(out, key=lambda d: d["metadata"]["name"])

    def restart_pods(self, action: ResolvedAction, call: Call) -> ActionResult:
        """``k8s.restart_pods``: a rolling restart of the deployments whose pods match."""
        p = action.params
        ns, selector = p["namespace"], p["selector"]
        deps = self._deployments_matching(call, ns, selector)
        if not deps:
            raise Fail(f"no deployment in {ns} has pods matching {selector} "
                        "(nothing restarted)")
        stamp = self.setup.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}
        for dep in deps:
            name = dep["metadata"]["name"]
            self._k(call, self.apps().patch_namespaced_deployment, name, ns, body,
                    _content_type=_MERGE_PATCH, mutating=True, what=f'deployments.apps "{name}"')
            suffix = " (server dry run)" if call.dry else ""
            call.say(f"deployment.apps/{name} restarted{suffix}")
        return call.ok()

    def _pods(self, call: Call, ns: str, selector: str) -> list[dict[str, Any]]:
        listed = self._k(call, self._core().list_namespaced_pod, ns, label_selector=selector,
                         what="pods")
        pods = [pod for pod in self._plain(listed).get("items") or []
                if selector_matches(selector, (pod.get("metadata") or {}).get("labels"))]
        return sorted(pods, key=lambda pod: pod["metadata"]["name"])

    def pod_health(self, action: ResolvedAction, call: Call) -> ActionResult:
        """``k8s.pod_health``: the pods as ``kubectl get pods``; fails when any is not ready."""
        p = action.params
        pods = self._pods(call, p["namespace"], p["selector"])
        if not pods:
            call.say(f"No resources found in {p['namespace']} namespace.")
            return ActionResult(False, call.output(), (), f"no pods match {p['selector']}")
        now = self.setup.now()
        rows = [f"{'NAME':<40} READY   STATUS              RESTARTS   AGE"]
        unready = []
        for pod in pods:
            statuses = (pod.get("status") or {}).get("containerStatuses") or []
            total = len((pod.get("spec") or {}).get("containers") or []) or len(statuses)
            ready_n = sum(1 for s in statuses if s.get("ready"))
            restarts = sum(int(s.get("restartCount") or 0) for s in statuses)
            phase = (pod.get("status") or {}).get("phase") or "Unknown"
            reason = ""
            for s in statuses:
                state = s.get("state") or {}
                reason = reason or ((state.get("waiting") or {}).get("reason") or
                                    (state.get("terminated") or {}).get("reason") or "")
            ready = total > 0 and ready_n == total
            status = phase if ready or not reason else reason
            created = (pod.get("metadata") or {}).get("creationTimestamp")
            age = "?"
            if created:
                with contextlib.suppress(ValueError):
                    at = datetime.fromisoformat(str(created).replace("Z", "+00:00"))
                    age = format_duration(max(0.0, (now - at).total_seconds()))
            name = pod["metadata"]["name"]
            rows.append(f"{name:<40} {f'{ready_n}/{total}':<7} {status:<19} {restarts:<10} {age}")
            if not ready:
                unready.append(name)
        call.say("\n".join(rows))
        if unready:
            return ActionResult(False, call.output(), (),
                                f"{len(unready)} of {len(pods)} pods not ready")
        return call.ok()

    def logs(self, action: ResolvedAction, call: Call) -> ActionResult:
        """``k8s.logs``: the tail of each matching pod's first container (at most 5 pods)."""
        p = action.params
        ns = p["namespace"]
        pods = self._pods(call, ns, p["selector"])
        if not pods:
            raise Fail(f"no pods match {p['selector']} in {ns}")
        if len(pods) > MAX_LOG_PODS:
            call.say(f"(reading {MAX_LOG_PODS} of {len(pods)} pods, like kubectl's "
                     "--max-log-requests)")
        for pod in pods[:MAX_LOG_PODS]:
            name = pod["metadata"]["name"]
            containers = (pod.get("spec") or {}).get("containers") or [{}]
            container = containers[0].get("name")
            text = self._k(call, self._core().read_namespaced_pod_log, name, ns,
                           container=container, tail_lines=int(p["tail"]),
                           what=f'pods "{name}"')
            for line in str(text or "").splitlines():
                call.say(f"[pod/{name}/{container}] {line}")
        return call.ok()

    def _custom(self) -> Any:
        from kubernetes import client as k8s

        return k8s.CustomObjectsApi(self._kube())

    def _virtualservice(self, call: Call, ns: str, name: str) -> tuple[str, dict[str, Any]]:
        """The VirtualService and the Istio API version that served it."""
        last: Fail | None = None
        for version in ISTIO_VERSIONS:
            try:
                obj = self._k(call, self._custom().get_namespaced_custom_object, ISTIO_GROUP,
                              version, ns, "virtualservices", name,
                              what=f'virtualservices.networking.istio.io "{name}"')
                return version, dict(obj)
            except Fail as exc:
                if "not found" not in exc.detail:
                    raise
                last = exc
        assert last is not None
        raise last

    def traffic_weights(self, action: ResolvedAction, call: Call) -> ActionResult:
        """``k8s.traffic_weights``: rewrites the VirtualService's routes to the host."""
        p = action.params
        ns, name, host = p["namespace"], p["virtualservice"], p["host"]
        weights = dict(p["weights"])
        version, vs = self._virtualservice(call, ns, name)
        http = (vs.get("spec") or {}).get("http") or []
        patch: list[dict[str, Any]] = []
        rv = (vs.get("metadata") or {}).get("resourceVersion")
        if rv:
            patch.append({"op": "test", "path": "/metadata/resourceVersion", "value": rv})
        changed = 0
        for index, route in enumerate(http):
            dests = route.get("route") or []
            if not dests or any((d.get("destination") or {}).get("host") != host for d in dests):
                continue
            by_subset = {(d.get("destination") or {}).get("subset"): d for d in dests}
            new_route = []
            for subset, weight in weights.items():
                entry = json.loads(json.dumps(by_subset.get(subset) or
                                              {"destination": {"host": host, "subset": subset}}))
                entry["weight"] = int(weight)
                new_route.append(entry)
            patch.append({"op": "replace", "path": f"/spec/http/{index}/route",
                          "value": new_route})
            changed += 1
        if not changed:
            raise Fail(f"no http route of virtualservice {name} sends traffic only to host "
                        f"{host}")
        self._k(call, self._custom().patch_namespaced_custom_object, ISTIO_GROUP, version, ns,
                "virtualservices", name, patch, _content_type=_JSON_PATCH, mutating=True,
                what=f'virtualservices.networking.istio.io "{name}"')
        shares = ", ".join(f"{subset} {weight}%" for subset, weight in weights.items())
        suffix = " (server dry run)" if call.dry else ""
        call.say(f"virtualservice.networking.istio.io/{name} patched{suffix}: {shares} "
                 f"({changed} route{'s' if changed != 1 else ''})")
        return call.ok()

    def set_env(self, action: ResolvedAction, call: Call) -> ActionResult:
        """``k8s.set_env``: sets variables in every container of the deployment."""
        p = action.params
        name, ns = p["deployment"], p["namespace"]
        dep = self._deployment(call, name, ns)
        containers = (((dep.get("spec") or {}).get("template") or {}).get("spec") or {}).get(
            "containers") or []
        if not containers:
            raise Fail(f'deployment "{name}" has no containers')
        patch = []
        for index, container in enumerate(containers):
            env = [dict(e) for e in container.get("env") or []]
            for key, value in p["env"]:
                for entry in env:
                    if entry.get("name") == key:
                        entry.pop("valueFrom", None)
                        entry["value"] = value
                        break
                else:
                    env.append({"name": key, "value": value})
            patch.append({"op": "add", "path": f"/spec/template/spec/containers/{index}/env",
                          "value": env})
        self._k(call, self.apps().patch_namespaced_deployment, name, ns, patch,
                _content_type=_JSON_PATCH, mutating=True, what=f'deployments.apps "{name}"')
        names = ", ".join(key for key, _ in p["env"])
        suffix = " (server dry run)" if call.dry else ""
        call.say(f"deployment.apps/{name} env updated{suffix}: {names}")
        return call.ok()


    # ------------------------------------------------------------ reading (inspect)

    def rollout_restart(self, action: ResolvedAction, call: Call) -> ActionResult:
        """``k8s.rollout_restart``: ``kubectl rollout restart`` of one deployment (the
        ``restartedAt`` template annotation: its pods are replaced one by one)."""
        p = action.params
        name, ns = p["deployment"], p["namespace"]
        stamp = self.setup.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}
        self._k(call, self.apps().patch_namespaced_deployment, name, ns, body,
                _content_type=_MERGE_PATCH, mutating=True, what=f'deployments.apps "{name}"')
        suffix = " (server dry run)" if call.dry else ""
        call.say(f"deployment.apps/{name} restarted{suffix}")
        return call.ok()

    def read_history(self, call: Call, name: str, ns: str) -> DeploymentHistory:
        """The deployment's revisions from its ReplicaSets, each with its pod template
        (``pod-template-hash`` stripped); the running one is the ReplicaSet whose template
        is the deployment's (else the revision annotation's)."""
        from cockpit.connectors.kubernetes import CHANGE_CAUSE_ANNOTATION, kept_version

        dep = self._deployment(call, name, ns)
        current = _strip_hash(((dep.get("spec") or {}).get("template")) or {})
        dep_rev = _revision_of(dep.get("metadata"))
        now = self.setup.now()
        found = []
        for rs in self._owned_replicasets(call, dep):
            meta = rs.get("metadata") or {}
            rev = _revision_of(meta)
            if not rev:
                continue
            template = _strip_hash(((rs.get("spec") or {}).get("template")) or {})
            image = _first_image(template)
            cause = str((meta.get("annotations") or {}).get(CHANGE_CAUSE_ANNOTATION, ""))
            found.append((rev, template, image, cause, _age_s(meta, now),
                          str(meta.get("name", ""))))
        found.sort(key=lambda row: row[0])
        matching = [row[0] for row in found if row[1] == current]
        running = matching[-1] if matching else dep_rev
        rows = tuple(RevisionRow(rev, kept_version(image), image, cause, age_s, rs_name,
                                 rev == running, tuple(template_lines(template)))
                     for rev, template, image, cause, age_s, rs_name in found)
        spec = dep.get("spec") or {}
        replicas = spec.get("replicas")
        status = dep.get("status") or {}
        note = (f"{len(rows)} revisions kept · {int(status.get('readyReplicas') or 0)}/"
                f"{1 if replicas is None else int(replicas)} ready")
        if spec.get("paused"):
            note += " · PAUSED (resume it before rolling back)"
        labels = (spec.get("selector") or {}).get("matchLabels") or {}
        return DeploymentHistory(name, ns, rows, 1 if replicas is None else int(replicas),
                                 selector=",".join(f"{k}={v}" for k, v in sorted(labels.items())),
                                 note=call.clean(note))

    def read_text(self, call: Call, kind: str, name: str, ns: str, view: str,
                  tail: int) -> list[str]:
        """Describe, events or logs of a deployment or a pod, as lines (not cleaned yet)."""
        if view == "describe":
            if kind == "pod":
                return self._describe_pod(self._pod(call, name, ns))
            dep = self._deployment(call, name, ns)
            return self._describe_deployment(dep)
        if view == "events":
            return self._events(call, kind, name, ns)
        if kind == "pod":
            pods = [self._pod(call, name, ns)]
        else:
            dep = self._deployment(call, name, ns)
            labels = ((dep.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
            selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
            pods = self._pods(call, ns, selector) if selector else []
            if not pods:
                return [f"No pods of deployment {name} in {ns}."]
        out: list[str] = []
        if len(pods) > MAX_LOG_PODS:
            out.append(f"(reading {MAX_LOG_PODS} of {len(pods)} pods, like kubectl's "
                       "--max-log-requests)")
        for pod in pods[:MAX_LOG_PODS]:
            pod_name = pod["metadata"]["name"]
            containers = (pod.get("spec") or {}).get("containers") or [{}]
            container = containers[0].get("name")
            text = self._k(call, self._core().read_namespaced_pod_log, pod_name, ns,
                           container=container, tail_lines=int(tail),
                           what=f'pods "{pod_name}"')
            out += [f"[pod/{pod_name}/{container}] {line}"
                    for line in str(text or "").splitlines()]
        return out

    def _pod(self, call: Call, name: str, ns: str) -> dict[str, Any]:
        pod = self._k(call, self._core().read_namespaced_pod, name, ns, what=f'pods "{name}"')
        return dict(self._plain(pod))

    def _describe_deployment(self, dep: Mapping[str, Any]) -> list[str]:
        meta, spec, status = (dep.get("metadata") or {}, dep.get("spec") or {},
                              dep.get("status") or {})
        labels = ",".join(f"{k}={v}" for k, v in sorted((meta.get("labels") or {}).items()))
        selector = ",".join(f"{k}={v}" for k, v in sorted(
            ((spec.get("selector") or {}).get("matchLabels") or {}).items()))
        strategy = spec.get("strategy") or {}
        lines = [
            f"Name:                   {meta.get('name', '')}",
            f"Namespace:              {meta.get('namespace', '')}",
            f"Labels:                 {labels or '<none>'}",
            f"Annotations:            {REVISION}: {_revision_of(meta)}",
            f"Selector:               {selector or '<none>'}",
            f"Replicas:               {spec.get('replicas', 1)} desired | "
            f"{int(status.get('updatedReplicas') or 0)} updated | "
            f"{int(status.get('replicas') or 0)} total | "
            f"{int(status.get('availableReplicas') or 0)} available | "
            f"{int(status.get('unavailableReplicas') or 0)} unavailable",
            f"StrategyType:           {strategy.get('type', 'RollingUpdate')}",
        ]
        if spec.get("paused"):
            lines.append("Paused:                 true")
        lines.append("Pod Template:")
        lines += ["  " + line for line in template_lines(spec.get("template") or {})]
        conditions = status.get("conditions") or []
        if conditions:
            lines += ["Conditions:", "  Type           Status  Reason"]
            lines += [f"  {c.get('type', ''):<14} {c.get('status', ''):<7} {c.get('reason', '')}"
                      for c in conditions]
        return lines

    def _describe_pod(self, pod: Mapping[str, Any]) -> list[str]:
        meta, spec, status = (pod.get("metadata") or {}, pod.get("spec") or {},
                              pod.get("status") or {})
        owners = ", ".join(f"{o.get('kind')}/{o.get('name')}"
                           for o in meta.get("ownerReferences") or [])
        lines = [
            f"Name:             {meta.get('name', '')}",
            f"Namespace:        {meta.get('namespace', '')}",
            f"Node:             {spec.get('nodeName') or '<none>'}",
            "Labels:           " + (",".join(f"{k}={v}" for k, v in sorted(
                (meta.get("labels") or {}).items())) or "<none>"),
            f"Status:           {status.get('phase', 'Unknown')}",
            f"Controlled By:    {owners or '<none>'}",
            "Containers:",
        ]
        statuses = {s.get("name"): s for s in status.get("containerStatuses") or []}
        for container in spec.get("containers") or []:
            cs = statuses.get(container.get("name")) or {}
            state = cs.get("state") or {}
            said = next(iter(state), "unknown")
            reason = (state.get(said) or {}).get("reason", "") if said != "unknown" else ""
            lines += [f"  {container.get('name', '')}:",
                      f"    Image:          {container.get('image', '')}",
                      f"    State:          {said.capitalize()}" +
                      (f" ({reason})" if reason else ""),
                      f"    Ready:          {bool(cs.get('ready'))}",
                      f"    Restart Count:  {int(cs.get('restartCount') or 0)}"]
        conditions = status.get("conditions") or []
        if conditions:
            lines.append("Conditions:")
            lines += [f"  {c.get('type', ''):<17} {c.get('status', '')}" for c in conditions]
        return lines

    def _events(self, call: Call, kind: str, name: str, ns: str) -> list[str]:
        """The namespace's events about the object (a deployment: also its ReplicaSets and
        their pods, as a rollout is told there), oldest first."""
        names = {name}
        prefixes: tuple[str, ...] = ()
        if kind == "deployment":
            dep = self._deployment(call, name, ns)
            rs_names = [str((rs.get("metadata") or {}).get("name", ""))
                        for rs in self._owned_replicasets(call, dep)]
            names.update(rs_names)
            prefixes = tuple(f"{rs}-" for rs in rs_names if rs)
        listed = self._k(call, self._core().list_namespaced_event, ns, what="events")
        now = self.setup.now()
        rows = []
        for event in self._plain(listed).get("items") or []:
            involved = event.get("involvedObject") or {}
            about = str(involved.get("name", ""))
            if about not in names and not (prefixes and about.startswith(prefixes)):
                continue
            when = (event.get("lastTimestamp") or event.get("eventTime") or
                    (event.get("metadata") or {}).get("creationTimestamp"))
            ago = _age_s({"creationTimestamp": when}, now)
            rows.append((-(ago if ago is not None else 0.0), event, about, ago))
        rows.sort(key=lambda row: row[0])
        if not rows:
            return [f"No events found about {kind} {name} in {ns}."]
        out = [f"{'LAST SEEN':<10} {'TYPE':<8} {'REASON':<20} {'OBJECT':<28} MESSAGE"]
        for _, event, about, ago in rows:
            what = f"{str((event.get('involvedObject') or {}).get('kind', '')).lower()}/{about}"
            out.append(f"{age(ago):<10} {str(event.get('type', '')):<8} "
                       f"{str(event.get('reason', '')):<20} {what:<28} "
                       f"{' '.join(str(event.get('message', '')).split())}")
        return out


def _age_s(meta: Mapping[str, Any], now: datetime) -> float | None:
    created = meta.get("creationTimestamp")
    if not created:
        return None
    try:
        at = datetime.fromisoformat(str(created).replace("Z", "+00:00"))
    except ValueError:
        return None
    return max(0.0, (now - at).total_seconds())
