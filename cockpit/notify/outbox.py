"""A persistent outbox: notifications survive a restart and are retried with backoff.

The outbox is a JSON-lines file (``outbox.jsonl``) in the incident folder. It
is append-only: an ``enqueue`` record per message, then one record per
delivery attempt; loading replays the records. Payloads never hold secrets
(channels add URLs and keys at send time) and failure details are the
channels' own short reasons, so the file is safe to keep with the record.

:meth:`Outbox.deliver_due` sends what is due in the caller's thread (the app
calls it from a worker). 429, 5xx and network errors are retried with
exponential backoff, honouring ``Retry-After``; 400/401/403/404 are never
retried. Each outcome is reported through ``on_outcome(channel, summary,
outcome, detail)`` so the app can journal it.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cockpit.notify.message import Channel, DeliveryError, Notification, Outcome

OUTBOX_FILE = "outbox.jsonl"

OnOutcome = Callable[[str, str, Outcome, str], None]


@dataclass(frozen=True)
class OutboxEntry:
    """One message and where its delivery stands."""

    id: str
    notification: Notification
    created_at: datetime
    state: str = "pending"
    """``pending``, ``delivered`` or ``failed``."""
    attempts: int = 0
    next_at: datetime | None = None
    """When the next attempt is due (None = now)."""
    detail: str = ""
    """The last outcome's short reason."""


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class Outbox:
    """Notifications waiting for delivery, persisted in ``folder/outbox.jsonl``."""

    def __init__(self, folder: str | Path, channels: Mapping[str, Channel],
                 on_outcome: OnOutcome | None = None, *, base_backoff_s: float = 5.0,
                 max_backoff_s: float = 300.0, max_attempts: int = 8) -> None:
        self.folder = Path(folder)
        self.path = self.folder / OUTBOX_FILE
        self.channels = dict(channels)
        self.on_outcome = on_outcome
        self.base_backoff_s = base_backoff_s
        self.max_backoff_s = max_backoff_s
        self.max_attempts = max_attempts
        self._lock = threading.Lock()
        self._delivering = threading.Lock()
        self._entries: dict[str, OutboxEntry] = {}
        self._load()

    # -- persistence -------------------------------------------------------
    def _load(self) -> None:
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as handle:
            for line in handle:
                line = line.strip()
                if not line:
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a torn last line after a crash: the message is simply re-queued
                self._apply(record)

    def _apply(self, record: dict[str, Any]) -> None:
        op = record.get("op")
        if op == "enqueue":
            note = Notification(record["channel"], record["summary"], record.get("payload", {}))
            created = _parse(record.get("at")) or datetime.now(UTC)
            self._entries[record["id"]] = OutboxEntry(record["id"], note, created)
        elif op == "attempt" and record.get("id") in self._entries:
            entry = self._entries[record["id"]]
            state = {"delivered": "delivered", "failed": "failed"}.get(record["outcome"], "pending")
            self._entries[entry.id] = replace(
                entry, state=state, attempts=int(record.get("attempts", entry.attempts + 1)),
                next_at=_parse(record.get("next_at")), detail=record.get("detail", ""))

    def _write(self, record: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    # -- API ---------------------------------------------------------------
    def enqueue(self, notification: Notification, now: datetime | None = None) -> str:
        """Persist a message for delivery; returns its id. Due immediately."""
        at = now or datetime.now(UTC)
        entry_id = uuid.uuid4().hex[:12]
        record = {"op": "enqueue", "id": entry_id, "channel": notification.channel,
                  "summary": notification.summary, "payload": notification.payload,
                  "at": _iso(at)}
        with self._lock:
            self._write(record)
            self._apply(record)
        return entry_id

    def entries(self) -> list[OutboxEntry]:
        """Every message, oldest first."""
        with self._lock:
            return sorted(self._entries.values(), key=lambda e: e.created_at)

    def pending(self) -> list[OutboxEntry]:
        """Messages not yet delivered nor given up on."""
        return [e for e in self.entries() if e.state == "pending"]

    def next_due(self) -> datetime | None:
        """When the earliest pending message is due, or None if nothing is pending."""
        times = [e.next_at or e.created_at for e in self.pending()]
        return min(times) if times else None

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after ``attempts`` failed attempts (exponential, capped)."""
        return min(self.max_backoff_s, self.base_backoff_s * (2 ** max(0, attempts - 1)))

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
            return [self._attempt(entry, at) for entry in due]
        finally:
            self._delivering.release()

    def _attempt(self, entry: OutboxEntry, at: datetime) -> tuple[str, Outcome, str]:
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
                    outcome, detail = "failed", f"{detail}; gave up after {attempts} attempts"
                else:
                    wait = self.backoff(attempts)
                    if exc.retry_after_s is not None:
                        wait = max(exc.retry_after_s, 0.0)
                    next_at = at + timedelta(seconds=wait)
                    outcome = "retrying"
                    detail = f"{detail}; retry in {wait:g}s"
            except Exception as exc:  # noqa: BLE001 - a bug in a channel must not stop delivery
                outcome, detail = "failed", f"unexpected error ({type(exc).__name__})"
        record = {"op": "attempt", "id": entry.id, "outcome": outcome, "detail": detail,
                  "attempts": attempts, "next_at": _iso(next_at), "at": _iso(at)}
        with self._lock:
            self._write(record)
            self._apply(record)
        if self.on_outcome is not None:
            self.on_outcome(note.channel, note.summary, outcome, detail)
        return entry.id, outcome, detail
