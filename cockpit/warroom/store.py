"""The shared store: one ordered, hash-chained event log per incident, in PostgreSQL.

The store is a database of its own (``[warroom] dsn``), never the production database the
incident rolls back: :func:`same_database` compares two conninfo strings and
:class:`SharedStore` refuses to open on a DSN that names a configured production database.

**The log.** :meth:`SharedStore.append` runs one transaction: it locks the incident's row
(``SELECT ... FOR UPDATE``, the head of its chain), takes ``seq = last + 1``, redacts the data
as the local journal does and hashes the record with the journal's own
:func:`~cockpit.timeline.journal.event_hash` (``prev`` is the previous event's ``hash``, 64
zeros for the first), so a stored event *is* a journal event: ``StoredEvent.record`` passes
:func:`cockpit.timeline.verify.check_records` and a cockpit's local copy and the store agree
line for line. The exact canonical text that was hashed is stored (``body``) beside the
queryable columns: ``jsonb`` does not keep a number's spelling, the text does.

**Wake-ups.** The same transaction calls ``pg_notify('warroom', '<incident>:<seq>')``; the
notification goes out at commit, and only if it commits. One fixed channel, the incident in
the payload: a channel is an SQL identifier (63 bytes, quoted, folded), a payload is a plain
parameter, so nothing derived from an incident id is ever spliced into SQL. Notifications are
not stored: a follower that missed some reads from its last sequence (:meth:`read_since`).

**Leases and fencing.** :meth:`acquire` grants a step when it has no live lease (an expired
one is free) with a token from the incident's counter, which only grows; a live lease answers
:class:`Busy`. An event written with ``step=`` and ``token=`` is refused with
:class:`StaleToken` unless its token is the step's current one, so a holder that stalled past
its lease, and lost the step to another, cannot write after it. Lease time is the database's
clock (``clock_timestamp()``), never a cockpit's. Every statement that touches a lease or the
chain first locks the incident's row: appends, grants, renewals and releases of one incident
are serialised there.

Blocking (psycopg 3): one connection per store, used by one thread at a time (a lock);
give each cockpit thread that writes concurrently its own store. Error messages carry the
SQLSTATE and primary message only, never the DSN (it may hold a password) nor a DETAIL line
(it may hold row values).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, LiteralString, TypeVar

import psycopg
from psycopg.conninfo import conninfo_to_dict

from cockpit.timeline.journal import (
    GENESIS,
    Event,
    canonical_json,
    event_hash,
    format_time,
    parse_time,
)
from cockpit.timeline.redact import Redactor, default_redactor

#: The schema version this code writes; :meth:`SharedStore.migrate` brings a store up to it.
SCHEMA_VERSION = 1
#: The one NOTIFY channel of the store (payload ``<incident>:<seq>``).
CHANNEL = "warroom"
#: ``pg_advisory_xact_lock`` key of migrations (any fixed 64-bit number; "warroom1").
MIGRATION_LOCK = 0x7761_7272_6F6F_6D31
#: Incident ids the store accepts: the journal's ``INC-...`` and anything as tame.
INCIDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
#: Step keys: printable, bounded.
STEP_KEY = re.compile(r"[^\x00-\x1f\x7f]{1,200}")

#: Each version's statements, applied in order in one transaction under the migration lock.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """
        CREATE TABLE warroom_incidents (
            id text PRIMARY KEY,
            created timestamptz NOT NULL DEFAULT clock_timestamp(),
            title text NOT NULL DEFAULT '',
            last_seq bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
            head text NOT NULL DEFAULT repeat('0', 64),
            last_token bigint NOT NULL DEFAULT 0 CHECK (last_token >= 0)
        )
        """,
        """
        CREATE TABLE warroom_events (
            incident text NOT NULL REFERENCES warroom_incidents (id),
            seq bigint NOT NULL CHECK (seq > 0),
            at timestamptz NOT NULL,
            kind text NOT NULL,
            actor text NOT NULL,
            host text NOT NULL,
            data jsonb NOT NULL,
            prev_hash text NOT NULL,
            hash text NOT NULL,
            token bigint,
            step text,
            body text NOT NULL,
            stored_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            PRIMARY KEY (incident, seq),
            CHECK ((token IS NULL) = (step IS NULL))
        )
        """,
        """
        CREATE TABLE warroom_leases (
            incident text NOT NULL REFERENCES warroom_incidents (id),
            step text NOT NULL,
            holder text NOT NULL,
            token bigint NOT NULL,
            acquired_at timestamptz NOT NULL,
            expires_at timestamptz NOT NULL,
            PRIMARY KEY (incident, step)
        )
        """,
        # the log is append-only in the database too, not only in this code
        """
        CREATE FUNCTION warroom_events_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'warroom_events is append-only';
        END
        $$
        """,
        """
        CREATE TRIGGER warroom_events_append_only
        BEFORE UPDATE OR DELETE ON warroom_events
        FOR EACH ROW EXECUTE FUNCTION warroom_events_append_only()
        """,
    ),
}


class StoreError(Exception):
    """Base class of the shared store's errors."""


