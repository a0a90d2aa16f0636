"""Following an incident's shared log: wake on NOTIFY, catch up by sequence.

A :class:`Follower` is a thread with a connection of its own: it ``LISTEN``s on the store's
channel, then reads the incident's events after its last sequence, and again whenever a
notification names the incident or ``poll_s`` passes without one (a notification missed
while it was reading, or lost with a connection, is caught up at the next poll). Each read's
events go to ``on_events`` in order, checked first: contiguous sequences, each ``prev`` the
previous ``hash``, each hash its record's. It never hands an event twice nor skips one.

When the connection drops (the server restarted, the backend was terminated, the network
went) it reconnects with a growing backoff, listens again and catches up from its last
sequence: listening *before* reading means nothing committed in between is missed.
:meth:`Follower.stop` ends it promptly, whatever it is waiting on.
"""

from __future__ import annotations

import os
import select
import threading
from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from cockpit.timeline.journal import GENESIS
from cockpit.warroom.store import (
    CHANNEL,
    SharedStore,
    StoredEvent,
    StoreError,
    check_chain,
    check_incident_id,
    describe_error,
    read_events,
)

OnEvents = Callable[[Sequence[StoredEvent]], None]

#: Seconds between reconnection attempts: doubling from the first, capped at the second.
BACKOFF_S = (0.1, 5.0)
#: The most events one read hands on (a long catch-up comes in batches).
BATCH = 1000


class ChainBroken(StoreError):
    """The store's log does not chain on from what the follower already has."""


class _HandlerFailed(Exception):
    """``on_events`` raised (its exception is the cause)."""


class Follower:
    """Follow one incident's log from ``last_seq`` (its hash ``last_hash``; GENESIS at 0)."""

    def __init__(self, store: SharedStore, incident: str, last_seq: int, on_events: OnEvents,
                 *, last_hash: str | None = None, poll_s: float = 2.0,
                 backoff_s: tuple[float, float] = BACKOFF_S,
                 on_error: Callable[[str], None] | None = None) -> None:
        """``last_hash`` is checked against the next event's ``prev`` (``None``: not checked
        for the first event read, unless ``last_seq`` is 0). ``on_error`` hears each dropped
        connection's reason (no DSN in it)."""
        self.store = store
        self.incident = check_incident_id(incident)
        self.last_seq = last_seq
        self.last_hash = GENESIS if last_seq == 0 and last_hash is None else last_hash
        self.on_events = on_events
        self.poll_s = poll_s
        self.backoff_s = backoff_s
        self.on_error = on_error
        #: the reason it stopped on its own (a broken chain, an error in ``on_events``)
        self.error: BaseException | None = None
        self.reconnects = 0
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        self._pipe_closed = False
        self._conn: psycopg.Connection[Any] | None = None
        self._pid: int | None = None
        self._pending = False
        self._thread = threading.Thread(target=self._main, daemon=True,
                                        name=f"warroom-follow-{incident}")

    # -- control --------------------------------------------------------------------------

    def start(self) -> Follower:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop and wait for the thread (it wakes at once, even mid-backoff)."""
        self._stop.set()
        if self._pipe_closed:
            return
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._thread.is_alive():
            return  # still inside on_events: its pipe stays open
        self._pipe_closed = True
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self) -> Follower:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def backend_pid(self) -> int | None:
        """The server process of its current connection (``None`` while disconnected)."""
        return self._pid if self.connected.is_set() else None

    # -- the thread -----------------------------------------------------------------------

    def _main(self) -> None:
        delay = self.backoff_s[0]
        while not self._stop.is_set():
            try:
                self._session()
                return  # stopped
            except _HandlerFailed as exc:
                self.error = exc.__cause__  # on_events failed: stop, and keep why
                self._close()
                return
            except ChainBroken as exc:
                self.error = exc
                self._close()
                return
            except (psycopg.Error, OSError, StoreError) as exc:
                self._drop(exc)
            if self._wait(delay):
                return
            delay = min(delay * 2, self.backoff_s[1])
            self.reconnects += 1

    def _session(self) -> None:
        """One connection's life: listen, catch up, then wait and read until it drops."""
        conn = self.store.connect()
        self._conn = conn
        self._pid = conn.info.backend_pid
        conn.add_notify_handler(self._notified)
        conn.execute("LISTEN " + CHANNEL)
        self.connected.set()
        self._catch_up(conn)
        fd = conn.fileno()
        while not self._stop.is_set():
            ready, _, _ = select.select([fd, self._wake_r], [], [], self.poll_s)
            if self._stop.is_set():
                break
            if fd in ready:
                # the notifications are read as psycopg processes the connection's input
                conn.execute("SELECT 1")
            if self._pending or not ready:
                self._catch_up(conn)
        self._close()

    def _notified(self, notify: psycopg.Notify) -> None:
        incident, _, _seq = notify.payload.rpartition(":")
        if incident == self.incident:
            self._pending = True

    def _catch_up(self, conn: psycopg.Connection[Any]) -> None:
        while not self._stop.is_set():
            self._pending = False
            events = read_events(conn, self.incident, self.last_seq, BATCH)
            if not events:
                return
            problem = check_chain(events, after_seq=self.last_seq,
                                  after_hash=self.last_hash or events[0].prev)
            if problem is not None:
                raise ChainBroken(f"{self.incident}: event {problem.seq}: {problem.reason}")
            try:
                self.on_events(events)
            except Exception as exc:
                raise _HandlerFailed() from exc
            self.last_seq, self.last_hash = events[-1].seq, events[-1].hash
            if len(events) < BATCH:
                return

    def _drop(self, exc: BaseException) -> None:
        self.connected.clear()
        self._close()
        if self.on_error is not None:
            self.on_error(f"shared store {self.store.target}: {describe_error(exc)}")

    def _close(self) -> None:
        self.connected.clear()
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except psycopg.Error:
                pass

    def _wait(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless stopped first; True if stopped."""
        try:
            select.select([self._wake_r], [], [], seconds)
        except (OSError, ValueError):
            pass
        return self._stop.is_set()
