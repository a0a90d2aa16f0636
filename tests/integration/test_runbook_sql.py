"""The runbooks' verification SQL files against a real PostgreSQL.

Each test creates a throwaway database on the local server (127.0.0.1:5432,
user postgres, trust auth; override with COCKPIT_TEST_PG_HOST /
COCKPIT_TEST_PG_PORT), builds the tables the procedures name, plants known
problems and checks that every file reports exactly the (check_name, count)
rows it documents - in a read-only transaction, since these files run during
an incident against production.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

SQL_DIR = Path(__file__).resolve().parents[2] / "runbooks" / "sql"
HOST = os.environ.get("COCKPIT_TEST_PG_HOST", "127.0.0.1")
PORT = int(os.environ.get("COCKPIT_TEST_PG_PORT", "5432"))

SCHEMA = """
CREATE TABLE students (
    id integer PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE health_records (
    id integer PRIMARY KEY,
    student_id integer NOT NULL,
    encrypted_data bytea,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE medications (
    id integer PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE medication_administrations (
    id integer PRIMARY KEY,
    student_id integer NOT NULL,
    medication_id integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE audit_logs (
    id bigserial PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO students (id) VALUES (1), (2), (3);
INSERT INTO medications (id) VALUES (10), (11);
INSERT INTO health_records (id, student_id, encrypted_data)
    VALUES (100, 1, '\\x01'), (101, 2, '\\x02'), (102, 3, '\\x03');
INSERT INTO medication_administrations (id, student_id, medication_id)
    VALUES (200, 1, 10), (201, 2, 11);
INSERT INTO audit_logs (created_at)
    SELECT now() - make_interval(mins => m) FROM generate_series(0, 50, 2) AS m;
"""


def _connect(dbname: str, **kwargs: object) -> psycopg.Connection:
    return psycopg.connect(
        host=HOST, port=PORT, user="postgres", dbname=dbname, connect_timeout=3, **kwargs
    )


@pytest.fixture
def dbname(postgres_server: tuple[str, int]) -> Iterator[str]:
    """A fresh database with the procedures' tables and healthy rows."""
    admin = _connect("postgres", autocommit=True)
    name = f"cockpit_sqltest_{uuid.uuid4().hex[:10]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            with _connect(name, autocommit=True) as conn:
                conn.execute(SCHEMA)
            yield name
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def execute(conn: psycopg.Connection, sql: str) -> None:
    """Plant a problem (autocommit)."""
    conn.execute(sql)


def run_file(dbname: str, filename: str) -> dict[str, int]:
    """Run a verification file read-only; return its rows as {check_name: count}."""
    sql = (SQL_DIR / filename).read_text(encoding="utf-8")
    with _connect(dbname, options="-c default_transaction_read_only=on") as conn:
        cur = conn.execute(sql)
        assert [d.name for d in cur.description] == ["check_name", "count"]
        rows = cur.fetchall()
        assert cur.nextset() is None, f"{filename} must be a single statement"
    names = [name for name, _ in rows]
    assert len(names) == len(set(names)), f"duplicate check names in {filename}"
    assert all(isinstance(count, int) for _, count in rows)
    return dict(rows)


@pytest.fixture
def db(dbname: str) -> Iterator[psycopg.Connection]:
    with _connect(dbname, autocommit=True) as conn:
        yield conn


def test_every_sql_file_is_covered_here() -> None:
    shipped = {p.name for p in SQL_DIR.glob("*.sql")}
    assert shipped == {
        "verify-data-integrity.sql",
        "post-rollback-data-check.sql",
        "verify-schema-compatibility.sql",
        "validate-recovery.sql",
        "connection-activity.sql",
        "corruption-extent.sql",
        "restore-temp-counts.sql",
    }


def test_data_integrity_healthy_database_reports_zero_problems(dbname: str) -> None:
    result = run_file(dbname, "verify-data-integrity.sql")
    assert result == {
        "orphaned_health_records": 0,
        "missing_medications": 0,
        "orphaned_medication_administrations": 0,
        "audit_log_silent_last_hour": 0,
        "audit_gaps_over_5m": 0,
        "unencrypted_phi": 0,
        "future_timestamps_students": 0,
        "future_timestamps_health_records": 0,
        "future_timestamps_medications": 0,
    }


def test_data_integrity_counts_each_planted_problem(dbname: str, db: psycopg.Connection) -> None:
    execute(
        db,
        "INSERT INTO health_records (id, student_id, encrypted_data) VALUES (103, 99, '\\x09')",
    )
    execute(
        db,
        "INSERT INTO medication_administrations (id, student_id, medication_id) VALUES "
        "(202, 1, 77), (203, 98, 10)",
    )
    execute(
        db,
        "INSERT INTO health_records (id, student_id, encrypted_data) VALUES (104, 1, "
        "NULL), (105, 2, NULL)",
    )
    execute(db, "INSERT INTO students (id, created_at) VALUES (4, now() + interval '1 day')")
    execute(
        db,
        "INSERT INTO medications (id, created_at) VALUES (12, now() + interval '2 "
        "days'), (13, now() + interval '3 days')",
    )
    # one silent stretch of 20 minutes inside the last hour
    execute(
        db,
        "DELETE FROM audit_logs WHERE created_at BETWEEN now() - interval '31 minutes' "
        "AND now() - interval '11 minutes'",
    )
    result = run_file(dbname, "verify-data-integrity.sql")
    assert result["orphaned_health_records"] == 1
    assert result["missing_medications"] == 1
    assert result["orphaned_medication_administrations"] == 1
    assert result["unencrypted_phi"] == 2
    assert result["future_timestamps_students"] == 1
    assert result["future_timestamps_health_records"] == 0
    assert result["future_timestamps_medications"] == 2
    assert result["audit_gaps_over_5m"] == 1
    assert result["audit_log_silent_last_hour"] == 0


def test_audit_gap_within_one_minute_bucket_is_not_a_gap(
    dbname: str,
    db: psycopg.Connection,
) -> None:
    # the procedures' per-minute GROUP BY could never see a gap; lag() sees
    # exactly one when two entries are 6 minutes apart and nothing in between
    execute(db, "DELETE FROM audit_logs")
    execute(
        db,
        "INSERT INTO audit_logs (created_at) VALUES (now() - interval '8 minutes'), "
        "(now() - interval '2 minutes'), (now() - interval '1 minute')",
    )
    result = run_file(dbname, "verify-data-integrity.sql")
    assert result["audit_gaps_over_5m"] == 1
    assert result["audit_log_silent_last_hour"] == 0


def test_silent_audit_log_is_reported_not_hidden(dbname: str, db: psycopg.Connection) -> None:
    # no entries in the last hour: no gap can be measured, the silence is the problem
    execute(db, "UPDATE audit_logs SET created_at = created_at - interval '2 hours'")
    result = run_file(dbname, "verify-data-integrity.sql")
    assert result["audit_gaps_over_5m"] == 0
    assert result["audit_log_silent_last_hour"] == 1


def test_post_rollback_check(dbname: str, db: psycopg.Connection) -> None:
    assert run_file(dbname, "post-rollback-data-check.sql") == {
        "orphaned_health_records": 0,
        "missing_medications": 0,
        "unencrypted_phi": 0,
        "future_timestamps": 0,
        "audit_gaps_over_5m": 0,
        "invalid_indexes": 0,
        "idle_in_transaction_over_5m": 0,
    }
    execute(
        db,
        "INSERT INTO health_records (id, student_id, encrypted_data, created_at) VALUES "
        "(110, 42, NULL, now() + interval '1 hour')",
    )
    execute(
        db,
        "INSERT INTO medication_administrations (id, student_id, medication_id, "
        "created_at) VALUES (210, 1, 10, now() + interval '1 hour')",
    )
    result = run_file(dbname, "post-rollback-data-check.sql")
    assert result["orphaned_health_records"] == 1
    assert result["unencrypted_phi"] == 1
    assert result["future_timestamps"] == 2


def test_schema_compatibility(dbname: str, db: psycopg.Connection) -> None:
    assert run_file(dbname, "verify-schema-compatibility.sql") == {
        "missing_tables": 0,
        "missing_columns": 0,
        "new_required_columns": 0,
        "invalid_indexes": 0,
    }
    # a "new version" migration: a required column the old version cannot fill,
    # a nullable one (harmless), a renamed column and a dropped table
    execute(db, "ALTER TABLE students ADD COLUMN consent_flag boolean NOT NULL DEFAULT false")
    execute(db, "ALTER TABLE students ADD COLUMN school_id integer NOT NULL DEFAULT 1")
    execute(db, "ALTER TABLE students ALTER COLUMN school_id DROP DEFAULT")
    execute(db, "ALTER TABLE medications ADD COLUMN notes text")
    execute(db, "ALTER TABLE health_records RENAME COLUMN encrypted_data TO ciphertext")
    execute(db, "DROP TABLE audit_logs")
    result = run_file(dbname, "verify-schema-compatibility.sql")
    assert result == {
        "missing_tables": 1,
        # health_records.encrypted_data, audit_logs.id, audit_logs.created_at
        "missing_columns": 3,
        # students.school_id (consent_flag has a default, ciphertext is nullable)
        "new_required_columns": 1,
        "invalid_indexes": 0,
    }


def test_schema_compatibility_renamed_not_null_column_counts(
    dbname: str,
    db: psycopg.Connection,
) -> None:
    execute(db, "ALTER TABLE health_records ALTER COLUMN encrypted_data SET NOT NULL")
    execute(db, "ALTER TABLE health_records RENAME COLUMN encrypted_data TO ciphertext")
    result = run_file(dbname, "verify-schema-compatibility.sql")
    assert result["missing_columns"] == 1
    assert result["new_required_columns"] == 1


def test_validate_recovery(dbname: str, db: psycopg.Connection) -> None:
    assert run_file(dbname, "validate-recovery.sql") == {
        "students_rows": 3,
        "health_records_rows": 3,
        "medications_rows": 2,
        "medication_administrations_rows": 2,
        "audit_logs_rows": 26,
        "in_recovery": 0,
        "orphaned_health_records": 0,
        "missing_medications": 0,
        "unencrypted_phi": 0,
        "invalid_indexes": 0,
    }
    execute(db, "DELETE FROM medications WHERE id = 11")
    result = run_file(dbname, "validate-recovery.sql")
    assert result["medications_rows"] == 1
    assert result["missing_medications"] == 1


def test_connection_activity_counts_other_sessions(dbname: str) -> None:
    result = run_file(dbname, "connection-activity.sql")
    assert result["connections_total"] == 0
    assert result["connections_idle_in_transaction"] == 0
    assert result["waiting_on_locks"] == 0
    assert result["longest_transaction_s"] == 0
    with _connect("postgres", autocommit=True) as admin:
        max_connections = int(admin.execute("SHOW max_connections").fetchone()[0])
    assert result["max_connections"] == max_connections

    with _connect(dbname) as idle_tx, _connect(dbname, autocommit=True) as idle:
        idle_tx.execute("SELECT 1")  # opens a transaction and leaves it open
        idle.execute("SELECT 1")
        result = run_file(dbname, "connection-activity.sql")
        assert result["connections_total"] == 2
        assert result["connections_idle_in_transaction"] == 1
        assert result["connections_idle"] == 1
        assert result["connections_active"] == 0
        assert result["connections_all_databases"] >= 2


def test_connection_activity_sees_a_lock_wait(dbname: str) -> None:
    with _connect(dbname) as holder, _connect(dbname, autocommit=True) as waiter:
        holder.execute("LOCK TABLE students IN ACCESS EXCLUSIVE MODE")
        waiter.execute("SET statement_timeout = '10s'")

        def blocked() -> None:
            try:
                waiter.execute("SELECT count(*) FROM students")
            except psycopg.Error:
                pass

        thread = threading.Thread(target=blocked)
        thread.start()
        try:
            result: dict[str, int] = {}
            for _ in range(50):
                result = run_file(dbname, "connection-activity.sql")
                if result["waiting_on_locks"]:
                    break
                threading.Event().wait(0.1)
            assert result["waiting_on_locks"] == 1
            assert result["connections_active"] == 1
        finally:
            holder.rollback()
            thread.join()


def test_corruption_extent(dbname: str, db: psycopg.Connection) -> None:
    assert run_file(dbname, "corruption-extent.sql") == {
        "checksum_failures": 0,
        "invalid_indexes": 0,
        "indexes_not_ready": 0,
        "missing_expected_tables": 0,
    }
    # what an interrupted CREATE INDEX CONCURRENTLY leaves behind (simulated
    # through the catalog: this is a throwaway database and we are superuser)
    execute(db, "CREATE INDEX hr_student_idx ON health_records (student_id)")
    execute(
        db,
        "UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'hr_student_idx'::regclass",
    )
    execute(db, "DROP TABLE medication_administrations")
    result = run_file(dbname, "corruption-extent.sql")
    assert result["invalid_indexes"] == 1
    assert result["missing_expected_tables"] == 1


def test_restore_temp_counts(dbname: str, db: psycopg.Connection) -> None:
    execute(db, "CREATE SCHEMA restore_temp")
    execute(db, "CREATE TABLE restore_temp.students (LIKE students)")
    execute(db, "CREATE TABLE restore_temp.health_records (LIKE health_records)")
    execute(
        db,
        "INSERT INTO restore_temp.students (id, created_at) VALUES (2, now()), (3, "
        "now()), (7, now()), (8, now())",
    )
    execute(
        db,
        "INSERT INTO restore_temp.health_records (id, student_id, encrypted_data, "
        "created_at) VALUES (101, 2, '\\x02', now()), (150, 7, '\\x07', now())",
    )
    assert run_file(dbname, "restore-temp-counts.sql") == {
        "restore_temp_students": 4,
        "restore_temp_health_records": 2,
        "students_to_merge": 2,
        "students_already_present": 2,
        "health_records_not_in_production": 1,
    }
