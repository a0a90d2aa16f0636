"""The live executor against real PostgreSQL and Redis, loopback HTTP/Datadog/Slack and real
processes: results, output, read-only refusals counted where requests leave."""

from __future__ import annotations

import os
import stat
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest
import redis
from conftest import (
    CANARY,
    DD_API_KEY,
    DD_APP_KEY,
    PG_HOST,
    PG_PORT,
    REDIS_HOST,
    REDIS_PORT,
    Reply,
)
from live_helpers import executor, run

from cockpit.config import (
    Config,
    DatadogSettings,
    HttpSettings,
    PostgresSettings,
    RedisSettings,
    Secret,
    SlackSettings,
)
from cockpit.connectors.actions.metrics import MetricActions
from cockpit.connectors.executor import passfile_line
from cockpit.connectors.readonly import ReadOnlyError

ROOT = Path(__file__).resolve().parents[2]


def pg_config(dbname: str = "postgres", **kw) -> Config:
    return Config(postgres=PostgresSettings(host=PG_HOST, port=PG_PORT, dbname=dbname,
                                            user="postgres", sslmode="disable", timeout_s=5.0,
                                            **kw))


def admin(dbname: str) -> psycopg.Connection:
    return psycopg.connect(host=PG_HOST, port=PG_PORT, user="postgres", dbname=dbname,
                           autocommit=True)


# ------------------------------------------------------------------ PostgreSQL


def test_backup_is_renamed_into_place_and_listed(pg_database: str, tmp_path: Path) -> None:
    with admin(pg_database) as conn:
        conn.execute("CREATE TABLE students (id int primary key)")
        conn.execute("INSERT INTO students SELECT generate_series(1, 50)")
    target = tmp_path / "backups" / "rollback_INC-7.dump"
    ex = executor(pg_config(password=Secret(CANARY, "env PGPW")), tmp_path)
    result, ctx = run(ex, "pg.backup", database=pg_database, path=str(target))
    ex.close()
    assert result.ok, result.detail
    assert result.facts == ("backup_taken",)
    assert target.is_file() and target.stat().st_size > 0
    assert [p.name for p in target.parent.iterdir()] == [target.name], "no partial file left"
    assert f";     dbname: {pg_database}" in ctx.lines
    assert "TOC entries, readable" in ctx.lines[-1]
    assert CANARY not in ctx.text


def test_backup_never_overwrites(pg_database: str, tmp_path: Path) -> None:
    target = tmp_path / "old.dump"
    target.write_bytes(b"an earlier backup")
    ex = executor(pg_config(), tmp_path)
    result, _ = run(ex, "pg.backup", database=pg_database, path=str(target))
    ex.close()
    assert not result.ok and "already exists" in result.detail
    assert target.read_bytes() == b"an earlier backup"


def test_failed_dump_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "x.dump"
    ex = executor(pg_config(), tmp_path)
    result, _ = run(ex, "pg.backup", database="cockpit_no_such_db_z", path=str(target))
    ex.close()
    assert not result.ok and result.detail.startswith("pg_dump failed (exit 1)")
    assert list(tmp_path.glob("*.dump*")) == [] and list(tmp_path.glob(".x.dump*")) == []


def test_password_goes_to_a_private_passfile_never_argv_or_environment(tmp_path: Path) -> None:
    ex = executor(pg_config(password=Secret("pa:ss\\word", "env PGPW")), tmp_path)
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    os.environ["PGPASSWORD"] = "inherited"
    try:
        env = ex.postgres.child_env(ex.postgres.settings("whitecross"), private)
    finally:
        del os.environ["PGPASSWORD"]
    ex.close()
    passfile = Path(env["PGPASSFILE"])
    assert stat.S_IMODE(passfile.stat().st_mode) == 0o600
    assert passfile.read_text() == f"{PG_HOST}:{PG_PORT}:*:postgres:pa\\:ss\\\\word\n"
    assert "PGPASSWORD" not in env
    assert passfile_line("h", 1, "d", "u", "p") == "h:1:d:u:p\n"


