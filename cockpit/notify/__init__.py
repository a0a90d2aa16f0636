"""Incident notifications: Slack, PagerDuty and email, through a persistent outbox.

The channels (which import httpx) live in :mod:`cockpit.notify.channels` and
are imported only when notifications are configured.
"""

from cockpit.notify.message import (
    Channel,
    DeliveryError,
    Notification,
    email_message,
    pagerduty_event,
    slack_rollback_message,
)
from cockpit.notify.outbox import Outbox, OutboxEntry

__all__ = [
    "Channel", "DeliveryError", "Notification", "Outbox", "OutboxEntry",
    "email_message", "pagerduty_event", "slack_rollback_message",
]
