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
