"""``cockpit doctor`` against loopback servers and the real local PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import (
    CANARY,
    DD_API_KEY,
    DD_APP_KEY,
    PG_HOST,
    PG_PORT,
    REDIS_HOST,
    REDIS_PORT,
    FakeDatadog,
    Reply,
)
from kmock import RawHandler

from cockpit.commands.doctor import doctor

ENV = {"DD_API_KEY": DD_API_KEY, "DD_APP_KEY": DD_APP_KEY,
       "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/" + CANARY,
       "PAGERDUTY_ROUTING_KEY": CANARY}


def config_text(dd: str, http: str, pg_db: str, extra: str = "") -> str:
    return f"""
[datadog]
host = "{dd}"
timeout_s = 2

[postgres]
host = "{PG_HOST}"
port = {PG_PORT}
dbname = "{pg_db}"
user = "postgres"
sslmode = "disable"

[redis]
host = "{REDIS_HOST}"
port = {REDIS_PORT}

[http]
base_url = "{http}"
endpoints = ["auth", "users"]
timeout_s = 1

[slack]

[pagerduty]
{extra}
"""


def run(tmp_path: Path, text: str, env: dict[str, str]) -> Any:
    path = tmp_path / "cockpit.toml"
    path.write_text(text)
    return CliRunner().invoke(doctor, ["--config", str(path)], env=env)


def health_server(loopback: Any) -> Any:
    server = loopback()
    server.route("GET", "*", lambda req: Reply(200, {"status": "ok"}))
    return server


def test_all_configured_connectors_ok(tmp_path: Path, fake_datadog: FakeDatadog, loopback,
                                      pg_database: str, redis_prefix: str) -> None:
    http = health_server(loopback)
    result = run(tmp_path, config_text(fake_datadog.url, http.url, pg_database), ENV)
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split()[1] for line in result.output.splitlines()[1:9]}
    assert rows == {"datadog": "OK", "kubernetes": "SKIP", "postgres": "OK", "redis": "OK",
                    "http": "OK", "slack": "OK", "pagerduty": "OK", "email": "SKIP"}
    assert "routing key from env PAGERDUTY_ROUTING_KEY (nothing sent)" in result.output
    assert CANARY not in result.output
    assert fake_datadog.server.hits("GET", "/api/v1/validate")


def test_failures_exit_1_and_never_print_secrets(tmp_path: Path, fake_datadog: FakeDatadog,
                                                 loopback, pg_database: str,
                                                 redis_prefix: str) -> None:
    http = health_server(loopback)
    http.script("GET", "/v1/users/health", Reply(503, "down"))
    env = {**ENV, "DD_APP_KEY": CANARY}  # a wrong application key
    result = run(tmp_path, config_text(fake_datadog.url, http.url, "cockpit_no_such_db"), env)
    assert result.exit_code == 1
    lines = {line.split()[0]: line for line in result.output.splitlines()[1:9]}
    assert "FAIL" in lines["datadog"] and "403 Forbidden" in lines["datadog"]
    assert "FAIL" in lines["postgres"] and "does not exist" in lines["postgres"]
    assert "FAIL" in lines["http"] and "users: HTTP 503" in lines["http"]
    assert "3 connector(s) failed: datadog, postgres, http" in result.output
    assert CANARY not in result.output


def test_bad_config_exits_2_with_one_line(tmp_path: Path) -> None:
    result = run(tmp_path, "[redis]\nport = 'abc'\n", {})
    assert result.exit_code == 2
    assert result.output.strip() == 'cockpit.toml:2: [redis].port: expected an integer, got "abc"'
    result = run(tmp_path, "[slack]\n", {})
    assert result.exit_code == 2 and "SLACK_WEBHOOK_URL is not set" in result.output


@pytest.mark.kmock(cls=RawHandler)
async def test_kubernetes_check_asks_for_patch_and_scale_rights(tmp_path: Path,
                                                                 kmock: Any) -> None:
    # emulator-less handler: serve an empty namespace and an RBAC that denies scale
    kmock["get /apis/apps/v1/namespaces/production/deployments"] << {
        "kind": "DeploymentList", "apiVersion": "apps/v1", "items": []}
    kmock["get /apis/apps/v1/namespaces/production/replicasets"] << {
        "kind": "ReplicaSetList", "apiVersion": "apps/v1", "items": []}
    kmock["get /api/v1/namespaces/production/pods"] << {
        "kind": "PodList", "apiVersion": "v1", "items": []}
    kmock["post /apis/authorization.k8s.io/v1/selfsubjectaccessreviews"] << (
        lambda req: {**req.data, "status": {
            "allowed": req.data["spec"]["resourceAttributes"].get("subresource") != "scale"}})
    text = f'[kubernetes]\nhost = "{str(kmock.url).rstrip("/")}"\ntimeout_s = 2\n'
    result = await asyncio.to_thread(run, tmp_path, text, {})
    assert result.exit_code == 1
    (row,) = [line for line in result.output.splitlines() if line.startswith("kubernetes")]
    assert "FAIL" in row and "not allowed to update deployments/scale" in row
