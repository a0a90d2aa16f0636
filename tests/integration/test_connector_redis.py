"""The Redis connector against the real local server."""

from __future__ import annotations

import pytest
import redis
from conftest import CANARY, REDIS_HOST, REDIS_PORT, free_port

from cockpit.config import RedisSettings, Secret
from cockpit.connectors.redis import RedisSource
from cockpit.domain import CACHE_KEYS
from cockpit.sources.base import SourceError


def settings(prefix: str, **kw) -> RedisSettings:
    return RedisSettings(**{"host": REDIS_HOST, "port": REDIS_PORT, "key_prefix": prefix,
                            "timeout_s": 2.0, **kw})


def test_snapshot_reads_the_procedure_keys_and_ping(redis_prefix: str) -> None:
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT)
    client.set(redis_prefix + "maintenance_mode", "true")
    client.set(redis_prefix + "active_users_count", "1234")
    source = RedisSource(settings(redis_prefix))
    snap = source.fetch()
    source.close()
    assert snap.get("maintenance_mode") == "true"
    assert snap.get("active_users_count") == "1234"
    assert snap.get("rate_limit_enabled") is None
    assert [k for k, _ in snap.keys] == list(CACHE_KEYS)
    assert snap.ping_ms > 0


def test_unreachable_redis_is_a_short_reason() -> None:
    with pytest.raises(SourceError, match="^cannot reach Redis"):
        RedisSource(settings("x:", port=free_port())).fetch()


@pytest.fixture
def acl_user(redis_prefix: str):
    """A throwaway ACL user with password CANARY, deleted afterwards."""
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT)
    name = redis_prefix.rstrip(":")
    client.acl_setuser(name, enabled=True, passwords=["+" + CANARY],
                       keys=[redis_prefix + "*"], commands=["+ping", "+mget"])
    yield name
    client.acl_deluser(name)


def test_acl_user_with_its_password_can_read(redis_prefix: str, acl_user: str) -> None:
    source = RedisSource(settings(redis_prefix, username=acl_user,
                                  password=Secret(CANARY, "env R")))
    assert source.fetch().get("maintenance_mode") is None


def test_wrong_password_is_rejected_without_showing_it(redis_prefix: str, acl_user: str) -> None:
    wrong = CANARY[::-1]
    with pytest.raises(SourceError) as caught:
        RedisSource(settings(redis_prefix, username=acl_user,
                             password=Secret(wrong, "env R"))).fetch()
    assert str(caught.value) == "Redis rejected the password"
    assert wrong not in str(caught.value) and CANARY not in str(caught.value)
