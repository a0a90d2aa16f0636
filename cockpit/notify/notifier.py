"""The notifier: an outbox, the pump thread that delivers it, and the incident it reports to.

A :class:`Notifier` owns a persistent :class:`~cockpit.notify.outbox.Outbox` in the
incident's own folder (owner-only; one outbox per incident, never shared) and one daemon
thread (the pump) that sends what is due, sleeping until the next message is due or until
something is queued. Each attempt's outcome is journaled through the incident's ``record``
(``notification.delivered``, ``notification.failed`` with ``{channel, id, outcome, reason,
attempts}``, or ``notification.abandoned`` when the outbox gives up or the operator drops
a message), from the pump's thread, and every message quotes the journal ``head`` so a
reader can tell which record it came from. Both, and the incident folder, are attached
with :meth:`Notifier.bind` once the incident exists; ``on_abandoned`` tells the operator.

:meth:`Notifier.queue` persists a message for a ``notify.*`` step and
:meth:`Notifier.first_attempt` waits a few seconds for its first attempt, so the
step can say "delivered" when the channel answers at once; retries are left to
the pump. :meth:`Notifier.close`
stops the pump; what is still pending stays in the outbox for the next start.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cockpit.config import Config
from cockpit.notify.message import (
    Channel,
    Notification,
    Outcome,
    email_message,
    pagerduty_event,
)
from cockpit.notify.outbox import Outbox
from cockpit.timeline.kinds import EventKind as K

#: Longest the pump sleeps with nothing due (it is woken when something is queued).
IDLE_WAIT_S = 30.0

Record = Callable[[str, dict[str, Any]], object]


@dataclass(frozen=True)
class Sent:
    """How a queued message stood when :meth:`Notifier.first_attempt` stopped waiting."""

    entry_id: str
    outcome: str
    """``delivered``, ``failed`` (never retried), or ``pending`` (the pump retries it)."""
    detail: str
    """The channel's short reason ("Slack accepted (200)"), or why it is still pending."""


