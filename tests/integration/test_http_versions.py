"""Versions read from real (loopback) version endpoints reach the health snapshot, as
short tokens only: an endpoint's odd answer never reaches the screen."""

from __future__ import annotations

from conftest import Reply

from cockpit.config import HttpSettings
from cockpit.connectors.http import HttpHealthSource


def test_health_snapshot_carries_version_tokens_and_question_marks(loopback) -> None:
    server = loopback()
    server.script("GET", "/v1/health/health", Reply(200, "ok"))
    server.script("GET", "/api-version", Reply(200, {"version": "v2.1.0", "commit": "x"}))
    server.script("GET", "/web-version", Reply(200, "5.0.1"))
    server.script("GET", "/sha-version", Reply(200, {"commit": "0123456789abcdef0123"}))
    server.script("GET", "/html-version", Reply(200, "<html><body>Welcome Jane Doe</body>"))
    server.script("GET", "/odd-version", Reply(200, {"version": "123-45-6789"}))
    names = ("api", "web", "sha", "html", "odd", "gone")
    source = HttpHealthSource(HttpSettings(
        base_url=server.url, endpoints=("health",), timeout_s=2.0,
        version_urls={name: f"{server.url}/{name}-version" for name in names}))
    snap = source.fetch()
    source.close()
    assert snap.endpoints[0].ok
    assert dict(snap.versions) == {"api": "2.1.0", "web": "5.0.1", "sha": "0123456789ab",
                                   "html": "?", "odd": "?", "gone": "?"}
    # the reasons stay with the source (the doctor shows them), never in the snapshot
    assert source.versions["gone"] == "? HTTP 404 Not Found"
    assert "Jane" not in repr(snap) and "45-6789" not in repr(snap)


def test_no_version_urls_means_no_versions_line(loopback) -> None:
    server = loopback()
    server.script("GET", "/v1/health/health", Reply(200, "ok"))
    source = HttpHealthSource(HttpSettings(base_url=server.url, endpoints=("health",),
                                           timeout_s=2.0))
    snap = source.fetch()
    source.close()
    assert snap.versions == () and [e.ok for e in snap.endpoints] == [True]
