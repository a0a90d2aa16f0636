"""``redis.*`` actions with redis-py (keys under the configured prefix)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from cockpit.actions.executor import ActionResult
from cockpit.actions.types import ResolvedAction
from cockpit.connectors.actions.base import Call, Fail, LazyClient


class RedisActions(LazyClient):
    """The ``redis.*`` handlers; the redis-py client (read-only guard when read-only) is
    built on first use."""

    def _connect(self) -> Any:
        if self.config.redis is None:
            raise Fail("Redis is not configured ([redis] in the config)")
        from cockpit.connectors.redis import make_client

        return make_client(self.config.redis, read_only=self.read_only)

    def _r(self, fn: Callable[..., Any], *args: Any) -> Any:
        import redis

        from cockpit.connectors.redis import describe_redis_error

        assert self.config.redis is not None
        try:
            return fn(*args)
        except redis.RedisError as exc:
            raise Fail(describe_redis_error(exc, self.config.redis.timeout_s)) from None

    def _key(self, key: str) -> str:
        assert self.config.redis is not None
        return self.config.redis.key_prefix + key

    def get(self, action: ResolvedAction, call: Call) -> ActionResult:
        """``redis.get``: the value as redis-cli shows it."""
        client = self.client()
        value = self._r(client.get, self._key(action.params["key"]))
        call.say("(nil)" if value is None else json.dumps(str(value)))
        return call.ok()

    def set(self, action: ResolvedAction, call: Call) -> ActionResult:
        """``redis.set``: with an optional TTL."""
        p = action.params
        client = self.client()
        ttl = int(p["ttl"]) if p.get("ttl") else None
        self._r(lambda: client.set(self._key(p["key"]), p["value"], ex=ttl))
        call.say("OK")
        return call.ok()

    def delete(self, action: ResolvedAction, call: Call) -> ActionResult:
        """``redis.delete``: how many keys were removed."""
        client = self.client()
        removed = self._r(client.delete, self._key(action.params["key"]))
        call.say(f"(integer) {int(removed)}")
        return call.ok()

    def flushdb(self, action: ResolvedAction, call: Call) -> ActionResult:
        """``redis.flushdb``: empties the configured database only."""
        client = self.client()
        before = self._r(client.dbsize)
        self._r(client.flushdb)
        assert self.config.redis is not None
        call.say(f"OK (database {self.config.redis.db}: {int(before)} keys removed)")
        return call.ok()

