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


# ------------------------------------------------ PostgreSQL: the statement allowlist

def _pg_settings(dbname: str) -> Any:
    from conftest import PG_HOST, PG_PORT

    from cockpit.config import PostgresSettings

    return PostgresSettings(host=PG_HOST, port=PG_PORT, dbname=dbname, user="postgres",
                            sslmode="disable", timeout_s=5.0)


def _admin(dbname: str) -> Any:
    import psycopg
    from conftest import PG_HOST, PG_PORT

    return psycopg.connect(host=PG_HOST, port=PG_PORT, user="postgres", dbname=dbname,
                           autocommit=True, connect_timeout=3)


def _maintenance_counts(dbname: str) -> tuple[int, int]:
    with _admin(dbname) as admin:
        admin.execute("SELECT pg_stat_clear_snapshot()")
        row = admin.execute("SELECT analyze_count + autoanalyze_count, "
                            "vacuum_count + autovacuum_count FROM pg_stat_user_tables "
                            "WHERE relname = 'patients'").fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


@pytest.fixture
def patients_db(pg_database: str) -> str:
    with _admin(pg_database) as admin:
        admin.execute("CREATE TABLE patients (id int PRIMARY KEY, name text)")
        admin.execute("INSERT INTO patients SELECT g, 'p' || g FROM generate_series(1, 50) g")
    return pg_database


#: What PostgreSQL runs under default_transaction_read_only, and ways of hiding it.
MAINTENANCE = [
    "ANALYZE patients",
    "analyse patients",
    "VACUUM patients",
    "VACUUM (ANALYZE) patients",
    "REINDEX TABLE patients",
    "SELECT 1; ANALYZE patients",
    "/* SELECT */ VACUUM patients",
    "-- SELECT\nANALYZE patients",
    "SELECT 'x'; VACUUM patients",
    "SELECT $$;$$; ANALYZE patients",
    "EXPLAIN ANALYZE SELECT count(*) FROM patients",
    "CHECKPOINT",
]


@pytest.mark.parametrize("statement", MAINTENANCE)
def test_read_only_session_refuses_maintenance_before_it_is_sent(
        patients_db: str, statement: str) -> None:
    import psycopg

    from cockpit.connectors.postgres import connect_kwargs

    before = _maintenance_counts(patients_db)
    with psycopg.connect(**connect_kwargs(_pg_settings(patients_db), read_only=True)) as conn:
        with pytest.raises(ReadOnlyError, match="read-only mode: refused SQL"):
            conn.execute(statement)
        # the session is still usable for reads: nothing reached the server
        assert conn.execute("SELECT count(*) FROM patients").fetchone() == (50,)
    assert _maintenance_counts(patients_db) == before


def _victim(dbname: str) -> tuple[Any, int]:
    conn = _admin(dbname)
    pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    return conn, int(pid)


@pytest.mark.parametrize("template", [
    "SELECT pg_terminate_backend({pid})",
    "select PG_CATALOG.pg_terminate_backend({pid})",
    'SELECT "pg_terminate_backend"({pid})',
    "SELECT pg_cancel_backend({pid})",
    "WITH v AS (SELECT {pid} AS pid) SELECT pg_terminate_backend(pid) FROM v",
    "EXPLAIN ANALYZE SELECT pg_terminate_backend({pid})",
    "SELECT 1 /* ; */; SELECT pg_terminate_backend({pid})",
])
def test_read_only_session_cannot_kill_a_session(patients_db: str, template: str) -> None:
    import psycopg

    from cockpit.connectors.postgres import connect_kwargs

    victim, pid = _victim(patients_db)
    try:
        with psycopg.connect(**connect_kwargs(_pg_settings(patients_db))) as conn:
            with pytest.raises(ReadOnlyError, match="acts on the server|EXPLAIN ANALYZE"):
                conn.execute(template.format(pid=pid))
        assert victim.execute("SELECT 1").fetchone() == (1,)  # still alive
    finally:
        victim.close()


