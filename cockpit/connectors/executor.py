"""Running runbook actions against the real estate (the live twin of the simulator).

:class:`LiveExecutor` implements :class:`cockpit.actions.executor.Executor` for
every typed action of :mod:`cockpit.actions.types`, with the result semantics
of :class:`~cockpit.sim.executor.SimExecutor` (kubectl / redis-cli /
pg_dump / psql / curl-like output, ``ok=False`` with a one-line detail for an
expected failure, never an exception):

- ``k8s.*`` through the official client, with kubectl's meaning: ``rollout_undo``
  patches the Deployment's template from the ReplicaSet of the previous (or
  given) revision; ``rollout_status`` polls like ``kubectl rollout status``;
  ``restart_pods`` sets the ``kubectl.kubernetes.io/restartedAt`` template
  annotation of the deployments whose pods match the selector (a rolling
  restart, never a mass delete); ``traffic_weights`` patches the Istio
  VirtualService through the custom objects API. :meth:`LiveExecutor.dry_run`
  sends the same mutating requests with ``dryRun=All``.
- ``redis.*`` with redis-py; ``pg.*`` with psycopg (verification files in a
  read-only session that may return counts only) and ``pg_dump``/``pg_restore``
  (password through a private 0600 passfile, never argv; temporary name, fsync,
  rename, ``pg_restore --list`` before success).
- ``http.*`` with httpx; ``metrics.*`` through the Datadog source.
- ``notify.*`` through the persistent :class:`~cockpit.notify.outbox.Outbox`: the
  step enqueues, waits a few seconds for the first attempt (made by a background
  pump thread) and returns; retries are left to the pump.
- ``shell`` as an argv list (never a shell), streamed, killed on timeout/cancel.

Every call has an explicit timeout bounded by the step's remaining time. In
read-only mode every mutating action is refused before anything is built, and
every client is built with its read-only guard as well (see
:mod:`cockpit.connectors.readonly`). Output passes through a redactor holding
the configuration's secrets, so no credential reaches the screen or the journal.

Client libraries are imported on first use: building the executor is cheap.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cockpit.actions.executor import ActionResult, RunContext
from cockpit.actions.types import (
    MANUAL_TYPES,
    ResolvedAction,
    format_duration,
    terminate_sql,
)
from cockpit.config import Config
from cockpit.sources.base import SourceError
from cockpit.timeline.redact import Redactor

#: Action types whose mutating requests the Kubernetes API can dry-run server-side.
DRY_RUN_TYPES: tuple[str, ...] = (
    "k8s.rollout_undo", "k8s.scale", "k8s.restart_pods", "k8s.traffic_weights", "k8s.set_env",
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
#: Longest output kept in an ActionResult (the stream shows everything).
MAX_OUTPUT_CHARS = 64_000
#: pg_dump waits at most this long for a table lock, then fails rather than queues.
LOCK_WAIT_TIMEOUT = "30s"
_JSON_PATCH = "application/json-patch+json"
_MERGE_PATCH = "application/merge-patch+json"
_INT_OIDS = frozenset({20, 21, 23, 26, 1700})  # int8, int2, int4, oid, numeric
_TEXT_OIDS = frozenset({25, 1043, 19, 1042})  # text, varchar, name, bpchar


class _Fail(Exception):
    """An expected failure: ``detail`` is the one-line reason shown to the operator."""

    def __init__(self, detail: str, output: str = "") -> None:
        super().__init__(detail)
        self.detail = detail
        self.output = output


@dataclass
class _Call:
    """One action being run: its context, whether it is a dry run, and its output."""

    ctx: RunContext
    dry: bool
    clean: Callable[[str], str]
    lines: list[str]

    def say(self, text: str) -> str:
        """Emit every line of ``text`` (cleaned) and keep it for the result."""
        out = []
        for line in text.splitlines() or [""]:
            line = self.clean(line)
            self.ctx.emit(line)
            self.lines.append(line)
            out.append(line)
        return "\n".join(out)

    def output(self) -> str:
        text = "\n".join(self.lines)
        return text if len(text) <= MAX_OUTPUT_CHARS else text[-MAX_OUTPUT_CHARS:]

    def ok(self, facts: tuple[str, ...] = (), detail: str = "") -> ActionResult:
        return ActionResult(True, self.output(), facts, detail)

    def timeout(self, limit_s: float) -> float:
        """A request timeout: ``limit_s`` bounded by the step's remaining time (at least 1 s)."""
        return max(1.0, min(limit_s, self.ctx.remaining()))

    def stop_reason(self) -> str | None:
        if self.ctx.cancelled():
            return "cancelled by the operator"
        if self.ctx.timed_out():
            return "step timeout reached"
        return None

    def pause(self, seconds: float) -> None:
        """Sleep up to ``seconds``, returning early on cancel or at the step's deadline."""
        self.ctx.cancel_event.wait(max(0.0, min(seconds, self.ctx.remaining())))


# ---------------------------------------------------------------- small helpers


def _selector_requirements(selector: str) -> list[tuple[str, str, str]]:
    """``app=api,tier!=db`` -> ``[("app", "=", "api"), ("tier", "!=", "db")]``."""
    out = []
    for part in selector.split(","):
        match = re.fullmatch(r"\s*([^=!\s]+)\s*(==|=|!=)\s*(\S*)\s*", part)
        if not match:
            raise _Fail(f"cannot read label selector '{selector}'")
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


def passfile_line(host: str, port: int, dbname: str, user: str, password: str) -> str:
    """One ``~/.pgpass`` line, with ``:`` and ``\\`` escaped as libpq expects."""
    def esc(value: str) -> str:
        return value.replace("\\", "\\\\").replace(":", "\\:")
    return ":".join(esc(v) for v in (host, str(port), dbname, user, password)) + "\n"