class StoreUnavailable(StoreError):
    """The store could not be reached, or the connection dropped mid-statement. For an
    append, its outcome is then unknown: read back by sequence before writing it again."""


class SameDatabase(StoreError):
    """The shared store's DSN names a configured production database."""


class SchemaTooNew(StoreError):
    """The store was migrated by a newer cockpit than this one."""


class UnknownIncident(StoreError):
    """No incident of that id in the store (:meth:`SharedStore.create_incident` first)."""


class StaleToken(StoreError):
    """An event's fencing token is not the step's current one: refused, nothing written."""

    def __init__(self, incident: str, step: str, token: int, current: int | None) -> None:
        self.incident, self.step, self.token, self.current = incident, step, token, current
        now = "no lease was ever granted" if current is None else f"its token is now {current}"
        super().__init__(f"{incident}: step {step!r}: token {token} refused ({now})")


class Busy(StoreError):
    """The step has a live lease held by another."""

    def __init__(self, holder: str, expires_at: datetime, token: int) -> None:
        self.holder, self.expires_at, self.token = holder, expires_at, token
        super().__init__(f"held by {holder} until {format_time(expires_at)} (token {token})")


class LeaseLost(StoreError):
    """A renewal or release of a lease that expired or was granted to another since."""


@dataclass(frozen=True)
class Lease:
    """One step's lease: who holds it, its fencing token, until when (database clock)."""

    incident: str
    step: str
    holder: str
    token: int
    expires_at: datetime


@dataclass(frozen=True)
class StoredEvent:
    """One event of an incident's shared log: a journal event, plus its fencing token."""

    incident: str
    event: Event
    token: int | None = None
    step: str | None = None

    @property
    def seq(self) -> int:
        return self.event.seq

    @property
    def kind(self) -> str:
        return self.event.kind

    @property
    def hash(self) -> str:
        return self.event.hash

    @property
    def prev(self) -> str:
        return self.event.prev

    @property
    def data(self) -> Mapping[str, Any]:
        return self.event.data

    @property
    def record(self) -> dict[str, Any]:
        """The event as a journal line holds it (what :func:`event_hash` hashes)."""
        return self.event.to_dict()


@dataclass(frozen=True)
class ChainProblem:
    """Where a run of stored events stops chaining."""

    seq: int
    reason: str


def check_chain(events: Sequence[StoredEvent], *, after_seq: int = 0,
                after_hash: str = GENESIS) -> ChainProblem | None:
    """The first event of ``events`` that does not follow ``after_seq``/``after_hash``
    (gap, wrong ``prev``, hash that does not match its record), or ``None``."""
    seq, head = after_seq, after_hash
    for stored in events:
        if stored.seq != seq + 1:
            return ChainProblem(stored.seq, f"expected seq {seq + 1}")
        if stored.prev != head:
            return ChainProblem(stored.seq, "prev is not the previous event's hash")
        if event_hash(stored.record) != stored.hash:
            return ChainProblem(stored.seq, "hash does not match the event")
        seq, head = stored.seq, stored.hash
    return None


# -- DSNs ----------------------------------------------------------------------------------

_LOCAL = "<local>"


def _hosts(raw: str) -> list[str]:
    hosts = []
    for host in (raw.split(",") if raw else [""]):
        host = host.strip().lower().rstrip(".")
        if not host or host.startswith("/") or host.startswith("@") or host == "localhost":
            hosts.append(_LOCAL)  # a Unix socket or loopback: this machine's server
            continue
        try:
            address = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            hosts.append(host)
            continue
        hosts.append(_LOCAL if address.is_loopback else address.compressed)
    return hosts