@pytest.mark.parametrize("template", [
    "SELECT pg_cancel_backend({pid})",
    "select pg_catalog.pg_cancel_backend({pid})",
    "SELECT set_config('default_transaction_read_only', 'off', false)",
    "SELECT pg_advisory_lock({pid})",
    "SELECT pg_reload_conf()",
    "SELECT * FROM patients FOR UPDATE",
    "SELECT * INTO copied FROM patients",
])
def test_read_only_pg_sql_step_refuses_acting_selects(
        patients_db: str, tmp_path: Any, template: str) -> None:
    from live_helpers import executor, run

    victim, pid = _victim(patients_db)
    try:
        ex = executor(Config(postgres=_pg_settings(patients_db)), tmp_path, read_only=True)
        result, _ = run(ex, "pg.sql", database=patients_db, statement=template.format(pid=pid))
        ex.close()
        assert not result.ok
        assert "read-only mode: refused SQL" in result.detail
        assert victim.execute("SELECT 1").fetchone() == (1,)
        locks = victim.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
        assert locks.fetchone() == (0,)
    finally:
        victim.close()
    with _admin(patients_db) as admin:
        assert admin.execute("SELECT to_regclass('copied')").fetchone() == (None,)


def test_read_only_verify_file_cannot_hide_maintenance(patients_db: str, tmp_path: Any) -> None:
    from live_helpers import executor, run

    checks = tmp_path / "checks.sql"
    checks.write_text("SELECT 'orphans'::text AS check_name, 0::bigint AS count;\n"
                      "VACUUM ANALYZE patients;\n", encoding="utf-8")
    before = _maintenance_counts(patients_db)
    ex = executor(Config(postgres=_pg_settings(patients_db)), tmp_path, read_only=True)
    result, _ = run(ex, "pg.verify", database=patients_db, sql_file=str(checks))
    ex.close()
    assert not result.ok and "VACUUM is not a read" in result.detail
    assert _maintenance_counts(patients_db) == before


def test_read_only_session_still_reads(patients_db: str, tmp_path: Any) -> None:
    import psycopg

    from cockpit.connectors.postgres import connect_kwargs

    with psycopg.connect(**connect_kwargs(_pg_settings(patients_db), read_only=True)) as conn:
        assert conn.execute("SELECT count(*) FROM patients WHERE name <> 'vacuum'") \
            .fetchone() == (50,)
        assert conn.execute("SHOW default_transaction_read_only").fetchone() == ("on",)
        plan = conn.execute("EXPLAIN SELECT * FROM patients").fetchall()
        assert plan and "patients" in plan[0][0]
    from live_helpers import executor, run

    ex = executor(Config(postgres=_pg_settings(patients_db)), tmp_path, read_only=True)
    result, ctx = run(ex, "pg.sql", database=patients_db,
                      statement="SELECT id FROM patients WHERE id <= 3")
    ex.close()
    assert result.ok and "(3 rows)" in ctx.text


# ------------------------------------------------ Redis: doctor says "authenticated" truthfully

def _redis_config(**kw: Any) -> Config:
    return Config(redis=RedisSettings(host=REDIS_HOST, port=REDIS_PORT, timeout_s=3.0, **kw))


def test_doctor_does_not_claim_auth_the_server_rejected(redis_server: tuple[str, int]) -> None:
    from cockpit.commands.doctor import CheckFailed, _check_redis

    # the local Redis's default user has no password: it answers AUTH with an error that
    # redis-py's handshake swallows, so PING works although AUTH was rejected
    config = _redis_config(password=Secret("not-the-password-9", "env TEST"))
    with pytest.raises(CheckFailed, match="did not accept AUTH") as caught:
        _check_redis(config)
    assert "authenticated," not in str(caught.value)
    assert "not-the-password-9" not in str(caught.value)
    assert "no password configured" in _check_redis(_redis_config())


@pytest.fixture
def redis_acl_user(redis_server: tuple[str, int]) -> Any:
    import uuid

    import redis

    name = f"cockpit_test_{uuid.uuid4().hex[:8]}"
    password = uuid.uuid4().hex
    admin = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_timeout=3)
    admin.execute_command("ACL", "SETUSER", name, "on", f">{password}", "~*", "+@read",
                          "+ping", "+client", "+info")
    try:
        yield name, password
    finally:
        admin.execute_command("ACL", "DELUSER", name)
        admin.close()


def test_doctor_says_authenticated_when_the_server_accepted(redis_acl_user: Any) -> None:
    from cockpit.commands.doctor import CheckFailed, _check_redis

    name, password = redis_acl_user
    line = _check_redis(_redis_config(username=name, password=Secret(password, "env TEST")))
    assert line.startswith("PING answered (authenticated, ")
    with pytest.raises(CheckFailed) as caught:
        _check_redis(_redis_config(username=name, password=Secret(password + "x", "env T")))
    assert "authenticated," not in str(caught.value) and password not in str(caught.value)