def test_verify_runs_a_counts_only_file(pg_database: str, tmp_path: Path) -> None:
    with admin(pg_database) as conn:
        conn.execute("CREATE TABLE t (id int)")
    ex = executor(pg_config(), tmp_path)
    result, ctx = run(ex, "pg.verify", database=pg_database,
                      sql_file="runbooks/sql/connection-activity.sql")
    ex.close()
    assert result.ok, result.detail
    assert ctx.lines[0].split() == ["check_name", "|", "count"]
    assert any(line.split()[0] == "connections_total" for line in ctx.lines[2:-1])


def test_verify_fails_on_problem_counts_and_refuses_rows(pg_database: str,
                                                         tmp_path: Path) -> None:
    with admin(pg_database) as conn:
        conn.execute("CREATE TABLE patients (ssn text)")
        conn.execute("INSERT INTO patients VALUES (%s)", (CANARY,))
    checks = tmp_path / "checks.sql"
    checks.write_text("SELECT 'orphans'::text AS check_name, count(*)::bigint AS count "
                      "FROM patients UNION ALL SELECT 'patients_rows', 7")
    leak = tmp_path / "leak.sql"
    leak.write_text("SELECT ssn, 1 FROM patients")
    ex = executor(pg_config(), tmp_path)
    bad, ctx = run(ex, "pg.verify", database=pg_database, sql_file=str(checks))
    assert not bad.ok and bad.detail == "checks found problems: orphans=1"  # *_rows: a figure
    refused, ctx = run(ex, "pg.verify", database=pg_database, sql_file=str(leak))
    ex.close()
    assert not refused.ok and "is not counts-only" in refused.detail
    assert CANARY not in ctx.text + refused.output


def test_verify_session_is_read_only(pg_database: str, tmp_path: Path) -> None:
    sneaky = tmp_path / "sneaky.sql"
    sneaky.write_text("CREATE TABLE planted (id int)")
    ex = executor(pg_config(), tmp_path)
    result, _ = run(ex, "pg.verify", database=pg_database, sql_file=str(sneaky))
    ex.close()
    assert not result.ok and "refused SQL: CREATE is not a read" in result.detail
    with admin(pg_database) as conn:
        assert conn.execute("SELECT to_regclass('planted')").fetchone()[0] is None


def test_terminate_connections_ends_other_sessions(pg_database: str, tmp_path: Path) -> None:
    victim = admin(pg_database)
    ex = executor(pg_config(), tmp_path)
    result, ctx = run(ex, "pg.terminate_connections", database=pg_database)
    ex.close()
    assert result.ok, result.detail
    assert "terminated 1 connection(s)" in ctx.text
    with pytest.raises(psycopg.OperationalError):
        victim.execute("SELECT 1")
    victim.close()


def test_read_only_refuses_terminate_and_the_session_refuses_writes(pg_database: str,
                                                                    tmp_path: Path) -> None:
    survivor = admin(pg_database)
    ex = executor(pg_config(), tmp_path, read_only=True)
    result, _ = run(ex, "pg.terminate_connections", database=pg_database)
    assert not result.ok and result.detail.startswith("read-only mode:")
    assert survivor.execute("SELECT 1").fetchone() == (1,)
    survivor.close()
    # below the executor: even a maintenance session of a read-only cockpit cannot write
    from live_helpers import Ctx

    from cockpit.connectors.actions.base import Call, Fail

    call = Call(Ctx().ctx, False, str, [])
    with pytest.raises(Fail, match="read-only mode: refused SQL"), \
            ex.postgres.connect(call, pg_database, read_only=False) as c:
        c.execute("CREATE TABLE planted (id int)")
    # and below the client's allowlist, the server's read-only session
    with pytest.raises(Fail, match="25006"), \
            ex.postgres.connect(call, pg_database, read_only=False) as c:
        psycopg.Cursor(c).execute("CREATE TABLE planted (id int)")
    ex.close()


# ------------------------------------------------------------------ Redis


def redis_config(prefix: str, db: int = 0) -> Config:
    return Config(redis=RedisSettings(host=REDIS_HOST, port=REDIS_PORT, db=db, key_prefix=prefix,
                                      timeout_s=3.0))


def test_redis_set_get_delete(redis_prefix: str, tmp_path: Path) -> None:
    ex = executor(redis_config(redis_prefix), tmp_path)
    assert run(ex, "redis.set", key="maintenance_mode", value="true", ttl=60)[1].lines == ["OK"]
    assert run(ex, "redis.get", key="maintenance_mode")[1].lines == ['"true"']
    assert run(ex, "redis.delete", key="maintenance_mode")[1].lines == ["(integer) 1"]
    assert run(ex, "redis.get", key="maintenance_mode")[1].lines == ["(nil)"]
    ex.close()


