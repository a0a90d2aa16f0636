"""The simulated production estate: deployments, pods, PostgreSQL, Redis, endpoints and metrics.

Everything the estate reports is a pure function of the scenario, the seed,
the simulated time and the actions taken so far, so the same seed and the same
actions at the same simulated times give the same numbers, however often and
from whichever thread the estate is read. Metric noise is drawn per 10-second
sample from a generator keyed by (seed, metric, sample index).

Runbook steps act on it through a small interface with kubectl/redis-cli
meaning: :meth:`SimEstate.rollout_undo`, :meth:`SimEstate.rollout_status`,
:meth:`SimEstate.scale`, :meth:`SimEstate.restart_pods`,
:meth:`SimEstate.cache_set` / :meth:`SimEstate.cache_get` /
:meth:`SimEstate.cache_delete` / :meth:`SimEstate.cache_flush`, the database
actions :meth:`SimEstate.backup`, :meth:`SimEstate.migration_undo` and
:meth:`SimEstate.run_sql`, and the snapshot readers.

The estate keeps a log of every change (replicas, cache keys, migrations, SQL)
with its simulated time, so a value at any past instant is still a pure function
of the scenario and the actions: mitigations and writes are looked up in the log
at the sample's time, never from the current state.

Wrong actions have consequences, kept in :attr:`SimEstate.consequences`:
undoing a migration loses every row written to the migrated schema since the
last backup (all of them without a backup), and flushing Redis loses the
messages queued there while an integration was down.
"""

from __future__ import annotations

import hashlib
import heapq
import math
import random
import threading
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cockpit.clock import SimClock
from cockpit.domain import (
    CACHE_KEYS,
    HEALTH_ENDPOINTS,
    CacheSnapshot,
    ClusterSnapshot,
    DatabaseSnapshot,
    DeploymentInfo,
    EndpointHealth,
    HealthSnapshot,
    MetricsSnapshot,
    PodInfo,
    Revision,
    Series,
)
from cockpit.sim.scenario import EventSpec, FaultSpec, OutageSpec, Scenario

SAMPLE_EVERY_S = 10
WINDOW_S = 30 * 60
_POD_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_NOISE = {
    "error_rate_pct": 0.04,
    "latency_p95_ms": 0.05,
    "db_connections": 0.03,
    "db_connection_error_pct": 0.10,
    "replication_lag_s": 0.15,
    "longest_transaction_s": 0.10,
    "cache_ping_ms": 0.20,
}
_ABS_NOISE = {"cpu_pct": 1.5, "memory_pct": 0.8}


class EstateError(Exception):
    """An action the estate refuses, with kubectl-like wording."""


@dataclass(frozen=True)
class Consequence:
    """Damage a wrong action did to the simulated estate (what the debrief shows)."""

    at: datetime
    kind: str
    """``data_lost`` (patient-record rows) or ``messages_lost`` (queued email/SMS)."""
    amount: int
    detail: str


def is_api_tier(name: str) -> bool:
    """Deployments that serve the API (and write to the database): ``api``, ``api-*``."""
    return name == "api" or name.startswith("api-")


@dataclass
class _Episode:
    """A version serving traffic from ``start`` until ``end`` (None: still serving)."""

    version: str
    start: float
    end: float | None = None


@dataclass
class _Deployment:
    name: str
    image: str
    history: list[tuple[int, str]]  # (revision, version), oldest first
    revision: int
    desired: int
    rolled_at: float | None = None
    previous_revision: int | None = None
    restarted_at: float | None = None
    generation: int = 0
    name_base: int = 0
    """Pods of the current revision created before this generation: where its names start."""
    previous_name_base: int = 0
    scaled_at: float | None = None
    desired_before_scale: int = 0
    episodes: list[_Episode] = field(default_factory=list)
    created: dict[int, float] = field(default_factory=dict)
    """When each revision's ReplicaSet was made (seconds from T=0)."""

    @property
    def version(self) -> str:
        return dict(self.history)[self.revision]


#: Before any rollout the estate knows of: pods created then are a day old.
_INITIAL = -86400.0
#: Pod name suffixes: five characters of :data:`_POD_ALPHABET` (27**5 = 3**15 of them).
_SUFFIX_SPACE = len(_POD_ALPHABET) ** 5


def replica_set_name(deployment: str, revision: int) -> str:
    """The ReplicaSet of a deployment's revision: ``{deployment}-{template hash}`` (its
    pods are named after it)."""
    template = hashlib.sha256(f"{deployment}:{revision}".encode()).hexdigest()[:10]
    return f"{deployment}-{template}"


class _PodNames:
    """Pod names of one ReplicaSet (deployment and revision), unique at any scale.

    ``name(i)`` is ``{deployment}-{template hash}-{suffix}``; the suffix is a keyed
    bijection of ``i`` over the 27**5 five-character suffixes (an affine map modulo
    3**15, its base-27 digits chained, a shuffled alphabet), so two indices never
    share a name; past 27**5 pods the suffix grows by the index's higher digits.
    Restarted pods continue the numbering (``base``), so they never reuse a name.
    """

    __slots__ = ("_a", "_b", "_base", "_letters", "_prefix")

    def __init__(self, seed: int, deployment: str, revision: int, base: int = 0) -> None:
        self._prefix = f"{replica_set_name(deployment, revision)}-"
        self._base = base
        digest = hashlib.sha256(f"{seed}|pod|{deployment}|{revision}".encode()).digest()
        a = int.from_bytes(digest[:8], "big") % _SUFFIX_SPACE
        self._a = a if a % 3 else a + 1  # coprime with 3**15: the map is a bijection
        self._b = int.from_bytes(digest[8:16], "big") % _SUFFIX_SPACE
        letters = list(_POD_ALPHABET)
        random.Random(digest).shuffle(letters)
        self._letters = letters

    def name(self, index: int) -> str:
        """The name of the ReplicaSet's pod number ``index`` (0-based)."""
        base = len(_POD_ALPHABET)
        high, low = divmod(self._base + index, _SUFFIX_SPACE)
        x = (self._a * low + self._b) % _SUFFIX_SPACE
        chars = []
        chained = 0
        for _ in range(5):
            x, digit = divmod(x, base)
            chained = (chained + digit) % base
            chars.append(self._letters[chained])
        while high:
            high, digit = divmod(high, base)
            chars.append(_POD_ALPHABET[digit])
        return self._prefix + "".join(chars)


