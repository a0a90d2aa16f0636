"""Domain snapshots: what each data source reports, as frozen dataclasses.

A real connector (Datadog, Kubernetes, PostgreSQL, Redis, HTTP) and its
simulated twin both produce these, so panels and the decision engine never
know which one they are looking at. Times are aware UTC datetimes in the
estate's own time (simulated or real).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

#: The kinds of data source the war room polls, in panel order.
SOURCE_KINDS: tuple[str, ...] = ("metrics", "health", "cluster", "database", "cache")

#: Redis keys the procedures read and write.
CACHE_KEYS: tuple[str, ...] = (
    "maintenance_mode",
    "rate_limit_enabled",
    "rate_limit_requests_per_minute",
    "active_users_count",
)

#: Health endpoints named by the procedures.
HEALTH_ENDPOINTS: tuple[str, ...] = ("auth", "health", "users", "students", "medications")

#: Longest version token kept for the screen (a git SHA is cut to 12 first).
VERSION_TOKEN_MAX = 24
#: What a version looks like: ``2.0.0``, ``v1.9.3``, ``2.1.0-rc.1+b7``, ``2024.01.05``, a
#: build number, or a git SHA. Anything else from an endpoint is shown as ``?``.
_VERSION_RE = re.compile(r"v?\d+(?:\.\d+){0,3}(?:[-+][0-9A-Za-z][0-9A-Za-z.+-]*)?",
                         re.IGNORECASE)
_SHA_RE = re.compile(r"[0-9a-f]{7,64}")


def version_token(raw: object) -> str:
    """``raw`` if it is a short version-like token, else ``?``.

    Version strings come from endpoints we do not control: a page of HTML, a
    stack trace or a patient's name must never reach the screen or the record
    through them. A git SHA is shortened to 12 characters.
    """
    from cockpit.timeline.redact import default_redactor  # stdlib-only; kept lazy

    text = str(raw).strip() if raw is not None else ""
    if _SHA_RE.fullmatch(text) and not text.isdigit():
        text = text[:12]
    elif len(text) > VERSION_TOKEN_MAX or not _VERSION_RE.fullmatch(text):
        return "?"
    # a token shaped like an SSN or a phone number is no version we can show
    return text if default_redactor().redact_text(text) == text else "?"


#: A dotted numeric version, with or without its ``v``: ``2.0.0``, ``v1.9.3``, ``V2.1-rc.1``.
_DOTTED = re.compile(r"[vV]?(\d+\.\d.*)")


def normalize_version(raw: str) -> str:
    """A version as the cockpit keeps it: the server's string, without the one leading
    ``v``/``V`` of a dotted version (``v2.0.0`` and ``2.0.0`` are both kept as ``2.0.0``).

    Called once, where a version enters (an image tag, a version endpoint's answer);
    anything else (a SHA, a build number, ``v1``, ``latest``, ``?``, a digest) is kept as
    it is."""
    text = raw.strip()
    match = _DOTTED.fullmatch(text)
    return match.group(1) if match else text


def show_version(version: str) -> str:
    """A version as the screen writes it where a ``v`` is written: exactly one ``v``
    before a dotted version (``v2.0.0``, from ``2.0.0`` or ``v2.0.0``, never
    ``vv2.0.0``); anything else (a SHA, a build number, ``latest``, ``?``) as it is."""
    kept = normalize_version(version)
    return f"v{kept}" if _DOTTED.fullmatch(kept) else kept


@dataclass(frozen=True)
class Series:
    """A metric's recent points, oldest first, as ``(time, value)`` pairs."""

    metric: str
    points: tuple[tuple[datetime, float], ...]

    @property
    def latest(self) -> float | None:
        """The newest value, or None when the series is empty."""
        return self.points[-1][1] if self.points else None

    @property
    def values(self) -> list[float]:
        """Just the values, oldest first."""
        return [value for _, value in self.points]


@dataclass(frozen=True)
class MetricsSnapshot:
    """Application metrics: error rate %, p95 latency ms, CPU % and memory %.

    Each is a series over the last 30 minutes, like a Datadog query ``--from=-30m``.
    A metric the source could not read is an empty series.
    """

    at: datetime
    error_rate_pct: Series
    latency_p95_ms: Series
    cpu_pct: Series
    memory_pct: Series

    def latest(self) -> dict[str, float]:
        """The newest value of every metric that has one, keyed by metric name."""
        out: dict[str, float] = {}
        for series in (self.error_rate_pct, self.latency_p95_ms, self.cpu_pct, self.memory_pct):
            if series.latest is not None:
                out[series.metric] = series.latest
        return out


#: An endpoint's state on the panel: it answered 2xx, it answered something else, or it
#: did not answer at all (timed out, refused, reset): then it is no evidence either way.
EndpointState = Literal["OK", "FAIL", "UNKNOWN"]


@dataclass(frozen=True)
class EndpointHealth:
    """One health endpoint's answer.

    ``answered`` is False when the probe got no HTTP answer (a timeout, a refused or
    reset connection): the endpoint is UNKNOWN, not failing, because a broken
    monitoring path is not evidence that the service is down.
    """

    name: str
    url: str
    ok: bool
    status_code: int | None
    latency_ms: float | None
    detail: str = ""
    answered: bool = True

    def __post_init__(self) -> None:
        if self.ok and not self.answered:
            raise ValueError("an endpoint that did not answer cannot be healthy")

    @property
    def state(self) -> EndpointState:
        """``OK`` (2xx), ``FAIL`` (any other answer) or ``UNKNOWN`` (no answer)."""
        if not self.answered:
            return "UNKNOWN"
        return "OK" if self.ok else "FAIL"


@dataclass(frozen=True)
class HealthSnapshot:
    """The health endpoints fan-out, and the version each service reports."""

    at: datetime
    endpoints: tuple[EndpointHealth, ...]
    versions: tuple[tuple[str, str], ...] = ()
    """``(service, version)`` pairs in a stable order; each version is a short
    token from :func:`version_token` (``?`` when unknown or unreadable)."""

    @property
    def answered(self) -> tuple[EndpointHealth, ...]:
        """The endpoints that gave an HTTP answer (OK or FAIL), in order."""
        return tuple(endpoint for endpoint in self.endpoints if endpoint.answered)

    @property
    def failing(self) -> int:
        """How many endpoints answered with a failure (UNKNOWN ones are not counted)."""
        return sum(1 for endpoint in self.endpoints if endpoint.state == "FAIL")

    @property
    def unknown(self) -> int:
        """How many endpoints gave no answer."""
        return len(self.endpoints) - len(self.answered)

    @property
    def probe_down(self) -> bool:
        """True when endpoints are configured and not one of them answered: the probe
        path (network, proxy, DNS) is down, and nothing is known about the services."""
        return bool(self.endpoints) and not self.answered

    @property
    def failing_pct(self) -> float | None:
        """Percentage (0-100) of the endpoints *that answered* which are failing.

        None when no endpoint answered (missing data, never a breach); 0 when none
        are configured.
        """
        if not self.endpoints:
            return 0.0
        answered = self.answered
        if not answered:
            return None
        return 100.0 * self.failing / len(answered)


@dataclass(frozen=True)
class Revision:
    """One entry of a deployment's rollout history."""

    revision: int
    version: str
    image: str
    change_cause: str = ""


@dataclass(frozen=True)
class DeploymentInfo:
    """A deployment: its current revision and its history (oldest first)."""

    name: str
    namespace: str
    revision: int
    version: str
    image: str
    desired: int
    ready: int
    updated: int
    history: tuple[Revision, ...] = ()

    @property
    def previous(self) -> Revision | None:
        """The revision a plain ``rollout undo`` would return to."""
        older = [rev for rev in self.history if rev.revision != self.revision]
        return older[-1] if older else None


@dataclass(frozen=True)
class PodInfo:
    """One pod."""

    name: str
    deployment: str
    revision: int
    version: str
    ready: bool
    restarts: int
    phase: str
    age_s: float
    reason: str = ""


@dataclass(frozen=True)
class ClusterSnapshot:
    """Deployments and pods of one namespace."""

    at: datetime
    namespace: str
    deployments: tuple[DeploymentInfo, ...]
    pods: tuple[PodInfo, ...]

    def deployment(self, name: str) -> DeploymentInfo | None:
        """The deployment called ``name``, if present."""
        return next((dep for dep in self.deployments if dep.name == name), None)


@dataclass(frozen=True)
class DatabaseSnapshot:
    """PostgreSQL health as the procedures look at it."""

    at: datetime
    connections_used: int
    connections_max: int
    connections_by_state: tuple[tuple[str, int], ...]
    connection_error_pct: float
    replication_lag_s: float | None
    longest_transaction_s: float
    blocked_locks: int

    @property
    def connections_pct(self) -> float:
        """Connections in use as a percentage of max_connections."""
        return 100.0 * self.connections_used / self.connections_max if self.connections_max else 0.0


@dataclass(frozen=True)
class CacheSnapshot:
    """Redis: ping latency and the procedures' keys (None = key absent)."""

    at: datetime
    ping_ms: float
    keys: tuple[tuple[str, str | None], ...] = field(default_factory=tuple)

    def get(self, key: str) -> str | None:
        """The value of ``key`` as last read, or None."""
        return dict(self.keys).get(key)


Snapshot = MetricsSnapshot | HealthSnapshot | ClusterSnapshot | DatabaseSnapshot | CacheSnapshot
