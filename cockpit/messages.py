"""Textual messages that carry the core's frozen results into the UI."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from cockpit.sources.base import SourceStatus


@dataclass
class SourceUpdated(Message):
    """A poller produced a new status for one source."""

    status: SourceStatus

    def can_replace(self, message: Message) -> bool:
        # A burst of updates from one source coalesces to the newest.
        return isinstance(message, SourceUpdated) and message.status.kind == self.status.kind