@dataclass(frozen=True)
class _PodState:
    """Which of a plan's pods are ready and how often each restarted, from ``since``
    until (at the earliest) ``until``: the next moment one of them changes."""

    since: float
    until: float
    ready: tuple[bool, ...]
    restarts: tuple[int, ...]
    new_ready: int


class _PodPlan:
    """A deployment's pods for one state of the deployment: what time does not change.

    Built once per change (rollout, scale, restart): names, creation and readiness
    times, restart phases. :meth:`state` and :meth:`pods` add the time, and keep
    their answer while it holds. What time does not change is never written after
    construction: :meth:`ready_count` reads it from any thread; :meth:`pods` (which
    keeps its answer) takes the plan's own lock, so the estate's lock is not held while
    thousands of pods are made.
    """

    def __init__(self, *, key: tuple[Any, ...], name: str, revision: int, version: str,
                 names: tuple[str, ...], created: tuple[float, ...],
                 ready_at: tuple[float, ...], restart_from: tuple[float, ...],
                 offsets: tuple[int, ...], every: float | None, shows_old: bool,
                 old_revision: int, old_version: str, old_names: _PodNames | None) -> None:
        self.key = key
        self.name = name
        self.revision = revision
        self.version = version
        self.names = names
        self.created = created
        self.ready_at = ready_at
        self.restart_from = restart_from
        self.offsets = offsets
        self.every = every
        self.shows_old = shows_old
        self.old_revision = old_revision
        self.old_version = old_version
        self.old_names = old_names
        self.desired = len(names)
        self._ready_sorted = sorted(ready_at)
        self._lock = threading.Lock()
        self._state: _PodState | None = None
        self._ready: list[bool] = []
        self._restarts: list[int] = []
        self._changes: list[tuple[float, int]] = []
        """A heap of (when, pod): the next moment each pod's readiness or restart count
        changes (a pod that never changes again has none)."""
        self._pods_at: float | None = None
        self._pods: tuple[PodInfo, ...] = ()
        self._pods_state: _PodState | None = None
        self._old_pods: list[PodInfo] = []

    def old_count(self, new_ready: int) -> int:
        """How many pods of the previous revision still serve while the new ones come up."""
        return self.desired - new_ready if self.shows_old and new_ready < self.desired else 0

    def ready_count(self, rel: float) -> int:
        """How many of the plan's pods are ready at ``rel`` (``state(rel).new_ready``,
        without making the state)."""
        return bisect_right(self._ready_sorted, rel)

    def state(self, rel: float) -> _PodState:
        """Readiness and restarts at ``rel`` (under the plan's lock: see :meth:`pods`).

        Kept while no pod changes; then only the pods whose moment has come are worked
        out again (a few a second among thousands restarting on their own phases), the
        others keep their values. Asked for an earlier time, worked out from scratch."""
        state = self._state
        if state is not None and state.since <= rel < state.until:
            return state
        if state is None or rel < state.since:
            self._from_scratch(rel)
        else:
            self._move_on(rel)
        changes = self._changes
        state = _PodState(rel, changes[0][0] if changes else math.inf, tuple(self._ready),
                          tuple(self._restarts), self.ready_count(rel))
        self._state = state
        return state

    def _restart(self, i: int, rel: float) -> tuple[int, float]:
        """Ready pod ``i``'s restart count at ``rel``, and the moment of its next restart
        (a hair early, so float rounding can only work it out again sooner)."""
        every = self.every
        assert every
        start, offset = self.restart_from[i], self.offsets[i]
        count = max(0, int((rel - start - 90 + offset) // every))
        at = start + 90 - offset + (count + 1) * every
        return count, at - 1e-6 * (1.0 + abs(at))

    def _from_scratch(self, rel: float) -> None:
        ready = [rel >= at for at in self.ready_at]
        restarts = [0] * self.desired
        changes: list[tuple[float, int]] = []
        every = self.every
        for i, (up, at) in enumerate(zip(ready, self.ready_at, strict=True)):
            if not up:
                changes.append((at, i))
            elif every:
                restarts[i], when = self._restart(i, rel)
                changes.append((when, i))
        heapq.heapify(changes)
        self._ready, self._restarts, self._changes = ready, restarts, changes

    def _move_on(self, rel: float) -> None:
        changes = self._changes
        due = []
        while changes and changes[0][0] <= rel:
            due.append(heapq.heappop(changes)[1])
        # pushed back only once all are out: a pod due again at once (inside the hair
        # before its restart) is not worked out twice, and makes the state last no time
        for i in due:
            up = rel >= self.ready_at[i]
            self._ready[i] = up
            if not up:
                heapq.heappush(changes, (self.ready_at[i], i))
            elif self.every:
                self._restarts[i], when = self._restart(i, rel)
                heapq.heappush(changes, (when, i))

    def pods(self, rel: float) -> tuple[PodInfo, ...]:
        """The pods at ``rel``: the current revision's, then the previous one's still up."""
        with self._lock:
            return self._pods_locked(rel)

    def _pods_locked(self, rel: float) -> tuple[PodInfo, ...]:
        if self._pods_at == rel:
            return self._pods
        state = self.state(rel)
        # a pod from before any rollout the estate knows of is a day old, whatever the time:
        # while the state holds, the same object serves again
        reuse = self._pods if self._pods_state is state else None
        pods: list[PodInfo] = []
        name, revision, version = self.name, self.revision, self.version
        for i, (pod_name, created, up, restarts) in enumerate(
                zip(self.names, self.created, state.ready, state.restarts, strict=True)):
            if created <= _INITIAL and reuse is not None:
                pods.append(reuse[i])
                continue
            pods.append(PodInfo(
                pod_name, name, revision, version, up, restarts,
                "Running" if up else "Pending",
                max(0.0, rel - created) if created > _INITIAL else 86400.0,
                "" if up else "ContainerCreating",
            ))
        old = self.old_count(state.new_ready)
        if old:
            old_pods = self._old_pods
            assert self.old_names is not None
            while len(old_pods) < old:
                old_pods.append(PodInfo(self.old_names.name(len(old_pods)), name,
                                        self.old_revision, self.old_version, True, 0,
                                        "Running", 86400.0, ""))
            pods.extend(old_pods[:old])
        self._pods_at, self._pods, self._pods_state = rel, tuple(pods), state
        return self._pods


class SimEstate:
    """A deterministic simulated estate driven by a scenario and a :class:`SimClock`."""

    def __init__(self, scenario: Scenario, seed: int | None = None, clock: SimClock | None = None):
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else seed
        self.clock = clock or SimClock(scenario.start, scenario.speed)
        self.namespace = scenario.namespace
        self._lock = threading.RLock()
        self._deployments: dict[str, _Deployment] = {}
        self._cache: dict[str, str] = dict(scenario.cache)
        self.actions: list[tuple[datetime, str]] = []
        """Every action taken, with its simulated time and a kubectl-like description."""
        self.consequences: list[Consequence] = []
        """Damage done by wrong actions, in order."""
        self._cache_log: list[tuple[float, str, str | None]] = []
        self._desired_log: dict[str, list[tuple[float, int]]] = {}
        self._migrations: dict[str, list[float | None]] = {
            m.id: [m.applied_at, None] for m in scenario.database.migrations
        }
        self._sql_log: list[tuple[float, str]] = []
        self._backups: list[float] = []
        self._flushed: list[float] = []
        self._plans: dict[str, _PodPlan] = {}
        self._cluster: tuple[float, tuple[Any, ...], ClusterSnapshot] | None = None
        self._k8s_events: list[tuple[float, str, str, str]] = []
        """(when, deployment, reason, message): what ``kubectl get events`` would list."""
        for spec in scenario.deployments:
            history = [(rev.revision, rev.version) for rev in spec.history]
            current = spec.history[-1]
            live_since = current.deployed_at if current.deployed_at is not None else -86400.0
            dep = _Deployment(
                spec.name, spec.image, history, current.revision, spec.replicas,
                desired_before_scale=spec.replicas,
            )
            if spec.replicas > 0:
                dep.episodes.append(_Episode(current.version, live_since))
            dep.rolled_at = live_since
            count = len(spec.history)
            for i, rev in enumerate(spec.history):
                # the scenario's time where it gives one; older revisions a day apart
                dep.created[rev.revision] = (rev.deployed_at if rev.deployed_at is not None
                                             else live_since - 86400.0 * (count - 1 - i))
            self._deployments[spec.name] = dep
            rs_name = replica_set_name(spec.name, current.revision)
            self._k8s_events.append((live_since, spec.name, "ScalingReplicaSet",
                                     f"Scaled up replica set {rs_name} to {spec.replicas}"))
            self._desired_log[spec.name] = [(-86400.0, spec.replicas)]

    # ----------------------------------------------------------------- time

    def now(self) -> datetime:
        """The simulated time."""
        return self.clock.now()

    def _rel(self, at: datetime | None = None) -> float:
        return ((at or self.clock.now()) - self.scenario.start).total_seconds()

    def _at(self, rel: float) -> datetime:
        return self.scenario.start + timedelta(seconds=rel)

    # --------------------------------------------------------------- values

    def _noise(self, metric: str, index: int) -> float:
        return random.Random(f"{self.seed}|{metric}|{index}").uniform(-1.0, 1.0)

    def _intervals(self, fault: FaultSpec) -> list[tuple[float, float | None]]:
        """When ``fault`` was live: ``(start, end)`` pairs, ``end`` None while still live."""
        if fault.migration is not None:
            applied, undone = self._migrations.get(fault.migration, [None, None])
            return [] if applied is None else [(applied, undone)]
        if fault.start is not None:
            return [(fault.start, self._repaired_at(fault))]
        dep = self._deployments[fault.deployment]
        return [(e.start, e.end) for e in dep.episodes if e.version == fault.version]

    def _repaired_at(self, fault: FaultSpec) -> float | None:
        """When the last statement of ``fault.repaired_by`` ran after the damage, if all did."""
        start = fault.start if fault.start is not None else 0.0
        done: list[float] = []
        for needed in fault.repaired_by:
            times = [t for t, statement in self._sql_log
                     if t >= start and statement.startswith(needed)]
            if not times:
                return None
            done.append(times[0])
        return max(done) if done else None

    def _live(self, fault: FaultSpec, rel: float) -> bool:
        return any(start <= rel and (end is None or rel < end)
                   for start, end in self._intervals(fault))

    def _cache_at(self, key: str, rel: float, strict: bool = False) -> str | None:
        """The key's value at ``rel`` (``strict``: changes made at ``rel`` not yet seen)."""
        value = self.scenario.cache.get(key)
        for t, k, v in self._cache_log:
            if t > rel or (strict and t == rel):
                break
            if k == key or k == "*":
                value = v if k == key else None
        return value

    def _desired_at(self, name: str, rel: float, strict: bool = False) -> int:
        desired = 0
        for t, count in self._desired_log.get(name, []):
            if t > rel or (strict and t == rel):
                break
            desired = count
        return desired

    def _mitigation(self, fault: FaultSpec, rel: float) -> float:
        factor = 1.0
        for mit in fault.mitigations:
            # strict: a sample already read at the action's instant keeps its value
            if mit.cache_key is not None:
                active = self._cache_at(mit.cache_key, rel, strict=True) == mit.cache_value
            else:
                active = (self._desired_at(mit.deployment or "", rel, strict=True)
                          >= mit.replicas_at_least)
            if active:
                factor *= mit.factor
        return factor

    def _fault_amount(self, metric: str, rel: float) -> float:
        total = 0.0
        for fault in self.scenario.faults:
            if metric not in fault.curves:
                continue
            for start, end in self._intervals(fault):
                if start > rel:
                    continue
                until = rel if end is None else min(rel, end)
                amount = fault.amount(metric, until - start)
                if end is not None and rel > end:
                    amount *= max(0.0, 1.0 - (rel - end) / fault.recovery_s)
                if amount:
                    amount *= self._mitigation(fault, min(rel, until))
                total += amount
        return total

    def _value(self, metric: str, rel: float) -> float:
        """The metric's value at ``rel`` seconds from T=0 (noise keyed by the 10 s sample)."""
        index = int(rel // SAMPLE_EVERY_S)
        raw = self.scenario.baseline[metric] + self._fault_amount(metric, rel)
        if metric in _NOISE:
            raw *= 1.0 + _NOISE[metric] * self._noise(metric, index)
        elif metric in _ABS_NOISE:
            raw += _ABS_NOISE[metric] * self._noise(metric, index)
        if metric.endswith("_pct"):
            return min(100.0, max(0.0, raw))
        return max(0.0, raw)

    def _series(self, metric: str, rel_now: float, digits: int) -> Series:
        last = int(rel_now // SAMPLE_EVERY_S) * SAMPLE_EVERY_S
        first = last - WINDOW_S + SAMPLE_EVERY_S
        points = tuple(
            (self._at(t), round(self._value(metric, t), digits))
            for t in range(first, last + 1, SAMPLE_EVERY_S)
        )
        return Series(metric, points)

    # ------------------------------------------------------------ snapshots

    def metrics_snapshot(self) -> MetricsSnapshot:
        """Error rate, p95 latency, CPU and memory over the last 30 minutes."""
        with self._lock:
            rel = self._rel()
            return MetricsSnapshot(
                at=self.now(),
                error_rate_pct=self._series("error_rate_pct", rel, 2),
                latency_p95_ms=self._series("latency_p95_ms", rel, 0),
                cpu_pct=self._series("cpu_pct", rel, 1),
                memory_pct=self._series("memory_pct", rel, 1),
            )

    def sample_values(self) -> dict[str, float]:
        """The decision engine's metrics at the current 10-second sample, cheaply.

        The same numbers the snapshots' newest points show, plus the share of
        failing health endpoints and the database connection error rate.
        """
        with self._lock:
            rel = self._rel()
            at = int(rel // SAMPLE_EVERY_S) * SAMPLE_EVERY_S
            digits = {"error_rate_pct": 2, "latency_p95_ms": 0, "cpu_pct": 1, "memory_pct": 1}
            out = {m: round(self._value(m, at), d) for m, d in digits.items()}
            failing = self._failing_endpoints(rel)
            out["health_check_failing_pct"] = (
                100.0 * sum(1 for name in HEALTH_ENDPOINTS if name in failing)
                / len(HEALTH_ENDPOINTS))
            out["db_connection_error_pct"] = round(self._value("db_connection_error_pct", rel), 2)
            return out

    def _failing_endpoints(self, rel: float) -> dict[str, str]:
        failing: dict[str, str] = {}
        api_tier = [dep for dep in self._deployments.values() if is_api_tier(dep.name)]
        if api_tier and all(self._ready_count(dep, rel) == 0 for dep in api_tier):
            return {name: "503 no ready api pods" for name in HEALTH_ENDPOINTS}
        for fault in self.scenario.faults:
            for start, end in self._intervals(fault):
                if start > rel:
                    continue
                until = rel if end is None else min(rel, end)
                if end is not None and rel > end and (rel - end) > fault.recovery_s / 2:
                    continue
                for ef in fault.failing_endpoints:
                    if until - start >= ef.after:
                        failing[ef.endpoint] = f"500 from {fault.cause}"
        return failing

    def health_snapshot(self, endpoints: tuple[str, ...] = HEALTH_ENDPOINTS) -> HealthSnapshot:
        """Each health endpoint's status, as the procedures' curl loop would see it.

        ``versions`` holds every deployment's current version, as its version
        endpoint would answer (a ``rollout undo`` changes it at once).
        """
        with self._lock:
            rel = self._rel()
            failing = self._failing_endpoints(rel)
            latency = self._value("latency_p95_ms", rel)
            result = []
            for i, name in enumerate(endpoints):
                url = f"https://api.whitecross.health/v1/{name}/health"
                jitter = 1.0 + 0.1 * self._noise(f"health:{name}", int(rel // SAMPLE_EVERY_S))
                ms = round(latency * (0.25 + 0.05 * i) * jitter, 1)
                if name in failing:
                    code = int(failing[name].split()[0])
                    result.append(EndpointHealth(name, url, False, code, ms, failing[name]))
                else:
                    result.append(EndpointHealth(name, url, True, 200, ms, "ok"))
            # what each service's version endpoint would answer: its current template
            versions = tuple((dep.name, dep.version) for dep in self._deployments.values())
            return HealthSnapshot(self.now(), tuple(result), versions)

    def database_snapshot(self) -> DatabaseSnapshot:
        """PostgreSQL health: connections, errors, replication lag, long transactions, locks."""
        with self._lock:
            rel = self._rel()
            used = int(round(self._value("db_connections", rel)))
            maximum = int(self.scenario.baseline["db_max_connections"])
            used = min(used, maximum)
            idle_tx = max(0, int(round(self._fault_amount("blocked_locks", rel) * 2)))
            active = max(1, used // 4)
            by_state = (("active", active), ("idle", used - active - idle_tx),
                        ("idle in transaction", idle_tx))
            return DatabaseSnapshot(
                at=self.now(),
                connections_used=used,
                connections_max=maximum,
                connections_by_state=by_state,
                connection_error_pct=round(self._value("db_connection_error_pct", rel), 2),
                replication_lag_s=round(self._value("replication_lag_s", rel), 2),
                longest_transaction_s=round(self._value("longest_transaction_s", rel), 1),
                blocked_locks=int(round(self._value("blocked_locks", rel))),
            )

    def cache_snapshot(self) -> CacheSnapshot:
        """Redis ping latency and the procedures' keys."""
        with self._lock:
            rel = self._rel()
            keys = [(key, self._cache_value(key, rel)) for key in CACHE_KEYS]
            return CacheSnapshot(self.now(), round(self._value("cache_ping_ms", rel), 2),
                                 tuple(keys))

    def _cache_value(self, key: str, rel: float) -> str | None:
        if key == "active_users_count" and key not in self._cache:
            users = self.scenario.baseline["active_users"]
            drift = 1.0 + 0.03 * self._noise("active_users", int(rel // 60))
            return str(int(users * drift))
        if key not in self._cache and any(key in f.queues for f in self.scenario.faults):
            length = self._queue_length(key, rel)
            return f"{length} queued" if length else None
        return self._cache.get(key)

    def _queue_length(self, key: str, rel: float) -> int:
        """Messages waiting in Redis list ``key``: filled while a fault is live, drained after.

        A flush empties it (the messages are lost); after the fault ends the
        queue drains (is delivered) over the fault's recovery time.
        """
        since = max((t for t in self._flushed if t <= rel), default=None)
        total = 0.0
        for fault in self.scenario.faults:
            rate = fault.queues.get(key)
            if not rate:
                continue
            for start, end in self._intervals(fault):
                begin = start if since is None else max(start, since)
                until = rel if end is None else min(rel, end)
                if until <= begin:
                    continue
                amount = rate * (until - begin) / 60.0
                if end is not None and rel > end:
                    amount *= max(0.0, 1.0 - (rel - end) / fault.recovery_s)
                total += amount
        return int(total)

    def cluster_snapshot(self) -> ClusterSnapshot:
        """Deployments with their rollout history, and every pod.

        Asked again at the same simulated instant with nothing changed, the answer
        is the same object (a paused simulation costs nothing per poll)."""
        with self._lock:
            rel = self._rel()
            plans = [self._plan(dep) for dep in self._deployments.values()]
            keys = tuple(plan.key for plan in plans)
            cached = self._cluster
            if cached is not None and cached[0] == rel and cached[1] == keys:
                return cached[2]
            deployments = []
            for dep, plan in zip(self._deployments.values(), plans, strict=True):
                new_ready = plan.ready_count(rel)
                ready = new_ready + plan.old_count(new_ready)
                history = tuple(
                    Revision(rev, version, f"{dep.image}:{version}")
                    for rev, version in dep.history
                )
                deployments.append(
                    DeploymentInfo(dep.name, self.namespace, dep.revision, dep.version,
                                   f"{dep.image}:{dep.version}", dep.desired, ready,
                                   plan.desired, history)
                )
            at = self.now()
        # the pods (thousands at scale: a tenth of a second) are made from the plans read
        # above, outside the estate's lock: the event loop's reads of the estate
        # (sample_values every 10 s) never wait for them
        pods: list[PodInfo] = []
        for plan in plans:
            pods.extend(plan.pods(rel))
        snapshot = ClusterSnapshot(at, self.namespace, tuple(deployments), tuple(pods))
        with self._lock:
            self._cluster = (rel, keys, snapshot)
        return snapshot

    # ----------------------------------------------------------------- pods
    #
    # A deployment's pods are a function of its state (revision, generation, scale,
    # rollout and restart times) and of the time. What depends on the state alone
    # (names, creation and readiness times, restart phases) is a _PodPlan, built once
    # per change of state; what depends on the time (which pods are ready, how many
    # restarts) is kept until the next moment a pod's readiness or restart count
    # changes; a snapshot at the same instant is the same object.

    def _plan(self, dep: _Deployment) -> _PodPlan:
        key = (dep.revision, dep.version, dep.generation, dep.name_base, dep.desired,
               dep.rolled_at,
               dep.restarted_at, dep.scaled_at, dep.desired_before_scale,
               dep.previous_revision, dep.previous_name_base, tuple(dep.history))
        plan = self._plans.get(dep.name)
        if plan is None or plan.key != key:
            plan = self._build_plan(dep, key)
            self._plans[dep.name] = plan
        return plan

    def _build_plan(self, dep: _Deployment, key: tuple[Any, ...]) -> _PodPlan:
        n = dep.desired
        initial = _INITIAL
        base = max(dep.rolled_at if dep.rolled_at is not None else initial,
                   dep.restarted_at if dep.restarted_at is not None else initial)
        fault = next(
            (f for f in self.scenario.faults
             if f.deployment == dep.name and f.version == dep.version and f.restarts_every_s),
            None,
        )
        every = fault.restarts_every_s if fault is not None else None
        created: list[float] = []
        ready_at: list[float] = []
        restart_from: list[float] = []
        for i in range(n):
            c, r = base, base
            if base > initial:  # a rollout or restart: pods come up one after another
                r = base + 8 + (i + 1) * (45 / max(n, 1))
            scaled = dep.scaled_at
            if scaled is not None and scaled >= base and i >= dep.desired_before_scale:
                c = scaled
                r = scaled + 12 + 2 * (i - dep.desired_before_scale)
            created.append(c)
            ready_at.append(r)
            restart_from.append(max(r, -3600))
        names = _PodNames(self.seed, dep.name, dep.revision, dep.name_base)
        shows_old = (dep.previous_revision is not None and dep.rolled_at is not None
                     and dep.restarted_at is None)
        old_revision = dep.previous_revision if dep.previous_revision is not None else 0
        return _PodPlan(
            key=key, name=dep.name, revision=dep.revision, version=dep.version,
            names=tuple(names.name(i) for i in range(n)),
            created=tuple(created), ready_at=tuple(ready_at), restart_from=tuple(restart_from),
            offsets=tuple((i * 37) % int(every) for i in range(n)) if every else (),
            every=every, shows_old=shows_old, old_revision=old_revision,
            old_version=dict(dep.history).get(old_revision, "?"),
            old_names=(_PodNames(self.seed, dep.name, old_revision, dep.previous_name_base)
                       if shows_old else None),
        )

    def _ready_count(self, dep: _Deployment, rel: float) -> int:
        plan = self._plan(dep)
        new_ready = plan.ready_count(rel)
        return new_ready + plan.old_count(new_ready)

    def _pods(self, dep: _Deployment, rel: float) -> tuple[PodInfo, ...]:
        return self._plan(dep).pods(rel)

    # -------------------------------------------------------------- actions

    def _deployment(self, name: str) -> _Deployment:
        try:
            return self._deployments[name]
        except KeyError:
            raise EstateError(f'deployments.apps "{name}" not found') from None

    def _record(self, description: str) -> None:
        self.actions.append((self.now(), description))

    def rollout_history(self, deployment: str) -> tuple[Revision, ...]:
        """The deployment's revisions, oldest first (``kubectl rollout history``)."""
        with self._lock:
            dep = self._deployment(deployment)
            return tuple(Revision(r, v, f"{dep.image}:{v}") for r, v in dep.history)

    def rollout_undo(self, deployment: str, to_revision: int | None = None) -> str:
        """Roll back like ``kubectl rollout undo [--to-revision=N]``.

        The target revision's template becomes a new, highest revision and
        leaves the history, as on a real cluster; its pods roll in over about
        a minute and the bad version's effects fade over the fault's recovery time.
        """
        with self._lock:
            dep = self._deployment(deployment)
            revisions = [rev for rev, _ in dep.history]
            if to_revision is None or to_revision == 0:
                older = [rev for rev in revisions if rev != dep.revision]
                if not older:
                    raise EstateError(f'no rollout history found for deployment "{deployment}"')
                target = older[-1]
            else:
                if to_revision not in revisions:
                    raise EstateError(f"unable to find specified revision {to_revision} in history")
                target = to_revision
            if target == dep.revision:
                return (f"deployment.apps/{deployment} skipped rollback "
                        f"(current template already matches revision {target})")
            rel = self._rel()
            version = dict(dep.history)[target]
            new_revision = max(revisions) + 1
            dep.history = [(r, v) for r, v in dep.history if r != target]
            dep.history.append((new_revision, version))
            dep.previous_revision = dep.revision
            dep.revision = new_revision
            dep.previous_name_base, dep.name_base = dep.name_base, 0
            dep.rolled_at = rel
            dep.restarted_at = None
            dep.scaled_at = None
            dep.desired_before_scale = dep.desired
            for episode in dep.episodes:
                if episode.end is None:
                    episode.end = rel
            dep.episodes.append(_Episode(version, rel))
            dep.created[new_revision] = rel
            self._k8s_events.append((rel, deployment, "DeploymentRollback",
                                     f"Rolled back deployment \"{deployment}\" to revision "
                                     f"{target} ({version}), now revision {new_revision}"))
            self._k8s_events.append((rel, deployment, "ScalingReplicaSet",
                                     f"Scaled up replica set "
                                     f"{replica_set_name(deployment, new_revision)} to "
                                     f"{dep.desired}"))
            self._record(f"rollout undo deployment/{deployment} -> revision {new_revision} "
                         f"({version})")
            return f"deployment.apps/{deployment} rolled back"

    def rollout_status(self, deployment: str) -> tuple[bool, str]:
        """Whether the rollout has finished, with ``kubectl rollout status`` wording."""
        with self._lock:
            dep = self._deployment(deployment)
            pods = self._pods(dep, self._rel())
            updated_ready = sum(1 for p in pods if p.revision == dep.revision and p.ready)
            if updated_ready >= dep.desired:
                return True, f'deployment "{deployment}" successfully rolled out'
            return False, (f'Waiting for deployment "{deployment}" rollout to finish: '
                           f"{updated_ready} of {dep.desired} updated replicas are available...")

    def scale(self, deployment: str, replicas: int) -> str:
        """Set the desired replicas like ``kubectl scale --replicas=N``."""
        if replicas < 0:
            raise EstateError("replicas must be zero or more")
        with self._lock:
            dep = self._deployment(deployment)
            rel = self._rel()
            if replicas == 0 and dep.desired > 0:
                for episode in dep.episodes:
                    if episode.end is None:
                        episode.end = rel
            elif replicas > 0 and dep.desired == 0:
                dep.episodes.append(_Episode(dep.version, rel))
            dep.desired_before_scale = min(dep.desired, self._ready_count(dep, rel))
            dep.desired = replicas
            dep.scaled_at = rel
            self._desired_log[deployment].append((rel, replicas))
            verb = "up" if replicas >= dep.desired_before_scale else "down"
            self._k8s_events.append((rel, deployment, "ScalingReplicaSet",
                                     f"Scaled {verb} replica set "
                                     f"{replica_set_name(deployment, dep.revision)} to "
                                     f"{replicas}"))
            self._record(f"scale deployment/{deployment} --replicas={replicas}")
            return f"deployment.apps/{deployment} scaled"

    def restart_pods(self, deployment: str, *, rolling: bool = False) -> str:
        """Delete every pod of the deployment so they are recreated (``kubectl delete pods
        -l``), or with ``rolling`` restart them as ``kubectl rollout restart`` does (the
        same pods come up again here, one after another)."""
        with self._lock:
            dep = self._deployment(deployment)
            names = [p.name for p in self._pods(dep, self._rel()) if p.revision == dep.revision]
            dep.generation += 1
            dep.name_base += dep.desired  # the new pods continue the numbering: new names
            dep.restarted_at = self._rel()
            dep.scaled_at = None
            dep.desired_before_scale = dep.desired
            if rolling:
                self._k8s_events.append((dep.restarted_at, deployment, "RolloutRestart",
                                         f"Restarted the pods of deployment {deployment} "
                                         f"({dep.desired}, rolling)"))
                self._record(f"rollout restart deployment/{deployment}")
                return f"deployment.apps/{deployment} restarted"
            for name in names:
                self._k8s_events.append((dep.restarted_at, deployment, "Killing",
                                         f"Stopping container {deployment} in pod {name}"))
            self._record(f"delete pods -l app={deployment}")
            return "\n".join(f'pod "{name}" deleted' for name in names)

    def revision_times(self, deployment: str) -> dict[int, float]:
        """When each kept revision's ReplicaSet was made, in seconds before now."""
        with self._lock:
            dep = self._deployment(deployment)
            rel = self._rel()
            return {rev: rel - dep.created.get(rev, _INITIAL) for rev, _ in dep.history}

    def k8s_events(self, deployment: str) -> list[tuple[float, str, str]]:
        """``(seconds ago, reason, message)`` of what happened to ``deployment``, oldest
        first (the estate's own changes: rollouts, scales, restarts)."""
        with self._lock:
            self._deployment(deployment)
            rel = self._rel()
            return [(rel - at, reason, message) for at, name, reason, message
                    in self._k8s_events if name == deployment and at <= rel]

    def faulty(self, deployment: str, version: str) -> bool:
        """Whether ``version`` of ``deployment`` is a bad release of the scenario."""
        return any(f.deployment == deployment and f.version == version
                   for f in self.scenario.faults)

    def cache_get(self, key: str) -> str | None:
        """``redis-cli GET key``."""
        with self._lock:
            return self._cache_value(key, self._rel())

    def cache_set(self, key: str, value: str) -> str:
        """``redis-cli SET key value``."""
        with self._lock:
            self._cache[key] = value
            self._cache_log.append((self._rel(), key, value))
            self._record(f"redis SET {key} {value}")
            return "OK"

    def cache_delete(self, key: str) -> int:
        """``redis-cli DEL key``; returns how many keys were removed."""
        with self._lock:
            removed = 1 if self._cache.pop(key, None) is not None else 0
            self._cache_log.append((self._rel(), key, None))
            self._record(f"redis DEL {key}")
            return removed

    def cache_flush(self) -> str:
        """``redis-cli FLUSHDB``: every key goes, queued messages included (and are lost)."""
        with self._lock:
            rel = self._rel()
            queued = {key: self._queue_length(key, rel)
                      for f in self.scenario.faults for key in f.queues}
            self._cache.clear()
            self._cache_log.append((rel, "*", None))
            self._flushed.append(rel)
            self._record("redis FLUSHDB")
            lost = {key: n for key, n in sorted(queued.items()) if n}
            if lost:
                what = ", ".join(f"{n} from {key}" for key, n in lost.items())
                self.consequences.append(Consequence(
                    self.now(), "messages_lost", sum(lost.values()),
                    f"FLUSHDB deleted queued messages that were never delivered ({what})"))
            return "OK"

    # ------------------------------------------------------------- database

    def _writes_on(self, rel: float) -> bool:
        """Whether the application writes to the database at ``rel``."""
        serving = any(self._desired_at(name, rel) > 0 for name in self._deployments
                      if is_api_tier(name))
        return serving and self._cache_at("maintenance_mode", rel) != "true"

    def rows_written(self, start: float, end: float) -> int:
        """Rows the application wrote between ``start`` and ``end`` (seconds from T=0)."""
        rate = self.scenario.database.writes_per_min / 60.0
        if rate <= 0 or end <= start:
            return 0
        points = {start, end}
        points.update(t for t, _k, _v in self._cache_log if start < t < end)
        for log in self._desired_log.values():
            points.update(t for t, _n in log if start < t < end)
        edges = sorted(points)
        total = 0.0
        for a, b in zip(edges, edges[1:], strict=False):
            if self._writes_on(a):
                total += rate * (b - a)
        return int(total)

    def backup(self, database: str) -> float:
        """Take a backup (``pg_dump``) now; returns its time in seconds from T=0."""
        with self._lock:
            rel = self._rel()
            self._backups.append(rel)
            self._record(f"pg_dump {database}")
            return rel

    def applied_migrations(self) -> list[str]:
        """Applied migrations, oldest first."""
        with self._lock:
            return [mid for mid, (applied, undone) in self._migrations.items()
                    if applied is not None and undone is None]

    def migration_undo(self) -> str:
        """Undo the newest applied migration (``sequelize db:migrate:undo``).

        Its ``down()`` drops what the migration added: rows written to it since
        the newest backup taken after the migration are lost (all of them when
        there is no such backup), and the loss is kept in :attr:`consequences`.
        """
        with self._lock:
            applied = self.applied_migrations()
            if not applied:
                return "No executed migrations found."
            mid = applied[-1]
            rel = self._rel()
            start = self._migrations[mid][0] or 0.0
            backups = [t for t in self._backups if start <= t <= rel]
            covered = max(backups) if backups else start
            lost = self.rows_written(covered, rel)
            self._migrations[mid][1] = rel
            self._record(f"db:migrate:undo {mid}")
            if lost:
                why = ("no backup had been taken since the migration" if not backups else
                       "writes were still on after the last backup")
                self.consequences.append(Consequence(
                    self.now(), "data_lost", lost,
                    f"undoing {mid} dropped {lost} patient-record rows: {why}"))
            return (f"== {mid}: reverting =======\n"
                    f"== {mid}: reverted (2.114s)")

    def run_sql(self, statement: str) -> str:
        """Run a maintenance statement (``REINDEX``, ``VACUUM``...); repairs damage it names."""
        with self._lock:
            text = " ".join(statement.split()).upper()
            self._sql_log.append((self._rel(), text))
            self._record(f"psql {text}")
            return text.split(" ", 1)[0]

    def verify_problems(self) -> dict[str, int]:
        """Problem counts ``pg.verify`` checks report now, from the live faults."""
        with self._lock:
            rel = self._rel()
            out: dict[str, int] = {}
            for fault in self.scenario.faults:
                if fault.verify_problems and self._live(fault, rel):
                    for name, count in fault.verify_problems.items():
                        out[name] = out.get(name, 0) + count
            return out

    def events_until(self, at: datetime | None = None) -> list[EventSpec]:
        """Scenario events (confirmed breach, detected corruption) that happened by ``at``."""
        rel = self._rel(at)
        return [event for event in self.scenario.events if event.at <= rel]

    def active_faults(self) -> list[str]:
        """Faults still live, or fading, now: what keeps the scenario from being resolved."""
        with self._lock:
            rel = self._rel()
            out = []
            for fault in self.scenario.faults:
                if (fault.mitigation_resolves and fault.mitigations
                        and self._mitigation(fault, rel)
                        <= math.prod(m.factor for m in fault.mitigations) + 1e-9):
                    continue  # fixed forward: every mitigation holds
                for start, end in self._intervals(fault):
                    if start <= rel and (end is None or rel < end + fault.recovery_s):
                        out.append(fault.cause)
                        break
            return out

    def data_lost(self) -> int:
        """Patient-record rows lost so far."""
        return sum(c.amount for c in self.consequences if c.kind == "data_lost")

    # -------------------------------------------------------------- outages

    def outage(self, source: str) -> OutageSpec | None:
        """The scenario outage affecting ``source`` right now, if any."""
        rel = self._rel()
        for outage in self.scenario.outages:
            if outage.source == source and outage.start <= rel < outage.end:
                return outage
        return None


def estate_outcome(estate: SimEstate) -> dict[str, Any]:
    """Where a simulated estate stands: restored? data lost? (``training.outcome`` data).

    The runtime records it when a training incident closes, whoever drives it, so every
    debrief tells the same truth.
    """
    values = estate.sample_values()
    faults = estate.active_faults()
    lost_rows = sum(c.amount for c in estate.consequences if c.kind == "data_lost")
    lost_msgs = sum(c.amount for c in estate.consequences if c.kind == "messages_lost")
    healthy = values["health_check_failing_pct"] == 0 and values["error_rate_pct"] < 5
    return {
        "restored": not faults and healthy,
        "active_faults": faults,
        "error_rate_pct": values["error_rate_pct"],
        "health_check_failing_pct": values["health_check_failing_pct"],
        "data_lost_rows": lost_rows,
        "messages_lost": lost_msgs,
    }