class Notifier:
    """Delivers notifications through a persistent outbox from its own pump thread.

    ``channels`` are the configured channels by name (``slack``, ``pagerduty``,
    ``email``); ``environment`` is quoted in every message; ``clean`` redacts a
    delivery's reason before it is journaled.
    """

    def __init__(self, folder: str | Path | None, channels: Mapping[str, Channel], *,
                 environment: str, clean: Callable[[str], str] = str,
                 wait_s: float = 3.0, **outbox_options: Any) -> None:
        self.channels = dict(channels)
        self._outbox_options = outbox_options
        self._clean = clean
        self.outbox: Outbox | None = None
        """The incident's outbox: opened by :meth:`bind` (or here when ``folder`` is given)."""
        if folder is not None:
            self.outbox = self._open_outbox(folder)
        self.environment = environment
        self.wait_s = wait_s
        """How long :meth:`first_attempt` waits at most."""
        self._record: Record | None = None
        self._head: Callable[[], str] | None = None
        self.on_abandoned: Callable[[str], None] | None = None
        """Told (from the pump's thread) a one-line reason when a message is given up on."""
        self._results: dict[str, tuple[Outcome, str]] = {}
        self._results_cond = threading.Condition()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._pump = threading.Thread(target=self._pump_loop, name="cockpit-outbox-pump",
                                      daemon=True)
        self._pump.start()

    # ------------------------------------------------------------ lifecycle

    def _open_outbox(self, folder: str | Path) -> Outbox:
        clean = self._clean if self._clean is not str else None  # None: the default redactor
        return Outbox(folder, self.channels, clean=clean, **self._outbox_options)

    def bind(self, record: Record | None, head: Callable[[], str] | None,
             folder: str | Path | None = None) -> None:
        """Journal deliveries through ``record``, quote ``head()`` in every message, and keep
        the outbox in ``folder`` (the incident's): what an earlier run left pending there is
        delivered now."""
        self._record = record
        self._head = head
        if folder is not None and (self.outbox is None or self.outbox.folder != Path(folder)):
            self.outbox = self._open_outbox(folder)
            self._wake.set()

    def close(self) -> None:
        """Stop the pump (waits for a delivery in progress, at most 15 s). Idempotent."""
        self._stopping.set()
        self._wake.set()
        self._pump.join(timeout=15)

    def configured(self, channel: str) -> bool:
        """Whether ``channel`` has a configured destination."""
        return channel in self.channels

    def head(self) -> str:
        """The bound journal head, or ``unknown`` (never raises)."""
        try:
            return (self._head() if self._head is not None else "") or "unknown"
        except Exception:  # noqa: BLE001 - a broken hook must not stop a notification
            return "unknown"

    # ------------------------------------------------------------ sending

    def message(self, channel: str, params: Mapping[str, Any], incident_id: str) -> Notification:
        """The notification a ``notify.<channel>`` action sends, stamped with the journal head."""
        head = self.head()
        env = self.environment
        if channel == "slack":
            text = f"{params['message']}\nJournal head: {head}"
            fields = [{"title": "Environment", "value": env, "short": True},
                      {"title": "Incident", "value": incident_id or "-", "short": True},
                      {"title": "Journal head", "value": head, "short": False}]
            return Notification("slack", f"Slack: {params['message'][:80]}",
                                {"text": text, "attachments": [{"fields": fields}]})
        if channel == "pagerduty":
            summary = f"{params['summary']} (Journal head: {head})"
            note = pagerduty_event(incident_id or f"rollback-cockpit-{env}", params["event"],
                                   summary, "rollback-cockpit")
            if params["event"] == "trigger":
                note.payload["payload"]["custom_details"] = {"journal_head": head,
                                                            "environment": env}
            return note
        body = f"{params['body']}\n\nEnvironment: {env}\nIncident: {incident_id or '-'}\n" \
               f"Journal head: {head}\n"
        note = email_message(params["subject"], body)
        note.payload["to"] = list(params["to"])
        return note

    def _box(self) -> Outbox:
        if self.outbox is None:
            raise LookupError("no incident is open: notifications are kept in its folder")
        return self.outbox

    def queue(self, note: Notification) -> str:
        """Persist ``note`` (redacted) in the incident's outbox and wake the pump; returns the
        entry's id."""
        entry_id = self._box().enqueue(note)
        self._wake.set()
        return entry_id

    def first_attempt(self, entry_id: str, *, wait_s: float | None = None,
                      cancelled: Callable[[], bool] = lambda: False) -> Sent:
        """How the first delivery attempt of ``entry_id`` went, waiting up to ``wait_s``
        (at most :attr:`wait_s`) and returning early, pending, when ``cancelled()``."""
        limit = self.wait_s if wait_s is None else min(self.wait_s, wait_s)
        deadline = time.monotonic() + limit
        with self._results_cond:
            while entry_id not in self._results:
                left = deadline - time.monotonic()
                if left <= 0 or cancelled():
                    return Sent(entry_id, "pending", "no answer yet")
                self._results_cond.wait(min(left, 0.2))
            outcome, detail = self._results[entry_id]
        shown = {"retrying": "pending", "abandoned": "failed"}.get(outcome, outcome)
        return Sent(entry_id, shown, detail)

    def drop(self, entry_id: str, reason: str = "dropped by the operator") -> None:
        """Stop delivering a message for good; journaled as ``notification.abandoned``."""
        entry = self._box().drop(entry_id, reason)
        self._journal(K.NOTIFICATION_ABANDONED, entry.notification.channel, entry_id,
                      "dropped", reason, entry.attempts)

    def retry(self, entry_id: str) -> None:
        """Deliver a refused or abandoned message again (fresh attempts, due now)."""
        self._box().retry(entry_id)
        self._wake.set()

    def post_status_update(self, text: str) -> str:
        """Queue a status update to Slack (no waiting); returns ``"slack"``.

        Raises :class:`LookupError` when no Slack channel is configured.
        """
        if not self.configured("slack"):
            raise LookupError("no Slack channel is configured ([slack] in the config)")
        self.queue(Notification("slack", f"Slack: status update: {text[:60]}",
                                {"text": f"{text}\nJournal head: {self.head()}"}))
        return "slack"

    # ------------------------------------------------------------ the pump

    def _pump_loop(self) -> None:
        """Deliver due messages until :meth:`close`; sleeps until the next one is due."""
        while not self._stopping.is_set():
            box = self.outbox
            try:
                results = box.deliver_due() if box is not None else []
            except Exception:  # noqa: BLE001 - the pump must survive a broken disk or channel
                results = []
            for entry_id, outcome, detail in results:
                self._report(entry_id, outcome, detail)
            due = box.next_due() if box is not None else None
            wait = IDLE_WAIT_S if due is None else \
                max(0.05, (due - datetime.now(UTC)).total_seconds())
            self._wake.wait(min(wait, IDLE_WAIT_S))
            self._wake.clear()

    def _report(self, entry_id: str, outcome: Outcome, detail: str) -> None:
        with self._results_cond:
            self._results.setdefault(entry_id, (outcome, detail))
            self._results_cond.notify_all()
        entry = self.outbox.entry(entry_id) if self.outbox is not None else None
        if entry is None:
            return
        kind = {"delivered": K.NOTIFICATION_DELIVERED,
                "abandoned": K.NOTIFICATION_ABANDONED}.get(outcome, K.NOTIFICATION_FAILED)
        self._journal(kind, entry.notification.channel, entry_id, outcome, detail,
                      entry.attempts)

    def _journal(self, kind: str, channel: str, entry_id: str, outcome: str, detail: str,
                 attempts: int) -> None:
        reason = self._clean(detail)
        if kind == K.NOTIFICATION_ABANDONED and self.on_abandoned is not None:
            try:
                self.on_abandoned(f"{channel} message {entry_id} not delivered: {reason}")
            except Exception:  # noqa: BLE001, S110 - telling the operator must not kill the pump
                pass
        if self._record is None:
            return
        data = {"channel": channel, "id": entry_id, "outcome": outcome,
                "reason": reason, "attempts": attempts}
        try:
            self._record(kind, data)
        except Exception:  # noqa: BLE001, S110 - journaling a delivery must never kill the pump
            pass


def build_notifier(config: Config, state_dir: str | Path | None = None, *, read_only: bool,
                   clean: Callable[[str], str] = str, wait_s: float = 3.0,
                   channels: Mapping[str, Channel] | None = None) -> Notifier:
    """The notifier for ``config``: a channel per configured section (read-only channels
    refuse to send); its outbox is opened in the incident's folder by :meth:`Notifier.bind`
    (``state_dir`` is no longer used: one outbox per incident). ``channels`` overrides the
    configured ones (tests)."""
    del state_dir
    if channels is None:
        channels = {}
        if any((config.slack, config.pagerduty, config.email)):
            from cockpit.notify.channels import build_channels  # httpx: only when configured

            channels = build_channels(config, read_only=read_only)
    return Notifier(None, channels, environment=config.cockpit.environment, clean=clean,
                    wait_s=wait_s)
