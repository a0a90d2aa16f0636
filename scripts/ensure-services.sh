#!/bin/sh
# Start the local PostgreSQL and Redis used by the integration tests, when they are down.
# Addresses: COCKPIT_TEST_PG_HOST/PORT (127.0.0.1:5432), COCKPIT_TEST_REDIS_HOST/PORT (127.0.0.1:6379).
PG_HOST=${COCKPIT_TEST_PG_HOST:-127.0.0.1}
PG_PORT=${COCKPIT_TEST_PG_PORT:-5432}
REDIS_HOST=${COCKPIT_TEST_REDIS_HOST:-127.0.0.1}
REDIS_PORT=${COCKPIT_TEST_REDIS_PORT:-6379}
# what happens to their tests when a service stays down: skipped, or failed under CI=true
case "${CI:-}" in
    true|TRUE|True|1) MISSING="error"; THEN="will fail (CI=true)" ;;
    *) MISSING="warning"; THEN="will be skipped" ;;
esac

pg_up() { command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; }
redis_up() { command -v redis-cli >/dev/null 2>&1 && [ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]; }

if ! pg_up; then
    if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
        echo "starting PostgreSQL"
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
        i=0; while ! pg_up && [ $i -lt 30 ]; do sleep 1; i=$((i + 1)); done
    fi
    pg_up || echo "$MISSING: PostgreSQL is not reachable at $PG_HOST:$PG_PORT; its tests $THEN"
fi
if ! redis_up; then
    if command -v redis-server >/dev/null 2>&1; then
        echo "starting Redis"
        mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
        redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" \
            --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
        i=0; while ! redis_up && [ $i -lt 15 ]; do sleep 1; i=$((i + 1)); done
    fi
    redis_up || echo "$MISSING: Redis is not reachable at $REDIS_HOST:$REDIS_PORT; its tests $THEN"
fi
exit 0
