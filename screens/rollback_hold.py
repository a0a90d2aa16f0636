"""The armed rollback's hold: the countdown and the exact command; enter confirms, any
other key cancels.

The runtime owns the hold (it counts down on the incident clock and runs the rollback at
its end); this modal only shows it and forwards the one answer. The app calls
:meth:`RollbackHoldScreen.show` at every tick and dismisses the modal when the hold ends
elsewhere (its time ran out, another cockpit answered).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from cockpit.runtime.armed import seconds_left
from cockpit.timeline.replay import RollbackHold


def _countdown(hold: RollbackHold, now: datetime) -> str:
    left = int(seconds_left(hold, now) + 0.999)
    if hold.automatic:
        return f"AUTOMATIC ROLLBACK in {left}s"
    return f"ROLLBACK NEEDS YOU: the hold ends in {left}s and nothing runs by itself"


class RollbackHoldScreen(ModalScreen[str | None]):
    """Dismisses with ``confirm`` (enter) or ``cancel`` (any other key); ``None`` when
    the app closes it because the hold ended."""

    CSS_PATH = Path(__file__).with_suffix(".tcss")

    def __init__(self, hold: RollbackHold, now: datetime, armed_by: str = "",
                 authority: str = "") -> None:
        super().__init__()
        self.hold = hold
        self.now = now
        self.armed_by = armed_by
        self.authority = authority

    def compose(self) -> ComposeResult:
        hold = self.hold
        with Vertical(id="hold-box"):
            yield Static(Content.styled(_countdown(hold, self.now), "bold"), id="hold-countdown")
            yield Static(Content(hold.why), id="hold-why")
            yield Static(Content.assemble("$ ", (hold.command, "bold")), id="hold-command")
            who = f"armed by {self.armed_by}" if self.armed_by else "armed"
            if self.authority:
                who += f" as {self.authority}"
            yield Static(Content(who + f" · trigger {hold.trigger}"), id="hold-armed")
            if hold.blocked:
                yield Static(Content.styled(f"Not automatic: {hold.blocked}", "bold"),
                             id="hold-blocked")
            action = ("roll back now" if hold.automatic else
                      "confirm it yourself" if hold.deployment else "end the hold")
            yield Static(Content(f"enter: {action} · any other key: cancel (nothing runs)"),
                         id="hold-keys")

    def show(self, hold: RollbackHold, now: datetime) -> None:
        """The countdown at ``now`` (repaints only when the second changes)."""
        self.hold, self.now = hold, now
        if not self.is_mounted:
            return
        text = _countdown(hold, now)
        countdown = self.query_one("#hold-countdown", Static)
        if str(countdown.content) != text:
            countdown.update(Content.styled(text, "bold"), layout=False)

    def on_key(self, event: events.Key) -> None:
        # every key is an answer: none reaches the war room's bindings behind the modal
        event.stop()
        event.prevent_default()
        self.dismiss("confirm" if event.key == "enter" else "cancel")
