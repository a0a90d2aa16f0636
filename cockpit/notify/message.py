"""Notifications as data: what goes into the outbox, and delivery errors."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal, Protocol

Outcome = Literal["delivered", "retrying", "failed", "abandoned"]

#: PagerDuty Events API v2 actions.
PD_ACTIONS = ("trigger", "acknowledge", "resolve")
PD_SEVERITIES = ("critical", "error", "warning", "info")


@dataclass(frozen=True)
class Notification:
    """One message for one channel. ``payload`` never holds a secret (URLs and keys are
    added by the channel at send time), so it can be persisted in the outbox."""

    channel: str
    """``slack``, ``pagerduty`` or ``email``."""
    summary: str
    """One line for the journal and the screen."""
    payload: dict[str, Any] = field(default_factory=dict)
    """The channel-specific body (Slack JSON, PagerDuty event without routing key, mail)."""


class DeliveryError(Exception):
    """A send failed; ``str()`` is a short reason with no URL or key in it."""

    def __init__(self, reason: str, retryable: bool, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.retryable = retryable
        """True for 429, 5xx and network errors; False for 4xx that will never succeed."""
        self.retry_after_s = retry_after_s
        """What the server asked us to wait (Retry-After), if anything."""


class Channel(Protocol):
    """Something that can send a :class:`Notification` payload, blocking, with a timeout."""

    name: str

    def send(self, payload: dict[str, Any]) -> str:
        """Send; return a short detail (``"200 ok"``) or raise :class:`DeliveryError`."""
        ...


def slack_rollback_message(environment: str, reason: str, initiated_by: str, eta: str,
                           journal_head: str, text: str = "") -> Notification:
    """The procedures' Slack alert: the red attachment with Environment, Reason,
    Initiated By and ETA, plus the journal head hash so readers can verify the record."""
    fields = [
        {"title": "Environment", "value": environment, "short": True},
        {"title": "Reason", "value": reason, "short": True},
        {"title": "Initiated By", "value": initiated_by, "short": True},
        {"title": "ETA", "value": eta, "short": True},
        # the signed head COUNT:HASH is quoted whole (a long incident's count has digits
        # to spare); a bare hash is shortened
        {"title": "Journal head",
         "value": journal_head if ":" in journal_head else journal_head[:16], "short": False},
    ]
    payload = {
        "text": text or "🚨 CRITICAL: Production rollback initiated",
        "attachments": [{"color": "danger", "fields": fields}],
    }
    return Notification("slack", f"Slack: rollback initiated ({reason})", payload)


def pagerduty_event(incident_id: str, action: str, summary: str, source: str,
                    severity: str = "critical") -> Notification:
    """A PagerDuty v2 event; the dedup key is the incident id, the same on every retry."""
    if action not in PD_ACTIONS:
        raise ValueError(f"PagerDuty event_action must be one of {', '.join(PD_ACTIONS)}")
    if severity not in PD_SEVERITIES:
        raise ValueError(f"PagerDuty severity must be one of {', '.join(PD_SEVERITIES)}")
    payload: dict[str, Any] = {"event_action": action, "dedup_key": incident_id}
    if action == "trigger":
        payload["payload"] = {"summary": summary[:1024], "source": source, "severity": severity}
    return Notification("pagerduty", f"PagerDuty {action}: {summary}", payload)


def email_message(subject: str, body: str, urgent: bool = True) -> Notification:
    """A plain-text mail to the configured recipients."""
    return Notification("email", f"Email: {subject}",
                        {"subject": subject, "body": body, "urgent": urgent})


def parse_retry_after(raw: str | None, now: datetime | None = None) -> float | None:
    """A ``Retry-After`` header in seconds from ``now``: delay-seconds or an HTTP date.

    Returns the server's value unclamped (it may be ``inf``, huge, zero or negative: the
    outbox clamps it to its own bounds), or None when the header is absent or not one of
    the two forms (``soon``, ``NaN``, an unparseable date).
    """
    if raw is None:
        return None
    text = raw.strip()
    if not text or len(text) > 64:  # an HTTP date is 29 characters; this is no header of ours
        return None
    try:
        value = float(text)
    except ValueError:
        pass
    else:
        return None if math.isnan(value) else value
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - (now or datetime.now(UTC))).total_seconds()


_SLACK_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def slack_escape(text: str) -> str:
    """``text`` as Slack shows it literally: ``&``, ``<`` and ``>`` escaped as Slack
    documents, so ``<!channel>``, ``<@U123>`` and ``<url|label>`` arrive as plain text."""
    return text.translate(_SLACK_ESCAPES)


def slack_escaped(payload: Any) -> Any:
    """A Slack message body with every text escaped by :func:`slack_escape` (the keys and
    non-text values are left as they are)."""
    if isinstance(payload, str):
        return slack_escape(payload)
    if isinstance(payload, dict):
        return {key: slack_escaped(value) for key, value in payload.items()}
    if isinstance(payload, list | tuple):
        return [slack_escaped(value) for value in payload]
    return payload