def test_redis_read_only_refuses_writes_client_side(redis_prefix: str, tmp_path: Path) -> None:
    plain = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, decode_responses=True)
    plain.set(redis_prefix + "maintenance_mode", "false")
    ex = executor(redis_config(redis_prefix), tmp_path, read_only=True)
    result, _ = run(ex, "redis.set", key="maintenance_mode", value="true")
    assert not result.ok and result.detail.startswith("read-only mode:")
    client = ex.redis.client()
    with pytest.raises(ReadOnlyError, match="refused Redis SET"):
        client.set(redis_prefix + "maintenance_mode", "true")
    with pytest.raises(ReadOnlyError, match="refused Redis DEL"):
        pipe = client.pipeline()
        pipe.get(redis_prefix + "maintenance_mode")
        pipe.delete(redis_prefix + "maintenance_mode")
        pipe.execute()
    assert run(ex, "redis.get", key="maintenance_mode")[1].lines == ['"false"']
    ex.close()
    assert plain.get(redis_prefix + "maintenance_mode") == "false"
    plain.close()


def test_flushdb_empties_its_own_database(tmp_path: Path, redis_server: tuple[str, int]) -> None:
    db = 13  # a database no other test uses: FLUSHDB is destructive
    plain = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=db)
    key = f"cockpit_test_{uuid.uuid4().hex[:8]}"
    plain.set(key, "1")
    ex = executor(redis_config("", db=db), tmp_path)
    result, ctx = run(ex, "redis.flushdb")
    ex.close()
    assert result.ok and ctx.lines[0].startswith("OK (database 13:")
    assert plain.exists(key) == 0
    plain.close()


# ------------------------------------------------------------------ HTTP and metrics


def test_http_health_and_version(loopback, tmp_path: Path) -> None:
    server = loopback()
    for name in ("auth", "users"):
        server.script("GET", f"/v1/{name}/health", Reply(200, {"status": "ok"}))
    server.script("GET", "/v1/medications/health", Reply(503, "down"))
    server.script("GET", "/version", Reply(200, {"service": "api", "version": "v2.0.0"}))
    config = Config(http=HttpSettings(base_url=server.url, timeout_s=2.0,
                                      version_urls={"api": server.url + "/version"}))
    ex = executor(config, tmp_path)
    ok, ctx = run(ex, "http.health", endpoints=["auth", "users"], base_url=server.url + "/v1")
    assert ok.ok and ctx.lines[0].startswith(f"200 {server.url}/v1/auth/health")
    bad, ctx = run(ex, "http.health", endpoints=["auth", "medications"],
                   base_url=server.url + "/v1")
    assert not bad.ok and bad.detail == "failing: medications"
    assert f"FAIL 503 {server.url}/v1/medications/health: HTTP 503 Service Unavailable" in \
        ctx.lines
    version, ctx = run(ex, "http.version", url=server.url + "/version")
    ex.close()
    assert version.ok and ctx.lines[-1] == "api: version v2.0.0"


def test_http_source_reads_version_urls(loopback) -> None:
    from cockpit.connectors.http import HttpHealthSource

    server = loopback()
    server.script("GET", "/v1/health/health", Reply(200, "ok"))
    server.script("GET", "/api-version", Reply(200, {"version": "v2.1.0"}))
    server.script("GET", "/app-version", Reply(200, "v5.0.1"))
    source = HttpHealthSource(HttpSettings(
        base_url=server.url, endpoints=("health",), timeout_s=2.0,
        version_urls={"api": server.url + "/api-version", "app": server.url + "/app-version",
                      "gone": server.url + "/nope"}))
    snap = source.fetch()
    source.close()
    assert snap.endpoints[0].ok
    assert source.versions == {"api": "v2.1.0", "app": "v5.0.1",
                               "gone": "? HTTP 404 Not Found"}


def dd_config(url: str) -> Config:
    return Config(datadog=DatadogSettings(host=url, api_key=Secret(DD_API_KEY, "env A"),
                                          app_key=Secret(DD_APP_KEY, "env B"), timeout_s=2.0,
                                          interval_s=0.05))


