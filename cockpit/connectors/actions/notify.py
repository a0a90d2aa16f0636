"""``notify.*`` actions: one handler that hands the message to the notifier.

The step enqueues the message in the persistent outbox of
:class:`cockpit.notify.notifier.Notifier`, waits a few seconds for the first
attempt (made by the notifier's pump thread) and returns: ``delivered``,
``not delivered`` for a permanent refusal, or ``delivery pending`` while the pump
retries in the background.
"""

from __future__ import annotations

from dataclasses import replace

from cockpit.actions.executor import ActionResult
from cockpit.actions.types import ResolvedAction
from cockpit.connectors.actions.base import Call, Fail
from cockpit.notify.notifier import Notifier

#: The channel each notify action type sends to.
CHANNELS: dict[str, str] = {
    "notify.slack": "slack", "notify.pagerduty": "pagerduty", "notify.email": "email",
}


class NotifyActions:
    """The ``notify.*`` handler."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier

    def send(self, action: ResolvedAction, call: Call) -> ActionResult:
        """Queue the action's message to its channel and report the first attempt."""
        channel = CHANNELS[action.type]
        if not self.notifier.configured(channel):
            raise Fail(f"{channel} is not configured ([{channel}] in the config); nothing sent")
        note = self.notifier.message(channel, action.params, call.ctx.incident_id)
        entry_id = self.notifier.queue(note)
        call.say(f"{channel}: queued ({entry_id})")
        sent = self.notifier.first_attempt(entry_id, wait_s=call.ctx.remaining(),
                                           cancelled=call.ctx.cancelled)
        if sent.outcome == "delivered":
            call.say(f"{channel}: delivered: {sent.detail}")
            return replace(call.ok(), delivered=True)
        if sent.outcome == "failed":
            raise Fail(f"{channel}: not delivered: {sent.detail}")
        why = f": {sent.detail}" if sent.detail else ""
        call.say(f"{channel}: queued; delivery continues in the background{why}")
        # the step is done (the message is in the outbox), but nobody is told until the
        # delivery of this entry is recorded: a notified guard waits for that
        return replace(call.ok(detail=f"{channel} delivery pending{why}"),
                       notification_id=entry_id)
