"""The destructive-step modal: type the target's name and the approver's name to run it.

When the executor offers a server-side dry run, the modal asks for it in a thread
worker as it opens and shows the one-line answer under the command; the fields and
keys work meanwhile, and a dry run that does not answer in time says so.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static
from textual.worker import Worker, WorkerState

from cockpit.runbook.engine import Confirmation


class StepConfirm(ModalScreen[Confirmation | None]):
    """Confirm one destructive step; dismisses with a :class:`Confirmation` or ``None``.

    Starts in the target field, empty (the hint above it says what to type: a grey
    placeholder looked like typed text); escape cancels, one key away, from anywhere.
    A wrong target name or an empty approver keeps the modal open and says why.
    ``dry_run``, when given, is called in a thread worker and returns the line to show
    (``server dry run: ...``); after ``dry_run_timeout_s`` without an answer the modal
    says so (a later answer still replaces that line).
    """

    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="step_confirm.cancel"),
        # priority: enter moves the focus before the next key is routed, so a name typed
        # straight after it (a fast typist, a burst over SSH) lands in the next field
        Binding("enter", "enter", "Next / run", show=False, priority=True,
                id="step_confirm.enter"),
    ]

    def __init__(self, title: str, preview: str, target: str, authority: str | None,
                 *, runbook: str = "", dry_run: Callable[[], str] | None = None,
                 dry_run_timeout_s: float = 5.0) -> None:
        """``authority`` is who may approve at this severity (``None`` while it is unset)."""
        super().__init__()
        self.step_title = title
        self.preview = preview
        self.target = target
        self.authority = authority
        self.runbook = runbook
        self.dry_run = dry_run
        self.dry_run_timeout_s = dry_run_timeout_s
        self.dry_run_line = ""
        """What the dry-run line says now ("" without a dry run)."""

    def compose(self) -> ComposeResult:
        who = (f"required authority: {self.authority}" if self.authority
               else "severity not set: press s in the war room for the required authority")
        with Vertical(id="confirm-box"):
            head = f"DESTRUCTIVE STEP: {self.step_title}"
            if self.runbook:
                head += f"  ({self.runbook})"
            yield Static(f"[b]{escape(head)}[/b]", id="confirm-title")
            yield Static(f"$ {escape(self.preview)}", id="confirm-preview")
            if self.dry_run is not None:
                self.dry_run_line = "server dry run: asking the server…"
                yield Static(self.dry_run_line, id="confirm-dry-run", markup=False)
            yield Static(f"Type the target name to confirm: [b]{escape(self.target)}[/b]",
                         id="confirm-target-label")
            yield Input(id="confirm-target")
            yield Static(f"Approver's name ({escape(who)}):", id="confirm-approver-label")
            yield Input(placeholder="name of the person approving", id="confirm-approver")
            yield Static("type the name · enter: next field, then run · escape: cancel",
                         id="confirm-message")
            with Horizontal(id="confirm-buttons"):
                yield Button("Run step", id="confirm-run", variant="error")
                yield Button("Cancel", id="confirm-cancel", variant="primary")

    def on_mount(self) -> None:
        # keys typed at once land in the target field: none is dropped on a button
        self.query_one("#confirm-target", Input).focus()
        if self.dry_run is not None:
            self.run_worker(self.dry_run, thread=True, exit_on_error=False,
                            group="step-confirm-dry-run", name="step-confirm-dry-run",
                            description="server dry run")
            self.set_timer(self.dry_run_timeout_s, self._dry_run_overdue)

    def _show_dry_run(self, line: str) -> None:
        self.dry_run_line = line
        self.query_one("#confirm-dry-run", Static).update(line)

    def _dry_run_overdue(self) -> None:
        if self.dry_run_line.endswith("asking the server…"):
            self._show_dry_run(f"server dry run: no answer within {self.dry_run_timeout_s:g}s")

    @on(Worker.StateChanged)
    def _dry_run_done(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "step-confirm-dry-run":
            return
        event.stop()
        if event.state is WorkerState.SUCCESS:
            self._show_dry_run(str(event.worker.result))
        elif event.state is WorkerState.ERROR:
            self._show_dry_run(f"server dry run: failed: {type(event.worker.error).__name__}")

    def _say(self, text: str) -> None:
        self.query_one("#confirm-message", Static).update(f"[b]{escape(text)}[/b]")

    def _submit(self) -> None:
        typed = self.query_one("#confirm-target", Input).value.strip()
        approver = self.query_one("#confirm-approver", Input).value.strip()
        if typed != self.target:
            self._say(f"'{typed}' is not the target: type {self.target}" if typed
                      else f"type the target name {self.target} first")
            self.query_one("#confirm-target", Input).focus()
            return
        if not approver:
            self._say("the approver's name is required")
            self.query_one("#confirm-approver", Input).focus()
            return
        self.dismiss(Confirmation(typed, approver))

    def action_enter(self) -> None:
        """Enter: in the target field, on to the approver (or say what is wrong); in the
        approver field or on Run, run; on Cancel, cancel."""
        focused = self.focused
        if focused is not None and focused.id == "confirm-cancel":
            self.dismiss(None)
        elif focused is not None and focused.id == "confirm-target":
            # A wrong name is said at once; a name still arriving (what the field holds is
            # the start of the target: keys typed ahead are not all in yet) moves on, so
            # what follows enter lands in the approver's field. Both are checked at run.
            typed = self.query_one("#confirm-target", Input).value.strip()
            if self.target.startswith(typed):
                # at once, not Widget.focus()'s call_later: keys typed ahead of it are
                # already queued behind this enter and must reach the approver's field
                self.set_focus(self.query_one("#confirm-approver", Input))
            else:
                self._submit()
        elif isinstance(focused, Input):
            # enter is taken before the field has handled the keys typed just before it (a
            # name and enter in one burst over SSH): judge what it holds once it has
            focused.call_later(self._submit)
        else:
            self._submit()

    @on(Button.Pressed, "#confirm-run")
    def _run(self, event: Button.Pressed) -> None:
        event.stop()
        self._submit()

    @on(Button.Pressed, "#confirm-cancel")
    def _cancel(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
