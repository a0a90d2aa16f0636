"""Set the variables of an open runbook (a deployment's name, a placeholder's real value)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from cockpit.actions.types import PLACEHOLDER_PREFIX


class RunbookVariables(ModalScreen[dict[str, str] | None]):
    """Edit ``name = value`` pairs; dismisses with the changed ones, or ``None`` on escape.

    Values are checked by the runbook engine when a step uses them: a bad one blocks
    that step and says why, so nothing here can turn into a command.
    """

    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="runbook_variables.cancel"),
        Binding("ctrl+s", "save", "Save", id="runbook_variables.save"),
        Binding("down", "next_field", "Next", show=False, id="runbook_variables.down"),
        Binding("up", "previous_field", "Previous", show=False, id="runbook_variables.up"),
    ]

    def __init__(self, runbook_title: str, values: dict[str, str]) -> None:
        super().__init__()
        self.runbook_title = runbook_title
        self.values = dict(values)

    def compose(self) -> ComposeResult:
        with Vertical(id="vars-box"):
            yield Static(f"[b]Variables of {escape(self.runbook_title)}[/b]", id="vars-title")
            with VerticalScroll(id="vars-list"):
                for index, (name, value) in enumerate(self.values.items()):
                    with Horizontal(classes="vars-row"):
                        mark = "SET ME " if value.startswith(PLACEHOLDER_PREFIX) else ""
                        yield Label(f"{mark}{name}", classes="vars-name")
                        yield Input(value, id=f"var-{index}", classes="vars-value")
            yield Static("up/down: field · enter or ctrl+s: save · escape: cancel",
                         id="vars-keys")

    def on_mount(self) -> None:
        inputs = list(self.query(Input))
        first = next((i for i in inputs if i.value.startswith(PLACEHOLDER_PREFIX)),
                     inputs[0] if inputs else None)
        if first is not None:
            first.focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def action_save(self) -> None:
        names = list(self.values)
        changed: dict[str, str] = {}
        for index, name in enumerate(names):
            value = self.query_one(f"#var-{index}", Input).value.strip()
            if not value:
                self.query_one("#vars-keys", Static).update(
                    f"[b]{escape(name)} needs a value[/b] · escape: cancel")
                self.query_one(f"#var-{index}", Input).focus()
                return
            if value != self.values[name]:
                changed[name] = value
        self.dismiss(changed)

    def action_next_field(self) -> None:
        self.focus_next()

    def action_previous_field(self) -> None:
        self.focus_previous()

    def action_cancel(self) -> None:
        self.dismiss(None)
