"""Metrics from Datadog: the four procedure queries over the last 30 minutes.

Uses datadog-api-client's ``MetricsApi.query_metrics`` (``GET /api/v1/query``).
The client is configured explicitly (site or host, keys, request timeout, no
urllib3 retries) and then shielded from ``DD_SITE``, which the library reads
from the environment on its own. Datadog's rate-limit headers are honoured:
once ``X-RateLimit-Remaining`` reaches 0, or a 429 arrives, the source does
not call again until ``X-RateLimit-Reset`` seconds have passed.

In read-only mode the client's REST layer refuses anything but GET/HEAD (the
metrics query and key validation are GETs).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import urllib3
from datadog_api_client import ApiClient, Configuration
from datadog_api_client import rest as dd_rest
from datadog_api_client.exceptions import ApiException
from datadog_api_client.v1.api.authentication_api import AuthenticationApi
from datadog_api_client.v1.api.metrics_api import MetricsApi

from cockpit.config import DatadogSettings
from cockpit.connectors.readonly import READ_METHODS, refuse
from cockpit.domain import MetricsSnapshot, Series
from cockpit.sources.base import SourceError

WINDOW_S = 30 * 60
_RATE_LIMIT_FALLBACK_S = 60.0


def make_configuration(settings: DatadogSettings) -> Configuration:
    """A client configuration from the settings only, never from ``DD_*`` variables."""
    keys = {
        "apiKeyAuth": settings.api_key.reveal() if settings.api_key else "",
        "appKeyAuth": settings.app_key.reveal() if settings.app_key else "",
    }
    if settings.host:
        config = Configuration(host=settings.host.rstrip("/"), api_key=keys)
    else:
        config = Configuration(server_variables={"site": settings.site}, api_key=keys)
        # the constructor copies $DD_SITE over our site: put ours back
        config.server_variables["site"] = settings.site
    config.request_timeout = settings.timeout_s
    # one attempt per call: the poller decides when to try again
    config.retry_policy = urllib3.util.Retry(total=0, redirect=0, raise_on_status=False)
    config.return_http_data_only = False
    return config


class ReadOnlyRESTClient(dd_rest.RESTClientObject):
    """The Datadog client's REST layer, refusing anything but reads (read-only mode)."""

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if method.upper() not in READ_METHODS:
            raise refuse(method, url, "only GET and HEAD leave a read-only cockpit")
        return super().request(method, url, *args, **kwargs)


def make_api_client(settings: DatadogSettings, read_only: bool = False) -> ApiClient:
    """A Datadog API client from the settings; read-only when asked."""
    configuration = make_configuration(settings)
    client = ApiClient(configuration)
    if read_only:
        client.rest_client = ReadOnlyRESTClient(configuration)
    return client


def describe_api_error(exc: BaseException, timeout_s: float) -> str:
    """A short, credential-free reason for a failed Datadog call."""
    if isinstance(exc, ApiException):
        status = exc.status
        if status == 401:
            return "Datadog rejected the API key (401 Unauthorized)"
        if status == 403:
            return "Datadog rejected the API/application key (403 Forbidden)"
        if status == 404:
            return "Datadog answered 404 Not Found (check site/host)"
        if status == 429:
            return "rate limited by Datadog"
        if status:
            return f"Datadog error {status}"
        return "Datadog request failed (TLS or request error)"
    reason = getattr(exc, "reason", None) or exc
    # NewConnectionError is a ConnectTimeoutError in urllib3: test it first
    if isinstance(reason, (urllib3.exceptions.NewConnectionError, ConnectionError,
                           urllib3.exceptions.ProtocolError)):
        return "cannot reach Datadog (connection failed)"
    if isinstance(reason, (urllib3.exceptions.TimeoutError, TimeoutError)):
        return f"Datadog did not answer within {timeout_s:g}s"
    return f"Datadog request failed ({type(reason).__name__})"


def _header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    for key, value in dict(headers).items():
        if key.lower() == name.lower():
            return str(value)
    return None


