"""Read-only mode is enforced by the clients themselves: count that no mutating request leaves."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from conftest import DD_API_KEY, DD_APP_KEY, REDIS_HOST, REDIS_PORT, Reply
from test_connector_kubernetes import NS, load_estate

from cockpit.config import (
    Config,
    DatadogSettings,
    HttpSettings,
    KubernetesSettings,
    RedisSettings,
    Secret,
)
from cockpit.connectors import build_sources
from cockpit.connectors.readonly import ReadOnlyError, parse_resp_commands


def test_http_source_refuses_anything_but_reads(loopback) -> None:
    server = loopback()
    server.script("GET", "/v1/health/health", Reply(200, "ok"))
    (source,) = build_sources(Config(http=HttpSettings(base_url=server.url,
                                                       endpoints=("health",))), read_only=True)
    assert source.fetch().endpoints[0].ok
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        with pytest.raises(ReadOnlyError, match=f"refused {method} /v1/health/health"):
            source.client.request(method, server.url + "/v1/health/health")
    source.close()
    assert [r.method for r in server.requests] == ["GET"]


def test_datadog_source_refuses_posts(fake_datadog) -> None:
    settings = DatadogSettings(host=fake_datadog.url, api_key=Secret(DD_API_KEY, "env A"),
                               app_key=Secret(DD_APP_KEY, "env B"), timeout_s=2.0)
    (source,) = build_sources(Config(datadog=settings), read_only=True)
    assert source.fetch().error_rate_pct.values[-1] == 6.8
    with pytest.raises(ReadOnlyError, match="refused POST /api/v1/series"):
        source._client.rest_client.request("POST", fake_datadog.url + "/api/v1/series",
                                           body={"series": []})
    source.close()
    assert {r.method for r in fake_datadog.server.requests} == {"GET"}


async def test_kubernetes_source_refuses_mutations_but_asks_questions(kmock: Any) -> None:
    load_estate(kmock)
    kmock["post /apis/authorization.k8s.io/v1/selfsubjectaccessreviews"] << (
        lambda request: {**request.data, "status": {"allowed": True}})
    settings = KubernetesSettings(host=str(kmock.url).rstrip("/"), namespace=NS, timeout_s=3.0)
    (source,) = build_sources(Config(kubernetes=settings), read_only=True)
    snap = await asyncio.to_thread(source.fetch)
    assert snap.deployment("api") is not None
    assert (await asyncio.to_thread(source.can_i, "patch", "deployments"))[0] is True
    with pytest.raises(ReadOnlyError, match="refused DELETE"):
        await asyncio.to_thread(source.core.delete_namespaced_pod, "api-rs7-a", NS,
                                _request_timeout=3)
    source.close()
    methods = [str(r.method).rsplit(".", 1)[-1].upper() for r in list(kmock)]
    assert "DELETE" not in methods and methods.count("POST") == 1  # the access review


def test_redis_source_reads_in_read_only_mode(redis_server: tuple[str, int]) -> None:
    (source,) = build_sources(Config(redis=RedisSettings(host=REDIS_HOST, port=REDIS_PORT)),
                              read_only=True)
    assert source.fetch().ping_ms >= 0
    with pytest.raises(ReadOnlyError, match="refused Redis FLUSHALL"):
        source.client.flushall()
    source.close()


def test_read_only_defaults_to_the_config() -> None:
    from dataclasses import replace

    config = Config(http=HttpSettings(base_url="http://127.0.0.1:9"))
    ro = replace(config, cockpit=replace(config.cockpit, read_only=True))
    assert build_sources(ro)[0].read_only is True
    assert build_sources(config)[0].read_only is False


def test_resp_parser_splits_pipelines_and_refuses_garbage() -> None:
    packed = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nv1\r\n"
    assert parse_resp_commands(packed) == [[b"GET", b"k"], [b"SET", b"k", b"v1"]]
    assert parse_resp_commands(b"FLUSHALL\r\n") == [[b"?"]]
