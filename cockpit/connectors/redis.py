"""The cache panel from Redis: ping latency and the procedures' keys.

redis-py with explicit ``socket_timeout`` and ``socket_connect_timeout`` and
no retries (the poller decides when to try again). Reasons never include the
password.

A read-only client (``make_client(settings, read_only=True)``) is built on
:class:`ReadOnlyConnection`, which reads every packed request before it is
written to the socket and refuses any command outside
:data:`~cockpit.connectors.readonly.REDIS_READ_COMMANDS` (pipelines included).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from cockpit.config import RedisSettings
from cockpit.connectors.readonly import ReadOnlyError, parse_resp_commands, redis_command_allowed
from cockpit.domain import CACHE_KEYS, CacheSnapshot
from cockpit.sources.base import SourceError


class _ReadOnlyGuard:
    """Checks every packed request (single commands and pipelines) before it is sent."""

    refused = 0

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        data = command if isinstance(command, bytes | bytearray) else b"".join(
            bytes(chunk) if not isinstance(chunk, bytes) else chunk for chunk in command)
        for args in parse_resp_commands(bytes(data)):
            if not redis_command_allowed(args):
                _ReadOnlyGuard.refused += 1
                name = args[0].decode("ascii", "replace").upper() if args else "?"
                raise ReadOnlyError(f"read-only mode: refused Redis {name[:20]} "
                                    "(only reads leave a read-only cockpit)")
        super().send_packed_command(command, check_health)  # type: ignore[misc]


class ReadOnlyConnection(_ReadOnlyGuard, redis.Connection):
    """A TCP connection that refuses write commands client-side."""


class ReadOnlySSLConnection(_ReadOnlyGuard, redis.SSLConnection):
    """A TLS connection that refuses write commands client-side."""


def make_client(settings: RedisSettings, read_only: bool = False) -> redis.Redis:
    """A client configured from the settings, one attempt per command."""
    kwargs: dict[str, Any] = dict(
        host=settings.host, port=settings.port, db=settings.db, username=settings.username,
        password=settings.password.reveal() if settings.password else None,
        socket_timeout=settings.timeout_s, socket_connect_timeout=settings.timeout_s,
        retry=Retry(NoBackoff(), 0), decode_responses=True,
    )
    if not read_only:
        return redis.Redis(ssl=settings.tls, **kwargs)
    pool = redis.ConnectionPool(
        connection_class=ReadOnlySSLConnection if settings.tls else ReadOnlyConnection,
        **kwargs)
    return redis.Redis(connection_pool=pool)


def describe_redis_error(exc: BaseException, timeout_s: float) -> str:
    """A short reason built from the error type, never from the server's text."""
    if isinstance(exc, redis.AuthenticationError):
        return "Redis rejected the password"
    if isinstance(exc, redis.TimeoutError):
        return f"Redis did not answer within {timeout_s:g}s"
    if isinstance(exc, redis.ConnectionError):
        if "NOAUTH" in str(exc) or "Authentication required" in str(exc):
            return "Redis requires a password (NOAUTH)"
        return "cannot reach Redis (connection failed)"
    if isinstance(exc, redis.ResponseError):
        words = str(exc).split()
        code = words[0] if words and words[0].isupper() else "ERR"
        if code == "NOAUTH":
            return "Redis requires a password (NOAUTH)"
        if code == "WRONGPASS":
            return "Redis rejected the password"
        return f"Redis error {code}"
    return f"Redis request failed ({type(exc).__name__})"


class RedisSource:
    """The ``cache`` source backed by Redis."""

    kind = "cache"
    label = "redis"

    def __init__(self, settings: RedisSettings,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC),
                 read_only: bool = False) -> None:
        self.settings = settings
        self.interval_s = settings.interval_s
        self.timeout_s = settings.timeout_s * 3 + 1
        self._now = now
        self.read_only = read_only
        self.client = make_client(settings, read_only=read_only)

    def ping_ms(self) -> float:
        """Round-trip time of one PING in milliseconds."""
        started = time.perf_counter()
        try:
            self.client.ping()
        except redis.RedisError as exc:
            raise SourceError(describe_redis_error(exc, self.settings.timeout_s)) from None
        return (time.perf_counter() - started) * 1000.0

    def auth_accepted(self) -> bool:
        """Send AUTH itself, on a fresh connection without credentials: True only when the
        server answered OK. (redis-py's handshake swallows the error a server without a
        password gives, so a successful PING does not prove the password was accepted.)"""
        if self.settings.password is None:
            return False
        from dataclasses import replace

        bare = make_client(replace(self.settings, password=None, username=None))
        user = [self.settings.username] if self.settings.username else []
        try:
            return bool(bare.execute_command("AUTH", *user, self.settings.password.reveal()))
        except (redis.AuthenticationError, redis.ResponseError):
            return False
        except redis.RedisError as exc:
            raise SourceError(describe_redis_error(exc, self.settings.timeout_s)) from None
        finally:
            bare.close()

    def revision(self) -> None:
        """A live system cannot say cheaply that nothing changed: always fetched."""
        return None

    def fetch(self) -> CacheSnapshot:
        """PING, then read the procedures' keys in one MGET."""
        ping = self.ping_ms()
        names = [self.settings.key_prefix + key for key in CACHE_KEYS]
        try:
            values = self.client.mget(names)
        except redis.RedisError as exc:
            raise SourceError(describe_redis_error(exc, self.settings.timeout_s)) from None
        keys = tuple((key, None if value is None else str(value))
                     for key, value in zip(CACHE_KEYS, values, strict=True))
        return CacheSnapshot(at=self._now(), ping_ms=ping, keys=keys)

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()
