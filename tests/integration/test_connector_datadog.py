"""The Datadog connector against a loopback server speaking Datadog's wire format."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CANARY, DD_API_KEY, DD_APP_KEY, DD_SERIES, FakeDatadog, Reply

from cockpit.config import DatadogSettings, Secret
from cockpit.connectors.datadog import DatadogSource
from cockpit.domain import MetricsSnapshot
from cockpit.sources.base import SourceError


def settings(url: str, api_key: str = DD_API_KEY, app_key: str = DD_APP_KEY,
             timeout_s: float = 2.0) -> DatadogSettings:
    return DatadogSettings(host=url, api_key=Secret(api_key, "test"),
                           app_key=Secret(app_key, "test"), timeout_s=timeout_s)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_fetch_returns_the_four_series_over_the_last_30_minutes(fake_datadog: FakeDatadog) -> None:
    source = DatadogSource(settings(fake_datadog.url))
    snap = source.fetch()
    assert isinstance(snap, MetricsSnapshot)
    assert snap.error_rate_pct.values == DD_SERIES["avg:app.error_rate{env:prod}"]
    assert snap.latency_p95_ms.latest == 1500.0
    assert snap.cpu_pct.latest == 88.0 and snap.memory_pct.latest == 71.0
    assert all(t.tzinfo is not None for t, _ in snap.error_rate_pct.points)
    queries = fake_datadog.queries()
    assert [q.query["query"][0] for q in queries] == list(DD_SERIES)
    start, end = int(queries[0].query["from"][0]), int(queries[0].query["to"][0])
    assert end - start == 30 * 60
    assert queries[0].headers["dd-api-key"] == DD_API_KEY
    source.close()


def test_a_query_without_data_is_an_empty_series(fake_datadog: FakeDatadog) -> None:
    del fake_datadog.series["avg:system.cpu.user{env:prod}"]
    snap = DatadogSource(settings(fake_datadog.url)).fetch()
    assert snap.cpu_pct.points == ()
    assert snap.error_rate_pct.latest == 6.8


def test_rejected_key_says_so_without_the_key(fake_datadog: FakeDatadog) -> None:
    source = DatadogSource(settings(fake_datadog.url, api_key=CANARY))
    with pytest.raises(SourceError) as caught:
        source.fetch()
    assert str(caught.value) == "Datadog rejected the API/application key (403 Forbidden)"
    assert CANARY not in str(caught.value)


def test_401_is_reported_as_unauthorized(loopback) -> None:
    server = loopback()
    server.script("GET", "/api/v1/query", Reply(401, {"errors": ["Unauthorized"]}))
    with pytest.raises(SourceError, match=r"401 Unauthorized"):
        DatadogSource(settings(server.url)).fetch()


def test_429_blocks_further_calls_until_the_reset(loopback) -> None:
    server = loopback()
    server.script("GET", "/api/v1/query", Reply(429, {"errors": ["Too many requests"]}, {
        "X-RateLimit-Limit": "1600", "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "42", "X-RateLimit-Period": "3600"}))
    clock = Clock()
    source = DatadogSource(settings(server.url), monotonic=clock)
    with pytest.raises(SourceError, match=r"^rate limited by Datadog, retry in 42s$"):
        source.fetch()
    clock.now += 30
    with pytest.raises(SourceError, match=r"retry in 12s"):
        source.fetch()
    assert len(server.hits("GET", "/api/v1/query")) == 1, "no call while rate limited"
    clock.now += 13
    with pytest.raises(SourceError):
        source.fetch()
    assert len(server.hits("GET", "/api/v1/query")) == 2, "called again after the reset"


def test_remaining_zero_on_success_waits_for_reset_before_next_poll(
        fake_datadog: FakeDatadog, loopback) -> None:
    server = fake_datadog.server
    original = server._responders[("GET", "/api/v1/query")]

    def last_of_budget(req):
        reply = original(req)
        reply.headers.update({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "20"})
        return reply

    server.route("GET", "/api/v1/query", last_of_budget)
    clock = Clock()
    source = DatadogSource(settings(fake_datadog.url), monotonic=clock)
    with pytest.raises(SourceError, match="retry in 20s"):
        source.fetch()  # the first query spent the budget: the second must not be sent
    assert len(fake_datadog.queries()) == 1
    clock.now += 21
    server.route("GET", "/api/v1/query", original)
    assert source.fetch().cpu_pct.latest == 88.0


def test_server_error_and_not_found(loopback) -> None:
    server = loopback()
    server.script("GET", "/api/v1/query", Reply(500, {"errors": ["boom"]}),
                  Reply(404, {"errors": ["Not found"]}))
    source = DatadogSource(settings(server.url))
    with pytest.raises(SourceError, match="^Datadog error 500$"):
        source.fetch()
    with pytest.raises(SourceError, match="404 Not Found"):
        source.fetch()


def test_slow_answer_beyond_the_timeout_fails_fast_without_retries(loopback) -> None:
    server = loopback()
    server.script("GET", "/api/v1/query", Reply(200, {"series": []}, delay_s=3.0))
    source = DatadogSource(settings(server.url, timeout_s=0.5))
    with pytest.raises(SourceError, match=r"did not answer within 0.5s"):
        source.fetch()
    assert len(server.hits("GET", "/api/v1/query")) == 1, "urllib3 retries are off"


def test_unreachable_datadog(tmp_path: Path) -> None:
    from conftest import free_port

    source = DatadogSource(settings(f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(SourceError, match="cannot reach Datadog"):
        source.fetch()


def test_dd_environment_does_not_redirect_or_rekey(fake_datadog: FakeDatadog,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DD_SITE", "datadoghq.eu")
    monkeypatch.setenv("DD_API_KEY", CANARY)
    snap = DatadogSource(settings(fake_datadog.url)).fetch()
    assert snap.error_rate_pct.latest == 6.8
    assert fake_datadog.queries()[0].headers["dd-api-key"] == DD_API_KEY


def test_site_setting_wins_over_dd_site(monkeypatch: pytest.MonkeyPatch) -> None:
    from cockpit.connectors.datadog import make_configuration

    monkeypatch.setenv("DD_SITE", "datadoghq.eu")
    conf = make_configuration(DatadogSettings(site="us5.datadoghq.com",
                                              api_key=Secret("a", "t"), app_key=Secret("b", "t")))
    assert conf.host == "https://api.us5.datadoghq.com"


def test_validate_checks_the_api_key(fake_datadog: FakeDatadog) -> None:
    DatadogSource(settings(fake_datadog.url)).validate_api_key()
    with pytest.raises(SourceError, match=r"rejected the API key \(403 Forbidden\)"):
        DatadogSource(settings(fake_datadog.url, api_key="wrong")).validate_api_key()
