"""The shared war room's store against the real PostgreSQL: schema, chain, leases, followers.

Several cockpits on one machine are several :class:`SharedStore` objects, each with its own
connection, driven from their own threads (as a cockpit runs the store in threads).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from cockpit.timeline.journal import GENESIS, Event, event_hash
from cockpit.timeline.verify import check_records
from cockpit.warroom.follow import Follower
from cockpit.warroom.store import (
    Busy,
    LeaseLost,
    SameDatabase,
    SchemaTooNew,
    SharedStore,
    StaleToken,
    StoredEvent,
    StoreError,
    StoreUnavailable,
    UnknownIncident,
    check_chain,
    same_database,
)

INC = "INC-20261202-053000-ab12"
STEP = "k8s-rollback/undo-api"
AT = datetime(2026, 12, 2, 5, 30, tzinfo=UTC)


@pytest.fixture
def dsn(postgres_server: tuple[str, int], pg_database: str) -> str:
    host, port = postgres_server
    return f"host={host} port={port} user=postgres dbname={pg_database}"


@pytest.fixture
def stores(dsn: str) -> Iterator[Callable[[], SharedStore]]:
    """A factory of stores on the test database (one connection each), closed afterwards."""
    made: list[SharedStore] = []

    def make() -> SharedStore:
        store = SharedStore(dsn, connect_timeout_s=3, statement_timeout_s=10)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture
def store(stores: Callable[[], SharedStore]) -> SharedStore:
    """A migrated store holding the incident :data:`INC`."""
    first = stores()
    first.migrate()
    first.create_incident(INC, "api 5xx after deploy")
    return first


def in_threads(count: int, work: Callable[[int], object],
               barrier: threading.Barrier | None = None) -> list[object]:
    """Run ``work(i)`` in ``count`` threads; their results, or re-raise the first error (a
    thread that fails breaks ``barrier``, so the others fail at once instead of waiting)."""
    results: list[object] = [None] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            results[i] = work(i)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(exc)
            if barrier is not None:
                barrier.abort()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(t.is_alive() for t in threads), "a thread is stuck"
    if errors:
        raise next((e for e in errors if not isinstance(e, threading.BrokenBarrierError)),
                   errors[0])
    return results


def note(store: SharedStore, text: str, who: str = "dana") -> StoredEvent:
    return store.append(INC, "note.added", {"text": text}, who, "bastion-1", AT)


# -- the schema ----------------------------------------------------------------------------


def test_migrate_is_idempotent_and_safe_when_cockpits_migrate_at_once(
        stores: Callable[[], SharedStore], dsn: str) -> None:
    cockpits = [stores() for _ in range(6)]
    assert cockpits[0].schema_version() == 0
    barrier = threading.Barrier(len(cockpits), timeout=30)

    def migrate(i: int) -> int:
        barrier.wait()
        return cockpits[i].migrate()

    found = in_threads(len(cockpits), migrate, barrier)
    assert sorted(found) == [0, 1, 1, 1, 1, 1]  # one created it; the others found it done
    assert cockpits[0].migrate() == 1
    assert all(c.schema_version() == 1 for c in cockpits)
    with psycopg.connect(dsn, autocommit=True) as admin:
        assert admin.execute("SELECT count(*) FROM warroom_schema").fetchone() == (1,)
        admin.execute("INSERT INTO warroom_schema (version) VALUES (2)")
    with pytest.raises(SchemaTooNew, match="schema version 2"):
        cockpits[1].migrate()


# -- the log -------------------------------------------------------------------------------


def test_four_writers_interleave_into_one_gapless_chain_that_verifies(
        store: SharedStore, stores: Callable[[], SharedStore]) -> None:
    writers = [stores() for _ in range(4)]
    barrier = threading.Barrier(len(writers), timeout=30)
    per_writer = 60

    def write(i: int) -> list[StoredEvent]:
        barrier.wait()
        return [note(writers[i], f"w{i} n{n}", who=f"w{i}") for n in range(per_writer)]

    appended = in_threads(len(writers), write, barrier)
    events = store.read_since(INC, 0)
    assert [e.seq for e in events] == list(range(1, 4 * per_writer + 1))
    assert check_chain(events) is None
    # the journal's own verifier accepts the shared log: it chains as a local journal does
    assert check_records([e.record for e in events]) is None
    assert all(event_hash(e.record) == e.hash for e in events)
    assert events[0].prev == GENESIS
    assert store.head(INC) == (events[-1].seq, events[-1].hash)
    # what each writer was answered is what is stored, and each writer's events keep its order
    stored = {e.seq: e for e in events}
    for i, mine in enumerate(appended):
        assert isinstance(mine, list)
        assert [stored[e.seq].record for e in mine] == [e.record for e in mine]
        assert [e.data["text"] for e in events if e.event.actor["user"] == f"w{i}"] == [
            f"w{i} n{n}" for n in range(per_writer)]
    # the writers really interleaved (not one after another)
    authors = [e.event.actor["user"] for e in events]
    assert sum(1 for a, b in zip(authors, authors[1:], strict=False) if a != b) > 3


def test_a_stored_event_is_a_journal_event_redacted_as_the_journal_redacts(
        store: SharedStore, dsn: str) -> None:
    event = store.append(INC, "note.added",
                         {"text": "db at postgresql://app:hunter2@db.prod/wc lagging",
                          "ratio": 1.50, "big": 2**53 + 1, "tiny": 1e-7},
                         "dana", "bastion-1", AT, ssh_client="203.0.113.7")
    (again,) = store.read_since(INC, 0)
    assert again.record == event.record
    assert Event.from_dict(again.record).to_dict() == again.record
    assert "hunter2" not in again.data["text"]
    assert again.event.redactions
    assert again.event.t == "2026-12-02T05:30:00.000Z"
    assert again.event.actor == {"user": "dana", "host": "bastion-1",
                                 "ssh_client": "203.0.113.7"}
    assert (again.data["big"], again.data["tiny"]) == (2**53 + 1, 1e-7)
    with psycopg.connect(dsn, autocommit=True) as admin:
        with pytest.raises(psycopg.Error, match="append-only"):
            admin.execute("UPDATE warroom_events SET kind = 'x'")
        with pytest.raises(psycopg.Error, match="append-only"):
            admin.execute("DELETE FROM warroom_events")
    with pytest.raises(UnknownIncident):
        store.append("INC-nope", "note.added", {}, "dana", "bastion-1", AT)
    with pytest.raises(ValueError, match="incident id"):
        store.append("INC'; DROP TABLE warroom_events; --", "note.added", {}, "d", "h", AT)
    with pytest.raises(ValueError, match="not JSON"):
        store.append(INC, "note.added", {"v": float("nan")}, "dana", "bastion-1", AT)
    assert [e.seq for e in store.read_since(INC, 0)] == [1]


def test_read_since_catches_up_what_a_missed_notification_announced(
        store: SharedStore, dsn: str) -> None:
    note(store, "before anyone listened")
    with psycopg.connect(dsn, autocommit=True) as listener:
        listener.execute("LISTEN warroom")
        first = note(store, "one")
        heard = [n.payload for n in listener.notifies(timeout=2, stop_after=1)]
        assert heard == [f"{INC}:{first.seq}"]
    # nobody listening now: these notifications go nowhere and are not stored
    missed = [note(store, f"missed {n}") for n in range(5)]
    with psycopg.connect(dsn, autocommit=True) as late:
        late.execute("LISTEN warroom")
        assert list(late.notifies(timeout=0.3)) == []
    caught = store.read_since(INC, first.seq)
    assert [e.record for e in caught] == [e.record for e in missed]
    assert check_chain(caught, after_seq=first.seq, after_hash=first.hash) is None
    assert [e.seq for e in store.read_since(INC, first.seq, limit=2)] == [3, 4]
    assert store.read_since(INC, missed[-1].seq) == []


# -- leases and fencing ---------------------------------------------------------------------


def test_a_step_contested_by_ten_cockpits_is_granted_and_started_exactly_once_per_round(
        store: SharedStore, stores: Callable[[], SharedStore]) -> None:
    cockpits = [stores() for _ in range(10)]
    rounds = 100
    barrier = threading.Barrier(len(cockpits), timeout=30)
    grants: list[list[tuple[int, int]]] = [[] for _ in cockpits]  # (round, token)
    refusals: list[list[tuple[int, str]]] = [[] for _ in cockpits]  # (round, holder)
    released = [0 for _ in cockpits]

    def contend(i: int) -> None:
        me, holder = cockpits[i], f"cockpit-{i}"
        for r in range(rounds):
            barrier.wait()
            lease = None
            try:
                lease = me.acquire(INC, STEP, holder, lease_s=30)
            except Busy as busy:
                refusals[i].append((r, busy.holder))
            if lease is not None:
                grants[i].append((r, lease.token))
                me.append(INC, "step.started", {"runbook": "k8s-rollback", "step": "undo-api"},
                          holder, "bastion-1", AT, token=lease.token, step=STEP)
            barrier.wait()  # every cockpit has tried: only now may the holder let go
            if lease is not None:
                me.append(INC, "step.finished", {"outcome": "done"}, holder, "bastion-1", AT,
                          token=lease.token, step=STEP)
                released[i] += me.release(lease)
            barrier.wait()

    in_threads(len(cockpits), contend, barrier)
    attempts = sum(len(g) + len(f) for g, f in zip(grants, refusals, strict=True))
    assert attempts == 1000
    by_round: dict[int, list[int]] = {}
    for mine in grants:
        for r, token in mine:
            by_round.setdefault(r, []).append(token)
    double_grants = sum(len(tokens) - 1 for tokens in by_round.values())
    assert double_grants == 0
    assert sum(released) == rounds
    assert sorted(by_round) == list(range(rounds))  # a holder every round
    tokens = [by_round[r][0] for r in range(rounds)]
    assert all(a < b for a, b in zip(tokens, tokens[1:], strict=False))  # only ever grows
    # each refusal named that round's holder
    winners = {r: f"cockpit-{i}" for i, mine in enumerate(grants) for r, _ in mine}
    assert all(holder == winners[r] for mine in refusals for r, holder in mine)
    events = store.read_since(INC, 0)
    started = [e for e in events if e.kind == "step.started"]
    assert len(started) == rounds  # 0 double starts
    assert [e.token for e in started] == tokens
    assert sum(1 for e in events if e.kind == "step.finished") == rounds
    assert check_chain(events) is None


def test_a_stalled_holder_past_its_lease_loses_the_step_and_its_late_write_is_refused(
        store: SharedStore, stores: Callable[[], SharedStore], dsn: str) -> None:
    stalled, other = store, stores()
    lease = stalled.acquire(INC, STEP, "alice@laptop", lease_s=1)
    with psycopg.connect(dsn, autocommit=True) as clock:
        row = clock.execute("SELECT clock_timestamp()").fetchone()
        assert row is not None
        remaining = lease.expires_at - row[0]
    assert timedelta(0) < remaining <= timedelta(seconds=1)  # the database's clock
    with pytest.raises(Busy) as busy:
        other.acquire(INC, STEP, "bob@bastion", lease_s=30)
    assert (busy.value.holder, busy.value.token) == ("alice@laptop", lease.token)
    stalled.append(INC, "step.started", {"step": "undo-api"}, "alice", "laptop", AT,
                   token=lease.token, step=STEP)
    before = stalled.read_since(INC, 0)

    time.sleep(1.3)  # alice's laptop froze past her lease
    taken = other.acquire(INC, STEP, "bob@bastion", lease_s=30)
    assert taken.token > lease.token
    with pytest.raises(StaleToken) as refused:
        stalled.append(INC, "step.finished", {"outcome": "done"}, "alice", "laptop", AT,
                       token=lease.token, step=STEP)
    assert (refused.value.token, refused.value.current) == (lease.token, taken.token)
    assert stalled.read_since(INC, 0) == before  # the chain is untouched
    assert stalled.head(INC) == (before[-1].seq, before[-1].hash)
    with pytest.raises(LeaseLost):
        stalled.renew(lease, 30)
    assert stalled.release(lease) is False
    with pytest.raises(StaleToken):  # a token never granted is refused too
        stalled.append(INC, "step.finished", {}, "mallory", "x", AT, token=taken.token + 5,
                       step=STEP)
    with pytest.raises(StaleToken, match="no lease was ever granted"):
        stalled.append(INC, "step.started", {}, "alice", "laptop", AT, token=1, step="other")
    finished = other.append(INC, "step.finished", {"outcome": "done"}, "bob", "bastion", AT,
                            token=taken.token, step=STEP)
    assert finished.seq == before[-1].seq + 1
    assert finished.data["lease"] == {"step": STEP, "token": taken.token}
    renewed = other.renew(taken, 60)
    assert renewed.expires_at > taken.expires_at
    assert other.release(renewed)
    again = stalled.acquire(INC, STEP, "alice@laptop", lease_s=5)  # released: free at once
    assert again.token > taken.token


# -- followers -----------------------------------------------------------------------------


class Received:
    """What a follower handed on, and a way to wait for it."""

    def __init__(self) -> None:
        self.events: list[StoredEvent] = []
        self.calls = 0
        self._cond = threading.Condition()

    def __call__(self, events: Sequence[StoredEvent]) -> None:
        with self._cond:
            self.events.extend(events)
            self.calls += 1
            self._cond.notify_all()

    def wait_for(self, count: int, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: len(self.events) >= count, timeout)

    @property
    def seqs(self) -> list[int]:
        with self._cond:
            return [e.seq for e in self.events]


def test_a_follower_wakes_on_notify_and_catches_up_after_its_connection_is_killed(
        store: SharedStore, stores: Callable[[], SharedStore], dsn: str) -> None:
    note(store, "before the follower")
    received = Received()
    errors: list[str] = []
    # a poll interval far longer than the test: only a NOTIFY can wake it this soon
    follower = Follower(stores(), INC, 0, received, poll_s=30.0, backoff_s=(1.0, 1.0),
                        on_error=errors.append)
    with follower:
        assert follower.connected.wait(5)
        assert received.wait_for(1, 5)  # the catch-up from 0
        store.create_incident("INC-other")
        store.append("INC-other", "note.added", {"text": "elsewhere"}, "bob", "h", AT)
        note(store, "after")
        assert received.wait_for(2, 5)  # woken by the NOTIFY, not by the 30 s poll
        pid = follower.backend_pid
        assert pid is not None
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        deadline = time.monotonic() + 5
        while follower.connected.is_set() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not follower.connected.is_set()
        # written while the follower is down: nobody hears these notifications
        for n in range(5):
            note(store, f"while down {n}")
        assert received.wait_for(7, 10)
        assert follower.reconnects >= 1 and follower.backend_pid not in (None, pid)
        note(store, "after the reconnect")
        assert received.wait_for(8, 5)
    assert not follower.alive and follower.error is None
    assert errors and all("password" not in e and "dbname" not in e for e in errors)
    assert received.seqs == list(range(1, 9))  # nothing lost, nothing twice
    assert [e.record for e in received.events] == [e.record for e in store.read_since(INC, 0)]
    assert all(e.incident == INC for e in received.events)


def test_a_follower_from_a_later_sequence_stops_promptly_and_refuses_a_broken_chain(
        store: SharedStore, stores: Callable[[], SharedStore]) -> None:
    seen = [note(store, f"n{n}") for n in range(3)]
    received = Received()
    follower = Follower(stores(), INC, 2, received, last_hash=seen[1].hash, poll_s=30.0)
    follower.start()
    assert received.wait_for(1, 5)
    began = time.monotonic()
    follower.stop()
    assert not follower.alive
    assert time.monotonic() - began < 5  # not left waiting out its 30 s poll
    assert received.seqs == [3]
    wrong = Received()
    broken = Follower(stores(), INC, 2, wrong, last_hash="f" * 64, poll_s=30.0).start()
    deadline = time.monotonic() + 5
    while broken.alive and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not broken.alive and wrong.events == []
    assert broken.error is not None and "event 3" in str(broken.error)
    broken.stop()


# -- which database ------------------------------------------------------------------------


@pytest.mark.parametrize(("a", "b", "same"), [
    ("host=localhost port=5432 dbname=rx", "postgresql://127.0.0.1/rx", True),
    ("host=/var/run/postgresql dbname=rx", "host=::1 dbname=rx", True),
    ("host=DB.prod.example. dbname=rx", "postgresql://app:pw@db.prod.example:5432/rx", True),
    ("host=a,db.prod port=5433,5432 dbname=rx", "host=db.prod dbname=rx", True),
    ("host=db.prod dbname=rx user=app", "host=db.prod user=rx", True),  # dbname defaults
    ("host=db.prod hostaddr=10.0.0.5 dbname=rx", "postgresql://10.0.0.5/rx", True),
    ("host=db.prod dbname=rx", "host=db.prod dbname=warroom", False),
    ("hostaddr=10.0.0.5 dbname=rx", "host=localhost dbname=rx", False),
    ("host=db.prod port=5433 dbname=rx", "host=db.prod dbname=rx", False),
    ("host=db.prod dbname=rx", "host=warroom.internal dbname=rx", False),
])
def test_same_database_compares_host_port_and_dbname_after_normalisation(
        a: str, b: str, same: bool) -> None:
    assert same_database(a, b) is same
    assert same_database(b, a) is same


def test_the_store_refuses_the_production_database_and_never_says_a_password(
        postgres_server: tuple[str, int]) -> None:
    host, port = postgres_server
    secret = "s3cret-pw-7f3a"
    prod = f"postgresql://app:{secret}@{host}:{port}/clinical"
    with pytest.raises(SameDatabase, match="production database") as refused:
        SharedStore(f"host=localhost port={port} dbname=clinical password={secret}",
                    production=[prod])
    assert secret not in str(refused.value)
    nowhere = SharedStore(f"host=127.0.0.1 port=9 dbname=warroom password={secret}",
                          connect_timeout_s=2, production=[prod])
    assert secret not in repr(nowhere)
    with pytest.raises(StoreUnavailable) as down:
        nowhere.migrate()
    assert secret not in str(down.value) and isinstance(down.value, StoreError)


def test_a_follower_catches_up_at_its_poll_an_event_whose_notification_never_came(
        store: SharedStore, stores: Callable[[], SharedStore], dsn: str) -> None:
    """An event committed with no NOTIFY (as if the notification were lost) still arrives:
    the follower reads by sequence at every poll."""
    first = note(store, "announced")
    received = Received()
    with Follower(stores(), INC, 0, received, poll_s=0.5):
        assert received.wait_for(1, 5)
        record = {"seq": 2, "t": "2026-12-02T05:31:00.000Z", "kind": "note.added",
                  "actor": {"user": "dana", "host": "bastion-1", "ssh_client": None},
                  "data": {"text": "silent"}, "prev": first.hash}
        record["hash"] = event_hash(record)
        with psycopg.connect(dsn, autocommit=True) as admin, admin.transaction():
            admin.execute(
                "INSERT INTO warroom_events (incident, seq, at, kind, actor, host, data, "
                "prev_hash, hash, body) VALUES (%s, 2, now(), 'note.added', 'dana', "
                "'bastion-1', '{}', %s, %s, %s)",
                (INC, first.hash, record["hash"], json.dumps(record)))
            admin.execute("UPDATE warroom_incidents SET last_seq = 2, head = %s WHERE id = %s",
                          (record["hash"], INC))
        assert received.wait_for(2, 5)
    assert received.seqs == [1, 2]
    assert received.events[1].record == record
