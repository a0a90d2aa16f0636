"""Database health from PostgreSQL, read through a read-only session.

Each poll opens a fresh connection (``connect_timeout``, ``statement_timeout``,
``default_transaction_read_only=on``), so the connector measures what a new
client of the database experiences: its own connection error rate over the
last polls is part of the snapshot. A read-only session is also built on
:class:`ReadOnlyCursor`, which checks every statement against the read-only allowlist
(:func:`~cockpit.connectors.readonly.check_read_only_sql`) before it is sent: PostgreSQL's
read-only transaction still runs ANALYZE, VACUUM, REINDEX and pg_terminate_backend. psycopg
error text can carry row values in
its DETAIL line, so reasons are built from the SQLSTATE and the primary
message only.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg

from cockpit.config import PostgresSettings
from cockpit.connectors.readonly import ReadOnlyError, SqlRefused, check_read_only_sql
from cockpit.domain import DatabaseSnapshot
from cockpit.sources.base import SourceError

#: How many recent connection attempts the error rate is computed over.
ATTEMPT_WINDOW = 20

_CONNECTIONS = """
SELECT coalesce(state, 'unknown') AS state, count(*)::int
FROM pg_stat_activity
WHERE backend_type = 'client backend'
GROUP BY 1 ORDER BY 1
"""
_LONGEST = """
SELECT coalesce(extract(epoch FROM max(clock_timestamp() - xact_start)), 0)::float8
FROM pg_stat_activity
WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid() AND backend_type = 'client backend'
"""
_STANDBY_LAG = "SELECT extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8"
_PRIMARY_LAG = "SELECT extract(epoch FROM max(replay_lag))::float8 FROM pg_stat_replication"
_BLOCKED = "SELECT count(*)::int FROM pg_locks WHERE NOT granted"


def describe_pg_error(exc: BaseException, secrets: tuple[str, ...] = ()) -> str:
    """SQLSTATE and primary message only: never the DETAIL, which may hold row values."""
    text = ""
    sqlstate = getattr(exc, "sqlstate", None)
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    if primary:
        text = f"{sqlstate} {primary}" if sqlstate else primary
    elif isinstance(exc, psycopg.OperationalError):
        # connection failures come from libpq without a diag: keep the last clause
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        first = lines[0] if lines else "connection failed"
        text = first.split(": ")[-1] if ": " in first else first
        if "timeout expired" in first:
            text = "connection timeout expired"
    else:
        text = type(exc).__name__
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[REDACTED]")
    text = " ".join(text.split())
    return f"PostgreSQL: {text[:90]}"


class ReadOnlyCursor(psycopg.Cursor[Any]):
    """A cursor that sends only statements of the read-only allowlist (COPY never)."""

    refused = 0
    """How many statements read-only cursors refused in this process (tests, doctor)."""

    def _check(self, query: Any) -> None:
        text = query if isinstance(query, str) else (
            query.decode("utf-8", "replace") if isinstance(query, bytes) else None)
        if text is None:
            # a composed psycopg.sql object: render it the way it would be sent
            text = query.as_string(self.connection)
        try:
            check_read_only_sql(text)
        except SqlRefused as exc:
            ReadOnlyCursor.refused += 1
            raise ReadOnlyError(f"read-only mode: refused SQL: {exc} (nothing was sent)") \
                from None

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        self._check(query)
        return super().execute(query, params, **kwargs)

    def executemany(self, query: Any, params_seq: Any, **kwargs: Any) -> None:
        self._check(query)
        super().executemany(query, params_seq, **kwargs)

    def stream(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        self._check(query)
        return super().stream(query, params, **kwargs)

    def copy(self, statement: Any, params: Any = None, **kwargs: Any) -> Any:
        ReadOnlyCursor.refused += 1
        raise ReadOnlyError("read-only mode: refused SQL: COPY is not a read (nothing was sent)")


def connect_kwargs(settings: PostgresSettings, read_only: bool = True) -> dict[str, Any]:
    """The keyword arguments for ``psycopg.connect`` (the password included: never log them)."""
    statement_ms = int(settings.timeout_s * 1000)
    options = f"-c statement_timeout={statement_ms}"
    if read_only:
        options += " -c default_transaction_read_only=on"
    kwargs: dict[str, Any] = {
        "host": settings.host, "port": settings.port, "dbname": settings.dbname,
        "user": settings.user, "sslmode": settings.sslmode,
        # libpq rounds and ignores values below 2 seconds
        "connect_timeout": max(2, math.ceil(settings.timeout_s)),
        "options": options, "application_name": "rollback-cockpit", "autocommit": True,
    }
    if read_only:
        kwargs["cursor_factory"] = ReadOnlyCursor
    if settings.password is not None:
        kwargs["password"] = settings.password.reveal()
    return kwargs


class PostgresSource:
    """The ``database`` source backed by PostgreSQL."""

    kind = "database"
    label = "postgres"

    def __init__(self, settings: PostgresSettings,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.settings = settings
        self.interval_s = settings.interval_s
        self.timeout_s = settings.timeout_s * 2 + 2
        self._now = now
        self.attempts: deque[bool] = deque(maxlen=ATTEMPT_WINDOW)
        """Recent connection attempts, True for a success."""

    @property
    def _secrets(self) -> tuple[str, ...]:
        return (self.settings.password.reveal(),) if self.settings.password else ()

    def connect(self) -> psycopg.Connection[Any]:
        """Open a read-only health session, recording the attempt."""
        try:
            conn = psycopg.connect(**connect_kwargs(self.settings))
        except psycopg.Error as exc:
            self.attempts.append(False)
            raise SourceError(describe_pg_error(exc, self._secrets)) from None
        self.attempts.append(True)
        return conn

    @property
    def connection_error_pct(self) -> float:
        """Failed connection attempts as a percentage of the recent attempts."""
        if not self.attempts:
            return 0.0
        return 100.0 * sum(1 for ok in self.attempts if not ok) / len(self.attempts)

    def revision(self) -> None:
        """A live system cannot say cheaply that nothing changed: always fetched."""
        return None

    def fetch(self) -> DatabaseSnapshot:
        """Connect, read the health views, disconnect."""
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT current_setting('max_connections')::int")
                max_connections = cur.fetchone()[0]  # type: ignore[index]
                cur.execute(_CONNECTIONS)
                by_state = tuple((str(state), int(count)) for state, count in cur.fetchall())
                cur.execute(_LONGEST)
                longest = float(cur.fetchone()[0] or 0.0)  # type: ignore[index]
                cur.execute("SELECT pg_is_in_recovery()")
                standby = bool(cur.fetchone()[0])  # type: ignore[index]
                cur.execute(_STANDBY_LAG if standby else _PRIMARY_LAG)
                lag_row = cur.fetchone()
                lag = None if lag_row is None or lag_row[0] is None else max(0.0, float(lag_row[0]))
                cur.execute(_BLOCKED)
                blocked = int(cur.fetchone()[0])  # type: ignore[index]
        except psycopg.Error as exc:
            raise SourceError(describe_pg_error(exc, self._secrets)) from None
        finally:
            conn.close()
        return DatabaseSnapshot(
            at=self._now(),
            connections_used=sum(count for _, count in by_state),
            connections_max=int(max_connections),
            connections_by_state=by_state,
            connection_error_pct=self.connection_error_pct,
            replication_lag_s=lag,
            longest_transaction_s=longest,
            blocked_locks=blocked,
        )

    def check_role(self) -> str:
        """Connect, ``SELECT 1`` and check the role can see other sessions; returns a summary."""
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
                cur.execute("SELECT pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') "
                            "OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)")
                allowed = bool(cur.fetchone()[0])  # type: ignore[index]
                cur.execute("SELECT current_user, version()")
                user, version = cur.fetchone()  # type: ignore[misc]
        except psycopg.Error as exc:
            raise SourceError(describe_pg_error(exc, self._secrets)) from None
        finally:
            conn.close()
        if not allowed:
            raise SourceError(f"PostgreSQL: role {user} cannot read other sessions in "
                              "pg_stat_activity (grant pg_read_all_stats)")
        return f"connected as {user}, {' '.join(str(version).split()[:2])}"

    def close(self) -> None:
        """Nothing to release: every poll closes its own connection."""