def _endpoints(dsn: str) -> tuple[set[tuple[str, str]], str]:
    info = {k: str(v) for k, v in conninfo_to_dict(dsn).items() if v is not None}
    ports = (info.get("port") or os.environ.get("PGPORT") or "5432").split(",")
    pairs: set[tuple[str, str]] = set()
    # libpq connects to hostaddr when given (host then names it for TLS): count both
    names = [info.get("host") or os.environ.get("PGHOST", ""), info.get("hostaddr", "")]
    for raw in [n for n in names if n] or [""]:
        hosts = _hosts(raw)
        each = ports * len(hosts) if len(ports) == 1 else ports
        pairs |= {(h, p.strip() or "5432") for h, p in zip(hosts, each, strict=False)}
    user = info.get("user") or os.environ.get("PGUSER") or ""
    dbname = info.get("dbname") or os.environ.get("PGDATABASE") or user
    return pairs, dbname


def same_database(dsn_a: str, dsn_b: str) -> bool:
    """True when two conninfo strings (``key=value`` or ``postgresql://`` URIs) may name the
    same database: a common host and port (loopback names and Unix sockets count as one
    host, as does an address however spelt) and the same database name, libpq's defaults
    filled in. Errs toward True: it guards the production database."""
    hosts_a, db_a = _endpoints(dsn_a)
    hosts_b, db_b = _endpoints(dsn_b)
    return db_a == db_b and bool(hosts_a & hosts_b)


def describe_target(dsn: str) -> str:
    """``host:port/dbname`` of a DSN, for messages (never its password or options)."""
    hosts, dbname = _endpoints(dsn)
    where = ",".join(sorted(f"{h}:{p}" for h, p in hosts))
    return f"{where}/{dbname}"


def describe_error(exc: BaseException) -> str:
    """SQLSTATE and primary message, or the last clause of a connection failure; never a
    DETAIL line (row values) nor a conninfo (passwords)."""
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    sqlstate = getattr(exc, "sqlstate", None)
    if primary:
        text = f"{sqlstate} {primary}" if sqlstate else str(primary)
    elif isinstance(exc, psycopg.OperationalError):
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        first = lines[0] if lines else "connection failed"
        text = first.split(": ")[-1] if ": " in first else first
    else:
        text = type(exc).__name__
    return " ".join(text.split())[:160]


def check_incident_id(incident: str) -> str:
    """``incident`` if the store accepts it as an incident id, else ``ValueError``."""
    if not isinstance(incident, str) or not INCIDENT_ID.fullmatch(incident):
        raise ValueError(f"not an incident id the shared store accepts: {incident!r:.80}")
    return incident


def _check_step(step: str) -> str:
    if not isinstance(step, str) or not STEP_KEY.fullmatch(step):
        raise ValueError(f"not a step key: {step!r:.80}")
    return step


# -- reading -------------------------------------------------------------------------------

_READ: LiteralString = ("SELECT body, token, step FROM warroom_events "
                        "WHERE incident = %s AND seq > %s ORDER BY seq")


def read_events(conn: psycopg.Connection[Any], incident: str, after_seq: int,
                limit: int | None = None) -> list[StoredEvent]:
    """The incident's events after ``after_seq``, in order, read on ``conn``."""
    query = _READ + (" LIMIT %s" if limit is not None else "")
    params: tuple[Any, ...] = (incident, after_seq) + ((limit,) if limit is not None else ())
    rows = conn.execute(query, params).fetchall()
    return [StoredEvent(incident, Event.from_dict(json.loads(body)), token, step)
            for body, token, step in rows]


# -- the store -----------------------------------------------------------------------------

_T = TypeVar("_T")


