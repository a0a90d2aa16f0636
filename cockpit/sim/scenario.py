"""Training scenarios: YAML files under ``runbooks/scenarios/`` describing a simulated incident.

A scenario names the estate (deployments and their revision history, the
baseline of every metric, the cache keys) and the faults: a deployment
version whose going live adds to metrics along curves of
``[seconds since it went live, amount]`` points, linearly interpolated and
held after the last point. Faults fade out over ``recovery_s`` once the bad
version stops serving (for example after ``rollout undo``, or a scale to zero).

A fault is caused by one of three things:

* ``deployment`` + ``version``: live while that version serves;
* ``migration``: live while that database migration is applied (until
  ``db:migrate:undo``);
* ``start``: live from that time until every statement in ``repaired_by`` has
  run (``REINDEX``, ``VACUUM FULL``...).

While it is live a fault may also make ``pg.verify`` checks report problems
(``verify_problems``), fill Redis queues (``queues``, messages per minute), and
be damped by ``mitigations`` (a cache key set to a value, or a deployment scaled
to at least N replicas, multiplies its metric amounts by ``factor``).

``events`` are discrete, confirmed facts the decision engine observes at a time
(``security_breach``, ``data_corruption``); ``database`` names the applied
migrations and how many patient-record rows the application writes per minute
while it serves and maintenance mode is off (what a careless database rollback
would lose). ``training`` is the walkthrough's rubric and ideal response; it is
validated by :mod:`cockpit.training.spec`.
"""

from __future__ import annotations

import re
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
class Mitigation:
    """A condition that damps a live fault: a cache key's value, or replicas at least N."""

    factor: float
    cache_key: str | None = None
    cache_value: str | None = None
    deployment: str | None = None
    replicas_at_least: int = 0


@dataclass(frozen=True)
class FaultSpec:
    """What a bad version (or migration, or damage) does to the estate while it is live."""

    deployment: str
    version: str
    curves: dict[str, tuple[tuple[float, float], ...]]
    failing_endpoints: tuple[EndpointFault, ...] = ()
    restarts_every_s: float | None = None
    recovery_s: float = 120.0
    migration: str | None = None
    start: float | None = None
    repaired_by: tuple[str, ...] = ()
    mitigations: tuple[Mitigation, ...] = ()
    verify_problems: dict[str, int] = field(default_factory=dict)
    queues: dict[str, float] = field(default_factory=dict)
    label: str = ""
    mitigation_resolves: bool = False
    """A fix forward: once every mitigation holds, the fault no longer keeps the
    scenario unresolved (it is still live underneath)."""

    @property
    def cause(self) -> str:
        """What the fault comes from, in words (``api 2.0.0``, ``migration X``...)."""
        if self.label:
            return self.label
        if self.migration:
            return f"migration {self.migration}"
        if self.start is not None:
            return "damage repaired by " + " + ".join(self.repaired_by)
        return f"{self.deployment} {self.version}"

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
class EventSpec:
    """A discrete fact confirmed at ``at`` seconds from T=0 (a decision-engine event)."""

    at: float
    kind: str
    detail: str


@dataclass(frozen=True)
class MigrationSpec:
    """A database migration applied at ``applied_at`` seconds from T=0."""

    id: str
    applied_at: float


@dataclass(frozen=True)
class DatabaseSpec:
    """The database's migrations and how fast the application writes rows."""

    migrations: tuple[MigrationSpec, ...] = ()
    writes_per_min: float = 0.0


EVENT_KINDS: tuple[str, ...] = ("security_breach", "data_corruption")

#: The keys a briefing lists when its scenario names none: binding ids, resolved to the
#: keys bound now by the briefing screen (a keymap may have changed them).
DEFAULT_BRIEFING_KEYS: tuple[tuple[str, str], ...] = (
    ("decision.severity", "declare the incident: set its severity"),
    ("decision.decide", "record the decision once a trigger fires"),
    ("runbook.open", "open the runbook the procedure calls for"),
    ("runbook.run", "run the selected step (in the runbook pane)"),
    ("incident.status_update", "send a status update"),
)
_BINDING_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


