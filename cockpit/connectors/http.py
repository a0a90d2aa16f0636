"""The health panel: the procedures' endpoints checked concurrently over HTTP.

httpx with a per-request timeout and ``follow_redirects=False`` (a redirect
from a health check is a misconfiguration, not a pass). A non-2xx answer, a
timeout or a refused connection is a *failing endpoint* with its reason; only
a broken configuration makes the whole source fail.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx

from cockpit.config import HttpSettings
from cockpit.domain import EndpointHealth, HealthSnapshot
from cockpit.sources.base import SourceError


def endpoint_urls(settings: HttpSettings) -> list[tuple[str, str]]:
    """``(name, url)`` for every configured endpoint."""
    base = settings.base_url.rstrip("/")
    return [(name, base + settings.path_template.format(endpoint=name))
            for name in settings.endpoints]


def describe_http_error(exc: BaseException, timeout_s: float) -> str:
    """A short reason that never repeats the URL (httpx puts it in its messages)."""
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within {timeout_s:g}s"
    if isinstance(exc, httpx.ConnectError):
        return "connection failed"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "connection closed without a response"
    if isinstance(exc, httpx.TransportError):
        return f"transport error ({type(exc).__name__})"
    return f"request failed ({type(exc).__name__})"


def check_endpoint(client: httpx.Client, name: str, url: str, timeout_s: float) -> EndpointHealth:
    """GET one health URL and judge it (2xx = healthy)."""
    started = time.perf_counter()
    try:
        response = client.get(url)
    except httpx.HTTPError as exc:
        return EndpointHealth(name, url, False, None, None, describe_http_error(exc, timeout_s))
    latency = (time.perf_counter() - started) * 1000.0
    code = response.status_code
    if 200 <= code < 300:
        return EndpointHealth(name, url, True, code, latency, "")
    phrase = response.reason_phrase or ""
    detail = f"HTTP {code} {phrase}".strip()
    if response.is_redirect:
        detail += " (redirect not followed)"
    return EndpointHealth(name, url, False, code, latency, detail)


class HttpHealthSource:
    """The ``health`` source: concurrent GETs of the configured endpoints."""

    kind = "health"
    label = "http"

    def __init__(self, settings: HttpSettings,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        if not settings.base_url.startswith(("http://", "https://")):
            raise SourceError("[http].base_url must start with http:// or https://")
        self.settings = settings
        self.interval_s = settings.interval_s
        self.timeout_s = settings.timeout_s + 2
        self._now = now
        self.urls = endpoint_urls(settings)
        self.client = httpx.Client(timeout=settings.timeout_s, follow_redirects=False,
                                   headers={"User-Agent": "rollback-cockpit"})
        self._pool = ThreadPoolExecutor(max_workers=max(1, min(16, len(self.urls))),
                                        thread_name_prefix="cockpit-http")

    def fetch(self) -> HealthSnapshot:
        """Check every endpoint at once; the slowest bounds the poll."""
        futures = [self._pool.submit(check_endpoint, self.client, name, url,
                                     self.settings.timeout_s) for name, url in self.urls]
        results = tuple(future.result() for future in futures)
        return HealthSnapshot(at=self._now(), endpoints=results)

    def close(self) -> None:
        """Close connections and the worker threads."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.client.close()
