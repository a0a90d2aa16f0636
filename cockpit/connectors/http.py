"""The health panel: the procedures' endpoints checked concurrently over HTTP.

httpx with a per-request timeout and ``follow_redirects=False`` (a redirect
from a health check is a misconfiguration, not a pass). A non-2xx answer is a
*failing endpoint* with its reason; a timeout, a refused or reset connection is
an *unknown* one (no answer is no evidence: the triggers treat it as missing
data); only a broken configuration makes the whole source fail.

Every poll has a hard deadline: httpx's timeout bounds each read, not a whole
request, so a server that trickles its answer a byte at a time would otherwise hold
the poll (and the panel) for as long as it likes. A probe still running at the
deadline is reported UNKNOWN and left to finish in its own daemon thread; the next
poll probes again with a fresh request, so an endpoint that answers again recovers
at once, however its previous request ended.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, datetime
from typing import TypeVar

import httpx

from cockpit.config import HttpSettings
from cockpit.connectors.readonly import READ_METHODS, refuse
from cockpit.domain import EndpointHealth, HealthSnapshot, normalize_version, version_token
from cockpit.sources.base import SourceError

#: Longest version string kept from a version endpoint's answer.
VERSION_MAX = 80
#: Seconds a poll waits beyond ``[http].timeout_s`` before it reports the probes still
#: running as UNKNOWN.
DEADLINE_MARGIN_S = 1.0
#: Probes of one URL left running past their deadline before no new one is started
#: (each holds a daemon thread until the server lets go).
MAX_HUNG_PER_URL = 2

T = TypeVar("T")


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


def unanswered(name: str, url: str, reason: str) -> EndpointHealth:
    """An endpoint that gave no HTTP answer: UNKNOWN, with the reason."""
    return EndpointHealth(name, url, False, None, None, reason, answered=False)


def check_endpoint(client: httpx.Client, name: str, url: str, timeout_s: float) -> EndpointHealth:
    """GET one health URL and judge it: 2xx is OK, any other answer FAIL, no answer UNKNOWN."""
    started = time.perf_counter()
    try:
        response = client.get(url)
    except httpx.HTTPError as exc:
        return unanswered(name, url, describe_http_error(exc, timeout_s))
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
    (for the doctor); the screen gets only a short version-like token, normalised once
    (``v2.1.0`` and ``2.1.0`` are both ``2.1.0``, as the cluster and the simulator give it).
    """
    return tuple((name, "?" if value.startswith("? ") else normalize_version(version_token(value)))
                 for name, value in versions.items())


class HttpHealthSource:
    """The ``health`` source: concurrent GETs of the configured endpoints, within a deadline."""

    kind = "health"
    label = "http"

    def __init__(self, settings: HttpSettings,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC),
                 read_only: bool = False) -> None:
        if not settings.base_url.startswith(("http://", "https://")):
            raise SourceError("[http].base_url must start with http:// or https://")
        self.settings = settings
        self.interval_s = settings.interval_s
        self.timeout_s = settings.timeout_s + DEADLINE_MARGIN_S + 2
        self._now = now
        self.urls = endpoint_urls(settings)
        self.read_only = read_only
        self.client = make_http_client(settings.timeout_s, read_only)
        self.versions: dict[str, str] = {}
        """Name -> version (or ``? reason``) from the last :meth:`read_versions`."""
        self._lock = threading.Lock()
        self._hung: dict[str, int] = {}
        """URL -> probes of it still running past their deadline."""

    def _probe(self, url: str, call: Callable[[], T]) -> Future[T] | None:
        """Run ``call`` in a daemon thread; None when too many probes of ``url`` still hang."""
        with self._lock:
            if self._hung.get(url, 0) >= MAX_HUNG_PER_URL:
                return None
            self._hung[url] = self._hung.get(url, 0) + 1
        future: Future[T] = Future()

        def target() -> None:
            try:
                future.set_result(call())
            except BaseException as exc:  # noqa: BLE001 - reported by whoever waits
                future.set_exception(exc)
            finally:
                with self._lock:
                    self._hung[url] -= 1

        threading.Thread(target=target, name="cockpit-http", daemon=True).start()
        return future

    def _deadline(self) -> float:
        return time.monotonic() + self.settings.timeout_s + DEADLINE_MARGIN_S

    def _late(self) -> str:
        return f"no answer within {self.settings.timeout_s:g}s"

    def revision(self) -> None:
        """A live system cannot say cheaply that nothing changed: always fetched."""
        return None

    def fetch(self) -> HealthSnapshot:
        """Check every endpoint at once; the deadline bounds the poll."""
        timeout = self.settings.timeout_s
        deadline = self._deadline()
        probes = [(name, url, self._probe(url, lambda n=name, u=url: check_endpoint(
            self.client, n, u, timeout))) for name, url in self.urls]
        versions: tuple[tuple[str, str], ...] = ()
        if self.settings.version_urls:
            # concurrently with the health checks
            versions = screen_versions(self.read_versions(deadline))
        results = []
        for name, url, future in probes:
            if future is None:
                results.append(unanswered(name, url, "earlier checks still unanswered"))
                continue
            try:
                results.append(future.result(timeout=max(0.0, deadline - time.monotonic())))
            except FutureTimeout:
                results.append(unanswered(name, url, self._late()))
            except Exception as exc:  # noqa: BLE001 - a probe that crashed did not answer
                results.append(unanswered(name, url, f"check failed ({type(exc).__name__})"))
        return HealthSnapshot(at=self._now(), endpoints=tuple(results), versions=versions)

    def read_versions(self, deadline: float | None = None) -> dict[str, str]:
        """GET every ``[http].version_urls`` entry at once: name -> version, or ``? reason``."""
        deadline = self._deadline() if deadline is None else deadline
        items = list(self.settings.version_urls.items())
        probes = [self._probe(url, lambda u=url: read_version(self.client, u,
                                                               self.settings.timeout_s))
                  for _, url in items]
        versions = {}
        for (name, _), future in zip(items, probes, strict=True):
            if future is None:
                versions[name] = "? earlier reads still unanswered"
                continue
            try:
                ok, value, _body = future.result(timeout=max(0.0, deadline - time.monotonic()))
            except FutureTimeout:
                ok, value = False, self._late()
            except Exception as exc:  # noqa: BLE001
                ok, value = False, f"request failed ({type(exc).__name__})"
            versions[name] = value if ok else f"? {value}"
        self.versions = versions
        return versions

    def close(self) -> None:
        """Close connections (probes still hung end with them)."""
        self.client.close()
