"""Shared loopback servers for the connector and notification tests.

- ``loopback``: a factory of scripted HTTP servers (``http.server.ThreadingHTTPServer``
  on 127.0.0.1) that record every request and answer from per-route queues.
- ``fake_datadog``: speaks Datadog's ``/api/v1/query`` and ``/api/v1/validate``
  wire format and checks the ``DD-API-KEY``/``DD-APPLICATION-KEY`` headers.
- ``smtp_server``: aiosmtpd on a free loopback port, collecting messages.
- ``postgres_server`` / ``redis_server``: the address of the real local PostgreSQL
  (``COCKPIT_TEST_PG_HOST/PORT``) / Redis (``COCKPIT_TEST_REDIS_HOST/PORT``) once it answers;
  when it does not, the test is skipped, or fails under ``CI=true`` (tests/conftest.py).
- ``pg_database``: a fresh ``cockpit_test_<random>`` database on that PostgreSQL, dropped
  afterwards.
- ``redis_prefix``: a unique key prefix on that Redis, its keys deleted afterwards.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NoReturn
from urllib.parse import parse_qs, urlsplit

import pytest

PG_HOST = os.environ.get("COCKPIT_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("COCKPIT_TEST_PG_PORT", "5432"))
REDIS_HOST = os.environ.get("COCKPIT_TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("COCKPIT_TEST_REDIS_PORT", "6379"))

#: A value that must never show up anywhere a user or the record can see.
CANARY = "canary-7f3a9c1e5b2d4f60a8e1c3b5d7f9a2c4"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Reply:
    """One scripted answer."""

    status: int = 200
    body: Any = None
    """dict/list -> JSON, bytes/str -> as is."""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Responder = Callable[[Recorded], Reply]


class LoopbackServer:
    """A scripted HTTP server: ``server.script("POST", "/x", Reply(...), ...)`` queues answers
    for a route (the last one repeats); ``server.route(...)`` sets a function instead."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._queues: dict[tuple[str, str], list[Reply]] = {}
        self._responders: dict[tuple[str, str], Responder] = {}
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # silence
                return

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                req = Recorded(self.command, parts.path, parse_qs(parts.query),
                               {k.lower(): v for k, v in self.headers.items()}, body)
                reply = outer._reply(req)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                if isinstance(reply.body, (dict, list)):
                    payload = json.dumps(reply.body).encode()
                    ctype = "application/json"
                elif isinstance(reply.body, str):
                    payload, ctype = reply.body.encode(), "text/plain"
                else:
                    payload, ctype = reply.body or b"", "text/plain"
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(payload)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def _reply(self, req: Recorded) -> Reply:
        key = (req.method, req.path)
        with self._lock:
            self.requests.append(req)
            queue = self._queues.get(key)
            if queue:
                return queue.pop(0) if len(queue) > 1 else queue[0]
            responder = self._responders.get(key) or self._responders.get((req.method, "*"))
        if responder is not None:
            return responder(req)
        return Reply(404, {"errors": ["Not Found"]})

    def script(self, method: str, path: str, *replies: Reply) -> None:
        """Answer ``method path`` with these replies in turn; the last one repeats."""
        with self._lock:
            self._queues[(method, path)] = list(replies)

    def route(self, method: str, path: str, responder: Responder) -> None:
        """Answer ``method path`` (path ``*`` = any) by calling ``responder``."""
        with self._lock:
            self._responders[(method, path)] = responder

    def hits(self, method: str, path: str) -> list[Recorded]:
        """The requests received for a route."""
        with self._lock:
            return [r for r in self.requests if r.method == method and r.path == path]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def loopback() -> Iterator[Callable[[], LoopbackServer]]:
    """A factory of loopback servers, all shut down after the test."""
    servers: list[LoopbackServer] = []

    def make() -> LoopbackServer:
        server = LoopbackServer()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


#: The values the fake Datadog serves for each default query, oldest first.
DD_SERIES: dict[str, list[float]] = {
    "avg:app.error_rate{env:prod}": [0.4, 0.5, 3.2, 6.8],
    "p95:app.response_time{env:prod}": [180.0, 190.0, 900.0, 1500.0],
    "avg:system.cpu.user{env:prod}": [40.0, 45.0, 70.0, 88.0],
    "avg:system.mem.pct_usable{env:prod}": [50.0, 52.0, 60.0, 71.0],
}
DD_API_KEY = "0123456789abcdef0123456789abcdef"
DD_APP_KEY = "fedcba9876543210fedcba9876543210fedcba98"


