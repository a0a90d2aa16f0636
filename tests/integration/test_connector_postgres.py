"""The PostgreSQL connector against the real local server."""

from __future__ import annotations

import threading

import psycopg
import pytest
from conftest import CANARY, PG_HOST, PG_PORT, free_port

from cockpit.config import PostgresSettings, Secret
from cockpit.connectors.postgres import PostgresSource, describe_pg_error
from cockpit.sources.base import SourceError


def settings(dbname: str, **kw) -> PostgresSettings:
    base = dict(host=PG_HOST, port=PG_PORT, dbname=dbname, user="postgres", sslmode="disable",
                timeout_s=3.0)
    base.update(kw)
    return PostgresSettings(**base)


def admin(dbname: str) -> psycopg.Connection:
    return psycopg.connect(host=PG_HOST, port=PG_PORT, user="postgres", dbname=dbname,
                           autocommit=True)


def test_snapshot_counts_connections_and_sees_a_blocked_lock_and_long_transaction(
        pg_database: str) -> None:
    with admin(pg_database) as setup:
        setup.execute("CREATE TABLE t (id int primary key, v text)")
        setup.execute("INSERT INTO t VALUES (1, 'a')")
    holder = admin(pg_database)
    holder.autocommit = False
    holder.execute("UPDATE t SET v = 'b' WHERE id = 1")  # holds the row lock, open transaction
    waiter = admin(pg_database)
    blocked = threading.Thread(
        target=lambda: waiter.execute("UPDATE t SET v = 'c' WHERE id = 1"), daemon=True)
    blocked.start()
    try:
        with admin(pg_database) as probe:
            for _ in range(100):
                n = probe.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()[0]
                if n:
                    break
                threading.Event().wait(0.05)
        snap = PostgresSource(settings(pg_database)).fetch()
    finally:
        holder.rollback()
        blocked.join(5)
        holder.close()
        waiter.close()
    assert snap.blocked_locks >= 1
    assert snap.longest_transaction_s > 0
    states = dict(snap.connections_by_state)
    assert states.get("idle in transaction", 0) >= 1
    assert snap.connections_used >= 2
    assert snap.connections_max >= snap.connections_used
    assert snap.replication_lag_s is None  # a primary without standbys
    assert snap.connection_error_pct == 0.0


def test_health_session_is_read_only(pg_database: str) -> None:
    from cockpit.connectors.postgres import connect_kwargs
    from cockpit.connectors.readonly import ReadOnlyError

    with psycopg.connect(**connect_kwargs(settings(pg_database))) as conn:
        # the client's allowlist refuses it before it is sent...
        with pytest.raises(ReadOnlyError, match="refused SQL"):
            conn.execute("CREATE TABLE should_fail (id int)")
        # ...and below it, a plain cursor on the same session meets the server's refusal
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            psycopg.Cursor(conn).execute("CREATE TABLE should_fail (id int)")
        assert conn.execute("SHOW statement_timeout").fetchone()[0] == "3s"


def test_failed_connections_raise_and_count_in_the_error_rate(pg_database: str) -> None:
    source = PostgresSource(settings(pg_database))
    source.fetch()
    source.settings = settings("cockpit_no_such_db_x")
    with pytest.raises(SourceError, match=r'^PostgreSQL: .*does not exist'):
        source.fetch()
    source.settings = settings(pg_database)
    snap = source.fetch()
    assert snap.connection_error_pct == pytest.approx(100 / 3)


def test_unreachable_server_is_a_short_reason() -> None:
    source = PostgresSource(settings("postgres", port=free_port()))
    with pytest.raises(SourceError) as caught:
        source.fetch()
    assert str(caught.value).startswith("PostgreSQL: ")
    assert "\n" not in str(caught.value)


def test_error_detail_with_row_values_never_reaches_the_reason(pg_database: str) -> None:
    with admin(pg_database) as conn:
        conn.execute("CREATE TABLE patients (ssn text unique)")
        conn.execute("INSERT INTO patients VALUES (%s)", (CANARY,))
        with pytest.raises(psycopg.errors.UniqueViolation) as caught:
            conn.execute("INSERT INTO patients VALUES (%s)", (CANARY,))
    assert CANARY in str(caught.value), "psycopg does put the value in DETAIL"
    reason = describe_pg_error(caught.value)
    assert CANARY not in reason
    assert reason.startswith("PostgreSQL: 23505 duplicate key value")


def test_password_never_appears_in_the_reason(pg_database: str) -> None:
    source = PostgresSource(settings("cockpit_no_such_db_y", password=Secret(CANARY, "env X")))
    with pytest.raises(SourceError) as caught:
        source.fetch()
    assert CANARY not in str(caught.value)


def test_check_role_reports_the_user(pg_database: str) -> None:
    assert "connected as postgres" in PostgresSource(settings(pg_database)).check_role()
