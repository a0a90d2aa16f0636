"""Incident notifications: Slack, PagerDuty and email, through a persistent outbox.

The channels (which import httpx) live in :mod:`cockpit.notify.channels` and
are imported only when notifications are configured; :mod:`cockpit.notify.notifier`
is the outbox's pump thread and the incident it journals deliveries to.
"""

from cockpit.notify.message import (
    Channel,
    DeliveryError,
    Notification,
    email_message,
    pagerduty_event,
    slack_rollback_message,
)
from cockpit.notify.notifier import Notifier, build_notifier
from cockpit.notify.outbox import Outbox, OutboxEntry

__all__ = [
    "Channel", "DeliveryError", "Notification", "Notifier", "Outbox", "OutboxEntry",
    "build_notifier",
    "email_message", "pagerduty_event", "slack_rollback_message",
]
