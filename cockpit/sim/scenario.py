"""Training scenarios: YAML files under ``runbooks/scenarios/`` describing a simulated incident.

A scenario names the estate (deployments and their revision history, the
baseline of every metric, the cache keys) and the faults: a deployment
version whose going live adds to metrics along curves of
``[seconds since it went live, amount]`` points, linearly interpolated and
held after the last point. Faults fade out over ``recovery_s`` once the bad
version stops serving (for example after ``rollout undo``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cockpit.paths import scenarios_dir
from cockpit.yamlfile import DataFileError, LineDict, load_file

DEFAULT_SCENARIO = "bad-deploy"

#: Metrics a scenario's baseline and faults may shape.
CURVE_METRICS: tuple[str, ...] = (
    "error_rate_pct",
    "latency_p95_ms",
    "cpu_pct",
    "memory_pct",
    "db_connections",
    "db_connection_error_pct",
    "replication_lag_s",
    "longest_transaction_s",
    "blocked_locks",
    "cache_ping_ms",
)

BASELINE_KEYS: tuple[str, ...] = (
    *CURVE_METRICS,
    "db_max_connections",
    "active_users",
)


@dataclass(frozen=True)
class RevisionSpec:
    """One revision in a deployment's history; ``deployed_at`` in seconds from T=0."""

    revision: int
    version: str
    deployed_at: float | None = None


@dataclass(frozen=True)
class DeploymentSpec:
    """A deployment of the simulated estate."""

    name: str
    replicas: int
    history: tuple[RevisionSpec, ...]
    image: str


@dataclass(frozen=True)
class EndpointFault:
    """An endpoint that fails once the bad version has been live ``after`` seconds."""

    endpoint: str
    after: float


@dataclass(frozen=True)
class FaultSpec:
    """What a bad version does to the estate while it serves."""

    deployment: str
    version: str
    curves: dict[str, tuple[tuple[float, float], ...]]
    failing_endpoints: tuple[EndpointFault, ...] = ()
    restarts_every_s: float | None = None
    recovery_s: float = 120.0

    def amount(self, metric: str, live_for: float) -> float:
        """How much the fault adds to ``metric`` after being live ``live_for`` seconds."""
        points = self.curves.get(metric)
        if not points or live_for < 0:
            return 0.0
        if live_for <= points[0][0]:
            return points[0][1]
        for (t0, v0), (t1, v1) in zip(points, points[1:], strict=False):
            if live_for <= t1:
                return v0 + (v1 - v0) * (live_for - t0) / (t1 - t0)
        return points[-1][1]


@dataclass(frozen=True)
class OutageSpec:
    """A data source that fails during ``[start, end)`` seconds from T=0."""

    source: str
    start: float
    end: float
    mode: str  # "error" or "hang"
    reason: str


@dataclass(frozen=True)
class Scenario:
    """A training scenario, loaded and validated."""

    id: str
    title: str
    summary: str
    narrative: str
    environment: str
    namespace: str
    start: datetime
    speed: float
    seed: int
    deployments: tuple[DeploymentSpec, ...]
    baseline: dict[str, float]
    cache: dict[str, str]
    faults: tuple[FaultSpec, ...]
    outages: tuple[OutageSpec, ...] = ()
    path: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


_TOP_KEYS = {
    "id", "title", "summary", "narrative", "environment", "namespace", "start", "speed",
    "seed", "deployments", "baseline", "cache", "faults", "outages", "training",
}


def _need(data: LineDict, key: str, kind: type | tuple[type, ...], path: str) -> Any:
    if key not in data:
        raise DataFileError(path, data.line, f"missing key '{key}'")
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise DataFileError(path, data.line_of(key), f"'{key}' must be a {names}")
    return value


def _mapping(value: Any, path: str, line: int, what: str) -> LineDict:
    if not isinstance(value, LineDict):
        raise DataFileError(path, line, f"{what} must be a mapping")
    return value


def _check_keys(data: LineDict, allowed: set[str], path: str, what: str) -> None:
    for key in data:
        if key not in allowed:
            raise DataFileError(
                path, data.line_of(key), f"unknown key '{key}' in {what} (allowed: "
                f"{', '.join(sorted(allowed))})"
            )


