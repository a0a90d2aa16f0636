"""A keyboard-only question with a few answers, for the decision tree and severity."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option


class ChoiceScreen(ModalScreen[str | None]):
    """Ask one question; dismiss with the chosen answer's id, or None on escape.

    Each answer may carry a hot key shown in brackets. The list starts on the
    first answer, so put the safe or neutral answer first.
    """

    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="choice.cancel"),
    ]

    def __init__(self, question: str, answers: list[tuple[str, str, str]],
                 explanation: str = "") -> None:
        """``answers`` are ``(id, label, hot_key)``; ``hot_key`` may be empty."""
        super().__init__()
        self.question = question
        self.answers = answers
        self.explanation = explanation
        self._keys = {key: answer_id for answer_id, _, key in answers if key}

    def compose(self) -> ComposeResult:
        with Vertical(id="choice-box"):
            yield Static(f"[b]{self.question}[/b]", id="choice-question")
            if self.explanation:
                yield Static(self.explanation, id="choice-explanation")
            yield OptionList(
                *[Option(f"[{key}] {label}" if key else label, id=answer_id)
                  for answer_id, label, key in self.answers],
                id="choice-options",
            )
            yield Static("enter: choose · escape: cancel", id="choice-hint")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_key(self, event) -> None:  # type: ignore[no-untyped-def]
        if event.character in self._keys:
            event.stop()
            self.dismiss(self._keys[event.character])

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
