"""A probe that cannot answer is not evidence (issue #12, item 5).

Loopback servers that hang, refuse, reset, trickle or talk nonsense: an endpoint that gives
no HTTP answer is UNKNOWN (never FAIL), the failing share is over the endpoints that
answered, a probe path that is wholly down gives the engine no sample (the health trigger
goes STALE, never FIRED) and the panel says so; a source that answers again recovers on the
next poll however its last request ended.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from textual.app import App, ComposeResult

from cockpit.clock import SimClock
from cockpit.config import HttpSettings
from cockpit.connectors.http import HttpHealthSource
from cockpit.decision.engine import TriggerStatus
from cockpit.domain import EndpointHealth, HealthSnapshot
from cockpit.runtime.build import default_policy
from cockpit.runtime.runtime import IncidentRuntime
from cockpit.sources.base import SourceStatus
from cockpit.sources.poller import Poller
from widgets.health_panel import HealthPanel, summary_line
from widgets.lines import Lines

OK_REPLY = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
DOWN_REPLY = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class RawServer:
    """A loopback TCP server whose every connection is handled by ``behave(conn, n)`` (n:
    the connection's number, from 1), for answers no well-behaved HTTP server gives."""

    def __init__(self, behave: Callable[[socket.socket, int], None]) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = 0
        self.stop = threading.Event()
        self._behave = behave
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn, self.connections),
                             daemon=True).start()

    def _handle(self, conn: socket.socket, n: int) -> None:
        with conn:
            try:
                conn.recv(65536)
                self._behave(conn, n)
            except OSError:
                pass

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


@pytest.fixture
def raw_server() -> Iterator[Callable[[Callable[[socket.socket, int], None]], RawServer]]:
    servers: list[RawServer] = []

    def make(behave: Callable[[socket.socket, int], None]) -> RawServer:
        servers.append(RawServer(behave))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def hang(stop: threading.Event) -> Callable[[socket.socket, int], None]:
    """Accept the request and never answer (until the test ends)."""
    return lambda conn, n: stop.wait(30)


def trickle_forever(stop: threading.Event) -> Callable[[socket.socket, int], None]:
    """Answer the first connection one byte every 0.2 s, never finishing; the others at once.

    httpx's timeout bounds each read, so this is the request that used to hold the poll
    (and keep the source STALE) for as long as the server liked."""
    def behave(conn: socket.socket, n: int) -> None:
        if n == 1:
            while not stop.is_set():
                conn.sendall(b"H")
                stop.wait(0.2)
        else:
            conn.sendall(OK_REPLY)
    return behave


def source(url: str, endpoints: tuple[str, ...] = ("auth",), timeout_s: float = 0.4
           ) -> HttpHealthSource:
    return HttpHealthSource(HttpSettings(base_url=url, endpoints=endpoints,
                                         timeout_s=timeout_s, interval_s=0.1))


@pytest.mark.parametrize("behaviour", ["hung", "refused", "reset", "garbage", "trickle"])
def test_an_endpoint_that_gives_no_answer_is_unknown_never_fail(raw_server, behaviour) -> None:
    stop = threading.Event()
    behaviours: dict[str, Callable[[socket.socket, int], None]] = {
        "hung": hang(stop),
        "reset": lambda conn, n: conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                                 b"\x01\x00\x00\x00\x00\x00\x00\x00"),
        "garbage": lambda conn, n: conn.sendall(b"\x1b]52;c;cHduZWQ=\x07 not http at all\r\n"),
        "trickle": trickle_forever(stop),
    }
    url = (f"http://127.0.0.1:{free_port()}" if behaviour == "refused"
           else raw_server(behaviours[behaviour]).url)
    probe = source(url)
    started = time.monotonic()
    snap = probe.fetch()
    took = time.monotonic() - started
    stop.set()
    probe.close()
    (only,) = snap.endpoints
    assert only.state == "UNKNOWN" and not only.answered and only.status_code is None
    assert url not in only.detail and "\x1b" not in only.detail
    assert snap.probe_down and snap.failing_pct is None and snap.failing == 0
    assert took < 0.4 + 2.0, f"the poll took {took:.1f}s: its deadline is 1.4s"


