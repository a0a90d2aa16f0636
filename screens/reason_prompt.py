"""A small modal asking for one required line of text: a skip or abort reason, an approver."""

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


class ReasonPrompt(ModalScreen[str | None]):
    """Ask for a required text; dismisses with it (stripped), or ``None`` on escape."""

    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="reason_prompt.cancel"),
    ]

    def __init__(self, title: str, explanation: str = "", *, label: str = "Reason",
                 placeholder: str = "Why (recorded in the incident timeline)",
                 value: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.explanation = explanation
        self.label = label
        self.placeholder = placeholder
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical(id="reason-box"):
            yield Static(f"[b]{escape(self.title_text)}[/b]", id="reason-title")
            if self.explanation:
                yield Static(escape(self.explanation), id="reason-explanation")
            yield Static(f"{escape(self.label)} (required):", id="reason-label")
            yield Input(self.value, placeholder=self.placeholder, id="reason-text")
            yield Static("enter: save · escape: cancel", id="reason-keys")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text:
            self.query_one("#reason-keys", Static).update(
                f"[b]{escape(self.label)} is required[/b] · escape: cancel")
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)
