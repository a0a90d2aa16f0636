"""Benchmark: the shared war room's store on the real PostgreSQL (issue #15).

- the append rate (events/s), one writer and four writers on their own connections, each
  append one transaction (lock the incident's head, redact, hash, insert, NOTIFY); baseline:
  plain autocommit INSERTs of the same bodies into an unindexed table, in the same run, with
  the same number of connections;
- the propagation latency from calling ``append`` to a
  :class:`~cockpit.warroom.follow.Follower`'s callback, p50/p95, with 1 and 9 followers;
  baseline: a bare ``pg_notify`` to a bare ``LISTEN`` connection's ``notifies()``.

It creates a database of its own (``cockpit_bench_<random>``) on ``COCKPIT_TEST_PG_HOST``/
``COCKPIT_TEST_PG_PORT`` (127.0.0.1:5432, user postgres) and drops it. Not a test: nothing
is asserted. ``--quick``: fewer events (a few seconds).
"""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

import psycopg

from cockpit.timeline.journal import canonical_json
from cockpit.warroom.follow import Follower
from cockpit.warroom.store import SharedStore, StoredEvent

HOST = os.environ.get("COCKPIT_TEST_PG_HOST", "127.0.0.1")
PORT = int(os.environ.get("COCKPIT_TEST_PG_PORT", "5432"))
ADMIN = f"host={HOST} port={PORT} user=postgres dbname=postgres"
INC = "INC-20261202-060000-be9c"
AT = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)


@contextmanager
def scratch_database() -> Iterator[str]:
    """A fresh database's DSN, dropped afterwards."""
    name = f"cockpit_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN, autocommit=True, connect_timeout=3) as admin:
        admin.execute(f'CREATE DATABASE "{name}"'.encode())
    try:
        yield f"host={HOST} port={PORT} user=postgres dbname={name}"
    finally:
        with psycopg.connect(ADMIN, autocommit=True, connect_timeout=3) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


def payload(n: int) -> dict[str, object]:
    return {"runbook": "k8s-rollback", "step": f"s{n}", "outcome": "done",
            "output": "deployment.apps/api rolled back\n" * 4, "duration_s": 1.5}


def parallel(count: int, work: Callable[[int], None]) -> float:
    """Seconds for ``count`` threads to each run ``work(i)`` (started together)."""
    barrier = threading.Barrier(count + 1)

    def run(i: int) -> None:
        barrier.wait()
        work(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began


def append_rate(dsn: str, writers: int, total: int) -> tuple[float, float]:
    """(store events/s, plain INSERT rows/s) with ``writers`` connections, ``total`` in all."""
    stores = [SharedStore(dsn) for _ in range(writers)]
    for store in stores:
        store.backend_pid()  # connected before the clock starts
    each = total // writers

    def append(i: int) -> None:
        for n in range(each):
            stores[i].append(INC, "step.finished", payload(n), f"w{i}", "bench", AT)

    t_store = parallel(writers, append)
    for store in stores:
        store.close()
    body = canonical_json({"kind": "step.finished", "data": payload(0)})
    conns = [psycopg.connect(dsn, autocommit=True) for _ in range(writers)]

    def insert(i: int) -> None:
        for n in range(each):
            conns[i].execute("INSERT INTO bench_plain (incident, seq, body) VALUES (%s, %s, %s)",
                             (INC, n, body))

    t_plain = parallel(writers, insert)
    for conn in conns:
        conn.close()
    done = each * writers
    return done / t_store, done / t_plain


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def propagation(dsn: str, followers: int, events: int, gap_s: float) -> list[float]:
    """Milliseconds from calling ``append`` to each follower's callback, every event."""
    writer = SharedStore(dsn)
    start_seq = writer.head(INC)[0]
    sent: dict[int, float] = {}
    latencies: list[float] = []
    lock = threading.Lock()
    remaining = threading.Semaphore(0)

    def on_events(batch: Sequence[StoredEvent]) -> None:
        now = time.perf_counter()
        with lock:
            for event in batch:
                latencies.append((now - sent[event.seq]) * 1000)
        for _ in batch:
            remaining.release()

    stores = [SharedStore(dsn) for _ in range(followers)]
    running = [Follower(s, INC, start_seq, on_events, poll_s=10.0).start() for s in stores]
    for follower in running:
        follower.connected.wait(5)
    time.sleep(0.2)  # their first catch-up done
    for n in range(events):
        seq = start_seq + n + 1
        with lock:
            sent[seq] = time.perf_counter()
        writer.append(INC, "note.added", {"text": f"n{n}"}, "bench", "bench", AT)
        for _ in range(followers):
            remaining.acquire(timeout=10)
        time.sleep(gap_s)
    for follower in running:
        follower.stop()
    for store in (writer, *stores):
        store.close()
    return latencies


def bare_notify(dsn: str, events: int, gap_s: float) -> list[float]:
    """Milliseconds from a bare pg_notify to a bare LISTEN connection receiving it."""
    latencies: list[float] = []
    with psycopg.connect(dsn, autocommit=True) as listener, \
            psycopg.connect(dsn, autocommit=True) as sender:
        listener.execute("LISTEN bench")
        for n in range(events):
            began = time.perf_counter()
            sender.execute("SELECT pg_notify('bench', %s)", (str(n),))
            for _ in listener.notifies(timeout=10, stop_after=1):
                latencies.append((time.perf_counter() - began) * 1000)
            time.sleep(gap_s)
    return latencies


def main(quick: bool = False) -> None:
    """Print the append rates and the propagation latencies, each against its baseline."""
    appends = 400 if quick else 4000
    events, gap_s = (40, 0.01) if quick else (300, 0.02)
    with scratch_database() as dsn:
        setup = SharedStore(dsn)
        setup.migrate()
        setup.create_incident(INC, "bench")
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE bench_plain (incident text, seq bigint, body text)")
        setup.close()
        for writers in (1, 4):
            rate, plain = append_rate(dsn, writers, appends)
            print(f"  append, {writers} writer{'s' if writers > 1 else ''} "
                  f"({appends:,} events): {rate:,.0f} events/s; "
                  f"{plain / rate:.1f}x the cost of plain INSERTs into an unindexed table "
                  f"({plain:,.0f} rows/s, baseline)", flush=True)
        bare = bare_notify(dsn, events, gap_s)
        base50, base95 = statistics.median(bare), percentile(bare, 0.95)
        print(f"  bare pg_notify -> LISTEN (baseline, {events} events): p50 {base50:.2f} ms, "
              f"p95 {base95:.2f} ms", flush=True)
        for followers in (1, 9):
            lat = propagation(dsn, followers, events, gap_s)
            p50, p95 = statistics.median(lat), percentile(lat, 0.95)
            print(f"  append -> Follower callback, {followers} follower"
                  f"{'s' if followers > 1 else ''} ({len(lat):,} deliveries): p50 {p50:.2f} ms "
                  f"({p50 / base50:.1f}x baseline), p95 {p95:.2f} ms "
                  f"({p95 / base95:.1f}x baseline)", flush=True)


if __name__ == "__main__":
    main(quick="--quick" in sys.argv[1:])
