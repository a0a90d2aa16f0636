"""Typed actions: exact previews, argv, variable validation, mutating/idempotent flags."""

from __future__ import annotations

from typing import Any

import pytest

from cockpit.actions.types import ActionError, effective_variables, resolve
from cockpit.runbook.model import ActionSpec

VARS = effective_variables({"incident_id": "INC-1", "deployment": "api"})


def r(type_: str, **params: Any):
    return resolve(ActionSpec(type_, params), VARS)


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        (("k8s.rollout_history", {"deployment": "${deployment}", "namespace": "${namespace}"}),
         "kubectl rollout history deployment/api -n production"),
        (("k8s.rollout_undo", {"deployment": "api", "namespace": "production", "to_revision": 7}),
         "kubectl rollout undo deployment/api -n production --to-revision=7"),
        (("k8s.rollout_status", {"deployment": "api", "namespace": "production"}),
         "kubectl rollout status deployment/api -n production --timeout=300s"),
        (("k8s.scale", {"deployment": "api", "namespace": "production", "replicas": 0}),
         "kubectl scale deployment/api --replicas=0 -n production"),
        (("k8s.restart_pods", {"namespace": "production", "selector": "app=workers"}),
         "kubectl delete pods -n production -l app=workers"),
        (("k8s.logs", {"namespace": "production", "selector": "app=frontend"}),
         "kubectl logs -n production -l app=frontend --tail=100"),
        (("k8s.set_env", {"deployment": "api", "namespace": "production",
                          "env": {"DATABASE_HOST": "prod-db-recovered"}}),
         "kubectl set env deployment/api DATABASE_HOST=prod-db-recovered -n production"),
        (("redis.set", {"key": "maintenance_mode", "value": "true"}),
         "redis-cli -h prod-cache SET maintenance_mode true"),
        (("pg.backup", {"database": "${database}",
                        "path": "/backups/emergency/rollback_${incident_id}.dump"}),
         "pg_dump -h prod-db -d whitecross_prod --format=custom --lock-wait-timeout=30s "
         "-f /backups/emergency/rollback_INC-1.dump"),
        (("pg.terminate_connections", {"database": "whitecross_prod"}),
         "psql -h prod-db -d whitecross_prod -c \"SELECT pg_terminate_backend(pid) FROM "
         "pg_stat_activity WHERE datname = 'whitecross_prod' AND pid <> pg_backend_pid();\""),
        (("pg.sql", {"database": "whitecross_prod", "statement": "VACUUM ANALYZE;"}),
         "psql -h prod-db -d whitecross_prod -c 'VACUUM ANALYZE'"),
        (("http.version", {"url": "https://app.whitecross.health/version"}),
         "curl -s https://app.whitecross.health/version"),
        (("metrics.query", {"query": "avg:app.error_rate{env:prod}"}),
         "datadog metrics query 'avg:app.error_rate{env:prod}' --from=-30m"),
        (("metrics.wait_below", {"metric": "error_rate_pct", "threshold": 1, "minutes": 5}),
         "wait until error_rate_pct < 1 for 5m"),
        (("shell", {"argv": ["aws", "rds", "restore-db-instance-to-point-in-time",
                             "--restore-time", "2025-01-21T14:00:00Z"]}),
         "aws rds restore-db-instance-to-point-in-time --restore-time 2025-01-21T14:00:00Z"),
    ],
)
def test_previews_are_the_exact_commands(action: tuple[str, dict], expected: str) -> None:
    assert r(action[0], **action[1]).preview() == expected


def test_traffic_weights_patch_and_sum() -> None:
    action = r("k8s.traffic_weights", namespace="production", virtualservice="api-rollback",
               host="api", weights={"v1": 100, "v2": 0})
    assert action.argv()[:6] == ("kubectl", "patch", "virtualservice", "api-rollback", "-n",
                                 "production")
    assert action.virtualservice_patch()["spec"]["http"][0]["route"][1] == {
        "destination": {"host": "api", "subset": "v2"}, "weight": 0}
    with pytest.raises(ActionError, match="weights must sum to 100, not 90"):
        r("k8s.traffic_weights", namespace="production", virtualservice="vs", host="api",
          weights={"v1": 90, "v2": 0})


@pytest.mark.parametrize("value", ["x; rm -rf /", "$(id)", "-rf", "a b", "`id`"])
def test_injection_through_variables_is_rejected_naming_the_variable(value: str) -> None:
    variables = {**VARS, "evil": value}
    for spec in (ActionSpec("k8s.scale", {"deployment": "${evil}", "namespace": "production",
                                          "replicas": 1}),
                 ActionSpec("shell", {"argv": ["aws", "${evil}"]}),
                 ActionSpec("pg.backup", {"database": "whitecross_prod",
                                          "path": "${evil}"}),
                 ActionSpec("redis.set", {"key": "maintenance_mode", "value": "${evil}"})):
        with pytest.raises(ActionError, match="variable 'evil'"):
            resolve(spec, variables)


def test_undefined_variable_is_an_error_never_empty() -> None:
    with pytest.raises(ActionError, match="undefined variable 'release'"):
        resolve(ActionSpec("k8s.scale", {"deployment": "api-${release}",
                                         "namespace": "production", "replicas": 1}), VARS)


def test_literal_options_stay_allowed_and_free_text_is_not_a_command() -> None:
    action = resolve(ActionSpec("shell", {"argv": ["npx", "sequelize-cli", "db:migrate:undo",
                                                   "--env", "${environment}"]}), VARS)
    assert action.argv() == ("npx", "sequelize-cli", "db:migrate:undo", "--env", "production")
    note = resolve(ActionSpec("notify.slack", {"message": "rolled back: ${reason}"}),
                   {**VARS, "reason": "api v2; too many connections"})
    assert note.argv() is None
    assert note.preview() == "slack: post 'rolled back: api v2; too many connections'"


def test_mutating_and_idempotent_flags() -> None:
    assert r("k8s.scale", deployment="api", namespace="p", replicas=1).mutates
    assert not r("k8s.scale", deployment="api", namespace="p", replicas=1).idempotent
    assert not r("k8s.rollout_history", deployment="api", namespace="p").mutates
    assert not r("pg.backup", database="d", path="/b/x.dump").mutates
    assert r("pg.sql", database="d", statement="REINDEX DATABASE d").mutates
    assert not r("pg.sql", database="d", statement="SELECT 1").mutates
    assert not r("notify.slack", message="hi").idempotent
    assert not r("pg.terminate_connections", database="d").idempotent
    assert r("redis.flushdb").always_destructive
