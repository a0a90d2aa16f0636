"""Running runbook actions against the simulated estate (training; nothing touches the host).

:class:`SimExecutor` is the :class:`cockpit.actions.executor.Executor` of the
simulated estate: every non-manual action type, dispatched through one explicit
table, with kubectl / redis-cli / pg_dump / psql / curl-like output. It declares
one capability, ``inspect``: the history, describe, events and logs views read the
estate (:meth:`SimExecutor.read_history`, :meth:`SimExecutor.read_text`); no
server-side dry run, no status posting.
Waiting actions (``k8s.rollout_status``, ``metrics.wait_below``, ``wait``)
poll the estate and call ``sleep`` between polls: in the app a timer moves the
simulated clock and ``sleep`` is :func:`time.sleep`; tests pass a ``sleep``
that advances the estate's clock, so a run is deterministic. This module never
starts a process.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cockpit.actions.executor import ActionResult, Capabilities, Executor, RunContext
from cockpit.actions.inspect import (
    DEFAULT_TAIL,
    READ_TIMEOUT_S,
    DeploymentHistory,
    InspectError,
    ReadText,
    RevisionRow,
    age,
    clean_lines,
)
from cockpit.actions.model import format_duration
from cockpit.actions.types import MANUAL_TYPES, ResolvedAction, terminate_sql
from cockpit.domain import HEALTH_ENDPOINTS, DeploymentInfo, PodInfo, show_version
from cockpit.sim.estate import EstateError, SimEstate, is_api_tier, replica_set_name


@dataclass(frozen=True)
class SimBackup:
    """A backup the simulated pg_dump 'produced'."""

    name: str
    path: str
    database: str
    size_bytes: int
    at: datetime


@dataclass(frozen=True)
class SimDelivery:
    """A simulated notification delivery."""

    channel: str
    summary: str
    at: datetime


_SHELL_TABLE: tuple[tuple[tuple[str, ...], str], ...] = (
    (("aws", "rds", "restore-db-instance-to-point-in-time"),
     "DBInstanceStatus: creating\nDBInstanceIdentifier: prod-db-recovered\n"
     "Engine: postgres\nMultiAZ: true"),
    (("aws", "rds", "describe-db-instances"), "DBInstanceStatus: available"),
    (("aws", "rds", "wait"), ""),
    (("aws", "s3", "ls"),
     "2025-01-21 02:00:04 1984113422 whitecross_prod_20250121_0200.dump\n"
     "2025-01-20 02:00:03 1979004410 whitecross_prod_20250120_0200.dump"),
    (("aws", "sts", "get-caller-identity"),
     '{"UserId": "AIDASIMULATED", "Account": "000000000000", '
     '"Arn": "arn:aws:iam::000000000000:user/oncall"}'),
    (("aws", "ec2", "create-snapshot"), "SnapshotId: snap-0sim\nState: pending"),
    (("terraform", "plan"),
     "Plan: 0 to add, 3 to change, 1 to destroy.\n\nNote: simulated plan of the previous state."),
    (("terraform", "apply"), "Apply complete! Resources: 0 added, 3 changed, 1 destroyed."),
    (("terraform", "state"), "aws_db_instance.prod\naws_elasticache_cluster.prod\n"
                             "aws_eks_cluster.prod"),
    (("npm", "run", "test:smoke"), "smoke: 24 passing (3s)"),
    (("helm", "rollback"), "Rollback was a success! Happy Helming!"),
)


_BASE_MIGRATIONS = (
    "20250110120000-add-medication-schedules",
    "20250118093000-add-student-allergies",
)


SimHandler = Callable[[Mapping[str, Any], RunContext], ActionResult]


class SimExecutor(Executor):
    """Runs every action type against a :class:`SimEstate`."""

    capabilities = Capabilities(inspect=True)

    def __init__(self, estate: SimEstate, *, sleep: Callable[[float], None] | None = None,
                 poll_s: float = 0.5) -> None:
        self.estate = estate
        self._sleep = sleep or time.sleep
        self.poll_s = poll_s
        self._lock = threading.Lock()
        self.backups: list[SimBackup] = []
        self.deliveries: list[SimDelivery] = []
        self.traffic: dict[str, tuple[tuple[str, int], ...]] = {}
        self.env: dict[str, dict[str, str]] = {}
        self.commands: list[tuple[str, ...]] = []
        """Every argv 'run' (nothing really runs)."""
        self._handlers: dict[str, SimHandler] = {
            "k8s.rollout_history": self._k8s_rollout_history,
            "k8s.rollout_undo": self._k8s_rollout_undo,
            "k8s.rollout_status": self._k8s_rollout_status,
            "k8s.scale": self._k8s_scale,
            "k8s.restart_pods": self._k8s_restart_pods,
            "k8s.rollout_restart": self._k8s_rollout_restart,
            "k8s.pod_health": self._k8s_pod_health,
            "k8s.logs": self._k8s_logs,
            "k8s.traffic_weights": self._k8s_traffic_weights,
            "k8s.set_env": self._k8s_set_env,
            "redis.get": self._redis_get,
            "redis.set": self._redis_set,
            "redis.delete": self._redis_delete,
            "redis.flushdb": self._redis_flushdb,
            "pg.backup": self._pg_backup,
            "pg.verify": self._pg_verify,
            "pg.terminate_connections": self._pg_terminate_connections,
            "pg.sql": self._pg_sql,
            "http.health": self._http_health,
            "http.version": self._http_version,
            "metrics.query": self._metrics_query,
            "metrics.wait_below": self._metrics_wait_below,
            "notify.slack": self._notify_slack,
            "notify.pagerduty": self._notify_pagerduty,
            "notify.email": self._notify_email,
            "shell": self._shell,
            "wait": self._wait,
        }

    @property
    def handlers(self) -> Mapping[str, SimHandler]:
        """Action type -> the method that plays it on the estate."""
        return self._handlers

    # -------------------------------------------------------------- helpers

    def _check_namespace(self, namespace: str) -> None:
        if namespace != self.estate.namespace:
            raise EstateError(f'Error from server (NotFound): namespaces "{namespace}" not found')

    @staticmethod
    def _deployment_of(selector: str) -> str:
        match = re.fullmatch(r"app=([a-z0-9-]+)", selector)
        if not match:
            raise EstateError(f"simulated cluster only understands app=NAME selectors, "
                              f"not '{selector}'")
        return match.group(1)

    def run(self, action: ResolvedAction, ctx: RunContext) -> ActionResult:
        """Run ``action`` against the estate."""
        argv = action.argv()
        if argv is not None:
            with self._lock:
                self.commands.append(argv)
        if action.type in MANUAL_TYPES:
            return ActionResult(False, "", (), f"{action.type} is recorded by the runbook engine")
        handler = self._handlers.get(action.type)
        if handler is None:
            return ActionResult(False, "", (), f"the simulator cannot run {action.type}")
        try:
            result: ActionResult = handler(action.params, ctx)
        except EstateError as exc:
            ctx.emit(f"error: {exc}")
            return ActionResult(False, f"error: {exc}", (), str(exc))
        return result

    def _say(self, ctx: RunContext, text: str) -> str:
        for line in text.splitlines():
            ctx.emit(line)
        return text

    def _poll(self, ctx: RunContext, check: Callable[[], tuple[bool, str]],
              sim_limit_s: float | None = None) -> ActionResult:
        """Poll ``check`` until it is done, the step times out or is cancelled."""
        begin = self.estate.now()
        lines: list[str] = []
        last = ""
        while True:
            done, message = check()
            if message != last:
                ctx.emit(message)
                lines.append(message)
                last = message
            if done:
                return ActionResult(True, "\n".join(lines))
            if ctx.cancelled():
                return ActionResult(False, "\n".join(lines), (), "cancelled by the operator")
            if ctx.timed_out():
                return ActionResult(False, "\n".join(lines), (), "step timeout reached")
            waited = (self.estate.now() - begin).total_seconds()
            if sim_limit_s is not None and waited >= sim_limit_s:
                msg = f"error: timed out waiting for the condition ({format_duration(waited)})"
                ctx.emit(msg)
                lines.append(msg)
                return ActionResult(False, "\n".join(lines), (), msg)
            self._sleep(self.poll_s)

    # -------------------------------------------------------------- kubernetes

    def _k8s_rollout_history(self, p: Mapping[str, Any], ctx: RunContext) -> ActionResult:
        self._check_namespace(p["namespace"])
        history = self.estate.rollout_history(p["deployment"])
        rows = [f"deployment.apps/{p['deployment']}", "REVISION  CHANGE-CAUSE"]
        rows += [f"{rev.revision:<9} image {rev.image}" for rev in history]
        return ActionResult(True, self._say(ctx, "\n".join(rows)))

    def _k8s_rollout_undo(self, p: Mapping[str, Any], ctx: RunContext) -> ActionResult:
        self._check_namespace(p["namespace"])
        out = self.estate.rollout_undo(p["deployment"], p.get("to_revision"))
        return ActionResult(True, self._say(ctx, out))

    def _k8s_rollout_status(self, p: Mapping[str, Any], ctx: RunContext) -> ActionResult:
        self._check_namespace(p["namespace"])
        return self._poll(ctx, lambda: self.estate.rollout_status(p["deployment"]),
                          float(p.get("timeout") or 300))

    def _k8s_scale(self, p: Mapping[str, Any], ctx: RunContext) -> ActionResult:
        self._check_namespace(p["namespace"])
        return ActionResult(True, self._say(ctx, self.estate.scale(p["deployment"],
                                                                   p["replicas"])))

    def _k8s_restart_pods(self, p: Mapping[str, Any], ctx: RunContext) -> ActionResult:
        self._check_namespace(p["namespace"])
        out = self.estate.restart_pods(self._deployment_of(p["selector"]))
        return ActionResult(True, self._say(ctx, out or "No resources found"))

    def _k8s_rollout_restart(self, p: Mapping[str, Any], ctx: RunContext) -> ActionResult:
        self._check_namespace(p["namespace"])
        out = self.estate.restart_pods(p["deployment"], rolling=True)
        return ActionResult(True, self._say(ctx, out))

    def _k8s_pod_health(self, p: Mapping[str, Any], ctx: RunContext) -> ActionResult:
        self._check_namespace(p["namespace"])
        name = self._deployment_of(p["selector"])
        pods = [pod for pod in self.estate.cluster_snapshot().pods if pod.deployment == name]
        if not pods:
            msg = f"No resources found in {p['namespace']} namespace."
            return ActionResult(False, self._say(ctx, msg), (), "no pods match")
        rows = [f"{'NAME':<32} READY   STATUS              RESTARTS   AGE"]
        for pod in pods:
            age = format_duration(pod.age_s) if pod.age_s < 86400 else "1d"
            status = pod.phase if pod.ready else (pod.reason or pod.phase)
            rows.append(f"{pod.name:<32} {'1/1' if pod.ready else '0/1':<7} {status:<19} "
                        f"{pod.restarts:<10} {age}")
        unready = [pod.name for pod in pods if not pod.ready]
        text = self._say(ctx, "\n".join(rows))
        if unready:
            return ActionResult(False, text, (), f"{len(unready)} of {len(pods)} pods not ready")
        return ActionResult(True, text)

    def _k8s_logs(self, p: Mapping[str, Any], ctx: RunContext) -> ActionResult:
        self._check_namespace(p["namespace"])
        name = self._deployment_of(p["selector"])
        dep = self.estate.cluster_snapshot().deployment(name)
        if dep is None:
            raise EstateError(f'deployments.apps "{name}" not found')
        faulty = any(f.deployment == name and f.version == dep.version
                     for f in self.estate.scenario.faults)
        stamp = self.estate.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        lines = []
        for i in range(min(int(p["tail"]), 12)):
            if faulty and i % 3 == 0:
                lines.append(f"{stamp} ERROR {name} v{dep.version} request failed: "
                             "too many connections for role \"app\"")
            else:
                lines.append(f"{stamp} INFO  {name} v{dep.version} GET /v1/health 200")
        return ActionResult(True, self._say(ctx, "\n".join(lines)))

    def _k8s_traffic_weights(self, p: Mapping[str, Any], ctx: RunContext) -> ActionResult:
        self._check_namespace(p["namespace"])
        with self._lock:
            self.traffic[p["virtualservice"]] = tuple(p["weights"])
        out = f"virtualservice.networking.istio.io/{p['virtualservice']} patched"
        return ActionResult(True, self._say(ctx, out))

    def _k8s_set_env(self, p: Mapping[str, Any], ctx: RunContext) -> ActionResult:
        self._check_namespace(p["namespace"])
        self.estate.rollout_history(p["deployment"])  # raises for an unknown deployment
        with self._lock:
            self.env.setdefault(p["deployment"], {}).update(dict(p["env"]))
        return ActionResult(True, self._say(ctx, f"deployment.apps/{p['deployment']} env updated"))

    # -------------------------------------------------------------- reading (inspect)

    def read_history(self, deployment: str, namespace: str, *,
                     timeout_s: float = READ_TIMEOUT_S) -> DeploymentHistory:
        """The deployment's revisions from the estate, the running one marked, each with
        its simulated pod template (the image and version lines differ)."""
        del timeout_s  # the estate answers at once
        try:
            self._check_namespace(namespace)
            times = self.estate.revision_times(deployment)
            dep = self.estate.cluster_snapshot().deployment(deployment)
        except EstateError as exc:
            raise InspectError(str(exc)) from None
        if dep is None:
            raise InspectError(f'deployments.apps "{deployment}" not found')
        rows = tuple(
            RevisionRow(rev.revision, rev.version, rev.image,
                        rev.change_cause or f"deploy {show_version(rev.version)}",
                        times.get(rev.revision), replica_set_name(deployment, rev.revision),
                        rev.revision == dep.revision,
                        sim_template(deployment, rev.image, rev.version))
            for rev in dep.history)
        return DeploymentHistory(deployment, namespace, rows, dep.desired,
                                 selector=f"app={deployment}",
                                 note=f"{len(rows)} revisions kept · {dep.ready}/{dep.desired} "
                                      "ready")

    def read_text(self, kind: str, name: str, namespace: str, view: str, *,
                  tail: int = DEFAULT_TAIL, timeout_s: float = READ_TIMEOUT_S) -> ReadText:
        """Describe, events or logs of a deployment or a pod of the estate (deterministic
        for a seed, a time and the actions taken)."""
        del timeout_s
        try:
            self._check_namespace(namespace)
            cluster = self.estate.cluster_snapshot()
        except EstateError as exc:
            raise InspectError(str(exc)) from None
        if kind == "pod":
            pod = next((p for p in cluster.pods if p.name == name), None)
            if pod is None:
                raise InspectError(f'pods "{name}" not found')
            dep = cluster.deployment(pod.deployment)
            pods: list[PodInfo] = [pod]
        else:
            dep = cluster.deployment(name)
            pods = [p for p in cluster.pods if p.deployment == name]
        if dep is None:
            raise InspectError(f'deployments.apps "{name}" not found')
        if view == "describe":
            lines = (self._describe_pod(pods[0], dep) if kind == "pod"
                     else self._describe_deployment(dep, pods))
        elif view == "events":
            lines = self._events(dep, pods, pod_only=kind == "pod")
        elif view == "logs":
            lines = self._logs(dep, pods, tail)
        else:
            raise InspectError(f"no such view: {view}")
        lines = clean_lines(lines)
        if view == "logs" and len(lines) > tail:
            lines = lines[-tail:]
        return ReadText(tuple(lines), f"{kind}/{name} · {view} · simulated")

    def _describe_deployment(self, dep: DeploymentInfo, pods: list[PodInfo]) -> list[str]:
        unready = sum(1 for p in pods if not p.ready)
        cond = "True" if dep.ready >= dep.desired else "False"
        return [
            f"Name:                   {dep.name}",
            f"Namespace:              {dep.namespace}",
            f"Labels:                 app={dep.name}",
            f"Annotations:            deployment.kubernetes.io/revision: {dep.revision}",
            f"Selector:               app={dep.name}",
            f"Replicas:               {dep.desired} desired | {dep.updated} updated | "
            f"{len(pods)} total | {dep.ready} available | {unready} unavailable",
            "StrategyType:           RollingUpdate",
            "RollingUpdateStrategy:  25% max unavailable, 25% max surge",
            "Pod Template:",
            *("  " + line for line in sim_template(dep.name, dep.image, dep.version)),
            "Conditions:",
            "  Type           Status  Reason",
            "  ----           ------  ------",
            f"  Available      {cond:<7} Minimum"
            f"Replicas{'Available' if cond == 'True' else 'Unavailable'}",
            "  Progressing    True    NewReplicaSetAvailable",
            f"NewReplicaSet:   {replica_set_name(dep.name, dep.revision)} "
            f"({dep.updated}/{dep.desired} replicas created)",
            "Events:          (e to read them)",
        ]

    def _describe_pod(self, pod: PodInfo, dep: DeploymentInfo) -> list[str]:
        image = next((r.image for r in dep.history if r.revision == pod.revision), dep.image)
        state = "Running" if pod.phase == "Running" else "Waiting"
        return [
            f"Name:             {pod.name}",
            f"Namespace:        {dep.namespace}",
            f"Labels:           app={dep.name}",
            f"                  version={pod.version}",
            f"Status:           {pod.phase}",
            f"Controlled By:    ReplicaSet/{replica_set_name(dep.name, pod.revision)}",
            "Containers:",
            f"  {dep.name}:",
            f"    Image:          {image}",
            f"    State:          {state}" + ("" if state == "Running" else
                                              f" ({pod.reason or 'ContainerCreating'})"),
            f"    Ready:          {'True' if pod.ready else 'False'}",
            f"    Restart Count:  {pod.restarts}",
            "    Readiness:      http-get :8080/v1/health",
            "Conditions:",
            f"  Ready             {'True' if pod.ready else 'False'}",
            f"Age:              {age(pod.age_s)}",
        ]

    def _events(self, dep: DeploymentInfo, pods: list[PodInfo], *, pod_only: bool) -> list[str]:
        rows: list[tuple[float, str, str, str]] = []
        if not pod_only:
            for ago, reason, message in self.estate.k8s_events(dep.name):
                rows.append((ago, "Normal", reason, message))
        faulty = self.estate.faulty(dep.name, dep.version)
        for pod in pods[:20]:
            if pod.restarts:
                rows.append((min(pod.age_s, 60.0), "Warning", "BackOff",
                             f"pod/{pod.name}: Back-off restarting failed container "
                             f"({pod.restarts} restarts)"))
            if faulty and pod.revision == dep.revision:
                rows.append((min(pod.age_s, 30.0), "Warning", "Unhealthy",
                             f"pod/{pod.name}: Readiness probe failed: HTTP probe failed with "
                             "statuscode: 503"))
            elif not pod.ready:
                rows.append((0.0, "Normal", "Pulling",
                             f"pod/{pod.name}: Pulling image \"{dep.image}\""))
        rows.sort(key=lambda row: -row[0])
        if not rows:
            return ["No events found."]
        out = [f"{'LAST SEEN':<10} {'TYPE':<8} {'REASON':<20} MESSAGE"]
        out += [f"{age(ago):<10} {kind:<8} {reason:<20} {message}"
                for ago, kind, reason, message in rows]
        return out

    def _logs(self, dep: DeploymentInfo, pods: list[PodInfo], tail: int) -> list[str]:
        """The last ``tail`` lines of each of (at most) 5 pods, in time order across them."""
        now = self.estate.now()
        head: list[str] = []
        shown = pods[:5]
        if len(pods) > 5:
            head.append(f"(reading 5 of {len(pods)} pods, like kubectl's --max-log-requests)")
        per_pod = max(1, min(tail, 200))
        timed: list[tuple[float, int, str]] = []
        for order, pod in enumerate(shown):
            faulty = self.estate.faulty(dep.name, pod.version)
            digest = int(hashlib.sha256(f"{self.estate.seed}|{pod.name}".encode())
                         .hexdigest()[:8], 16)
            version = show_version(pod.version)
            for i in range(per_pod):
                stamp = now.timestamp() - (per_pod - i) * 3 - digest % 3
                at = datetime.fromtimestamp(stamp, tz=now.tzinfo).strftime("%Y-%m-%dT%H:%M:%SZ")
                prefix = f"[pod/{pod.name}/{dep.name}] {at}"
                if faulty and (i + digest) % 4 == 0:
                    line = (f"{prefix} ERROR {dep.name} {version} request failed: too many "
                            "connections for role \"app\"")
                elif faulty and (i + digest) % 4 == 2:
                    line = f"{prefix} WARN  {dep.name} {version} pool exhausted, new connection"
                else:
                    path = ("/v1/health", "/v1/users", "/v1/students",
                            "/v1/medications")[(i + digest) % 4]
                    line = (f"{prefix} INFO  {dep.name} {version} GET {path} 200 "
                            f"{12 + (i * 7 + digest) % 40}ms")
                timed.append((stamp, order, line))
        timed.sort(key=lambda item: (item[0], item[1]))
        return head + [line for _, _, line in timed]

    # -------------------------------------------------------------- redis

    def _redis_get(self, p: Mapping[str, Any], ctx: RunContext) -> ActionResult:
        value = self.estate.cache_get(p["key"])
        return ActionResult(True, self._say(ctx, "(nil)" if value is None else f'"{value}"'))

    def _redis_set(self, p: Mapping[str, Any], ctx: RunContext) -> ActionResult:
        return ActionResult(True, self._say(ctx, self.estate.cache_set(p["key"], p["value"])))

    def _redis_delete(self, p: Mapping[str, Any], ctx: RunContext) -> ActionResult:
        removed = self.estate.cache_delete(p["key"])
        return ActionResult(True, self._say(ctx, f"(integer) {removed}"))

    def _redis_flushdb(self, p: Mapping[str, Any], ctx: RunContext) -> ActionResult:
        return ActionResult(True, self._say(ctx, self.estate.cache_flush()))

    # -------------------------------------------------------------- postgres

    def _pg_backup(self, p: Mapping[str, Any], ctx: RunContext) -> ActionResult:
        self.estate.backup(p["database"])
        digest = hashlib.sha256(f"{self.estate.seed}|{p['database']}".encode()).digest()
        size = 1_800_000_000 + int.from_bytes(digest[:4], "big") % 400_000_000
        backup = SimBackup(Path(p["path"]).name, p["path"], p["database"], size, self.estate.now())
        with self._lock:
            self.backups.append(backup)
        stamp = backup.at.strftime("%Y-%m-%d %H:%M:%S UTC")
        text = "\n".join([
            f"pg_dump: dumping contents of database \"{p['database']}\" to {p['path']}",
            f"pg_restore --list {p['path']}:",
            ";",
            f"; Archive created at {stamp}",
            f";     dbname: {p['database']}",
            ";     TOC Entries: 412",
            ";     Compression: gzip",
            ";     Format: CUSTOM",
            ";",
            f"{backup.name}: {size / 1e9:.2f} GB, 412 TOC entries, readable",
        ])
        return ActionResult(True, self._say(ctx, text), ("backup_taken",))

    def _verify_counts(self) -> dict[str, int]:
        extra = self.estate.scenario.extra or {}
        counts = extra.get("verify_counts")
        training = extra.get("training")
        if counts is None and isinstance(training, dict):
            counts = training.get("verify_counts")
        return {str(k): int(v) for k, v in (counts or {}).items()}

    def _pg_verify(self, p: Mapping[str, Any], ctx: RunContext) -> ActionResult:
        names = _check_names(p["sql_file"], ctx)
        overrides = {**self._verify_counts(), **self.estate.verify_problems()}
        rows = [(name, overrides.get(name, 0)) for name in names]
        width = max(len("check_name"), *(len(name) for name, _ in rows))
        lines = [f" {'check_name':<{width}} | count", f"-{'-' * width}-+------"]
        lines += [f" {name:<{width}} | {count:>5}" for name, count in rows]
        lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
        text = self._say(ctx, "\n".join(lines))
        bad = [f"{name}={count}" for name, count in rows if count]
        if bad:
            return ActionResult(False, text, (), "checks found problems: " + ", ".join(bad))
        return ActionResult(True, text)

    def _pg_terminate_connections(self, p: Mapping[str, Any], ctx: RunContext) -> ActionResult:
        used = self.estate.database_snapshot().connections_used
        n = max(0, used - 1)
        lines = [terminate_sql(p["database"]), " pg_terminate_backend", "----------------------"]
        lines += [" t"] * min(n, 3) + ([" ..."] if n > 3 else []) + [f"({n} rows)"]
        return ActionResult(True, self._say(ctx, "\n".join(lines)))

    def _pg_sql(self, p: Mapping[str, Any], ctx: RunContext) -> ActionResult:
        first = p["statement"].split(" ", 1)[0].upper()
        out = "(1 row)" if first == "SELECT" else self.estate.run_sql(p["statement"])
        return ActionResult(True, self._say(ctx, out))

    # -------------------------------------------------------------- http, metrics

    def _http_health(self, p: Mapping[str, Any], ctx: RunContext) -> ActionResult:
        names = tuple(p["endpoints"])
        known = tuple(n for n in names if n in HEALTH_ENDPOINTS)
        snapshot = {e.name: e for e in self.estate.health_snapshot(known).endpoints}
        urls = dict(zip(names, ResolvedAction("http.health", p, ctx.variables).health_urls(),
                        strict=True))
        lines, failing = [], []
        for name in names:
            health = snapshot.get(name)
            if health is None or health.ok:
                ms = f" {health.latency_ms}ms" if health and health.latency_ms else ""
                lines.append(f"200 {urls[name]}{ms}")
            else:
                lines.append(f"curl: (22) The requested URL returned error: {health.status_code} "
                             f"({urls[name]}: {health.detail})")
                failing.append(name)
        text = self._say(ctx, "\n".join(lines))
        if failing:
            return ActionResult(False, text, (), f"failing: {', '.join(failing)}")
        return ActionResult(True, text)

    def _http_version(self, p: Mapping[str, Any], ctx: RunContext) -> ActionResult:
        host = p["url"].split("://", 1)[1].split("/", 1)[0]
        name = {"app": "frontend", "api": "api"}.get(host.split(".", 1)[0], "api")
        cluster = self.estate.cluster_snapshot()
        dep = cluster.deployment(name)
        if dep is None and name == "api":  # blue-green: whichever api-* serves
            serving = [d for d in cluster.deployments if is_api_tier(d.name) and d.ready]
            dep = serving[0] if serving else None
        if dep is None:
            return ActionResult(False, "", (), f"no deployment serves {p['url']}")
        return ActionResult(True, self._say(ctx, f'{{"service": "{name}", '
                                                 f'"version": "{dep.version}"}}'))

    @staticmethod
    def _metric_of(query: str) -> str:
        q = query.lower()
        for word, metric in (("error", "error_rate_pct"), ("latency", "latency_p95_ms"),
                             ("response", "latency_p95_ms"), ("cpu", "cpu_pct"),
                             ("mem", "memory_pct")):
            if word in q:
                return metric
        return "error_rate_pct"

    def _metrics_query(self, p: Mapping[str, Any], ctx: RunContext) -> ActionResult:
        metric = self._metric_of(p["query"])
        snapshot = self.estate.metrics_snapshot()
        series = {"error_rate_pct": snapshot.error_rate_pct,
                  "latency_p95_ms": snapshot.latency_p95_ms,
                  "cpu_pct": snapshot.cpu_pct, "memory_pct": snapshot.memory_pct}[metric]
        values = series.values[-int(p["from"] // 10):] or [0.0]
        text = (f"{p['query']} (-{format_duration(p['from'])}): last {values[-1]:g}, "
                f"min {min(values):g}, max {max(values):g}, "
                f"avg {sum(values) / len(values):.2f}")
        return ActionResult(True, self._say(ctx, text))

    def _metrics_wait_below(self, p: Mapping[str, Any], ctx: RunContext) -> ActionResult:
        metric, threshold, need = p["metric"], float(p["threshold"]), float(p["minutes"]) * 60
        since: list[datetime | None] = [None]

        def check() -> tuple[bool, str]:
            value = self.estate.metrics_snapshot().latest().get(metric)
            now = self.estate.now()
            if value is None:
                since[0] = None
                return False, f"{metric}: no data yet"
            if value >= threshold:
                since[0] = None
                return False, f"{metric} {value:g} >= {threshold:g}: waiting"
            start = since[0] = since[0] or now
            held = (now - start).total_seconds()
            if held >= need:
                return True, f"{metric} {value:g} < {threshold:g} for {format_duration(held)}: ok"
            return False, f"{metric} {value:g} < {threshold:g} (held {format_duration(held)})"

        return self._poll(ctx, check)

    # -------------------------------------------------------------- notify, shell, wait

    def _deliver(self, channel: str, summary: str, ctx: RunContext) -> ActionResult:
        with self._lock:
            self.deliveries.append(SimDelivery(channel, summary, self.estate.now()))
        return ActionResult(True, self._say(ctx, f"{channel}: delivered (simulated): {summary}"),
                            delivered=True)

    def _notify_slack(self, p: Mapping[str, Any], ctx: RunContext) -> ActionResult:
        return self._deliver("slack", p["message"], ctx)

    def _notify_pagerduty(self, p: Mapping[str, Any], ctx: RunContext) -> ActionResult:
        return self._deliver("pagerduty", f"{p['event']}: {p['summary']}", ctx)

    def _notify_email(self, p: Mapping[str, Any], ctx: RunContext) -> ActionResult:
        return self._deliver("email", f"to {', '.join(p['to'])}: {p['subject']}", ctx)

    def _shell(self, p: Mapping[str, Any], ctx: RunContext) -> ActionResult:
        argv = tuple(p["argv"])
        words = tuple(a for a in argv if not a.startswith("-"))
        if words[:3] == ("npx", "sequelize-cli", "db:migrate:undo"):
            return ActionResult(True, self._say(ctx, self.estate.migration_undo()))
        if words[:3] == ("npx", "sequelize-cli", "db:migrate:status"):
            applied = self.estate.applied_migrations()
            rows = [f"up   {m}.js" for m in _BASE_MIGRATIONS if m not in applied]
            rows += [f"up   {m}.js" for m in applied]
            rows += [f"down {m.id}.js" for m in self.estate.scenario.database.migrations
                     if m.id not in applied]
            return ActionResult(True, self._say(ctx, "\n".join(rows)))
        for prefix, output in _SHELL_TABLE:
            if words[: len(prefix)] == prefix:
                return ActionResult(True, self._say(ctx, output) if output else "")
        return ActionResult(True, self._say(ctx, "simulated: no effect"))

    def _wait(self, p: Mapping[str, Any], ctx: RunContext) -> ActionResult:
        end = self.estate.now().timestamp() + float(p["duration"])

        def check() -> tuple[bool, str]:
            left = end - self.estate.now().timestamp()
            if left <= 0:
                return True, "waited"
            return False, f"waiting {format_duration(left)}"

        return self._poll(ctx, check)


def sim_template(deployment: str, image: str, version: str,
                 restarted: bool = False) -> tuple[str, ...]:
    """The simulated pod template of a revision, as the history view's diff reads it."""
    lines = ["metadata:", "  labels:", f"    app: {deployment}", f"    version: {version}"]
    if restarted:
        lines[1:1] = ["  annotations:", "    kubectl.kubernetes.io/restartedAt: (set)"]
    lines += ["spec:", "  containers:", f"  - name: {deployment}", f"    image: {image}",
              "    ports:", "    - containerPort: 8080", "    readinessProbe:",
              "      httpGet:", "        path: /v1/health", "        port: 8080",
              "    resources:", "      limits:", "        memory: 512Mi"]
    return tuple(lines)


def _check_names(sql_file: str, ctx: RunContext) -> list[str]:
    """Check names a counts-only SQL file declares (``'name' AS check_name``)."""
    base = Path(ctx.variables.get("runbooks_dir", "")) if ctx.variables.get("runbooks_dir") \
        else None
    candidates = [Path(sql_file)]
    if base is not None:
        candidates = [base / sql_file, base.parent / sql_file, *candidates]
    for path in candidates:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            continue
        names = re.findall(r"'([A-Za-z0-9_ -]+)'(?:::text)?\s+AS\s+check_name", text, re.I)
        if names:
            return list(dict.fromkeys(names))
    return [Path(sql_file).stem.replace("-", "_")]