def test_metrics_query_summarises_the_series(fake_datadog, tmp_path: Path) -> None:
    ex = executor(dd_config(fake_datadog.url), tmp_path)
    result, ctx = run(ex, "metrics.query", query="avg:app.error_rate{env:prod}")
    ex.close()
    assert result.ok
    assert ctx.lines == ["avg:app.error_rate{env:prod} (-30m): last 6.8, min 0.4, max 6.8, "
                         "avg 2.73 (4 points)"]
    assert DD_API_KEY not in ctx.text


def test_wait_below_passes_when_held_and_waits_while_over(fake_datadog, tmp_path: Path) -> None:
    fake_datadog.series["avg:app.error_rate{env:prod}"] = [1.0, 0.8, 0.5, 0.4]
    ex = executor(dd_config(fake_datadog.url), tmp_path)
    held, ctx = run(ex, "metrics.wait_below", metric="error_rate_pct", threshold=5, minutes=5)
    assert held.ok and ctx.lines[-1].startswith("error_rate_pct 0.4 < 5 for ")
    fake_datadog.series["avg:app.error_rate{env:prod}"] = [1.0, 7.5]
    over, ctx = run(ex, "metrics.wait_below", seconds=0.6, metric="error_rate_pct",
                    threshold=5, minutes=5)
    ex.close()
    assert not over.ok and over.detail == "step timeout reached"
    assert ctx.lines == ["error_rate_pct 7.5 >= 5: waiting"]


def test_held_below_counts_the_trailing_run() -> None:
    from datetime import UTC, datetime, timedelta

    t0 = datetime(2025, 1, 21, 14, 0, tzinfo=UTC)
    points = [(t0 + timedelta(minutes=i), v) for i, v in enumerate([9, 2, 7, 3, 2, 1])]
    now = t0 + timedelta(minutes=6)
    assert MetricActions.held_below(points, 5.0, now) == (1, 180.0)
    assert MetricActions.held_below(points[:3], 5.0, now) == (7, None)
    assert MetricActions.held_below([], 5.0, now) == (None, None)


# ------------------------------------------------------------------ notifications


def slack_config(url: str) -> Config:
    return Config(slack=SlackSettings(webhook_url=Secret(url, "env SLACK"), timeout_s=2.0))


def wait_for(predicate, seconds: float = 15.0) -> None:
    """Poll until ``predicate()`` (the pump works in its own thread)."""
    end = time.monotonic() + seconds
    while not predicate() and time.monotonic() < end:
        time.sleep(0.02)


def test_notify_goes_through_the_outbox_with_the_journal_head(loopback, tmp_path: Path) -> None:
    server = loopback()
    server.script("POST", "/hook/" + CANARY, Reply(200, "ok"))
    ex = executor(slack_config(server.url + "/hook/" + CANARY), tmp_path)
    recorded: list[tuple[str, dict]] = []
    ex.bind(lambda kind, data: recorded.append((kind, data)), lambda: "9f2c" * 16)
    result, ctx = run(ex, "notify.slack", message="Rollback of api started")
    assert result.ok and ctx.lines[-1] == "slack: delivered: Slack accepted (200)"
    body = server.hits("POST", "/hook/" + CANARY)[0].json()
    assert body["text"] == f"Rollback of api started\nJournal head: {'9f2c' * 16}"
    assert recorded[0][0] == "notification.delivered"
    assert recorded[0][1]["channel"] == "slack" and recorded[0][1]["attempts"] == 1
    assert ex.post_status_update("Status: rollback 50% done") == "slack"
    wait_for(lambda: len(server.hits("POST", "/hook/" + CANARY)) == 2)
    ex.close()
    assert "Journal head: " in server.hits("POST", "/hook/" + CANARY)[1].json()["text"]
    outbox = (tmp_path / "state" / "notifications" / "outbox.jsonl").read_text()
    assert CANARY not in outbox and CANARY not in ctx.text


def test_a_rate_limited_notification_does_not_hold_the_step(loopback, tmp_path: Path) -> None:
    server = loopback()
    server.script("POST", "/hook", Reply(429, "rate_limited", {"Retry-After": "1"}),
                  Reply(200, "ok"))
    ex = executor(slack_config(server.url + "/hook"), tmp_path)
    recorded: list[tuple[str, dict]] = []
    ex.bind(lambda kind, data: recorded.append((kind, data)), lambda: "")
    result, ctx = run(ex, "notify.slack", message="Rollback started")
    assert result.ok and "delivery continues in the background" in ctx.lines[-1]
    wait_for(lambda: any(kind == "notification.delivered" for kind, _ in recorded))
    ex.close()
    assert [(k, d["outcome"], d["attempts"]) for k, d in recorded] == [
        ("notification.failed", "retrying", 1), ("notification.delivered", "delivered", 2)]