class DatadogSource:
    """The ``metrics`` source backed by Datadog."""

    kind = "metrics"
    label = "datadog"

    def __init__(self, settings: DatadogSettings,
                 monotonic: Callable[[], float] = time.monotonic,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC),
                 read_only: bool = False) -> None:
        self.settings = settings
        self.read_only = read_only
        self.interval_s = settings.interval_s
        self.timeout_s = settings.timeout_s * 4 + 2  # four queries per poll
        self._monotonic = monotonic
        self._now = now
        self._client = make_api_client(settings, read_only=read_only)
        self._api = MetricsApi(self._client)
        self._blocked_until = 0.0

    def _note_rate_limit(self, headers: Any, limited: bool) -> None:
        remaining = _header(headers, "X-RateLimit-Remaining")
        reset = _header(headers, "X-RateLimit-Reset")
        if not limited and (remaining is None or remaining.strip() != "0"):
            return
        try:
            wait = max(1.0, float(reset)) if reset is not None else _RATE_LIMIT_FALLBACK_S
        except ValueError:
            wait = _RATE_LIMIT_FALLBACK_S
        self._blocked_until = max(self._blocked_until, self._monotonic() + wait)

    def _check_rate_limit(self) -> None:
        left = self._blocked_until - self._monotonic()
        if left > 0:
            raise SourceError(f"rate limited by Datadog, retry in {int(left + 0.999)}s")

    def query(self, query: str, name: str, start: int, end: int) -> Series:
        """Run one query and return its first series (empty when Datadog has no points)."""
        self._check_rate_limit()
        try:
            data, _status, headers = self._api.query_metrics(_from=start, to=end, query=query)
        except ApiException as exc:
            if exc.status == 429:
                self._note_rate_limit(exc.headers, limited=True)
                self._check_rate_limit()
            raise SourceError(describe_api_error(exc, self.settings.timeout_s)) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise SourceError(describe_api_error(exc, self.settings.timeout_s)) from None
        self._note_rate_limit(headers, limited=False)
        if getattr(data, "status", "ok") == "error":
            raise SourceError(f"Datadog could not run the {name} query")
        series = getattr(data, "series", None) or []
        if not series:
            return Series(name, ())
        points: list[tuple[datetime, float]] = []
        for point in series[0].pointlist or []:
            values = list(point.value) if hasattr(point, "value") else list(point)
            if len(values) < 2 or values[0] is None or values[1] is None:
                continue
            points.append((datetime.fromtimestamp(values[0] / 1000.0, UTC), float(values[1])))
        return Series(name, tuple(points))

    def revision(self) -> None:
        """A live system cannot say cheaply that nothing changed: always fetched."""
        return None

    def fetch(self) -> MetricsSnapshot:
        """Query the four metrics over the last 30 minutes."""
        self._check_rate_limit()
        at = self._now()
        end = int(at.timestamp())
        start = end - WINDOW_S
        s = self.settings
        return MetricsSnapshot(
            at=at,
            error_rate_pct=self.query(s.error_rate_query, "error_rate_pct", start, end),
            latency_p95_ms=self.query(s.latency_query, "latency_p95_ms", start, end),
            cpu_pct=self.query(s.cpu_query, "cpu_pct", start, end),
            memory_pct=self.query(s.memory_query, "memory_pct", start, end),
        )

    def validate_api_key(self) -> None:
        """``GET /api/v1/validate``; raises :class:`SourceError` when the API key is refused."""
        try:
            AuthenticationApi(self._client).validate()
        except ApiException as exc:
            if exc.status in (401, 403):
                word = "Unauthorized" if exc.status == 401 else "Forbidden"
                raise SourceError(f"Datadog rejected the API key ({exc.status} {word})") from None
            raise SourceError(describe_api_error(exc, self.settings.timeout_s)) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise SourceError(describe_api_error(exc, self.settings.timeout_s)) from None

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()