def datadog_query_body(query: str, start: int, end: int, values: list[float]) -> dict[str, Any]:
    """A ``GET /api/v1/query`` answer as Datadog sends it."""
    step = max(1, (end - start) // max(1, len(values)))
    points = [[(start + step * (i + 1)) * 1000.0, v] for i, v in enumerate(values)]
    points.insert(0, [start * 1000.0, None])  # Datadog sends null for empty buckets
    metric = query.split(":", 1)[1].split("{", 1)[0]
    return {
        "status": "ok", "res_type": "time_series", "query": query,
        "from_date": start * 1000, "to_date": end * 1000, "group_by": [],
        "series": [{
            "metric": metric, "display_name": metric, "expression": query,
            "scope": "env:prod", "aggr": query.split(":", 1)[0], "interval": step,
            "length": len(points), "start": start * 1000, "end": end * 1000,
            "pointlist": points, "tag_set": [],
            "unit": [{"family": "percentage", "name": "percent", "plural": "percent",
                      "scale_factor": 1.0, "short_name": "%"}, None],
        }],
    }


class FakeDatadog:
    """Datadog's v1 query and validate endpoints over loopback, with key checks."""

    def __init__(self, server: LoopbackServer) -> None:
        self.server = server
        self.url = server.url
        self.series = dict(DD_SERIES)
        server.route("GET", "/api/v1/query", self._query)
        server.route("GET", "/api/v1/validate", self._validate)

    def _keys_ok(self, req: Recorded, app: bool) -> Reply | None:
        if req.headers.get("dd-api-key") != DD_API_KEY:
            return Reply(403, {"errors": ["Forbidden"]})
        if app and req.headers.get("dd-application-key") != DD_APP_KEY:
            return Reply(403, {"errors": ["Forbidden"]})
        return None

    def _query(self, req: Recorded) -> Reply:
        refused = self._keys_ok(req, app=True)
        if refused:
            return refused
        query = req.query["query"][0]
        start, end = int(req.query["from"][0]), int(req.query["to"][0])
        values = self.series.get(query)
        if values is None:
            return Reply(200, {"status": "ok", "res_type": "time_series", "series": [],
                               "query": query, "from_date": start * 1000,
                               "to_date": end * 1000})
        return Reply(200, datadog_query_body(query, start, end, values),
                     {"X-RateLimit-Limit": "1600", "X-RateLimit-Period": "3600",
                      "X-RateLimit-Remaining": "1500", "X-RateLimit-Reset": "1200"})

    def _validate(self, req: Recorded) -> Reply:
        refused = self._keys_ok(req, app=False)
        return refused or Reply(200, {"valid": True})

    def queries(self) -> list[Recorded]:
        return self.server.hits("GET", "/api/v1/query")


@pytest.fixture
def fake_datadog(loopback: Callable[[], LoopbackServer]) -> FakeDatadog:
    """A loopback Datadog serving :data:`DD_SERIES` for keys :data:`DD_API_KEY`/`DD_APP_KEY`."""
    return FakeDatadog(loopback())


@dataclass
class SmtpServer:
    """A running aiosmtpd server and what it received."""

    host: str
    port: int
    messages: list[Any]


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """aiosmtpd on 127.0.0.1 (port 0 does not work with its Controller: find one first)."""
    from aiosmtpd.controller import Controller

    received: list[Any] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append(envelope)
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, received)
    finally:
        controller.stop()


@pytest.fixture
def postgres_server(service_missing: Callable[[str], NoReturn]) -> tuple[str, int]:
    """The local PostgreSQL's (host, port), once it accepts a connection as ``postgres``."""
    import psycopg

    try:
        psycopg.connect(host=PG_HOST, port=PG_PORT, user="postgres", dbname="postgres",
                        connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        service_missing(f"no PostgreSQL at {PG_HOST}:{PG_PORT}: {exc}")
    return PG_HOST, PG_PORT


@pytest.fixture
def redis_server(service_missing: Callable[[str], NoReturn]) -> tuple[str, int]:
    """The local Redis's (host, port), once it answers PING."""
    import redis

    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_timeout=3,
                         socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        service_missing(f"no Redis at {REDIS_HOST}:{REDIS_PORT}: {exc}")
    finally:
        client.close()
    return REDIS_HOST, REDIS_PORT


@pytest.fixture
def pg_database(postgres_server: tuple[str, int]) -> Iterator[str]:
    """A fresh database on the local PostgreSQL; yields its name, drops it afterwards."""
    import psycopg

    name = f"cockpit_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(host=PG_HOST, port=PG_PORT, user="postgres", dbname="postgres",
                         autocommit=True, connect_timeout=3) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(host=PG_HOST, port=PG_PORT, user="postgres", dbname="postgres",
                             autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def redis_prefix(redis_server: tuple[str, int]) -> Iterator[str]:
    """A unique key prefix on the local Redis; its keys are deleted afterwards."""
    import redis

    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_timeout=3,
                         socket_connect_timeout=3)
    prefix = f"cockpit_test_{uuid.uuid4().hex[:10]}:"
    try:
        yield prefix
    finally:
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)
        client.close()