def test_unconfigured_and_read_only_notifications(loopback, tmp_path: Path) -> None:
    server = loopback()
    server.script("POST", "/hook", Reply(200, "ok"))
    bare = executor(Config(), tmp_path / "bare")
    result, _ = run(bare, "notify.pagerduty", event="trigger", summary="x")
    assert not result.ok and result.detail.startswith("pagerduty is not configured")
    # no Slack: the UI is told it cannot post, and posting anyway raises instead of dropping it
    assert not bare.capabilities.status_updates and bare.status_channel() is None
    with pytest.raises(NotImplementedError):
        bare.post_status_update("hello")
    bare.close()
    ro = executor(slack_config(server.url + "/hook"), tmp_path / "ro", read_only=True)
    refused, _ = run(ro, "notify.slack", message="x")
    assert not refused.ok and refused.detail.startswith("read-only mode:")
    # an observer's cockpit has Slack configured but does not post
    assert not ro.capabilities.status_updates and ro.status_channel() is None
    with pytest.raises(NotImplementedError):
        ro.post_status_update("hello")
    # below the executor: the channel's transport refuses the POST itself
    from cockpit.notify.message import DeliveryError

    with pytest.raises(DeliveryError, match="read-only mode: nothing is sent to Slack"):
        ro.notifier.channels["slack"].send({"text": "x"})
    ro.close()
    assert server.hits("POST", "/hook") == []


# ------------------------------------------------------------------ shell and secrets


def test_shell_streams_and_fails_on_exit_code(tmp_path: Path) -> None:
    ex = executor(Config(), tmp_path)
    ok, ctx = run(ex, "shell", argv=[sys.executable, "-c", "print('one'); print('two')"])
    assert ok.ok and ctx.lines == ["one", "two"]
    bad, _ = run(ex, "shell", argv=[sys.executable, "-c", "raise SystemExit(3)"])
    ex.close()
    assert not bad.ok and bad.detail.endswith("exited with 3")


def test_shell_is_killed_at_the_step_timeout(tmp_path: Path) -> None:
    ex = executor(Config(), tmp_path)
    marker = tmp_path / "survived"
    code = f"import time; time.sleep(20); open({str(marker)!r}, 'w').write('x')"
    result, _ = run(ex, "shell", seconds=0.5, argv=[sys.executable, "-c", code])
    ex.close()
    assert not result.ok and result.detail == "step timeout reached"
    assert not marker.exists()


def test_secrets_never_reach_the_output_or_the_child_environment(tmp_path: Path,
                                                                 monkeypatch) -> None:
    monkeypatch.setenv("COCKPIT_TEST_PG_PW", CANARY)
    config = pg_config(password=Secret(CANARY, "env COCKPIT_TEST_PG_PW"),
                       password_env="COCKPIT_TEST_PG_PW")
    ex = executor(config, tmp_path)
    result, ctx = run(ex, "shell", argv=[
        sys.executable, "-c",
        f"import os; print('echo {CANARY}'); print(os.environ.get('COCKPIT_TEST_PG_PW'))"])
    ex.close()
    assert result.ok
    assert ctx.lines == ["echo [REDACTED:secret]", "None"]
    assert CANARY not in result.output


def test_manual_and_unknown_types_are_not_run(tmp_path: Path) -> None:
    ex = executor(Config(), tmp_path)
    result, _ = run(ex, "confirm", fact="no_data_loss_confirmed")
    ex.close()
    assert not result.ok and "recorded by the runbook engine" in result.detail


def test_the_example_sql_path_resolves_from_the_checkout(tmp_path: Path) -> None:
    from live_helpers import Ctx

    ex = executor(Config(), tmp_path)
    path = ex.postgres.sql_path("runbooks/sql/verify-data-integrity.sql", Ctx().ctx)
    ex.close()
    assert path == ROOT / "runbooks" / "sql" / "verify-data-integrity.sql"