def test_the_failing_share_is_over_the_endpoints_that_answered(raw_server) -> None:
    stop = threading.Event()
    replies = {b"/v1/auth/": OK_REPLY, b"/v1/users/": DOWN_REPLY, b"/v1/health/": OK_REPLY,
               b"/v1/students/": OK_REPLY}

    class Routed(RawServer):
        """Answers by the request's path."""

        def _handle(self, conn: socket.socket, n: int) -> None:
            with conn:
                request = conn.recv(65536)
                for prefix, reply in replies.items():
                    if b" " + prefix in request:
                        conn.sendall(reply)
                        return
                stop.wait(30)  # medications: hangs

    server = Routed(lambda conn, n: None)
    probe = source(server.url, ("auth", "health", "users", "students", "medications"))
    snap = probe.fetch()
    stop.set()
    probe.close()
    server.close()
    states = {e.name: e.state for e in snap.endpoints}
    assert states == {"auth": "OK", "health": "OK", "users": "FAIL", "students": "OK",
                      "medications": "UNKNOWN"}
    assert (snap.failing, snap.unknown, len(snap.answered)) == (1, 1, 4)
    assert snap.failing_pct == 25.0 and not snap.probe_down  # was 40%: a hang counted


def test_a_real_failure_answer_is_still_evidence(raw_server) -> None:
    server = raw_server(lambda conn, n: conn.sendall(DOWN_REPLY))
    probe = source(server.url, ("auth", "users"))
    snap = probe.fetch()
    probe.close()
    assert [e.state for e in snap.endpoints] == ["FAIL", "FAIL"]
    assert snap.failing_pct == 100.0 and not snap.probe_down


def test_an_unanswered_endpoint_cannot_be_recorded_as_healthy() -> None:
    with pytest.raises(ValueError, match="cannot be healthy"):
        EndpointHealth("auth", "http://x/auth", True, None, None, "", answered=False)


async def test_an_endpoint_whose_request_never_ends_recovers_on_the_next_poll(raw_server) -> None:
    stop = threading.Event()
    server = raw_server(trickle_forever(stop))
    poller = Poller(source(server.url), lambda status: None)
    first = await poller.poll_once()
    assert first.state == "ok" and first.snapshot is not None
    assert first.snapshot.endpoints[0].state == "UNKNOWN"  # the trickle is still going
    second = await poller.poll_once()
    stop.set()
    assert second.state == "ok" and second.snapshot is not None
    assert second.snapshot.endpoints[0].state == "OK", second.snapshot.endpoints


class StuckOnce:
    """A source whose first fetch never returns (a client without a total deadline);
    every later fetch answers at once."""

    kind = "cache"
    label = "stuck-once"
    interval_s = 0.01
    timeout_s = 0.2

    def __init__(self) -> None:
        self.calls = 0
        self.release = threading.Event()

    def revision(self) -> None:  # a live source: always fetched
        return None

    def fetch(self) -> HealthSnapshot:
        self.calls += 1
        if self.calls == 1:
            self.release.wait(30)
            raise ConnectionResetError("too late")
        return HealthSnapshot(datetime.now(UTC), ())

    def close(self) -> None:
        self.release.set()


@pytest.mark.parametrize("ending", ["never", "error later", "answer later"])
async def test_a_source_recovers_on_the_next_poll_however_its_last_request_ended(
        ending: str) -> None:
    stuck = StuckOnce()
    poller = Poller(stuck, lambda status: None)
    stale = await poller.poll_once()
    assert stale.state == "stale" and "no answer after" in stale.reason
    if ending == "error later":
        stuck.release.set()
    recovered = await poller.poll_once()
    assert recovered.state == "ok", recovered.reason
    if ending == "answer later":
        stuck.release.set()
    await asyncio.sleep(0.05)
    assert (await poller.poll_once()).state == "ok"  # the late ending changes nothing
    stuck.close()


def health_status(snapshot: HealthSnapshot) -> SourceStatus:
    return SourceStatus("health", "http", "ok", snapshot, "", time.monotonic(),
                        time.monotonic())


def unknown_snapshot(at: datetime, names: tuple[str, ...]) -> HealthSnapshot:
    return HealthSnapshot(at, tuple(EndpointHealth(n, f"http://h/{n}", False, None, None,
                                                   "no answer within 3s", answered=False)
                                    for n in names))


def health_trigger(runtime: IncidentRuntime) -> TriggerStatus:
    (trigger,) = [t for t in runtime.decision().triggers if t.id == "health_checks"]
    return trigger.state


NAMES = ("auth", "health", "users", "students", "medications")


