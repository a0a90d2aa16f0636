"""A persistent outbox: notifications survive a restart and are retried with backoff.

The outbox is a JSON-lines file (``outbox.jsonl``) in the incident's folder, owner-only
(folder 0700, file 0600, never written through a symlink). It is append-only: an
``enqueue`` record per message, then one record per delivery attempt (and a ``drop`` or
``retry`` when the operator says so); loading replays the records. Payloads never hold
secrets (channels add URLs and keys at send time), every text in them passes the
redactor before it is written (no SSN sits in the file), and failure details are the
channels' own short reasons, so the file is safe to keep with the record.

:meth:`Outbox.deliver_due` sends what is due in the caller's thread (the notifier's pump).
429, 5xx and network errors are retried with exponential backoff (``base * 2**(n-1)``,
capped at ``max_backoff_s``, with jitter so that several cockpits do not retry in step),
honouring ``Retry-After`` clamped to [1 s, ``max_backoff_s``]; 400/401/403/404 are never
retried. After ``max_attempts`` the outbox gives up: the outcome is ``abandoned``, reported
like every other outcome (the notifier journals ``notification.abandoned``), and the
message *stays in the outbox* (state ``abandoned``) until the operator retries or drops it.
Each outcome is reported through ``on_outcome(channel, summary, outcome, detail)``.
"""

from __future__ import annotations

import json
import math
import os
import random
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cockpit.notify.message import Channel, DeliveryError, Notification, Outcome
from cockpit.paths import PRIVATE_FILE_MODE, UnsafePathError, make_private_dir, open_private_append

OUTBOX_FILE = "outbox.jsonl"
#: Shortest wait between two attempts, whatever a server or the backoff says.
MIN_WAIT_S = 1.0

OnOutcome = Callable[[str, str, Outcome, str], None]

#: entry states: still to send / sent / refused for good / given up on / dropped by the operator
STATES = ("pending", "delivered", "failed", "abandoned", "dropped")


@dataclass(frozen=True)
class OutboxEntry:
    """One message and where its delivery stands."""

    id: str
    notification: Notification
    created_at: datetime
    state: str = "pending"
    """``pending``, ``delivered``, ``failed`` (refused for good), ``abandoned`` (given up
    after the last retry) or ``dropped`` (by the operator)."""
    attempts: int = 0
    next_at: datetime | None = None
    """When the next attempt is due (None = now)."""
    detail: str = ""
    """The last outcome's short reason."""


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def clamp_wait(seconds: float | None, maximum: float) -> float | None:
    """A server's ``Retry-After`` (already in seconds) as a wait in [1 s, ``maximum``].

    ``inf`` and huge values wait ``maximum``; ``0``, negative values and a date in the past
    wait 1 s (never a burst of attempts); NaN or None is no advice (None: use the backoff).
    """
    if seconds is None or math.isnan(seconds):
        return None
    top = max(MIN_WAIT_S, maximum)
    return min(top, max(MIN_WAIT_S, seconds))


#: Payload keys that address or classify a message rather than say something: kept as
#: they are (a redacted recipient would send the mail nowhere).
ADDRESS_KEYS = frozenset({"to", "dedup_key", "event_action", "severity", "source", "color",
                          "urgent", "short"})


def _clean_value(value: Any, clean: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, Mapping):
        return {k: v if k in ADDRESS_KEYS else _clean_value(v, clean) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean_value(v, clean) for v in value]
    return value


