"""Issue #12 item 10: read-only is total, decided before a statement leaves the process.

PostgreSQL's ``default_transaction_read_only`` still runs ANALYZE, VACUUM, REINDEX,
CHECKPOINT and ``pg_terminate_backend``; the read-only session's statement allowlist
(:func:`cockpit.connectors.readonly.check_read_only_sql`) refuses them and every other
mutation, however the statement is spelled or hidden. These tests need no server: the
refusals are proved by a configuration whose database does not exist (a refused
statement never tries to connect). ``tests/integration/test_read_only.py`` runs the same
attacks against the real local PostgreSQL and Redis.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from cockpit.actions.executor import ActionResult, RunContext
from cockpit.actions.types import resolve
from cockpit.config import Config, PostgresSettings
from cockpit.connectors.executor import LiveExecutor
from cockpit.connectors.postgres import ReadOnlyCursor, connect_kwargs
from cockpit.connectors.readonly import SqlRefused, check_read_only_sql
from cockpit.runbook.model import ActionSpec

ROOT = Path(__file__).resolve().parents[2]

REFUSED = [
    # maintenance the server runs in a read-only transaction
    "ANALYZE", "ANALYZE patients", "analyse patients", "VACUUM", "VACUUM FULL patients",
    "vacuum (verbose, analyze) patients", "REINDEX TABLE patients", "REINDEX DATABASE x",
    "CHECKPOINT", "CLUSTER patients", "REFRESH MATERIALIZED VIEW v", "DISCARD ALL",
    "LOAD 'auto_explain'", "NOTIFY ch", "LISTEN ch", "SET default_transaction_read_only = off",
    "RESET ALL", "BEGIN", "COMMIT", "DO $$ BEGIN PERFORM pg_terminate_backend(1); END $$",
    "CALL cleanup()", "COPY patients TO '/tmp/x'", "COPY patients FROM PROGRAM 'id'",
    "LOCK TABLE patients", "PREPARE p AS DELETE FROM patients", "EXECUTE p",
    # ordinary mutations
    "INSERT INTO t VALUES (1)", "UPDATE t SET a = 1", "DELETE FROM t", "TRUNCATE t",
    "DROP TABLE t", "CREATE TABLE t (a int)", "ALTER TABLE t ADD b int", "GRANT ALL ON t TO x",
    "MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE",
    # sessions, configuration, WAL, locks, files, other connections
    "SELECT pg_terminate_backend(42)", "select PG_TERMINATE_BACKEND(42)",
    "SELECT pg_catalog.pg_terminate_backend(42)", 'SELECT "pg_terminate_backend"(42)',
    "SELECT pg_terminate_backend (42)", "SELECT pid, pg_cancel_backend(pid) FROM pg_stat_activity",
    "SELECT pg_reload_conf()", "SELECT pg_rotate_logfile()", "SELECT pg_switch_wal()",
    "SELECT pg_promote()", "SELECT pg_create_restore_point('x')",
    "SELECT set_config('default_transaction_read_only', 'off', false)",
    "SELECT pg_advisory_lock(1)", "SELECT pg_try_advisory_xact_lock(1)",
    "SELECT pg_notify('c', 'x')",
    "SELECT nextval('s')", "SELECT setval('s', 1)", "SELECT lo_unlink(1)",
    "SELECT lo_export(1, '/tmp/x')", "SELECT pg_read_file('/etc/passwd')",
    "SELECT pg_stat_reset()", "SELECT pg_stat_reset_shared('bgwriter')",
    "SELECT pg_drop_replication_slot('s')", "SELECT pg_create_logical_replication_slot('s', 'p')",
    "SELECT dblink_exec('dbname=x', 'DROP TABLE t')", "SELECT * FROM dblink('c', 'DELETE FROM t')",
    "SELECT pg_sleep(3600)",
    # statements that read but change or lock
    "SELECT * INTO copied FROM patients", "SELECT * FROM patients FOR UPDATE",
    "SELECT * FROM patients FOR SHARE", "SELECT * FROM patients FOR NO KEY UPDATE",
    "EXPLAIN ANALYZE SELECT 1", "EXPLAIN (ANALYZE) SELECT 1",
    "EXPLAIN (FORMAT JSON, ANALYZE) SELECT 1",
    "EXPLAIN (ANALYZE true) DELETE FROM t", "explain analyse select 1",
    "EXPLAIN VERBOSE ANALYZE SELECT 1",
    "WITH gone AS (DELETE FROM t RETURNING *) SELECT count(*) FROM gone",
    "WITH x AS (INSERT INTO t VALUES (1) RETURNING a) SELECT * FROM x",
    "WITH x AS (UPDATE t SET a = 2 RETURNING a) SELECT * FROM x",
    "WITH v AS (SELECT 42 AS pid) SELECT pg_terminate_backend(pid) FROM v",
    # hidden behind a read, a comment or a string the server reads differently
    "SELECT 1; VACUUM", "SELECT 1;ANALYZE patients", "select 1 -- harmless\n; checkpoint",
    "/* SELECT */ DELETE FROM t", "-- SELECT\nVACUUM", "SELECT 'x'; VACUUM",
    "SELECT 'it''s'; VACUUM", "SELECT $$;$$; VACUUM", "SELECT $tag$ ; $tag$; VACUUM",
    "SELECT E'\\\\'; VACUUM", "SELECT 1 /* ; */; DROP TABLE t", "SELECT 1 /* /* */ */; VACUUM",
    "SHOW x; SET x = 1", "(SELECT 1); VACUUM",
    # what cannot be read with certainty is refused
    "", "   ", ";", "-- only a comment", "SELECT 'unterminated", 'SELECT "unterminated',
    "SELECT 1 /* unterminated", "SELECT $$ unterminated", "(SELECT 1)", "VALUES (1)",
    "TABLE patients",
]

ALLOWED = [
    "SELECT 1", "select count(*) from patients", "  SELECT 1;  ", "SELECT 1; SELECT 2",
    "SHOW max_connections", "show all", "EXPLAIN SELECT * FROM patients",
    "EXPLAIN (FORMAT JSON, COSTS off) SELECT 1",
    "WITH x AS (SELECT 1 AS a) SELECT a FROM x",
    "SELECT 'VACUUM; DELETE FROM t; pg_terminate_backend(1)'",
    "SELECT $$ VACUUM; $$", "SELECT E'\\'; VACUUM'", "SELECT 1 -- ; VACUUM",
    "SELECT 1 /* ; VACUUM */", 'SELECT "update" FROM "delete"',
    "SELECT pg_is_in_recovery(), pg_backend_pid(), current_setting('max_connections')",
    "SELECT coalesce(extract(epoch FROM max(clock_timestamp() - xact_start)), 0)::float8 "
    "FROM pg_stat_activity",
    "SELECT count(*) FROM pg_locks WHERE NOT granted",
    "SELECT pg_terminate_backend_count FROM stats",  # a column, not a call
]


@pytest.mark.parametrize("statement", REFUSED)
def test_the_allowlist_refuses(statement: str) -> None:
    with pytest.raises(SqlRefused):
        check_read_only_sql(statement)


@pytest.mark.parametrize("statement", ALLOWED)
def test_the_allowlist_lets_reads_through(statement: str) -> None:
    check_read_only_sql(statement)


def test_every_shipped_verification_file_is_a_read() -> None:
    files = sorted((ROOT / "runbooks" / "sql").glob("*.sql"))
    assert len(files) >= 5
    for path in files:
        check_read_only_sql(path.read_text(encoding="utf-8"))


def test_read_only_sessions_get_the_guarded_cursor() -> None:
    settings = PostgresSettings()
    kwargs = connect_kwargs(settings, read_only=True)
    assert kwargs["cursor_factory"] is ReadOnlyCursor
    assert "default_transaction_read_only=on" in kwargs["options"]
    assert "cursor_factory" not in connect_kwargs(settings, read_only=False)


def _run(tmp_path: Path, action_type: str, **params: str) -> ActionResult:
    """Run one action on a read-only live executor whose database cannot be reached."""
    # nothing listens on port 9: a statement that tried to leave would fail to connect
    config = Config(postgres=PostgresSettings(host="127.0.0.1", port=9, sslmode="disable",
                                              timeout_s=2.0))
    ex = LiveExecutor(config, read_only=True, state_dir=tmp_path / "state")
    ctx = RunContext(deadline=time.monotonic() + 30, variables={"incident_id": "INC-7"},
                     on_emit=lambda line: None, cancel_event=threading.Event())
    try:
        return ex.run(resolve(ActionSpec(action_type, params), {"incident_id": "INC-7"}), ctx)
    finally:
        ex.close()


@pytest.mark.parametrize("statement", [
    "SELECT pg_cancel_backend(42)", "SELECT pg_reload_conf()", "SELECT pg_advisory_lock(1)",
    "SELECT set_config('default_transaction_read_only', 'off', false)",
    "SELECT * FROM patients FOR UPDATE", "SELECT * INTO copied FROM patients",
    "SELECT nextval('ids')", "SELECT lo_unlink(1)",
])
def test_a_read_only_pg_sql_step_is_refused_before_it_connects(
        tmp_path: Path, statement: str) -> None:
    result = _run(tmp_path, "pg.sql", database="appdb", statement=statement)
    assert not result.ok
    assert result.detail.startswith("read-only mode: refused SQL: ")
    assert "(nothing was sent)" in result.detail
    assert "connect" not in result.detail.lower()


@pytest.mark.parametrize("body", [
    "SELECT 'x'::text AS check_name, 0::bigint AS count;\nVACUUM ANALYZE patients;\n",
    "SELECT 'x'::text AS check_name, pg_terminate_backend(42)::int AS count;\n",
    "REINDEX DATABASE appdb;\n",
    "/* counts */ ANALYZE;\n",
])
def test_a_verification_file_cannot_smuggle_maintenance(tmp_path: Path, body: str) -> None:
    checks = tmp_path / "checks.sql"
    checks.write_text(body, encoding="utf-8")
    result = _run(tmp_path, "pg.verify", database="appdb", sql_file=str(checks))
    assert not result.ok
    assert result.detail.startswith(f"{checks}: refused SQL: ")
    assert "(nothing was sent)" in result.detail
