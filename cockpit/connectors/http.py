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
from cockpit.connectors.readonly import READ_METHODS, refuse
from cockpit.domain import EndpointHealth, HealthSnapshot, version_token
from cockpit.sources.base import SourceError

#: Longest version string kept from a version endpoint's answer.
VERSION_MAX = 80


class ReadOnlyTransport(httpx.BaseTransport):
    """An httpx transport that refuses every method but GET/HEAD/OPTIONS.

    ``allow`` lists ``(METHOD, URL prefix)`` pairs explicitly whitelisted as
    reads (e.g. a query API that happens to use POST). A refused request
    raises :class:`~cockpit.connectors.readonly.ReadOnlyError` and never
    reaches the network.
    """

    def __init__(self, inner: httpx.BaseTransport | None = None,
                 allow: tuple[tuple[str, str], ...] = ()) -> None:
        self.inner = inner or httpx.HTTPTransport()
        self.allow = allow
        self.refused = 0
        """How many requests were refused (for tests and the doctor)."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        method = request.method.upper()
        url = str(request.url)
        if method not in READ_METHODS and not any(
                method == m and url.startswith(prefix) for m, prefix in self.allow):
            self.refused += 1
            raise refuse(method, url, "only GET and HEAD leave a read-only cockpit")
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def make_http_client(timeout_s: float, read_only: bool, **kwargs: object) -> httpx.Client:
    """An httpx client with an explicit timeout, no redirects, read-only when asked."""
    transport = ReadOnlyTransport() if read_only else None
    return httpx.Client(timeout=timeout_s, follow_redirects=False, transport=transport,
                        headers={"User-Agent": "rollback-cockpit"}, **kwargs)  # type: ignore[arg-type]


def read_version(client: httpx.Client, url: str, timeout_s: float) -> tuple[bool, str, str]:
    """GET a version endpoint: ``(ok, version or reason, short body)``.

    A JSON answer's ``version`` (or ``tag``/``build``) field is the version; a
    short plain-text answer is the version itself. Bodies are cut to one line.
    """
    try:
        response = client.get(url)
    except httpx.HTTPError as exc:
        return False, describe_http_error(exc, timeout_s), ""
    body = response.text[:400]
    one_line = " ".join(body.split())[:200]
    if not 200 <= response.status_code < 300:
        return False, f"HTTP {response.status_code} {response.reason_phrase}".strip(), one_line
    version = ""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in ("version", "tag", "build", "commit"):
            if isinstance(data.get(key), str | int | float) and str(data.get(key)):
                version = str(data[key])
                break
    elif isinstance(data, str | int | float):
        version = str(data)
    elif data is None and one_line and len(one_line) <= VERSION_MAX and " " not in one_line:
        version = one_line
    if not version:
        return False, "no version in the answer", one_line
    return True, version[:VERSION_MAX], one_line


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


def screen_versions(versions: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """``(name, token)`` pairs for :class:`HealthSnapshot`: an unread or odd version is ``?``.

    The reasons a version could not be read stay in :attr:`HttpHealthSource.versions`
    (for the doctor); the screen gets only a short version-like token.
    """
    return tuple((name, "?" if value.startswith("? ") else version_token(value))
                 for name, value in versions.items())


class HttpHealthSource:
    """The ``health`` source: concurrent GETs of the configured endpoints."""

    kind = "health"
    label = "http"

    def __init__(self, settings: HttpSettings,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC),
                 read_only: bool = False) -> None:
        if not settings.base_url.startswith(("http://", "https://")):
            raise SourceError("[http].base_url must start with http:// or https://")
        self.settings = settings
        self.interval_s = settings.interval_s
        self.timeout_s = settings.timeout_s + 2
        self._now = now
        self.urls = endpoint_urls(settings)
        self.read_only = read_only
        self.client = make_http_client(settings.timeout_s, read_only)
        self.versions: dict[str, str] = {}
        """Name -> version (or ``? reason``) from the last :meth:`read_versions`."""
        workers = len(self.urls) + len(settings.version_urls)
        self._pool = ThreadPoolExecutor(max_workers=max(1, min(16, workers)),
                                        thread_name_prefix="cockpit-http")

    def fetch(self) -> HealthSnapshot:
        """Check every endpoint at once; the slowest bounds the poll."""
        futures = [self._pool.submit(check_endpoint, self.client, name, url,
                                     self.settings.timeout_s) for name, url in self.urls]
        versions: tuple[tuple[str, str], ...] = ()
        if self.settings.version_urls:
            # concurrently with the health checks (shared pool)
            versions = screen_versions(self.read_versions())
        results = tuple(future.result() for future in futures)
        return HealthSnapshot(at=self._now(), endpoints=results, versions=versions)

    def read_versions(self) -> dict[str, str]:
        """GET every ``[http].version_urls`` entry at once: name -> version, or ``? reason``."""
        items = list(self.settings.version_urls.items())
        futures = [self._pool.submit(read_version, self.client, url, self.settings.timeout_s)
                   for _, url in items]
        versions = {}
        for (name, _), future in zip(items, futures, strict=True):
            ok, value, _body = future.result()
            versions[name] = value if ok else f"? {value}"
        self.versions = versions
        return versions

    def close(self) -> None:
        """Close connections and the worker threads."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.client.close()