@dataclass(frozen=True)
class Briefing:
    """What the trainee reads before the scenario's clock starts.

    ``keys`` are ``(binding id, what it is for here)`` pairs: ids, never key names, so
    the briefing shows the keys bound now (``decision.severity``, not ``s``)."""

    narrative: str
    goal: str
    keys: tuple[tuple[str, str], ...] = DEFAULT_BRIEFING_KEYS


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
    events: tuple[EventSpec, ...] = ()
    database: DatabaseSpec = DatabaseSpec()
    briefing_spec: Briefing | None = None
    """The scenario's ``briefing:`` block; :attr:`briefing` falls back when it has none."""

    @property
    def briefing(self) -> Briefing:
        """The briefing: the scenario's own, else one made of its narrative and summary."""
        if self.briefing_spec is not None:
            return self.briefing_spec
        return Briefing(self.narrative or self.summary, self.summary)


_TOP_KEYS = {
    "id", "title", "summary", "narrative", "environment", "namespace", "start", "speed",
    "seed", "deployments", "baseline", "cache", "faults", "outages", "training", "events",
    "database", "briefing",
}
_FAULT_KEYS = {
    "deployment", "version", "failing_endpoints", "restarts_every_s", "recovery_s",
    "migration", "start", "repaired_by", "mitigations", "verify_problems", "queues", "label",
    "mitigation_resolves",
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

    database = _database(data, p)
    migration_ids = {m.id for m in database.migrations}
    faults = [
        _fault(item, data["faults"].item_lines[index], p, names, migration_ids)
        for index, item in enumerate(data.get("faults", []))
    ]
    events = []
    for index, item in enumerate(data.get("events", [])):
        line = data["events"].item_lines[index]
        event = _mapping(item, p, line, "an event")
        _check_keys(event, {"at", "kind", "detail"}, p, "event")
        kind = _need(event, "kind", str, p)
        if kind not in EVENT_KINDS:
            raise DataFileError(p, event.line_of("kind"), f"unknown event kind '{kind}' "
                                f"(known: {', '.join(EVENT_KINDS)})")
        events.append(EventSpec(float(_need(event, "at", (int, float), p)), kind,
                                str(event.get("detail", kind.replace("_", " ")))))

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
        events=tuple(sorted(events, key=lambda e: e.at)),
        database=database,
        briefing_spec=_briefing(data, p, str(data.get("narrative", "")).strip()
                                or str(data.get("summary", ""))),
    )


def _text(data: LineDict, key: str, p: str, what: str) -> str:
    value = data[key]
    if not isinstance(value, str) or not value.strip():
        raise DataFileError(p, data.line_of(key), f"{what} must be a non-empty text")
    return value.strip()


def _briefing(data: LineDict, p: str, narrative: str) -> Briefing | None:
    """The ``briefing:`` block: ``goal`` (required), ``narrative`` (default: the
    scenario's), ``keys`` (binding id: what it is for in this scenario)."""
    if "briefing" not in data:
        return None
    block = _mapping(data["briefing"], p, data.line_of("briefing"), "briefing")
    _check_keys(block, {"narrative", "goal", "keys"}, p, "briefing")
    if "goal" not in block:
        raise DataFileError(p, data.line_of("briefing"), "briefing: missing key 'goal'")
    goal = " ".join(_text(block, "goal", p, "briefing: 'goal'").split())
    if "narrative" in block:
        narrative = _text(block, "narrative", p, "briefing: 'narrative'")
    keys = DEFAULT_BRIEFING_KEYS
    if "keys" in block:
        raw = _mapping(block["keys"], p, block.line_of("keys"),
                       "briefing: 'keys' (binding id: what it is for)")
        if not raw:
            raise DataFileError(p, block.line_of("keys"), "briefing: 'keys' is empty")
        pairs = []
        for binding in raw:
            if not isinstance(binding, str) or not _BINDING_ID.match(binding):
                raise DataFileError(p, raw.line_of(binding), f"briefing: '{binding}' is not "
                                    "a binding id (like decision.severity)")
            pairs.append((binding, " ".join(_text(raw, binding, p,
                                                  f"briefing: key '{binding}'").split())))
        keys = tuple(pairs)
    return Briefing(narrative, goal, keys)


def _number(data: LineDict, key: str, p: str, default: float | None = None) -> float:
    if key not in data and default is not None:
        return default
    return float(_need(data, key, (int, float), p))