def test_a_probe_path_down_gives_the_engine_no_sample_so_the_trigger_goes_stale() -> None:
    start = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    clock = SimClock(start)
    runtime = IncidentRuntime(clock=clock, policy=default_policy())
    healthy = HealthSnapshot(start, tuple(EndpointHealth(n, f"http://h/{n}", True, 200, 5.0)
                                          for n in NAMES))
    runtime.feed(health_status(healthy))
    assert health_trigger(runtime) == TriggerStatus.OK
    for minute in range(1, 6):  # five minutes of a hung monitoring path
        clock.advance(60)
        runtime.feed(health_status(unknown_snapshot(start + timedelta(minutes=minute), NAMES)))
        runtime.tick()
        assert health_trigger(runtime) != TriggerStatus.FIRED
    assert health_trigger(runtime) == TriggerStatus.STALE
    assert "IMMEDIATE ROLLBACK" not in runtime.decision().recommendation.text
    assert not runtime.decision().fired


def test_an_unknown_endpoint_among_answers_does_not_push_the_share_over_the_line() -> None:
    start = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    runtime = IncidentRuntime(clock=SimClock(start), policy=default_policy())
    # 2 failing of 5 plus 2 hung: counting the hung ones as failing made it 80% and fired
    endpoints = (EndpointHealth("auth", "u", False, 500, 3.0, "HTTP 500"),
                 EndpointHealth("health", "u", False, 500, 3.0, "HTTP 500"),
                 EndpointHealth("users", "u", True, 200, 3.0),
                 EndpointHealth("students", "u", True, 200, 3.0),
                 EndpointHealth("medications", "u", True, 200, 3.0),
                 EndpointHealth("billing", "u", False, None, None, "connection failed",
                                answered=False),
                 EndpointHealth("search", "u", False, None, None, "no answer within 3s",
                                answered=False))
    runtime.feed(health_status(HealthSnapshot(start, endpoints)))
    assert health_trigger(runtime) == TriggerStatus.OK
    assert runtime.decision().user_impact_pct == 40.0


class PanelApp(App[None]):
    def compose(self) -> ComposeResult:
        yield HealthPanel(id="health")


def panel_text(panel: HealthPanel) -> str:
    return panel.query_one("#health-body", Lines).plain + "\n"


async def test_the_panel_says_unknown_in_words_and_that_the_probe_path_is_down() -> None:
    now = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    app = PanelApp()
    async with app.run_test(size=(80, 24)) as pilot:
        panel = app.query_one(HealthPanel)
        panel.show_status(health_status(unknown_snapshot(now, NAMES)))
        await pilot.pause()
        text = panel_text(panel)
        rows = text.splitlines()
        assert all("UNKNOWN" in row and "FAIL" not in row for row in rows[:5]), text
        assert "probe path down: 0/5 answered" in rows[5]
        assert panel.has_class("-probe-down") and not panel.has_class("-breach")

        mixed = HealthSnapshot(now, (EndpointHealth("auth", "u", True, 200, 4.0),
                                     EndpointHealth("users", "u", False, 503, 9.0, "HTTP 503"),
                                     EndpointHealth("students", "u", False, None, None,
                                                    "connection failed", answered=False)))
        panel.show_status(health_status(mixed))
        await pilot.pause()
        rows = panel_text(panel).splitlines()
        assert "OK" in rows[0] and "FAIL" in rows[1] and "503" in rows[1]
        assert "UNKNOWN" in rows[2] and "FAIL" not in rows[2]
        assert rows[3].strip() == "1/2 failing (50%; rollback at > 50%), 1 unknown"
        assert not panel.has_class("-probe-down")


@pytest.mark.parametrize(("width", "expected"), [
    (80, "1/4 failing (25%; rollback at > 50%), 1 unknown · versions: api 1.9.3"),
    (50, "1/4 failing (25%), 1 unknown · versions: api 1.9.3"),
    (34, "1/4 failing, 1 unknown · api 1.9.3"),
])
def test_the_summary_names_the_unknown_endpoints_at_any_width(width: int, expected: str) -> None:
    text, _ = summary_line(1, 4, 25.0, (("api", "1.9.3"),), width, unknown=1)
    assert text == expected and len(text) <= width


def test_the_summary_of_a_probe_path_down_never_shows_a_share() -> None:
    text, head = summary_line(0, 0, None, (("api", "?"),), 76, unknown=5)
    assert text.startswith("probe path down: 0/5 answered") and "%" not in text
    assert head == len("probe path down: 0/5 answered")
