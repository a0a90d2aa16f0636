"""The 15-minute status update: the pre-filled template, edited, then recorded (and posted)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static, TextArea


class StatusUpdateScreen(ModalScreen[tuple[str, bool] | None]):
    """Edit a status update; dismisses with ``(text, post_to_slack)`` or ``None``."""

    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "record(False)", "Record", id="status_update.record"),
        Binding("ctrl+o", "record(True)", "Record and post", id="status_update.post"),
        Binding("escape", "cancel", "Cancel", id="status_update.cancel"),
    ]

    def __init__(self, template: str, *, slack_configured: bool) -> None:
        """``template`` is the pre-filled text (``IncidentSession.status_update_template``)."""
        super().__init__()
        self.template = template
        self.slack_configured = slack_configured

    def compose(self) -> ComposeResult:
        with Vertical(id="status-box"):
            yield Static("[b]Status update[/b]  edit, then record (tab moves to the buttons)",
                         id="status-title")
            yield TextArea(self.template, id="status-text", soft_wrap=True,
                           show_line_numbers=False)
            if self.slack_configured:
                hint = "ctrl+s record   ctrl+o record and post to Slack   escape cancel"
            else:
                hint = ("Slack is not configured: the update is recorded only."
                        "   ctrl+s record   escape cancel")
            yield Static(hint, id="status-keys")
            with Horizontal(id="status-buttons"):
                yield Button("Record", id="status-record", variant="primary")
                yield Button("Record and post to Slack", id="status-post",
                             disabled=not self.slack_configured)

    def on_mount(self) -> None:
        # The template is a draft: the engineer reads and edits it before anything else.
        self.query_one(TextArea).focus()

    @on(Button.Pressed, "#status-record")
    def _record_pressed(self) -> None:
        self.action_record(False)

    @on(Button.Pressed, "#status-post")
    def _post_pressed(self) -> None:
        self.action_record(True)

    def action_record(self, post: bool) -> None:
        if post and not self.slack_configured:
            # said in the modal itself: nothing may cover it, and the status bar is under it
            self.query_one("#status-keys", Static).update(
                "[b]Slack is not configured[/b]: ctrl+s records only   escape cancel")
            return
        text = self.query_one(TextArea).text.strip()
        if not text:
            self.query_one("#status-keys", Static).update(
                "[b]The update is empty[/b]   escape cancel")
            return
        self.dismiss((text, post))

    def action_cancel(self) -> None:
        self.dismiss(None)