class Outbox:
    """Notifications waiting for delivery, persisted in ``folder/outbox.jsonl``.

    ``clean`` redacts every text of a message before it is written (the notifier passes
    the cockpit's redactor); ``rng`` draws the jitter (tests pass a seeded one).
    """

    def __init__(self, folder: str | Path, channels: Mapping[str, Channel],
                 on_outcome: OnOutcome | None = None, *, base_backoff_s: float = 5.0,
                 max_backoff_s: float = 300.0, max_attempts: int = 20,
                 jitter: float = 0.5, clean: Callable[[str], str] | None = None,
                 rng: random.Random | None = None) -> None:
        self.folder = Path(folder)
        self.path = self.folder / OUTBOX_FILE
        self.channels = dict(channels)
        self.on_outcome = on_outcome
        self.base_backoff_s = max(MIN_WAIT_S, base_backoff_s)
        self.max_backoff_s = max(self.base_backoff_s, max_backoff_s)
        """The cap of the backoff and of a server's ``Retry-After``."""
        self.max_attempts = max(1, max_attempts)
        self.jitter = min(max(jitter, 0.0), 1.0)
        """The share of each backoff drawn at random (0.5: between half and all of it)."""
        self._clean = clean if clean is not None else _default_clean()
        self._rng = rng or random.Random()  # noqa: S311 - retry jitter, not security
        self._lock = threading.Lock()
        self._delivering = threading.Lock()
        self._entries: dict[str, OutboxEntry] = {}
        self._load()

    # -- persistence -------------------------------------------------------
    def _load(self) -> None:
        if self.path.is_symlink():
            raise UnsafePathError(f"{self.path} is a symbolic link: refusing to read the outbox")
        if not self.path.exists():
            return
        fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW)
        if os.fstat(fd).st_uid == os.getuid():
            os.fchmod(fd, PRIVATE_FILE_MODE)  # an older cockpit's 0644 outbox: owner-only now
        with os.fdopen(fd, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                line = line.strip()
                if not line:
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a torn last line after a crash: the message is simply re-queued
                if isinstance(record, dict):
                    try:
                        self._apply(record)
                    except (KeyError, TypeError, ValueError):
                        continue  # a damaged line costs that line, not the outbox

    def _apply(self, record: dict[str, Any]) -> None:
        op = record.get("op")
        entry = self._entries.get(str(record.get("id")))
        if op == "enqueue":
            note = Notification(str(record["channel"]), str(record["summary"]),
                                dict(record.get("payload") or {}))
            created = _parse(record.get("at")) or datetime.now(UTC)
            self._entries[str(record["id"])] = OutboxEntry(str(record["id"]), note, created)
        elif entry is None:
            return
        elif op == "attempt":
            outcome = record.get("outcome")
            state = outcome if outcome in ("delivered", "failed", "abandoned") else "pending"
            self._entries[entry.id] = replace(
                entry, state=state, attempts=int(record.get("attempts", entry.attempts + 1)),
                next_at=_parse(record.get("next_at")), detail=str(record.get("detail", "")))
        elif op == "drop":
            self._entries[entry.id] = replace(entry, state="dropped",
                                              detail=str(record.get("detail", "")))
        elif op == "retry":
            self._entries[entry.id] = replace(entry, state="pending", next_at=None,
                                              attempts=0, detail=str(record.get("detail", "")))

    def _write(self, record: dict[str, Any]) -> None:
        make_private_dir(self.folder)
        fd = open_private_append(self.path)
        try:
            os.write(fd, (json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
                     .encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)

    # -- API ---------------------------------------------------------------
    def enqueue(self, notification: Notification, now: datetime | None = None) -> str:
        """Persist a message (redacted) for delivery; returns its id. Due immediately."""
        at = now or datetime.now(UTC)
        entry_id = uuid.uuid4().hex[:12]
        record = {"op": "enqueue", "id": entry_id, "channel": notification.channel,
                  "summary": self._clean(notification.summary),
                  "payload": _clean_value(notification.payload, self._clean),
                  "at": _iso(at)}
        with self._lock:
            self._write(record)
            self._apply(record)
        return entry_id

    def entries(self) -> list[OutboxEntry]:
        """Every message, oldest first."""
        with self._lock:
            return sorted(self._entries.values(), key=lambda e: e.created_at)

    def entry(self, entry_id: str) -> OutboxEntry | None:
        """The message with this id, if any."""
        with self._lock:
            return self._entries.get(entry_id)

    def pending(self) -> list[OutboxEntry]:
        """Messages still being delivered (neither sent, refused, given up on nor dropped)."""
        return [e for e in self.entries() if e.state == "pending"]

    def undelivered(self) -> list[OutboxEntry]:
        """Messages that have not reached their channel and were not dropped."""
        return [e for e in self.entries() if e.state in ("pending", "failed", "abandoned")]

    def next_due(self) -> datetime | None:
        """When the earliest pending message is due, or None if nothing is pending."""
        times = [e.next_at or e.created_at for e in self.pending()]
        return min(times) if times else None

    def backoff(self, attempts: int) -> float:
        """The longest wait after ``attempts`` failed attempts (exponential, capped)."""
        exponent = min(max(0, attempts - 1), 62)
        return min(self.max_backoff_s, self.base_backoff_s * (2 ** exponent))

    def _wait(self, attempts: int, retry_after_s: float | None) -> float:
        advised = clamp_wait(retry_after_s, self.max_backoff_s)
        if advised is not None:
            return advised
        ceiling = self.backoff(attempts)
        drawn = ceiling * (1.0 - self.jitter * self._rng.random())
        return max(MIN_WAIT_S, drawn)

    def drop(self, entry_id: str, reason: str = "dropped by the operator") -> OutboxEntry:
        """Stop delivering ``entry_id`` for good (recorded in the outbox); returns it."""
        return self._mark(entry_id, "drop", reason, ("pending", "failed", "abandoned"))

    def retry(self, entry_id: str, reason: str = "retry asked by the operator") -> OutboxEntry:
        """Deliver a refused or abandoned message again, from now, with fresh attempts."""
        return self._mark(entry_id, "retry", reason, ("failed", "abandoned"))

    def _mark(self, entry_id: str, op: str, reason: str, allowed: tuple[str, ...]) -> OutboxEntry:
        with self._lock:
            entry = self._entries.get(entry_id)
            if entry is None:
                raise KeyError(f"no message {entry_id} in the outbox")
            if entry.state not in allowed:
                raise ValueError(f"message {entry_id} is {entry.state}: cannot {op} it")
            record = {"op": op, "id": entry_id, "detail": self._clean(reason),
                      "at": _iso(datetime.now(UTC))}
            self._write(record)
            self._apply(record)
            return self._entries[entry_id]

    def deliver_due(self, now: datetime | None = None) -> list[tuple[str, Outcome, str]]:
        """Send every pending message that is due, in this thread.

        Returns ``(entry id, outcome, detail)`` for each attempt. A second
        concurrent call returns at once (one delivery round at a time).
        """
        at = now or datetime.now(UTC)
        if not self._delivering.acquire(blocking=False):
            return []
        try:
            due = [e for e in self.pending() if (e.next_at or e.created_at) <= at]
            return [self._attempt(entry, at, live=now is None) for entry in due]
        finally:
            self._delivering.release()

    def _attempt(self, entry: OutboxEntry, at: datetime,
                 live: bool = False) -> tuple[str, Outcome, str]:
        """One attempt; the next is due ``wait`` after this one *ended* (on the wall clock
        when ``live``, else after ``at``), so a slow answer never shortens the wait."""
        note = entry.notification
        attempts = entry.attempts + 1
        next_at: datetime | None = None
        channel = self.channels.get(note.channel)
        outcome: Outcome
        if channel is None:
            outcome, detail = "failed", f"channel {note.channel} is not configured"
        else:
            try:
                detail = channel.send(note.payload)
                outcome = "delivered"
            except DeliveryError as exc:
                detail = str(exc)
                if not exc.retryable:
                    outcome = "failed"
                elif attempts >= self.max_attempts:
                    spent = _duration(at - entry.created_at)
                    outcome = "abandoned"
                    detail = (f"{detail}; gave up after {attempts} attempts over {spent}: "
                              "kept in the outbox until retried or dropped")
                else:
                    wait = self._wait(attempts, exc.retry_after_s)
                    ended = datetime.now(UTC) if live else at
                    next_at = max(at, ended) + timedelta(seconds=wait)
                    outcome = "retrying"
                    detail = f"{detail}; retry in {wait:.3g}s"
            except Exception as exc:  # noqa: BLE001 - a bug in a channel must not stop delivery
                outcome, detail = "failed", f"unexpected error ({type(exc).__name__})"
        detail = self._clean(detail)
        record = {"op": "attempt", "id": entry.id, "outcome": outcome, "detail": detail,
                  "attempts": attempts, "next_at": _iso(next_at), "at": _iso(at)}
        with self._lock:
            self._write(record)
            self._apply(record)
        if self.on_outcome is not None:
            self.on_outcome(note.channel, note.summary, outcome, detail)
        return entry.id, outcome, detail


def _duration(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def _default_clean() -> Callable[[str], str]:
    from cockpit.timeline.redact import default_redactor

    return default_redactor().redact_text
