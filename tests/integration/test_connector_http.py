"""The HTTP health fan-out against a loopback server."""

from __future__ import annotations

from conftest import Reply, free_port

from cockpit.config import HttpSettings
from cockpit.connectors.http import HttpHealthSource


def test_each_endpoint_is_judged_on_its_own(loopback) -> None:
    server = loopback()
    server.route("GET", "*", lambda req: Reply(200, {"status": "ok"}))
    server.script("GET", "/v1/users/health", Reply(503, {"status": "down"}))
    server.script("GET", "/v1/students/health", Reply(302, b"", {"Location": "/login"}))
    server.script("GET", "/v1/medications/health", Reply(200, b"ok", delay_s=2.0))
    source = HttpHealthSource(HttpSettings(base_url=server.url + "/", timeout_s=0.5))
    snap = source.fetch()
    source.close()
    by_name = {e.name: e for e in snap.endpoints}
    assert [e.name for e in snap.endpoints] == ["auth", "health", "users", "students",
                                                "medications"]
    assert by_name["auth"].ok and by_name["auth"].status_code == 200
    assert by_name["auth"].url == server.url + "/v1/auth/health"
    assert not by_name["users"].ok and by_name["users"].detail == "HTTP 503 Service Unavailable"
    assert not by_name["students"].ok and "redirect not followed" in by_name["students"].detail
    assert not by_name["medications"].ok and by_name["medications"].state == "UNKNOWN"
    assert by_name["medications"].detail == "no answer within 0.5s"
    # the share is over the endpoints that answered: 2 of 4 (the silent one is no evidence)
    assert snap.failing_pct == 50.0


def test_refused_connection_is_an_unknown_endpoint_not_a_source_error() -> None:
    base = f"http://127.0.0.1:{free_port()}"
    snap = HttpHealthSource(HttpSettings(base_url=base, endpoints=("auth",))).fetch()
    (only,) = snap.endpoints
    assert not only.ok and only.detail == "connection failed" and base not in only.detail
    assert only.state == "UNKNOWN" and snap.probe_down and snap.failing_pct is None


def test_path_template_is_applied(loopback) -> None:
    server = loopback()
    server.route("GET", "/healthz/api", lambda req: Reply(204))
    snap = HttpHealthSource(HttpSettings(base_url=server.url, endpoints=("api",),
                                         path_template="/healthz/{endpoint}")).fetch()
    assert snap.endpoints[0].ok and snap.failing_pct == 0.0
