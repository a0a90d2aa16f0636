"""A note for the incident record: one line, saved with enter or ctrl+s."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class NoteScreen(ModalScreen[str | None]):
    """Ask for a note; dismisses with its text, or ``None`` when cancelled."""

    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="note.save"),
        Binding("escape", "cancel", "Cancel", id="note.cancel"),
    ]

    def __init__(self, incident_id: str = "", text: str = "") -> None:
        """``text`` pre-fills the note (for example a draft kept from a cancelled note)."""
        super().__init__()
        self.incident_id = incident_id
        self.initial_text = text

    def compose(self) -> ComposeResult:
        with Vertical(id="note-box"):
            title = f"Note for {escape(self.incident_id)}" if self.incident_id else "Note"
            yield Static(f"[b]{title}[/b]  (recorded with your name and the time)",
                         id="note-title")
            yield Input(self.initial_text, placeholder="What happened, what you saw, why",
                        id="note-text")
            yield Static("enter or ctrl+s save   escape cancel", id="note-keys")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def action_save(self) -> None:
        text = self.query_one(Input).value.strip()
        if not text:
            # An empty note is a slip of the finger, not something to record.
            self.query_one("#note-keys", Static).update(
                "[b]Type a note first[/b]   escape cancel")
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)