def _database(data: LineDict, p: str) -> DatabaseSpec:
    if "database" not in data:
        return DatabaseSpec()
    db = _mapping(data["database"], p, data.line_of("database"), "database")
    _check_keys(db, {"migrations", "writes_per_min"}, p, "database")
    migrations = []
    for index, item in enumerate(db.get("migrations", [])):
        mig = _mapping(item, p, db["migrations"].item_lines[index], "a migration")
        _check_keys(mig, {"id", "applied_at"}, p, "migration")
        migrations.append(MigrationSpec(_need(mig, "id", str, p),
                                        _number(mig, "applied_at", p)))
    return DatabaseSpec(tuple(migrations), _number(db, "writes_per_min", p, 0.0))


def _fault(item: Any, line: int, p: str, names: set[str], migrations: set[str]) -> FaultSpec:
    fault = _mapping(item, p, line, "a fault")
    _check_keys(fault, _FAULT_KEYS | set(CURVE_METRICS), p, "fault")
    causes = [key for key in ("deployment", "migration", "start") if key in fault]
    if len(causes) != 1:
        raise DataFileError(p, fault.line, "a fault needs exactly one cause: deployment "
                            "(with version), migration, or start (with repaired_by)")
    deployment, version = "", ""
    migration: str | None = None
    start: float | None = None
    repaired_by: tuple[str, ...] = ()
    if "deployment" in fault:
        deployment = _need(fault, "deployment", str, p)
        if deployment not in names:
            raise DataFileError(
                p, fault.line_of("deployment"), f"unknown deployment '{deployment}'"
            )
        version = str(_need(fault, "version", (str, int, float), p))
    elif "migration" in fault:
        migration = _need(fault, "migration", str, p)
        if migration not in migrations:
            raise DataFileError(p, fault.line_of("migration"), f"unknown migration "
                                f"'{migration}' (declare it under database.migrations)")
    else:
        start = _number(fault, "start", p)
        repaired = _need(fault, "repaired_by", list, p)
        if not repaired or not all(isinstance(x, str) and x.strip() for x in repaired):
            raise DataFileError(p, fault.line_of("repaired_by"),
                                "repaired_by must list SQL statement beginnings")
        repaired_by = tuple(x.strip().upper() for x in repaired)
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
    mitigations = []
    for index, raw in enumerate(fault.get("mitigations", [])):
        mline = fault["mitigations"].item_lines[index]
        mit = _mapping(raw, p, mline, "a mitigation")
        _check_keys(mit, {"cache", "replicas_at_least", "factor"}, p, "mitigation")
        factor = _number(mit, "factor", p)
        if not 0 <= factor <= 1:
            raise DataFileError(p, mit.line_of("factor"), "factor must be between 0 and 1")
        if "cache" in mit:
            cache = _mapping(mit["cache"], p, mit.line_of("cache"), "cache")
            if len(cache) != 1:
                raise DataFileError(p, mit.line_of("cache"), "cache names one key: value")
            key, value = next(iter(cache.items()))
            mitigations.append(Mitigation(factor, cache_key=str(key), cache_value=str(value)))
        elif "replicas_at_least" in mit:
            reps = _mapping(mit["replicas_at_least"], p, mit.line_of("replicas_at_least"),
                            "replicas_at_least")
            if len(reps) != 1:
                raise DataFileError(p, mit.line_of("replicas_at_least"),
                                    "replicas_at_least names one deployment: count")
            dep, count = next(iter(reps.items()))
            if dep not in names:
                raise DataFileError(p, reps.line_of(dep), f"unknown deployment '{dep}'")
            mitigations.append(Mitigation(factor, deployment=str(dep),
                                          replicas_at_least=int(count)))
        else:
            raise DataFileError(p, mline, "a mitigation needs cache or replicas_at_least")
    problems = _mapping(fault.get("verify_problems", LineDict()), p,
                        fault.line_of("verify_problems"), "verify_problems")
    queues = _mapping(fault.get("queues", LineDict()), p, fault.line_of("queues"), "queues")
    restarts = fault.get("restarts_every_s")
    return FaultSpec(
        deployment,
        version,
        curves,
        endpoints,
        float(restarts) if restarts else None,
        float(fault.get("recovery_s", 120)),
        migration=migration,
        start=start,
        repaired_by=repaired_by,
        mitigations=tuple(mitigations),
        verify_problems={str(k): int(_need(problems, k, int, p)) for k in problems},
        queues={str(k): float(_need(queues, k, (int, float), p)) for k in queues},
        label=str(fault.get("label", "")),
        mitigation_resolves=bool(fault.get("mitigation_resolves", False)),
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
