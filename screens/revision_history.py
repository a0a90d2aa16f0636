"""A deployment's revision history, and the guarded actions on it (k9s's habit).

Opened from a deployment's row in the Pods panel. The history is read in a thread
worker (:meth:`~cockpit.actions.executor.Executor.read_history`, bounded by its
timeout; a failure is one line): every revision with its version, image, change
cause, age and ReplicaSet, the running one said in words (``RUNNING``), and below the
list the diff of the selected revision's pod template against the running one.

The actions go through the runbook desk's one guarded path, as a runbook step does
(:mod:`cockpit.runbook.deployment_actions`): ``u`` undoes to the selected revision
(never to the running one), ``s`` scales (asks how many), ``r`` restarts. Each opens
its one-step run, asks ``desk.request``, shows the destructive modal (the exact
command, the server's dry run, the target typed, the approver) and starts it with
``desk.start``; the record shows what ran and on which revision. ``o`` opens the
container rollback runbook with the deployment's variables filled in; ``i``, ``v``
and ``l`` read its describe, events and logs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static
from textual.worker import get_current_worker

from cockpit.actions.executor import Executor
from cockpit.actions.inspect import DeploymentHistory, InspectError, RevisionRow, age
from cockpit.runbook.deployment_actions import DeploymentAction, fresh
from cockpit.runbook.desk import AskApprover, ConfirmDestructive, RunbookDesk
from cockpit.runbook.engine import Confirmation, StepRefused, StepStatus
from cockpit.timeline.sanitize import sanitize_text
from screens.reason_prompt import ReasonPrompt
from screens.resource_view import ResourceView
from screens.step_confirm import StepConfirm
from widgets.status_bar import Says

#: The runbook ``o`` opens, its variables filled from the deployment.
CONTAINER_ROLLBACK = "container-rollback"
#: Columns of the list (the running marker in words, never by colour alone).
COLUMNS: tuple[str, ...] = ("REV", "NOW", "VERSION", "IMAGE", "CHANGE CAUSE", "AGE",
                            "REPLICA SET")
KEYS = ("u undo to selected · s scale · r restart · o container rollback · "
        "i describe · v events · l logs · esc close")


def _short(text: str, width: int) -> str:
    text = sanitize_text(text, 400)
    return text if len(text) <= width else text[: width - 1] + "…"


def _image(image: str) -> str:
    """The image without its registry and path (``…/api:2.0.0``): the columns fit 80
    columns; the diff and describe show it whole."""
    name = image.rsplit("/", 1)
    return _short(f"…/{name[1]}" if len(name) == 2 else image, 40)


class RevisionHistory(ModalScreen[None]):
    """The revision history of one deployment, with undo / scale / restart through the desk."""

    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="revision_history.close"),
        Binding("u", "undo", "Undo to selected", id="revision_history.undo"),
        Binding("s", "scale", "Scale", id="revision_history.scale"),
        Binding("r", "restart", "Restart", id="revision_history.restart"),
        Binding("o", "open_runbook", "Container rollback", id="revision_history.open_runbook"),
        Binding("i", "read('describe')", "Describe", show=False,
                id="revision_history.describe"),
        Binding("v", "read('events')", "Events", show=False, id="revision_history.events"),
        Binding("l", "read('logs')", "Logs", show=False, id="revision_history.logs"),
    ]

    class ActionEnded(Message):
        """A step started from the history ended (posted from the step's thread)."""

        def __init__(self, title: str, status: StepStatus) -> None:
            super().__init__()
            self.title = title
            self.status = status

    def __init__(self, deployment: str, namespace: str, executor: Executor,
                 desk: RunbookDesk | None, *, hands_off: str = "") -> None:
        """``executor`` reads (its ``capabilities.inspect``); ``desk`` runs the actions
        (``None`` while the incident is starting: the keys say so); ``hands_off`` refuses
        every acting key with that line (the demo's autopilot drives)."""
        super().__init__()
        self.deployment = deployment
        self.namespace = namespace
        self.executor = executor
        self.desk = desk
        self.hands_off = hands_off
        self.history: DeploymentHistory | None = None
        self.message = ""
        """The last line said (a refusal, a start, an outcome)."""

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        with Vertical(id="history-box"):
            yield Static(Content(f"Revision history · deployment/{self.deployment} · "
                                 f"{self.namespace}"), id="history-title")
            yield Static(Content("reading the history…"), id="history-note")
            table: DataTable[str] = DataTable(id="history-table", cursor_type="row",
                                              zebra_stripes=False)
            yield table
            yield Static(Content(""), id="history-diff-title")
            with VerticalScroll(id="history-diff-box"):
                yield Static(Content(""), id="history-diff")
            yield Static(Content(""), id="history-message")
            yield Static(Content(KEYS), id="history-keys")

    def on_mount(self) -> None:
        table = self.query_one("#history-table", DataTable)
        self._rev_column = table.add_columns(*COLUMNS)[0]
        table.focus()
        self.reload()

    # ------------------------------------------------------------------ reading

    def reload(self) -> None:
        """Read the history again (in a thread worker)."""
        if not self.executor.capabilities.inspect:
            self._note("the revision history cannot be read here: no cluster is configured "
                       "([kubernetes] in the config)")
            return
        self._read()

    @work(thread=True, exclusive=True, group="revision-history", exit_on_error=False)
    def _read(self) -> None:
        worker = get_current_worker()
        try:
            history = self.executor.read_history(self.deployment, self.namespace)
        except InspectError as exc:
            if not worker.is_cancelled:
                self.app.call_from_thread(self._note, f"cannot read the history: {exc}")
            return
        except Exception as exc:  # noqa: BLE001 - one line, never a traceback
            if not worker.is_cancelled:
                self.app.call_from_thread(self._note, "cannot read the history: "
                                          f"{type(exc).__name__}")
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self._show, history)

    def _note(self, text: str) -> None:
        self.query_one("#history-note", Static).update(Content(_short(text, 300)))

    def _show(self, history: DeploymentHistory) -> None:
        keep = self.selected
        self.history = history
        self._note(history.note or f"{len(history.revisions)} revisions")
        table = self.query_one("#history-table", DataTable)
        table.clear()
        self._marked = None
        # newest first, as kubectl lists the last one last: the cursor starts on the
        # revision before the running one (what a plain undo returns to)
        rows = sorted(history.revisions, key=lambda r: r.revision, reverse=True)
        for row in rows:
            table.add_row(f"  {row.revision}", "RUNNING" if row.running else "",
                          row.shown_version, _image(row.image),
                          _short(row.change_cause or "<none>", 32), age(row.age_s),
                          _short(row.replica_set, 32), key=str(row.revision))
        target = keep.revision if keep is not None else None
        if target is None:
            older = [r for r in rows if not r.running]
            running = history.running
            before = [r for r in older if running is None or r.revision < running.revision]
            pick = before[0] if before else (older[0] if older else None)
            target = pick.revision if pick is not None else None
        index = next((i for i, r in enumerate(rows) if r.revision == target), 0)
        if rows:
            table.move_cursor(row=index)
        self._show_diff()

    @property
    def selected(self) -> RevisionRow | None:
        """The revision under the cursor."""
        if self.history is None:
            return None
        table = self.query_one("#history-table", DataTable)
        if table.row_count == 0:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:  # noqa: BLE001 - an empty or reset table
            return None
        return self.history.row(int(key)) if key is not None else None

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._mark(event.row_key.value)
        self._show_diff()

    _marked: str | None = None

    def _mark(self, key: str | None) -> None:
        """The row under the cursor marked ``▶`` (the cursor's colour alone is lost
        with NO_COLOR)."""
        table = self.query_one("#history-table", DataTable)
        for old, mark in ((self._marked, " "), (key, "▶")):
            if old is not None and old in table.rows:
                table.update_cell(old, self._rev_column, f"{mark} {old}")
        self._marked = key

    def _show_diff(self) -> None:
        row, history = self.selected, self.history
        title = self.query_one("#history-diff-title", Static)
        body = self.query_one("#history-diff", Static)
        if row is None or history is None:
            title.update(Content(""))
            body.update(Content(""))
            return
        running = history.running
        if row.running:
            title.update(Content(f"revision {row.revision} is RUNNING: select another "
                                 "to see what an undo would change"))
            body.update(Content(""))
            return
        lines = history.diff(row.revision)
        against = f"revision {running.revision} (running)" if running else "the running one"
        if not lines:
            title.update(Content(f"revision {row.revision}: the same pod template as "
                                 f"{against}"))
            body.update(Content(""))
            return
        title.update(Content(f"diff: {against} → revision {row.revision} "
                             f"({row.shown_version})"))
        parts = []
        for line in lines[2:] if len(lines) > 2 else lines:  # the --- +++ head is the title
            style = ("$text-success" if line.startswith("+") else
                     "$text-error" if line.startswith("-") else
                     "$text-muted" if line.startswith("@@") else "")
            parts.append(Content.styled(line, style) if style else Content(line))
        body.update(Content("\n").join(parts))

    # ------------------------------------------------------------------ saying

    def say(self, text: str) -> None:
        """One line under the list (a refusal, a start, an outcome)."""
        self.message = _short(" ".join(text.split()), 300)
        self.query_one("#history-message", Static).update(Content(self.message))

    def _desk(self) -> RunbookDesk | None:
        if self.hands_off:
            self.say(self.hands_off)
            return None
        if self.desk is None:
            self.say("Runbooks are not available yet (the incident is starting).")
            return None
        if self.history is None:
            self.say("the history is not read yet")
            return None
        return self.desk

    # ------------------------------------------------------------------ the actions

    def action_close(self) -> None:
        self.dismiss(None)

    def action_undo(self) -> None:
        desk, row = self._desk(), self.selected
        if desk is None:
            return
        if row is None:
            self.say("select a revision first")
            return
        if row.running:
            self.say(f"revision {row.revision} is the one running: select the revision to "
                     "go back to")
            return
        self._guarded(desk, DeploymentAction("undo", self.namespace, self.deployment,
                                             row.revision))

    def action_scale(self) -> None:
        desk = self._desk()
        if desk is None or self.history is None:
            return
        now = self.history.replicas

        def asked(text: str | None) -> None:
            if text is None:
                return
            if not (text.isascii() and text.isdigit()) or not 0 <= int(text) <= 1000:
                self.say(f"'{_short(text, 20)}' is not a number of replicas (0 to 1000)")
                return
            self._guarded(desk, DeploymentAction("scale", self.namespace, self.deployment,
                                                 int(text)))

        self.app.push_screen(ReasonPrompt(
            f"Scale {self.deployment}", f"It runs {now} replicas now; 0 stops every pod.",
            label="Replicas", placeholder="a number, 0 to 1000"), asked)

    def action_restart(self) -> None:
        desk = self._desk()
        if desk is None:
            return
        self._guarded(desk, DeploymentAction("restart", self.namespace, self.deployment))

    def _guarded(self, desk: RunbookDesk, action: DeploymentAction) -> None:
        """The runbook step's guarded path: open the one-step run, ask the desk, confirm
        in the destructive modal, start."""
        before = desk.current
        try:
            action = fresh(action, desk.runs)
            desk.open(action.runbook_id)
        except Exception as exc:  # noqa: BLE001 - a journal that refused: nothing opened
            self.say(f"{action.title}: not opened: {exc}")
            return
        runbook_id, step_id = action.runbook_id, action.step_id

        def back() -> None:
            # a cancelled confirmation leaves the runbook pane on what it showed
            if before is not None and before != runbook_id:
                try:
                    desk.open(before)
                except Exception:  # noqa: BLE001, S110 - the pane keeps the action's run
                    pass

        try:
            ask = desk.request(runbook_id, step_id)
        except StepRefused as exc:
            self.say(str(exc))
            back()
            return
        if isinstance(ask, ConfirmDestructive):
            modal = StepConfirm(ask.title, ask.preview, ask.target, ask.authority,
                                runbook=ask.runbook, dry_run=ask.dry_run,
                                dry_run_timeout_s=ask.dry_run_timeout_s)

            def confirmed(confirmation: Confirmation | None) -> None:
                if confirmation is None:
                    self.say(f"{action.title}: cancelled, nothing ran")
                    back()
                    return
                line = modal.dry_run_line if ask.dry_run is not None else None
                self._start(desk, action, confirmation, line)

            self.app.push_screen(modal, confirmed)
        elif isinstance(ask, AskApprover):  # a one-step action never asks this
            self.say(f"{action.title}: needs an approver's step first")
            back()
        else:
            self._start(desk, action, None, None)

    def _start(self, desk: RunbookDesk, action: DeploymentAction,
               confirmation: Confirmation | None, dry_run_line: str | None) -> None:
        post: Callable[[Message], bool] = self.post_message
        title = action.title
        try:
            status = desk.start(action.runbook_id, action.step_id, confirmation,
                                dry_run_line=dry_run_line,
                                on_finish=lambda final: post(self.ActionEnded(title, final)))
        except StepRefused as exc:
            self.say(str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - the journal refused: nothing ran
            self.say(f"{title}: not recorded: {exc}")
            return
        self.say(f"{title}: {status.state.value} · $ {status.preview}")

    @on(ActionEnded)
    def _ended(self, event: ActionEnded) -> None:
        event.stop()
        status = event.status
        said = f"{event.title}: {status.state.value}"
        if status.reason:
            said += f" ({status.reason})"
        elif status.output:
            said += f" · {status.output.splitlines()[-1]}"
        self.say(said)
        self.reload()

    def action_open_runbook(self) -> None:
        desk = self._desk()
        if desk is None or self.history is None:
            return
        row = self.selected
        revision = "0" if row is None or row.running else str(row.revision)
        values = {"deployment": self.deployment, "namespace": self.namespace,
                  "to_revision": revision}
        if self.history.selector:
            values["selector"] = self.history.selector
        try:
            desk.open(CONTAINER_ROLLBACK)
            editable = desk.editable_variables(CONTAINER_ROLLBACK)
            wanted = {k: v for k, v in values.items() if k in editable and editable[k] != v}
            if wanted:
                desk.set_variables(CONTAINER_ROLLBACK, wanted)
        except StepRefused as exc:
            self.say(str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - unknown runbook, a journal that refused
            self.say(f"{CONTAINER_ROLLBACK}: not opened: {exc}")
            return
        where = "the previous revision" if revision == "0" else f"revision {revision}"
        message = (f"Container rollback opened for {self.deployment} (to {where}): "
                   "the runbook pane shows it.")
        stack = self.app.screen_stack
        below = stack[-2] if len(stack) > 1 else None
        self.dismiss(None)
        if isinstance(below, Says):  # the war room's status bar, not a toast over the work
            below.say(message)
        else:
            self.app.notify(message, markup=False)

    def action_read(self, view: str) -> None:
        if not self.executor.capabilities.inspect:
            self.say(f"the {view} cannot be read here: no cluster is configured")
            return
        self.app.push_screen(ResourceView(self.executor, "deployment", self.deployment,
                                          self.namespace, view))
