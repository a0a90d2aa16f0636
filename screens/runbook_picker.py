"""The runbook picker: every runbook, recommended ones first; type to filter, enter to open."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from cockpit.runbook.desk import PickerEntry


def _matches(entry: PickerEntry, words: list[str]) -> bool:
    """Whether every word occurs in the entry's id, title or the deployment it would act on
    (case-insensitive): ``api`` finds the rollback the suspect api is filled in for."""
    hay = f"{entry.id} {entry.title} {entry.target}".lower()
    return all(word in hay for word in words)


def _prompt(entry: PickerEntry) -> Content:
    """Two lines: id, step count and markers; then the title."""
    marks = [f"{entry.steps} steps"]
    if entry.recommended:
        marks.append("recommended" + (f" ({entry.why})" if entry.why else ""))
    if entry.status:
        marks.append(entry.status)
    first = Content.assemble((entry.id, "bold"), " · " + " · ".join(marks))
    title = entry.title + (f" · on {entry.target}" if entry.target else "")
    if entry.why and not entry.recommended:  # why a matching runbook is not the one
        title += f" · {entry.why}"
    return Content.assemble(first, "\n  ", (title, "dim"))


class RunbookPicker(ModalScreen[str | None]):
    """Pick a runbook; dismisses with its id, or ``None`` on escape."""

    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="runbook_picker.cancel"),
        Binding("down", "move(1)", "Next", show=False, id="runbook_picker.down"),
        Binding("up", "move(-1)", "Previous", show=False, id="runbook_picker.up"),
        Binding("pagedown", "move(8)", "Page down", show=False, id="runbook_picker.page_down"),
        Binding("pageup", "move(-8)", "Page up", show=False, id="runbook_picker.page_up"),
    ]

    def __init__(self, entries: list[PickerEntry], current: str | None = None) -> None:
        """``entries`` in the order to show them (recommended first)."""
        super().__init__()
        self.entries = entries
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-box"):
            yield Static("[b]Open a runbook[/b]  (recommended first)", id="picker-title")
            yield Input(placeholder="type to filter by id, title or deployment",
                        id="picker-filter")
            yield OptionList(id="picker-list")
            yield Static("type: filter · up/down: choose · enter: open · escape: cancel",
                         id="picker-keys")

    def on_mount(self) -> None:
        self._fill("")
        if self.current:
            options = self.query_one(OptionList)
            for index in range(options.option_count):
                if options.get_option_at_index(index).id == self.current:
                    options.highlighted = index
                    break
        self.query_one(Input).focus()

    def _fill(self, text: str) -> None:
        words = text.lower().split()
        options = self.query_one(OptionList)
        options.clear_options()
        shown = [entry for entry in self.entries if _matches(entry, words)]
        options.add_options([Option(_prompt(entry), id=entry.id) for entry in shown])
        if shown:
            options.highlighted = 0
        keys = self.query_one("#picker-keys", Static)
        keys.update("no runbook matches: backspace to widen · escape: cancel" if not shown else
                    f"{len(shown)} of {len(self.entries)} · up/down: choose · enter: open · "
                    "escape: cancel")

    @on(Input.Changed, "#picker-filter")
    def _filter(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted, "#picker-filter")
    def _open_highlighted(self, event: Input.Submitted) -> None:
        event.stop()
        options = self.query_one(OptionList)
        if options.highlighted is not None:
            self.dismiss(options.get_option_at_index(options.highlighted).id)

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_move(self, delta: int) -> None:
        options = self.query_one(OptionList)
        if options.option_count == 0:
            return
        current = options.highlighted if options.highlighted is not None else 0
        options.highlighted = max(0, min(options.option_count - 1, current + delta))

    def action_cancel(self) -> None:
        self.dismiss(None)