class SharedStore:
    """One cockpit's handle on the shared store: one connection, opened on first use."""

    def __init__(self, dsn: str, *, connect_timeout_s: float = 5.0,
                 statement_timeout_s: float = 5.0, production: Iterable[str] = (),
                 redactor: Redactor | None = None,
                 application_name: str = "rollback-cockpit-warroom") -> None:
        """``production``: DSNs of the production databases the cockpit is configured for;
        :class:`SameDatabase` if ``dsn`` may name one of them."""
        for other in production:
            if other and same_database(dsn, other):
                raise SameDatabase(
                    f"[warroom] dsn names the production database ({describe_target(dsn)}): "
                    "the shared store must be a database of its own")
        conninfo_to_dict(dsn)  # a malformed DSN fails here, not at first use
        self._dsn = dsn
        self.target = describe_target(dsn)
        self.connect_timeout_s = connect_timeout_s
        self.statement_timeout_s = statement_timeout_s
        self.application_name = application_name
        self.redactor = redactor or default_redactor()
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SharedStore({self.target})"

    # -- connections ----------------------------------------------------------------------

    def connect(self) -> psycopg.Connection[Any]:
        """A new autocommit connection to the store with its timeouts (the follower's own)."""
        timeout_ms = max(1, int(self.statement_timeout_s * 1000))
        try:
            return psycopg.connect(
                self._dsn, autocommit=True,
                connect_timeout=max(2, int(round(self.connect_timeout_s))),
                application_name=self.application_name,
                options=f"-c statement_timeout={timeout_ms}")
        except psycopg.Error as exc:
            raise StoreUnavailable(f"shared store {self.target}: {describe_error(exc)}") from None

    def close(self) -> None:
        """Close the store's connection (a later call opens a new one)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> SharedStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def backend_pid(self) -> int:
        """The server process of this store's connection."""
        return self._run(lambda conn: conn.info.backend_pid)

    def _run(self, work: Callable[[psycopg.Connection[Any]], _T]) -> _T:
        with self._lock:
            if self._conn is None or self._conn.closed:
                self._conn = self.connect()
            conn = self._conn
            try:
                return work(conn)
            except psycopg.OperationalError as exc:
                if conn.broken or conn.closed:
                    self._conn = None
                    conn.close()
                    raise StoreUnavailable(
                        f"shared store {self.target}: {describe_error(exc)}") from None
                raise StoreError(f"shared store: {describe_error(exc)}") from None
            except psycopg.Error as exc:
                raise StoreError(f"shared store: {describe_error(exc)}") from None

    # -- schema ---------------------------------------------------------------------------

    def schema_version(self) -> int:
        """The store's schema version (0: never migrated)."""
        def work(conn: psycopg.Connection[Any]) -> int:
            if conn.execute("SELECT to_regclass('warroom_schema')").fetchone() == (None,):
                return 0
            row = conn.execute("SELECT max(version) FROM warroom_schema").fetchone()
            return int(row[0]) if row and row[0] is not None else 0
        return int(self._run(work))

    def migrate(self) -> int:
        """Create or bring the schema up to :data:`SCHEMA_VERSION`; idempotent, and safe when
        cockpits migrate at once (one transaction under an advisory lock). Returns the version
        found before; :class:`SchemaTooNew` if a newer cockpit migrated the store."""
        def work(conn: psycopg.Connection[Any]) -> int:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
                conn.execute("CREATE TABLE IF NOT EXISTS warroom_schema ("
                             "version integer PRIMARY KEY, "
                             "applied timestamptz NOT NULL DEFAULT clock_timestamp())")
                row = conn.execute("SELECT max(version) FROM warroom_schema").fetchone()
                found = int(row[0]) if row and row[0] is not None else 0
                if found > SCHEMA_VERSION:
                    raise SchemaTooNew(
                        f"shared store {self.target} is at schema version {found}; this "
                        f"cockpit knows up to {SCHEMA_VERSION}: upgrade it")
                for version in range(found + 1, SCHEMA_VERSION + 1):
                    for statement in MIGRATIONS[version]:
                        conn.execute(statement.encode())
                    conn.execute("INSERT INTO warroom_schema (version) VALUES (%s)", (version,))
                return found
        return int(self._run(work))

    # -- incidents ------------------------------------------------------------------------

    def create_incident(self, incident: str, title: str = "") -> bool:
        """Add an incident (its log empty, its token counter at 0); False if it exists."""
        check_incident_id(incident)
        title = self.redactor.redact_text(title)[:200]

        def work(conn: psycopg.Connection[Any]) -> bool:
            cur = conn.execute("INSERT INTO warroom_incidents (id, title) VALUES (%s, %s) "
                               "ON CONFLICT (id) DO NOTHING", (incident, title))
            return cur.rowcount == 1
        return bool(self._run(work))

    def head(self, incident: str) -> tuple[int, str]:
        """The incident's last sequence and hash (``0`` and 64 zeros when empty)."""
        check_incident_id(incident)

        def work(conn: psycopg.Connection[Any]) -> tuple[int, str]:
            row = conn.execute("SELECT last_seq, head FROM warroom_incidents WHERE id = %s",
                               (incident,)).fetchone()
            if row is None:
                raise UnknownIncident(f"no incident {incident} in the shared store")
            return int(row[0]), str(row[1])
        result: tuple[int, str] = self._run(work)
        return result

    # -- the log --------------------------------------------------------------------------

    def append(self, incident: str, kind: str, data: Mapping[str, Any] | None, actor: str,
               host: str, at: datetime, *, token: int | None = None, step: str | None = None,
               ssh_client: str | None = None) -> StoredEvent:
        """Append one event to the incident's log in one transaction and return it as stored.

        ``at`` is the event's time (the cockpit's incident clock, as its journal's ``t``).
        With ``step`` and ``token`` (given together: a step's start or finish), the event is
        refused with :class:`StaleToken` unless ``token`` is the step's current lease token;
        the event's data then carries ``lease: {step, token}``, hashed with the rest.
        """
        check_incident_id(incident)
        if (token is None) != (step is None):
            raise ValueError("a step's event carries both its step key and its fencing token")
        if step is not None:
            _check_step(step)
        if not kind or not isinstance(kind, str):
            raise ValueError("event kind must be a non-empty string")
        cleaned = self.redactor.redact(dict(data or {}))
        counts: Counter[str] = Counter(cleaned.counts)
        kind = self.redactor.redact_text(kind, counts)
        actor = self.redactor.redact_text(actor, counts)
        host = self.redactor.redact_text(host, counts)
        payload: dict[str, Any] = dict(cleaned.value)
        if step is not None:
            if "lease" in payload:
                raise ValueError("'lease' is the store's key in a step event's data")
            payload["lease"] = {"step": step, "token": token}
        stamp = format_time(at)
        try:
            data_json = json.dumps(payload, sort_keys=True, allow_nan=False,
                                   ensure_ascii=False, separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{kind} event data is not JSON ({exc})") from exc

        def work(conn: psycopg.Connection[Any]) -> StoredEvent:
            # pipelined: BEGIN and the head's lock in one round trip, the writes and COMMIT
            # in another (the FOR UPDATE holds the head until COMMIT either way)
            with conn.pipeline(), conn.transaction():
                row = conn.execute(
                    "SELECT i.last_seq, i.head, l.token FROM warroom_incidents i "
                    "LEFT JOIN warroom_leases l ON l.incident = i.id AND l.step = %s "
                    "WHERE i.id = %s FOR UPDATE OF i", (step, incident)).fetchone()
                if row is None:
                    raise UnknownIncident(f"no incident {incident} in the shared store")
                last_seq, head = int(row[0]), str(row[1])
                if step is not None:
                    assert token is not None
                    current = None if row[2] is None else int(row[2])
                    if current != token:
                        raise StaleToken(incident, step, token, current)
                record: dict[str, Any] = {
                    "seq": last_seq + 1,
                    "t": stamp,
                    "kind": kind,
                    "actor": {"user": actor, "host": host, "ssh_client": ssh_client},
                    "data": payload,
                    "prev": head,
                }
                if counts:
                    record["redactions"] = dict(sorted(counts.items()))
                record["hash"] = event_hash(record)
                conn.execute(
                    "INSERT INTO warroom_events (incident, seq, at, kind, actor, host, data, "
                    "prev_hash, hash, token, step, body) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s, %s, %s)",
                    (incident, record["seq"], parse_time(stamp), kind, actor, host, data_json,
                     head, record["hash"], token, step, canonical_json(record)))
                conn.execute("UPDATE warroom_incidents SET last_seq = %s, head = %s "
                             "WHERE id = %s", (record["seq"], record["hash"], incident))
                conn.execute("SELECT pg_notify(%s, %s)",
                             (CHANNEL, f"{incident}:{record['seq']}"))
            return StoredEvent(incident, Event.from_dict(record), token, step)
        result: StoredEvent = self._run(work)
        return result

    def read_since(self, incident: str, seq: int, limit: int | None = None) -> list[StoredEvent]:
        """The incident's events after ``seq``, in order (at most ``limit``)."""
        check_incident_id(incident)
        result: list[StoredEvent] = self._run(
            lambda conn: read_events(conn, incident, seq, limit))
        return result

    # -- leases ---------------------------------------------------------------------------

    def acquire(self, incident: str, step: str, holder: str, lease_s: float) -> Lease:
        """Take the step's lease for ``lease_s`` seconds of the database's clock, with a new
        fencing token; :class:`Busy` if another holds a live lease on it (an expired lease
        is free; a holder asking again for its own live lease is busy too: :meth:`renew`)."""
        check_incident_id(incident)
        _check_step(step)
        if not lease_s > 0:
            raise ValueError("a lease lasts a positive number of seconds")

        def work(conn: psycopg.Connection[Any]) -> Lease:
            with conn.transaction():
                self._lock_incident(conn, incident)
                live = conn.execute(
                    "SELECT holder, token, expires_at FROM warroom_leases "
                    "WHERE incident = %s AND step = %s AND expires_at > clock_timestamp()",
                    (incident, step)).fetchone()
                if live is not None:
                    raise Busy(str(live[0]), live[2], int(live[1]))
                row = conn.execute("UPDATE warroom_incidents SET last_token = last_token + 1 "
                                   "WHERE id = %s RETURNING last_token", (incident,)).fetchone()
                assert row is not None
                token = int(row[0])
                granted = conn.execute(
                    "INSERT INTO warroom_leases (incident, step, holder, token, acquired_at, "
                    "expires_at) VALUES (%s, %s, %s, %s, clock_timestamp(), "
                    "clock_timestamp() + make_interval(secs => %s)) "
                    "ON CONFLICT (incident, step) DO UPDATE SET holder = EXCLUDED.holder, "
                    "token = EXCLUDED.token, acquired_at = EXCLUDED.acquired_at, "
                    "expires_at = EXCLUDED.expires_at RETURNING expires_at",
                    (incident, step, holder, token, float(lease_s))).fetchone()
                assert granted is not None
            return Lease(incident, step, holder, token, granted[0])
        result: Lease = self._run(work)
        return result

    def renew(self, lease: Lease, lease_s: float) -> Lease:
        """Extend a live lease to ``lease_s`` seconds from now (database clock);
        :class:`LeaseLost` if it expired or the step was granted to another since."""
        if not lease_s > 0:
            raise ValueError("a lease lasts a positive number of seconds")

        def work(conn: psycopg.Connection[Any]) -> Lease:
            with conn.transaction():
                self._lock_incident(conn, lease.incident)
                row = conn.execute(
                    "UPDATE warroom_leases SET expires_at = clock_timestamp() + "
                    "make_interval(secs => %s) WHERE incident = %s AND step = %s AND token = %s "
                    "AND expires_at > clock_timestamp() RETURNING expires_at",
                    (float(lease_s), lease.incident, lease.step, lease.token)).fetchone()
                if row is None:
                    raise LeaseLost(f"{lease.incident}: step {lease.step!r}: the lease of token "
                                    f"{lease.token} expired or was granted to another")
            return Lease(lease.incident, lease.step, lease.holder, lease.token, row[0])
        result: Lease = self._run(work)
        return result

    def release(self, lease: Lease) -> bool:
        """Give a lease up: the step is free at once. Its token stays the step's current one
        (older tokens are still refused). False if it was no longer this lease's."""
        def work(conn: psycopg.Connection[Any]) -> bool:
            with conn.transaction():
                self._lock_incident(conn, lease.incident)
                cur = conn.execute(
                    "UPDATE warroom_leases SET expires_at = clock_timestamp() "
                    "WHERE incident = %s AND step = %s AND token = %s "
                    "AND expires_at > clock_timestamp()",
                    (lease.incident, lease.step, lease.token))
                return cur.rowcount == 1
        return bool(self._run(work))

    def current_lease(self, incident: str, step: str) -> Lease | None:
        """The step's lease as the store holds it (live or not), or ``None``."""
        def work(conn: psycopg.Connection[Any]) -> Lease | None:
            row = conn.execute("SELECT holder, token, expires_at FROM warroom_leases "
                               "WHERE incident = %s AND step = %s", (incident, step)).fetchone()
            return None if row is None else Lease(incident, step, str(row[0]), int(row[1]),
                                                  row[2])
        result: Lease | None = self._run(work)
        return result

    @staticmethod
    def _lock_incident(conn: psycopg.Connection[Any], incident: str) -> None:
        row = conn.execute("SELECT 1 FROM warroom_incidents WHERE id = %s FOR UPDATE",
                           (incident,)).fetchone()
        if row is None:
            raise UnknownIncident(f"no incident {incident} in the shared store")


__all__ = [
    "CHANNEL", "SCHEMA_VERSION", "Busy", "ChainProblem", "Lease", "LeaseLost", "SameDatabase",
    "SchemaTooNew", "SharedStore", "StaleToken", "StoreError", "StoreUnavailable", "StoredEvent",
    "UnknownIncident", "check_chain", "check_incident_id", "describe_error", "describe_target",
    "read_events", "same_database",
]