# ---------------------------------------------------------------- the executor


class LiveExecutor:
    """Runs resolved actions against the systems named in the config.

    Build it with :func:`build_executor`. The app sets :attr:`record` and
    :attr:`head` once the incident journal exists, and calls :meth:`close`
    when the cockpit stops.
    """

    def __init__(self, config: Config, *, read_only: bool, state_dir: Path | None = None,
                 channels: Mapping[str, Any] | None = None, poll_s: float = 2.0,
                 notify_wait_s: float = 3.0, now: Callable[[], datetime] | None = None) -> None:
        self.config = config
        self.read_only = read_only
        self.poll_s = poll_s
        """Seconds between polls of waiting actions (rollout status, metrics)."""
        self.notify_wait_s = notify_wait_s
        """How long a notify step waits for the first delivery attempt."""
        self._now = now or (lambda: datetime.now(UTC))
        self.record: Callable[[str, dict[str, Any]], object] | None = None
        """Writes one event to the incident journal (set by the app); exceptions are swallowed."""
        self.head: Callable[[], str] | None = None
        """The journal's head hash (set by the app): quoted in every notification."""
        self._redactor = Redactor(config.secrets())
        self._lock = threading.RLock()
        self._k8s: Any = None
        self._redis: Any = None
        self._http: Any = None
        self._metrics: Any = None
        self._processes: set[subprocess.Popen[str]] = set()
        if state_dir is None:
            from cockpit.paths import state_dir as default_state_dir

            state_dir = default_state_dir()
        self.state_dir = Path(state_dir)
        if channels is None:
            channels = self._build_channels()
        from cockpit.notify.outbox import Outbox

        self.outbox = Outbox(self.state_dir / "notifications", channels)
        self._results: dict[str, tuple[str, str]] = {}
        self._results_cond = threading.Condition()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._pump = threading.Thread(target=self._pump_loop, name="cockpit-outbox-pump",
                                      daemon=True)
        self._pump.start()

    # ------------------------------------------------------------ lifecycle

    def _build_channels(self) -> dict[str, Any]:
        if not any((self.config.slack, self.config.pagerduty, self.config.email)):
            return {}
        from cockpit.notify.channels import build_channels

        return dict(build_channels(self.config, read_only=self.read_only))

    def close(self) -> None:
        """Stop the outbox pump, kill running commands, close every client."""
        self._stopping.set()
        self._wake.set()
        self._pump.join(timeout=15)
        with self._lock:
            for proc in list(self._processes):
                _kill(proc)
            for client in (self._k8s, self._redis, self._http, self._metrics):
                if client is not None:
                    with contextlib.suppress(Exception):
                        client.close()
            self._k8s = self._redis = self._http = self._metrics = None

    def clean(self, text: str) -> str:
        """``text`` with secrets and patient identifiers redacted."""
        return self._redactor.redact_text(text)

    # ------------------------------------------------------------ the protocol

    def run(self, action: ResolvedAction, ctx: RunContext) -> ActionResult:
        """Run ``action`` against the real estate (refused when read-only and mutating)."""
        if self.read_only and action.mutates:
            detail = (f"read-only mode: {action.type} would change production; refused "
                      "(nothing was sent)")
            ctx.emit(detail)
            return ActionResult(False, detail, (), detail)
        return self._dispatch(action, ctx, dry=False)

    def dry_run(self, action: ResolvedAction, ctx: RunContext) -> ActionResult:
        """Preview ``action`` with a server-side dry run where the API offers one.

        Kubernetes mutations are sent with ``dryRun=All`` (admission and
        validation run, nothing is stored) and report what would change; other
        actions return their equivalent command without running anything.
        Allowed in read-only mode (the read-only REST layer lets dry runs through).
        """
        if action.type not in DRY_RUN_TYPES:
            text = f"no server-side dry run for {action.type}; would run: {action.preview()}"
            ctx.emit(text)
            return ActionResult(True, text, (), "preview only")
        return self._dispatch(action, ctx, dry=True)

    def _dispatch(self, action: ResolvedAction, ctx: RunContext, dry: bool) -> ActionResult:
        if action.type in MANUAL_TYPES:
            return ActionResult(False, "", (), f"{action.type} is recorded by the runbook engine")
        handler = getattr(self, "_" + action.type.replace(".", "_"), None)
        if handler is None:
            return ActionResult(False, "", (), f"the live executor cannot run {action.type}")
        call = _Call(ctx, dry, self.clean, [])
        from cockpit.connectors.readonly import ReadOnlyError

        try:
            result: ActionResult = handler(action, call)
        except _Fail as exc:
            if exc.output:
                call.say(exc.output)
            detail = self.clean(exc.detail)
            call.say(f"error: {detail}")
            return ActionResult(False, call.output(), (), detail)
        except ReadOnlyError as exc:
            detail = self.clean(str(exc))
            call.say(detail)
            return ActionResult(False, call.output(), (), detail)
        except SourceError as exc:
            detail = self.clean(str(exc))
            call.say(f"error: {detail}")
            return ActionResult(False, call.output(), (), detail)
        return result

    # ------------------------------------------------------------ kubernetes

    def _kube(self) -> Any:
        with self._lock:
            if self._k8s is None:
                settings = self.config.kubernetes
                if settings is None:
                    raise _Fail("Kubernetes is not configured ([kubernetes] in the config)")
                from cockpit.connectors.kubernetes import make_api_client

                self._k8s = make_api_client(settings, read_only=self.read_only)
            return self._k8s

    def _k(self, call: _Call, fn: Callable[..., Any], *args: Any, what: str = "",
           mutating: bool = False, **kwargs: Any) -> Any:
        """Call the Kubernetes API with an explicit timeout; failures become :class:`_Fail`."""
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
                raise _Fail(f"{what or 'object'} not found" +
                            (f" ({message})" if message else "")) from None
            if exc.status == 409:
                raise _Fail(f"conflict: {what or 'the object'} changed while we patched it; "
                            "run the step again") from None
            reason = describe_api_error(exc, timeout)
            raise _Fail(f"{reason}: {message}" if message else reason) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise _Fail(describe_api_error(exc, timeout)) from None

    def _apps(self) -> Any:
        from kubernetes import client as k8s

        return k8s.AppsV1Api(self._kube())

    def _core(self) -> Any:
        from kubernetes import client as k8s

        return k8s.CoreV1Api(self._kube())

    def _plain(self, model: Any) -> Any:
        """A client model as the API's JSON (camelCase, no nulls)."""
        return self._kube().sanitize_for_serialization(model)

    def _deployment(self, call: _Call, name: str, ns: str) -> dict[str, Any]:
        dep = self._k(call, self._apps().read_namespaced_deployment, name, ns,
                      what=f'deployments.apps "{name}"')
        return dict(self._plain(dep))

    def _owned_replicasets(self, call: _Call, dep: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The ReplicaSets a deployment owns (by ownerReferences, as kubectl does)."""
        meta = dep.get("metadata") or {}
        labels = ((dep.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or None
        listed = self._k(call, self._apps().list_namespaced_replica_set, meta.get("namespace"),
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

    def _k8s_rollout_history(self, action: ResolvedAction, call: _Call) -> ActionResult:
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

    def _k8s_rollout_undo(self, action: ResolvedAction, call: _Call) -> ActionResult:
        p = action.params
        name, ns = p["deployment"], p["namespace"]
        dep = self._deployment(call, name, ns)
        if (dep.get("spec") or {}).get("paused"):
            raise _Fail(f'deployment "{name}" is paused: resume it before rolling back '
                        "(kubectl rollout resume)")
        by_rev = {_revision_of(rs.get("metadata")): rs
                  for rs in self._owned_replicasets(call, dep)}
        by_rev.pop(0, None)
        if not by_rev:
            raise _Fail(f'no rollout history found for deployment "{name}"')
        wanted = p.get("to_revision")
        if wanted:
            target_rev = int(wanted)
            if target_rev not in by_rev:
                have = ", ".join(str(r) for r in sorted(by_rev))
                raise _Fail(f"unable to find the specified revision {target_rev} "
                            f"(revisions: {have})")
        else:
            revs = sorted(by_rev, reverse=True)
            if len(revs) < 2:
                raise _Fail(f'no previous revision of deployment "{name}" to roll back to')
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
        self._k(call, self._apps().patch_namespaced_deployment, name, ns, patch,
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

    def _k8s_rollout_status(self, action: ResolvedAction, call: _Call) -> ActionResult:
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
                raise _Fail(message)
            if done:
                return call.ok()
            stop = call.stop_reason()
            if stop:
                return ActionResult(False, call.output(), (), stop)
            if call.ctx.monotonic() - started >= limit:
                raise _Fail(f"timed out waiting for the rollout ({format_duration(limit)})")
            call.pause(min(self.poll_s, max(0.0, limit - (call.ctx.monotonic() - started))))

    def _k8s_scale(self, action: ResolvedAction, call: _Call) -> ActionResult:
        p = action.params
        name, ns = p["deployment"], p["namespace"]
        self._k(call, self._apps().patch_namespaced_deployment_scale,
                name, ns, {"spec": {"replicas": int(p["replicas"])}},
                _content_type=_MERGE_PATCH, mutating=True, what=f'deployments.apps "{name}"')
        suffix = " (server dry run)" if call.dry else ""
        call.say(f"deployment.apps/{name} scaled to {p['replicas']}{suffix}")
        return call.ok()

    def _deployments_matching(self, call: _Call, ns: str, selector: str) -> list[dict[str, Any]]:
        listed = self._k(call, self._apps().list_namespaced_deployment, ns, what="deployments")
        out = []
        for dep in self._plain(listed).get("items") or []:
            labels = ((((dep.get("spec") or {}).get("template") or {}).get("metadata") or {})
                      .get("labels"))
            if selector_matches(selector, labels):
                out.append(dep)
        return sorted(out, key=lambda d: d["metadata"]["name"])

    def _k8s_restart_pods(self, action: ResolvedAction, call: _Call) -> ActionResult:
        p = action.params
        ns, selector = p["namespace"], p["selector"]
        deps = self._deployments_matching(call, ns, selector)
        if not deps:
            raise _Fail(f"no deployment in {ns} has pods matching {selector} "
                        "(nothing restarted)")
        stamp = self._now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}
        for dep in deps:
            name = dep["metadata"]["name"]
            self._k(call, self._apps().patch_namespaced_deployment, name, ns, body,
                    _content_type=_MERGE_PATCH, mutating=True, what=f'deployments.apps "{name}"')
            suffix = " (server dry run)" if call.dry else ""
            call.say(f"deployment.apps/{name} restarted{suffix}")
        return call.ok()

    def _pods(self, call: _Call, ns: str, selector: str) -> list[dict[str, Any]]:
        listed = self._k(call, self._core().list_namespaced_pod, ns, label_selector=selector,
                         what="pods")
        pods = [pod for pod in self._plain(listed).get("items") or []
                if selector_matches(selector, (pod.get("metadata") or {}).get("labels"))]
        return sorted(pods, key=lambda pod: pod["metadata"]["name"])

    def _k8s_pod_health(self, action: ResolvedAction, call: _Call) -> ActionResult:
        p = action.params
        pods = self._pods(call, p["namespace"], p["selector"])
        if not pods:
            call.say(f"No resources found in {p['namespace']} namespace.")
            return ActionResult(False, call.output(), (), f"no pods match {p['selector']}")
        now = self._now()
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

    def _k8s_logs(self, action: ResolvedAction, call: _Call) -> ActionResult:
        p = action.params
        ns = p["namespace"]
        pods = self._pods(call, ns, p["selector"])
        if not pods:
            raise _Fail(f"no pods match {p['selector']} in {ns}")
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

    def _virtualservice(self, call: _Call, ns: str, name: str) -> tuple[str, dict[str, Any]]:
        """The VirtualService and the Istio API version that served it."""
        last: _Fail | None = None
        for version in ISTIO_VERSIONS:
            try:
                obj = self._k(call, self._custom().get_namespaced_custom_object, ISTIO_GROUP,
                              version, ns, "virtualservices", name,
                              what=f'virtualservices.networking.istio.io "{name}"')
                return version, dict(obj)
            except _Fail as exc:
                if "not found" not in exc.detail:
                    raise
                last = exc
        assert last is not None
        raise last

    def _k8s_traffic_weights(self, action: ResolvedAction, call: _Call) -> ActionResult:
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
            raise _Fail(f"no http route of virtualservice {name} sends traffic only to host "
                        f"{host}")
        self._k(call, self._custom().patch_namespaced_custom_object, ISTIO_GROUP, version, ns,
                "virtualservices", name, patch, _content_type=_JSON_PATCH, mutating=True,
                what=f'virtualservices.networking.istio.io "{name}"')
        shares = ", ".join(f"{subset} {weight}%" for subset, weight in weights.items())
        suffix = " (server dry run)" if call.dry else ""
        call.say(f"virtualservice.networking.istio.io/{name} patched{suffix}: {shares} "
                 f"({changed} route{'s' if changed != 1 else ''})")
        return call.ok()

    def _k8s_set_env(self, action: ResolvedAction, call: _Call) -> ActionResult:
        p = action.params
        name, ns = p["deployment"], p["namespace"]
        dep = self._deployment(call, name, ns)
        containers = (((dep.get("spec") or {}).get("template") or {}).get("spec") or {}).get(
            "containers") or []
        if not containers:
            raise _Fail(f'deployment "{name}" has no containers')
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
        self._k(call, self._apps().patch_namespaced_deployment, name, ns, patch,
                _content_type=_JSON_PATCH, mutating=True, what=f'deployments.apps "{name}"')
        names = ", ".join(key for key, _ in p["env"])
        suffix = " (server dry run)" if call.dry else ""
        call.say(f"deployment.apps/{name} env updated{suffix}: {names}")
        return call.ok()

    # ------------------------------------------------------------ redis

    def _cache(self) -> Any:
        with self._lock:
            if self._redis is None:
                if self.config.redis is None:
                    raise _Fail("Redis is not configured ([redis] in the config)")
                from cockpit.connectors.redis import make_client

                self._redis = make_client(self.config.redis, read_only=self.read_only)
            return self._redis

    def _r(self, fn: Callable[..., Any], *args: Any) -> Any:
        import redis

        from cockpit.connectors.redis import describe_redis_error

        assert self.config.redis is not None
        try:
            return fn(*args)
        except redis.RedisError as exc:
            raise _Fail(describe_redis_error(exc, self.config.redis.timeout_s)) from None

    def _key(self, key: str) -> str:
        assert self.config.redis is not None
        return self.config.redis.key_prefix + key

    def _redis_get(self, action: ResolvedAction, call: _Call) -> ActionResult:
        client = self._cache()
        value = self._r(client.get, self._key(action.params["key"]))
        call.say("(nil)" if value is None else json.dumps(str(value)))
        return call.ok()

    def _redis_set(self, action: ResolvedAction, call: _Call) -> ActionResult:
        p = action.params
        client = self._cache()
        ttl = int(p["ttl"]) if p.get("ttl") else None
        self._r(lambda: client.set(self._key(p["key"]), p["value"], ex=ttl))
        call.say("OK")
        return call.ok()

    def _redis_delete(self, action: ResolvedAction, call: _Call) -> ActionResult:
        client = self._cache()
        removed = self._r(client.delete, self._key(action.params["key"]))
        call.say(f"(integer) {int(removed)}")
        return call.ok()

    def _redis_flushdb(self, action: ResolvedAction, call: _Call) -> ActionResult:
        client = self._cache()
        before = self._r(client.dbsize)
        self._r(client.flushdb)
        assert self.config.redis is not None
        call.say(f"OK (database {self.config.redis.db}: {int(before)} keys removed)")
        return call.ok()

    # ------------------------------------------------------------ postgres

    def _pg_settings(self, database: str) -> Any:
        from dataclasses import replace

        if self.config.postgres is None:
            raise _Fail("PostgreSQL is not configured ([postgres] in the config)")
        return replace(self.config.postgres, dbname=database)

    @contextlib.contextmanager
    def _pg(self, call: _Call, database: str, *, read_only: bool) -> Iterator[Any]:
        """A connection to ``database`` with connect/statement timeouts within the step's time."""
        import psycopg

        from cockpit.connectors.postgres import connect_kwargs, describe_pg_error

        settings = self._pg_settings(database)
        kwargs = connect_kwargs(settings, read_only=read_only or self.read_only)
        statement_ms = int(max(1.0, call.ctx.remaining()) * 1000)
        kwargs["options"] = kwargs["options"].replace(
            f"statement_timeout={int(settings.timeout_s * 1000)}",
            f"statement_timeout={statement_ms}")
        secrets = (settings.password.reveal(),) if settings.password else ()
        try:
            conn = psycopg.connect(**kwargs)
        except psycopg.Error as exc:
            raise _Fail(describe_pg_error(exc, secrets)) from None
        try:
            yield conn
        except psycopg.Error as exc:
            raise _Fail(describe_pg_error(exc, secrets)) from None
        finally:
            conn.close()

    def _sql_path(self, sql_file: str, ctx: RunContext) -> Path:
        from cockpit.paths import runbooks_dir

        path = Path(sql_file)
        if path.is_absolute():
            candidates = [path]
        else:
            bases = []
            if ctx.variables.get("runbooks_dir"):
                base = Path(ctx.variables["runbooks_dir"])
                bases += [base, base.parent]
            shipped = runbooks_dir()
            bases += [shipped.parent, shipped, Path.cwd()]
            candidates = [b / path for b in bases]
        for candidate in candidates:
            if candidate.is_file():
                return candidate
        raise _Fail(f"{sql_file}: verification file not found")

    @staticmethod
    def is_problem(name: str, all_figures: bool) -> bool:
        """Whether a counts-only row is a problem count (0 = healthy) rather than a figure.

        A file whose header says ``one row per figure`` reports figures only;
        otherwise every row is a problem count except ``*_rows`` row counts,
        which are figures to compare with the numbers from before the incident.
        """
        return not all_figures and not name.endswith("_rows")

    def _pg_verify(self, action: ResolvedAction, call: _Call) -> ActionResult:
        p = action.params
        path = self._sql_path(p["sql_file"], call.ctx)
        try:
            sql = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise _Fail(f"{p['sql_file']}: cannot read ({exc.strerror})") from None
        all_figures = "one row per figure" in sql.lower()
        with self._pg(call, p["database"], read_only=True) as conn, conn.cursor() as cur:
            cur.execute(sql)  # the file is trusted runbook data; the session is read-only
            description = cur.description or []
            shape = [(col.name, col.type_code) for col in description]
            if len(shape) != 2 or shape[0][1] not in _TEXT_OIDS or shape[1][1] not in _INT_OIDS:
                cur.close()
                raise _Fail(f"{p['sql_file']} is not counts-only: it must return "
                            "(check_name text, count integer) rows; nothing was shown")
            rows = [(str(name), int(count or 0)) for name, count in cur.fetchall()]
        # a check name must be written in the file: a name that came from a table could be
        # patient data wearing a label
        declared = set(re.findall(r"'((?:[^']|'')*)'", sql))
        strays = [name for name, _ in rows if name not in declared]
        if strays:
            raise _Fail(f"{p['sql_file']} is not counts-only: {len(strays)} check name(s) are "
                        "not written in the file; nothing was shown")
        width = max(len("check_name"), *(len(name) for name, _ in rows)) if rows else 10
        lines = [f" {'check_name':<{width}} | count", f"-{'-' * width}-+------"]
        lines += [f" {name:<{width}} | {count:>5}" for name, count in rows]
        lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
        call.say("\n".join(lines))
        if all_figures:
            return call.ok(detail="figures only")
        bad = [f"{name}={count}" for name, count in rows
               if count and self.is_problem(name, all_figures)]
        if bad:
            return ActionResult(False, call.output(), (),
                                "checks found problems: " + ", ".join(bad))
        return call.ok()

    def _pg_terminate_connections(self, action: ResolvedAction, call: _Call) -> ActionResult:
        database = action.params["database"]
        # from a maintenance connection (the configured database), never the target itself
        maintenance = self._pg_settings(database).dbname
        if self.config.postgres is not None:
            maintenance = self.config.postgres.dbname
        sql = terminate_sql(database)
        call.say(sql)
        with self._pg(call, maintenance, read_only=False) as conn:
            results = [bool(row[0]) for row in conn.execute(sql).fetchall()]
        done = sum(results)
        call.say(f"({len(results)} rows)")
        call.say(f"terminated {done} connection(s) to {database}"
                 + (f"; {len(results) - done} already gone" if done < len(results) else ""))
        return call.ok()

    def _pg_sql(self, action: ResolvedAction, call: _Call) -> ActionResult:
        p = action.params
        statement = p["statement"]
        is_select = statement.lstrip().upper().startswith("SELECT")
        with self._pg(call, p["database"], read_only=is_select) as conn:
            cur = conn.execute(statement)
            if is_select:
                # never the rows: they may hold patient data
                count = len(cur.fetchall())
                call.say(f"({count} row{'s' if count != 1 else ''})")
            else:
                call.say(cur.statusmessage or statement.split(" ", 1)[0].upper())
        return call.ok()

    def _pg_env(self, settings: Any, private: Path) -> dict[str, str]:
        """The environment of pg_dump/pg_restore: no inherited PG*/secret variables, the
        password (if any) in a private 0600 passfile, never in argv or PGPASSWORD."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("PG") and k not in self._secret_env_names()}
        env.update({"PGCONNECT_TIMEOUT": str(max(2, int(settings.timeout_s))),
                    "PGSSLMODE": settings.sslmode, "PGAPPNAME": "rollback-cockpit"})
        if self.read_only:
            env["PGOPTIONS"] = "-c default_transaction_read_only=on"
        if settings.password is not None:
            passfile = private / "pgpass"
            fd = os.open(passfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(passfile_line(settings.host, settings.port, "*", settings.user,
                                           settings.password.reveal()))
            env["PGPASSFILE"] = str(passfile)
        return env

    def _secret_env_names(self) -> set[str]:
        names = set()
        for section in (self.config.datadog, self.config.postgres, self.config.redis,
                        self.config.slack, self.config.pagerduty, self.config.email):
            if section is None:
                continue
            for attr in dir(section):
                if attr.endswith("_env") and isinstance(getattr(section, attr), str):
                    names.add(getattr(section, attr))
        return names

    def _pg_backup(self, action: ResolvedAction, call: _Call) -> ActionResult:
        p = action.params
        settings = self._pg_settings(p["database"])
        final = Path(p["path"])
        if final.exists():
            raise _Fail(f"{final} already exists: refusing to overwrite a backup")
        tools = {tool: shutil.which(tool) for tool in ("pg_dump", "pg_restore")}
        for tool, found in tools.items():
            if found is None:
                raise _Fail(f"{tool} is not installed (PostgreSQL client tools)")
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _Fail(f"cannot create {final.parent}: {exc.strerror}") from None
        partial = final.with_name(f".{final.name}.partial-{os.getpid()}")
        private = Path(tempfile.mkdtemp(prefix="cockpit-pg-"))  # 0700
        try:
            env = self._pg_env(settings, private)
            argv = [str(tools["pg_dump"]), "--host", settings.host, "--port", str(settings.port),
                    "--username", settings.user, "--dbname", settings.dbname, "--no-password",
                    "--format=custom", f"--lock-wait-timeout={LOCK_WAIT_TIMEOUT}",
                    "--file", str(partial)]
            call.say(f"pg_dump: dumping database \"{settings.dbname}\" to {final} "
                     f"(temporary {partial.name})")
            code = self._stream(argv, call, env=env, label="pg_dump")
            if code != 0:
                raise _Fail(f"pg_dump failed (exit {code})" if code > 0 else
                            f"pg_dump stopped: {call.stop_reason() or 'killed'}")
            with open(partial, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(partial, final)
            dir_fd = os.open(final.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
            listing = subprocess.run(  # noqa: S603 - argv list, no shell
                [str(tools["pg_restore"]), "--list", str(final)], capture_output=True, text=True,
                timeout=call.timeout(120.0), env=env, stdin=subprocess.DEVNULL, check=False)
            if listing.returncode != 0:
                first = (listing.stderr.strip().splitlines() or ["unreadable archive"])[0]
                raise _Fail(f"pg_restore --list cannot read {final}: {first[:120]}")
            header = [line for line in listing.stdout.splitlines() if line.startswith(";")]
            entries = sum(1 for line in listing.stdout.splitlines()
                          if line.strip() and not line.startswith(";"))
            call.say(f"pg_restore --list {final}:")
            call.say("\n".join(header[:12]))
            size = final.stat().st_size
            call.say(f"{final.name}: {size / 1e6:.2f} MB, {entries} TOC entries, readable")
            return call.ok(facts=("backup_taken",))
        except subprocess.TimeoutExpired:
            raise _Fail(f"pg_restore --list did not finish in time for {final}") from None
        finally:
            with contextlib.suppress(OSError):
                partial.unlink()
            shutil.rmtree(private, ignore_errors=True)

    # ------------------------------------------------------------ http

    def _client(self) -> Any:
        with self._lock:
            if self._http is None:
                from cockpit.connectors.http import make_http_client

                timeout = self.config.http.timeout_s if self.config.http else 5.0
                self._http = make_http_client(timeout, self.read_only)
            return self._http

    def _http_timeout(self) -> float:
        return self.config.http.timeout_s if self.config.http else 5.0

    def _http_health(self, action: ResolvedAction, call: _Call) -> ActionResult:
        from cockpit.connectors.http import check_endpoint

        names = list(action.params["endpoints"])
        urls = list(action.health_urls())
        client = self._client()
        timeout = call.timeout(self._http_timeout())
        with ThreadPoolExecutor(max_workers=max(1, min(8, len(urls))),
                                thread_name_prefix="cockpit-health") as pool:
            results = list(pool.map(lambda nu: check_endpoint(client, nu[0], nu[1], timeout),
                                    zip(names, urls, strict=True)))
        failing = []
        for health in results:
            if health.ok:
                call.say(f"{health.status_code} {health.url} {health.latency_ms or 0:.0f}ms")
            else:
                code = health.status_code if health.status_code is not None else "---"
                call.say(f"FAIL {code} {health.url}: {health.detail}")
                failing.append(health.name)
        if failing:
            return ActionResult(False, call.output(), (), f"failing: {', '.join(failing)}")
        return call.ok()

    def _http_version(self, action: ResolvedAction, call: _Call) -> ActionResult:
        from cockpit.connectors.http import read_version

        url = action.params["url"]
        ok, value, body = read_version(self._client(), url,
                                       call.timeout(self._http_timeout()))
        name = next((n for n, u in (self.config.http.version_urls.items()
                                    if self.config.http else ()) if u == url), "")
        if body:
            call.say(body)
        if not ok:
            raise _Fail(f"{url}: {value}")
        call.say(f"{name + ': ' if name else ''}version {value}")
        return call.ok(detail=f"version {value}")

    # ------------------------------------------------------------ metrics

    def _datadog(self) -> Any:
        with self._lock:
            if self._metrics is None:
                if self.config.datadog is None:
                    raise _Fail("metrics: Datadog is not configured ([datadog] in the config)")
                from cockpit.connectors.datadog import DatadogSource

                self._metrics = DatadogSource(self.config.datadog, read_only=self.read_only,
                                              now=self._now)
            return self._metrics

    def _metrics_query(self, action: ResolvedAction, call: _Call) -> ActionResult:
        p = action.params
        source = self._datadog()
        end = int(self._now().timestamp())
        start = end - int(p["from"])
        series = source.query(p["query"], "query", start, end)
        values = [v for _, v in series.points]
        if not values:
            call.say(f"{p['query']} (-{format_duration(p['from'])}): no data")
            return ActionResult(False, call.output(), (), "no data points in the window")
        call.say(f"{p['query']} (-{format_duration(p['from'])}): last {values[-1]:g}, "
                 f"min {min(values):g}, max {max(values):g}, "
                 f"avg {sum(values) / len(values):.2f} ({len(values)} points)")
        return call.ok()

    def _metric_query_for(self, metric: str) -> str:
        assert self.config.datadog is not None
        d = self.config.datadog
        return {"error_rate_pct": d.error_rate_query, "latency_p95_ms": d.latency_query,
                "cpu_pct": d.cpu_query, "memory_pct": d.memory_query}[metric]

    @staticmethod
    def held_below(points: list[tuple[datetime, float]], threshold: float,
                   now: datetime) -> tuple[float | None, float | None]:
        """``(latest value, seconds it has stayed below threshold)`` from a series.

        The hold starts at the first point of the trailing run of points below
        the threshold and lasts until ``now``. No points: ``(None, None)``;
        latest at or above the threshold: ``(value, None)``.
        """
        if not points:
            return None, None
        latest = points[-1][1]
        if latest >= threshold:
            return latest, None
        since = points[-1][0]
        for at, value in reversed(points):
            if value >= threshold:
                break
            since = at
        return latest, max(0.0, (now - since).total_seconds())

    def _metrics_wait_below(self, action: ResolvedAction, call: _Call) -> ActionResult:
        p = action.params
        metric, threshold, need = p["metric"], float(p["threshold"]), float(p["minutes"]) * 60
        source = self._datadog()
        query = self._metric_query_for(metric)
        interval = max(self.poll_s, min(60.0, self.config.datadog.interval_s)) \
            if self.config.datadog else self.poll_s
        last = ""
        while True:
            now = self._now()
            end = int(now.timestamp())
            window = int(need + 600)
            try:
                series = source.query(query, metric, end - window, end)
            except SourceError as exc:
                message = f"{metric}: {exc} (retrying)"
            else:
                value, held = self.held_below(list(series.points), threshold, now)
                stale = bool(series.points) and \
                    (now - series.points[-1][0]) > timedelta(minutes=5)
                if value is None or stale:
                    message = f"{metric}: no recent data"
                elif held is None:
                    message = f"{metric} {value:g} >= {threshold:g}: waiting"
                elif held >= need:
                    call.say(f"{metric} {value:g} < {threshold:g} for "
                             f"{format_duration(held)}: ok")
                    return call.ok()
                else:
                    message = (f"{metric} {value:g} < {threshold:g} (held "
                               f"{format_duration(held)} of {format_duration(need)})")
            if message != last:
                call.say(message)
                last = message
            stop = call.stop_reason()
            if stop:
                return ActionResult(False, call.output(), (), stop)
            call.pause(interval)

    # ------------------------------------------------------------ notifications

    def _journal_head(self) -> str:
        try:
            return (self.head() if self.head is not None else "") or "unknown"
        except Exception:  # noqa: BLE001 - a broken hook must not stop a notification
            return "unknown"

    def _notification(self, channel: str, params: Mapping[str, Any], ctx: RunContext) -> Any:
        from cockpit.notify.message import Notification, email_message, pagerduty_event

        head = self._journal_head()
        env = self.config.cockpit.environment
        incident = ctx.incident_id
        if channel == "slack":
            text = f"{params['message']}\nJournal head: {head}"
            fields = [{"title": "Environment", "value": env, "short": True},
                      {"title": "Incident", "value": incident or "-", "short": True},
                      {"title": "Journal head", "value": head, "short": False}]
            return Notification("slack", f"Slack: {params['message'][:80]}",
                                {"text": text, "attachments": [{"fields": fields}]})
        if channel == "pagerduty":
            summary = f"{params['summary']} (Journal head: {head})"
            note = pagerduty_event(incident or f"rollback-cockpit-{env}", params["event"],
                                   summary, "rollback-cockpit")
            if params["event"] == "trigger":
                note.payload["payload"]["custom_details"] = {"journal_head": head,
                                                            "environment": env}
            return note
        body = f"{params['body']}\n\nEnvironment: {env}\nIncident: {incident or '-'}\n" \
               f"Journal head: {head}\n"
        note = email_message(params["subject"], body)
        note.payload["to"] = list(params["to"])
        return note

    def _send(self, channel: str, params: Mapping[str, Any], call: _Call) -> ActionResult:
        if channel not in self.outbox.channels:
            raise _Fail(f"{channel} is not configured ([{channel}] in the config); nothing sent")
        note = self._notification(channel, params, call.ctx)
        entry_id = self.outbox.enqueue(note)
        call.say(f"{channel}: queued ({entry_id})")
        outcome, detail = self._await_first_attempt(entry_id, call)
        if outcome == "delivered":
            call.say(f"{channel}: delivered: {detail}")
            return call.ok()
        if outcome == "failed":
            raise _Fail(f"{channel}: not delivered: {detail}")
        why = f": {detail}" if detail else ""
        call.say(f"{channel}: queued; delivery continues in the background{why}")
        return call.ok(detail=f"{channel} delivery pending{why}")

    def _await_first_attempt(self, entry_id: str, call: _Call) -> tuple[str, str]:
        self._wake.set()
        deadline = time.monotonic() + min(self.notify_wait_s, call.ctx.remaining())
        with self._results_cond:
            while entry_id not in self._results:
                left = deadline - time.monotonic()
                if left <= 0 or call.ctx.cancelled():
                    return "pending", "no answer yet"
                self._results_cond.wait(min(left, 0.2))
            return self._results[entry_id]

    def _notify_slack(self, action: ResolvedAction, call: _Call) -> ActionResult:
        return self._send("slack", action.params, call)

    def _notify_pagerduty(self, action: ResolvedAction, call: _Call) -> ActionResult:
        return self._send("pagerduty", action.params, call)

    def _notify_email(self, action: ResolvedAction, call: _Call) -> ActionResult:
        return self._send("email", action.params, call)

    @property
    def slack_configured(self) -> bool:
        """Whether :meth:`post_status_update` would post (Slack configured, not read-only)."""
        return "slack" in self.outbox.channels and not self.read_only

    def post_status_update(self, text: str) -> str:
        """Queue a status update to Slack; returns ``"slack"``, or ``""`` when not configured
        (or read-only: observers do not post)."""
        if "slack" not in self.outbox.channels or self.read_only:
            return ""
        from cockpit.notify.message import Notification

        head = self._journal_head()
        self.outbox.enqueue(Notification("slack", f"Slack: status update: {text[:60]}",
                                         {"text": f"{text}\nJournal head: {head}"}))
        self._wake.set()
        return "slack"

    def _pump_loop(self) -> None:
        """Deliver due messages until :meth:`close`; sleeps until the next one is due."""
        while not self._stopping.is_set():
            try:
                results = self.outbox.deliver_due()
            except Exception:  # noqa: BLE001 - the pump must survive a broken disk or channel
                results = []
            for entry_id, outcome, detail in results:
                self._report(entry_id, outcome, detail)
            due = self.outbox.next_due()
            wait = 30.0 if due is None else max(0.05, (due - datetime.now(UTC)).total_seconds())
            self._wake.wait(min(wait, 30.0))
            self._wake.clear()

    def _report(self, entry_id: str, outcome: str, detail: str) -> None:
        with self._results_cond:
            self._results.setdefault(entry_id, (outcome, detail))
            self._results_cond.notify_all()
        entry = next((e for e in self.outbox.entries() if e.id == entry_id), None)
        if self.record is None or entry is None:
            return
        kind = "notification.delivered" if outcome == "delivered" else "notification.failed"
        data = {"channel": entry.notification.channel, "id": entry_id, "outcome": outcome,
                "reason": self.clean(detail), "attempts": entry.attempts}
        try:
            self.record(kind, data)
        except Exception:  # noqa: BLE001, S110 - journaling a delivery must never kill the pump
            pass

    # ------------------------------------------------------------ shell and wait

    def _stream(self, argv: list[str], call: _Call, *, env: Mapping[str, str] | None = None,
                label: str = "") -> int:
        """Run argv (no shell), stream its output, stop it on timeout/cancel.

        Returns the exit code, or -1 when it was stopped.
        """
        if env is None:
            env = {k: v for k, v in os.environ.items() if k not in self._secret_env_names()}
        try:
            proc = subprocess.Popen(  # noqa: S603 - argv list, never a shell
                argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                text=True, errors="replace", env=dict(env), start_new_session=True, bufsize=1)
        except FileNotFoundError:
            raise _Fail(f"{argv[0]}: command not found") from None
        except OSError as exc:
            raise _Fail(f"{argv[0]}: cannot start ({exc.strerror})") from None
        with self._lock:
            self._processes.add(proc)

        def pump() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                call.say(line.rstrip("\n"))

        reader = threading.Thread(target=pump, name=f"cockpit-{label or argv[0]}", daemon=True)
        reader.start()
        try:
            while True:
                try:
                    code = proc.wait(timeout=0.2)
                    reader.join(timeout=5)
                    return int(code)
                except subprocess.TimeoutExpired:
                    pass
                if call.stop_reason():
                    _kill(proc)
                    reader.join(timeout=5)
                    return -1
        finally:
            with self._lock:
                self._processes.discard(proc)

    def _shell(self, action: ResolvedAction, call: _Call) -> ActionResult:
        argv = [str(a) for a in action.params["argv"]]
        code = self._stream(argv, call)
        if code == -1:
            stop = call.stop_reason() or "stopped"
            call.say(f"{argv[0]}: stopped ({stop})")
            return ActionResult(False, call.output(), (), stop)
        if code != 0:
            return ActionResult(False, call.output(), (), f"{argv[0]} exited with {code}")
        return call.ok()

    def _wait(self, action: ResolvedAction, call: _Call) -> ActionResult:
        end = call.ctx.monotonic() + float(action.params["duration"])
        call.say(f"waiting {format_duration(float(action.params['duration']))}")
        while True:
            left = end - call.ctx.monotonic()
            if left <= 0:
                call.say("waited")
                return call.ok()
            stop = call.stop_reason()
            if stop:
                return ActionResult(False, call.output(), (), stop)
            call.pause(min(left, 1.0))


def _kill(proc: subprocess.Popen[str]) -> None:
    """Stop a command and its children: SIGTERM to its process group, SIGKILL after 5 s."""
    import signal

    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)


def build_executor(config: Config, *, read_only: bool,
                   state_dir: Path | None = None) -> LiveExecutor:
    """The live executor for ``config``; ``read_only`` refuses every mutating action and
    builds every client with its read-only guard. ``state_dir`` holds the notification
    outbox (default: the cockpit's state folder)."""
    return LiveExecutor(config, read_only=read_only, state_dir=state_dir)