def _curve(value: Any, path: str, line: int, metric: str) -> tuple[tuple[float, float], ...]:
    if not isinstance(value, list) or not value:
        raise DataFileError(path, line, f"curve '{metric}' must be a list of [seconds, value]")
    points: list[tuple[float, float]] = []
    for item in value:
        if (
            not isinstance(item, list)
            or len(item) != 2
            or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in item)
        ):
            raise DataFileError(path, line, f"curve '{metric}': each point is [seconds, value]")
        if points and item[0] <= points[-1][0]:
            raise DataFileError(path, line, f"curve '{metric}': times must increase")
        points.append((float(item[0]), float(item[1])))
    return tuple(points)


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate one scenario file; errors are :class:`DataFileError` (FILE:LINE)."""
    p = str(path)
    data = _mapping(load_file(path), p, 1, "a scenario")
    _check_keys(data, _TOP_KEYS, p, "scenario")
    start_text = str(_need(data, "start", (str, datetime), p))
    try:
        start = datetime.fromisoformat(start_text.replace("Z", "+00:00"))
    except ValueError:
        raise DataFileError(p, data.line_of("start"), f"bad start time '{start_text}'") from None
    if start.tzinfo is None:
        raise DataFileError(p, data.line_of("start"), "start time needs a zone (e.g. Z)")
    speed = float(data.get("speed", 10))
    if not 1 <= speed <= 60:
        raise DataFileError(p, data.line_of("speed"), "speed must be between 1 and 60")

    deployments = []
    for index, item in enumerate(_need(data, "deployments", list, p)):
        line = data["deployments"].item_lines[index]
        dep = _mapping(item, p, line, "a deployment")
        _check_keys(dep, {"name", "replicas", "history", "image"}, p, "deployment")
        name = _need(dep, "name", str, p)
        history = []
        for rev_index, rev_item in enumerate(_need(dep, "history", list, p)):
            rev_line = dep["history"].item_lines[rev_index]
            rev = _mapping(rev_item, p, rev_line, "a revision")
            _check_keys(rev, {"revision", "version", "deployed_at"}, p, "revision")
            deployed = rev.get("deployed_at")
            history.append(
                RevisionSpec(
                    _need(rev, "revision", int, p),
                    str(_need(rev, "version", (str, int, float), p)),
                    float(deployed) if deployed is not None else None,
                )
            )
        if not history:
            raise DataFileError(p, dep.line_of("history"), f"deployment '{name}' has no history")
        deployments.append(
            DeploymentSpec(
                name,
                _need(dep, "replicas", int, p),
                tuple(history),
                str(dep.get("image", f"registry.whitecross.health/{name}")),
            )
        )
    names = {dep.name for dep in deployments}

    baseline_map = _mapping(
        _need(data, "baseline", dict, p), p, data.line_of("baseline"), "baseline"
    )
    _check_keys(baseline_map, set(BASELINE_KEYS), p, "baseline")
    baseline = {key: float(_need(baseline_map, key, (int, float), p)) for key in BASELINE_KEYS}

    cache_map = _mapping(data.get("cache", LineDict()), p, data.line_of("cache"), "cache")
    cache = {str(key): str(value) for key, value in cache_map.items()}

    faults = []
    for index, item in enumerate(data.get("faults", [])):
        line = data["faults"].item_lines[index]
        fault = _mapping(item, p, line, "a fault")
        allowed = {"deployment", "version", "failing_endpoints", "restarts_every_s", "recovery_s"}
        _check_keys(fault, allowed | set(CURVE_METRICS), p, "fault")
        deployment = _need(fault, "deployment", str, p)
        if deployment not in names:
            raise DataFileError(
                p, fault.line_of("deployment"), f"unknown deployment '{deployment}'"
            )
        curves = {
            metric: _curve(fault[metric], p, fault.line_of(metric), metric)
            for metric in CURVE_METRICS
            if metric in fault
        }
        endpoints = tuple(
            EndpointFault(str(_need(e, "endpoint", str, p)), float(e.get("after", 0)))
            for e in (
                _mapping(x, p, fault.line_of("failing_endpoints"), "a failing endpoint")
                for x in fault.get("failing_endpoints", [])
            )
        )
        restarts = fault.get("restarts_every_s")
        faults.append(
            FaultSpec(
                deployment,
                str(_need(fault, "version", (str, int, float), p)),
                curves,
                endpoints,
                float(restarts) if restarts else None,
                float(fault.get("recovery_s", 120)),
            )
        )

    outages = []
    for index, item in enumerate(data.get("outages", [])):
        line = data["outages"].item_lines[index]
        outage = _mapping(item, p, line, "an outage")
        _check_keys(outage, {"source", "start", "end", "mode", "reason"}, p, "outage")
        mode = str(outage.get("mode", "error"))
        if mode not in ("error", "hang"):
            raise DataFileError(p, outage.line_of("mode"), "outage mode must be 'error' or 'hang'")
        outages.append(
            OutageSpec(
                _need(outage, "source", str, p),
                float(_need(outage, "start", (int, float), p)),
                float(_need(outage, "end", (int, float), p)),
                mode,
                str(outage.get("reason", "simulated outage")),
            )
        )

    return Scenario(
        id=_need(data, "id", str, p),
        title=_need(data, "title", str, p),
        summary=_need(data, "summary", str, p),
        narrative=str(data.get("narrative", "")).strip(),
        environment=str(data.get("environment", "production")),
        namespace=str(data.get("namespace", "production")),
        start=start.astimezone(UTC),
        speed=speed,
        seed=int(data.get("seed", 1)),
        deployments=tuple(deployments),
        baseline=baseline,
        cache=cache,
        faults=tuple(faults),
        outages=tuple(outages),
        path=p,
        extra={"training": data.get("training")} if "training" in data else {},
    )


def list_scenarios(folder: Path | None = None) -> list[Scenario]:
    """Every scenario in ``folder`` (default: the shipped ones), sorted by id."""
    folder = folder or scenarios_dir()
    scenarios = [load_scenario(path) for path in sorted(folder.glob("*.yaml"))]
    return sorted(scenarios, key=lambda s: s.id)


def scenario_ids(folder: Path | None = None) -> list[str]:
    """The ids of every available scenario, sorted."""
    return [s.id for s in list_scenarios(folder)]


def find_scenario(scenario_id: str, folder: Path | None = None) -> Scenario:
    """The scenario called ``scenario_id``; ``KeyError`` naming the valid ids otherwise."""
    folder = folder or scenarios_dir()
    candidate = folder / f"{scenario_id}.yaml"
    if candidate.is_file():
        scenario = load_scenario(candidate)
        if scenario.id == scenario_id:
            return scenario
    for scenario in list_scenarios(folder):
        if scenario.id == scenario_id:
            return scenario
    valid = ", ".join(scenario_ids(folder)) or "(none)"
    raise KeyError(f"unknown scenario '{scenario_id}' (valid: {valid})")
