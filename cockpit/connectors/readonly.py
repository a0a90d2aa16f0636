"""Read-only mode, enforced where requests leave the process.

``cockpit run --read-only`` (observers, a first look at production) must not
change anything, and hiding keys is not enough: every client the cockpit
builds in read-only mode refuses mutating requests itself, before a byte is
sent. Each connector module installs its own guard on its own client library
(an httpx transport, the Kubernetes and Datadog REST layers, a Redis
connection class); PostgreSQL sessions are opened with
``default_transaction_read_only=on`` so the server refuses writes too.

This module holds what the guards share and imports no client library.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from cockpit.sources.base import SourceError

#: HTTP methods that never change anything.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: Kubernetes POSTs that only ask a question (nothing is stored).
KUBERNETES_READ_POSTS: tuple[str, ...] = (
    "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
    "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
)

#: Redis commands a read-only client may send (the connection handshake included).
REDIS_READ_COMMANDS = frozenset({
    "PING", "ECHO", "AUTH", "HELLO", "SELECT", "READONLY", "QUIT", "RESET",
    "MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH",
    "GET", "MGET", "EXISTS", "TTL", "PTTL", "TYPE", "STRLEN", "GETRANGE", "SCAN", "KEYS",
    "DBSIZE", "INFO", "TIME", "LASTSAVE", "ROLE", "MEMORY",
    "HGET", "HMGET", "HGETALL", "HLEN", "HEXISTS", "HKEYS", "HVALS", "HSCAN",
    "LLEN", "LRANGE", "LINDEX", "SCARD", "SISMEMBER", "SMEMBERS", "SSCAN",
    "ZCARD", "ZSCORE", "ZRANGE", "ZRANK", "ZSCAN", "XLEN", "XRANGE", "XREVRANGE", "XINFO",
})
#: Subcommands of ``CLIENT`` the handshake and health checks use.
REDIS_READ_CLIENT_SUBCOMMANDS = frozenset({"SETINFO", "SETNAME", "GETNAME", "ID", "INFO",
                                           "MAINT_NOTIFICATIONS"})


class ReadOnlyError(SourceError):
    """A mutating request was refused by the client because the cockpit is read-only.

    The message names what was refused (``read-only mode: refused PATCH
    /apis/apps/v1/...``), never a credential or a request body.
    """


def is_dry_run(url: str) -> bool:
    """Whether a Kubernetes request URL asks for a server-side dry run of every stage."""
    query = parse_qs(urlsplit(url).query)
    return "All" in query.get("dryRun", [])


def kubernetes_request_allowed(method: str, url: str) -> bool:
    """Whether a read-only client may send ``method url`` to the Kubernetes API."""
    method = method.upper()
    if method in READ_METHODS:
        return True
    path = urlsplit(url).path.rstrip("/")
    if method == "POST" and path.endswith(KUBERNETES_READ_POSTS):
        return True
    # a dry run is processed by every admission stage and then thrown away
    return method in {"POST", "PUT", "PATCH", "DELETE"} and is_dry_run(url)


def refuse(method: str, url: str, what: str) -> ReadOnlyError:
    """The error for a refused request: method and path only (no query, no host)."""
    path = urlsplit(url).path or "/"
    return ReadOnlyError(f"read-only mode: refused {method.upper()} {path} ({what})")


def redis_command_allowed(args: list[bytes]) -> bool:
    """Whether a read-only Redis client may send this command (its argv as bytes)."""
    if not args:
        return True
    name = args[0].decode("ascii", "replace").upper()
    if name == "CLIENT":
        sub = args[1].decode("ascii", "replace").upper() if len(args) > 1 else ""
        return sub in REDIS_READ_CLIENT_SUBCOMMANDS
    if name == "MEMORY":
        sub = args[1].decode("ascii", "replace").upper() if len(args) > 1 else ""
        return sub in {"USAGE", "STATS"}
    return name in REDIS_READ_COMMANDS


def parse_resp_commands(data: bytes) -> list[list[bytes]]:
    """Split packed RESP request bytes into commands (each a list of arguments).

    Requests are arrays of bulk strings (``*2\\r\\n$3\\r\\nGET\\r\\n$1\\r\\nk\\r\\n``);
    anything else is returned as one unparseable command ``[b"?"]`` so the guard
    refuses it rather than guessing.
    """
    commands: list[list[bytes]] = []
    pos = 0
    try:
        while pos < len(data):
            if data[pos:pos + 1] != b"*":
                return [*commands, [b"?"]]
            end = data.index(b"\r\n", pos)
            count = int(data[pos + 1:end])
            pos = end + 2
            args: list[bytes] = []
            for _ in range(count):
                if data[pos:pos + 1] != b"$":
                    return [*commands, [b"?"]]
                end = data.index(b"\r\n", pos)
                length = int(data[pos + 1:end])
                pos = end + 2
                args.append(data[pos:pos + length])
                pos += length + 2
            commands.append(args)
    except ValueError:
        return [*commands, [b"?"]]
    return commands


# ------------------------------------------------------------------ SQL statements

#: Statements a read-only session may send: the first keyword of each statement (WITH
#: for a SELECT with common table expressions; a data-modifying one is refused by its verb).
SQL_READ_STATEMENTS = frozenset({"SELECT", "SHOW", "EXPLAIN", "WITH"})

#: Functions that act on the server although a read-only transaction lets them run
#: (sessions, configuration, WAL, replication, statistics, locks, files, large objects,
#: other connections), or that write and are refused anyway: refused by name, before
#: the statement leaves the process.
SQL_ACTING_FUNCTIONS = frozenset({
    "pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf", "pg_rotate_logfile",
    "pg_switch_wal", "pg_switch_xlog", "pg_promote", "pg_create_restore_point",
    "pg_start_backup", "pg_stop_backup", "pg_backup_start", "pg_backup_stop",
    "pg_wal_replay_pause", "pg_wal_replay_resume", "pg_xlog_replay_pause",
    "pg_xlog_replay_resume", "pg_log_backend_memory_contexts", "pg_import_system_collations",
    "pg_notify", "set_config", "nextval", "setval", "txid_current", "pg_current_xact_id",
    "pg_sleep", "pg_sleep_for", "pg_sleep_until", "pg_file_write", "pg_file_rename",
    "pg_file_unlink", "pg_file_sync", "pg_logdir_ls", "pg_read_file", "pg_read_binary_file",
    "lo_import", "lo_export", "lo_unlink", "lo_create", "lo_creat", "lo_put", "lo_from_bytea",
    "lo_open", "lo_truncate", "lowrite", "lo_write", "pg_drop_replication_slot",
    "pg_copy_physical_replication_slot", "pg_copy_logical_replication_slot",
    "pg_replication_slot_advance", "pg_logical_emit_message", "pg_logical_slot_get_changes",
    "pg_logical_slot_get_binary_changes", "pg_stat_clear_snapshot", "pg_sequence_last_value",
})
#: Name prefixes of acting function families (``pg_stat_reset_shared``, ``dblink_exec``...).
SQL_ACTING_PREFIXES = (
    "pg_stat_reset", "pg_advisory", "pg_try_advisory", "pg_create_", "pg_drop_",
    "pg_replication_origin", "pg_wal_replay", "dblink", "pg_cancel", "pg_terminate",
)
#: Words that make an allowed statement act (``SELECT ... INTO t`` creates a table,
#: ``FOR UPDATE`` takes row locks, ``EXPLAIN ANALYZE`` runs the statement it explains).
_SQL_ACTING_WORDS = frozenset({"INTO", "UPDATE", "SHARE", "ANALYZE", "ANALYSE", "INSERT",
                               "DELETE", "MERGE", "TRUNCATE"})

_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$")


class SqlRefused(ValueError):
    """A statement a read-only session will not send; ``str()`` says why."""


def _sql_tokens(sql: str) -> list[list[tuple[str, str]]]:
    """Split ``sql`` into statements of ``(kind, text)`` tokens; kinds: word, quoted
    (a ``"identifier"``), string, punct. Comments are dropped; an unterminated string,
    identifier or comment is refused (the server might read it differently)."""
    statements: list[list[tuple[str, str]]] = [[]]
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch.isspace():
            i += 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif sql.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if sql.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif sql.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
            if depth:
                raise SqlRefused("an unterminated comment")
        elif ch == "'" or (ch in "eE" and sql.startswith("'", i + 1)):
            backslash = ch != "'"
            i += 1 if ch == "'" else 2
            while True:
                if i >= n:
                    raise SqlRefused("an unterminated string")
                if backslash and sql[i] == "\\":
                    i += 2
                elif sql[i] == "'":
                    if sql.startswith("''", i):
                        i += 2
                    else:
                        i += 1
                        break
                else:
                    i += 1
            statements[-1].append(("string", ""))
        elif ch == '"':
            end = i + 1
            while True:
                end = sql.find('"', end)
                if end < 0:
                    raise SqlRefused("an unterminated quoted identifier")
                if sql.startswith('""', end):
                    end += 2
                    continue
                break
            statements[-1].append(("quoted", sql[i + 1:end].replace('""', '"')))
            i = end + 1
        elif ch == "$" and (tag := _dollar_tag(sql, i)) is not None:
            end = sql.find(tag, i + len(tag))
            if end < 0:
                raise SqlRefused("an unterminated dollar-quoted string")
            statements[-1].append(("string", ""))
            i = end + len(tag)
        elif ch in _WORD_CHARS:
            end = i
            while end < n and (sql[end] in _WORD_CHARS or not sql[end].isascii()):
                end += 1
            statements[-1].append(("word", sql[i:end]))
            i = end
        elif not ch.isascii():
            end = i
            while end < n and (sql[end] in _WORD_CHARS or not sql[end].isascii()) \
                    and not sql[end].isspace():
                end += 1
            statements[-1].append(("word", sql[i:end]))
            i = end
        elif ch == ";":
            statements.append([])
            i += 1
        else:
            statements[-1].append(("punct", ch))
            i += 1
    return [s for s in statements if s]


def _dollar_tag(sql: str, i: int) -> str | None:
    """The ``$tag$`` opening a dollar-quoted string at ``i``, if one does."""
    end = i + 1
    while end < len(sql) and (sql[end].isalnum() or sql[end] == "_"):
        end += 1
    if end < len(sql) and sql[end] == "$" and not sql[i + 1:end + 1][:1].isdigit():
        return sql[i:end + 1]
    return None


def _acting_function(name: str) -> bool:
    lowered = name.lower()
    return lowered in SQL_ACTING_FUNCTIONS or lowered.startswith(SQL_ACTING_PREFIXES)


def check_read_only_sql(sql: str) -> None:
    """Raise :class:`SqlRefused` unless every statement of ``sql`` only reads.

    The allowlist: each statement starts with SELECT, SHOW, EXPLAIN (never EXPLAIN
    ANALYZE, which runs what it explains) or WITH (no INSERT, UPDATE, DELETE or MERGE
    inside); none names a function that acts on the server
    (:data:`SQL_ACTING_FUNCTIONS`, :data:`SQL_ACTING_PREFIXES`), schema-qualified or
    quoted; none selects INTO a table or locks rows FOR UPDATE/SHARE. Comments and string
    contents are read as the server reads them, so neither hides nor fakes a keyword.
    The session is read-only as well (``default_transaction_read_only``): this list is
    what such a session would still let through (ANALYZE, VACUUM, REINDEX, CHECKPOINT,
    pg_terminate_backend...), and everything else besides.
    """
    statements = _sql_tokens(sql)
    if not statements:
        raise SqlRefused("an empty statement")
    for tokens in statements:
        kind, first = tokens[0]
        head = first.upper() if kind == "word" else first
        if kind != "word" or head not in SQL_READ_STATEMENTS:
            raise SqlRefused(f"{head[:20] or 'this'} is not a read (only SELECT, SHOW and "
                             "EXPLAIN run read-only)")
        for index, (kind, text) in enumerate(tokens):
            if kind == "word" and text.upper() in _SQL_ACTING_WORDS and index > 0:
                word = text.upper()
                if word in {"ANALYZE", "ANALYSE"}:
                    raise SqlRefused("EXPLAIN ANALYZE runs the statement it explains")
                raise SqlRefused(f"{head} ... {word} changes or locks data")
            following = tokens[index + 1] if index + 1 < len(tokens) else ("", "")
            if kind in {"word", "quoted"} and following == ("punct", "(") \
                    and _acting_function(text):
                raise SqlRefused(f"{text[:40]}() acts on the server")
