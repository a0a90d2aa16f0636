"""The runbook pane: a display of the incident's runbook desk.

The pane draws the desk's runs (:class:`~cockpit.runbook.desk.RunbookDesk`: the core
decides, the pane shows). Its keys post request messages (:class:`RunbookPanel.RunRequested`
and the others); the screen handles them, opens the modals and calls the desk. The desk's
change notices arrive from any thread as :class:`RunbookPanel.DeskChanged` messages, and
the pane repaints only when what it shows changed; the phase countdown ticks once a second.
"""

from __future__ import annotations

import textwrap
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.events import Resize
from textual.message import Message
from textual.widgets import Static

from cockpit.runbook.desk import RunbookDesk
from cockpit.runbook.engine import RunbookRun, RunOutcome, StepState, StepStatus
from cockpit.runbook.model import format_duration
from widgets.lines import Lines
from widgets.status_bar import Says

#: A text marker and a style for every state: the marker and the word carry the
#: state, colour only repeats it (NO_COLOR, 16-colour terminals).
MARKERS: dict[StepState, tuple[str, str]] = {
    StepState.PENDING: ("[ ]", "$text-muted"),
    StepState.READY: ("[>]", "bold $accent"),
    StepState.BLOCKED: ("[#]", "$warning"),
    StepState.RUNNING: ("[*]", "bold $warning"),
    StepState.DONE: ("[x]", "$success"),
    StepState.FAILED: ("[!]", "bold $error"),
    StepState.SKIPPED: ("[-]", "$text-muted"),
    StepState.INTERRUPTED: ("[?]", "bold $error"),
    StepState.CANCELLED: ("[c]", "$warning"),
}
_RETRYABLE = (StepState.FAILED, StepState.CANCELLED, StepState.INTERRUPTED)
#: The phase countdown's pace: nothing else repaints on a timer.
TICK_S = 1.0


def _fit(text: str, width: int) -> str:
    """``text`` cut to ``width`` cells with an ellipsis when it is longer."""
    if width <= 0:
        return ""
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def _wrap(text: str, width: int, indent: str = "") -> list[str]:
    lines = textwrap.wrap(" ".join(text.split()), max(8, width), subsequent_indent=indent,
                          break_long_words=True, break_on_hyphens=False)
    return lines or [""]


def state_word(status: StepStatus) -> str:
    """The state in words, as the checklist shows it: ``running 12s``, ``skipped: why``..."""
    state = status.state
    if state is StepState.RUNNING:
        return f"running {format_duration(status.elapsed_s or 0)}"
    if state is StepState.BLOCKED:
        return "blocked: " + status.reason.removeprefix("blocked: ")
    if state is StepState.SKIPPED:
        return f"skipped: {status.reason}"
    if state is StepState.FAILED and status.reason:
        return f"failed: {status.reason}"
    return state.value


class RunbookPanel(Vertical):
    """The shown runbook's checklist; until one is opened, says how to open one.

    :meth:`attach` gives it the incident's desk (the war room's ``attach_desk`` does).
    """

    DEFAULT_CSS = """
    RunbookPanel {
        border: round $primary-darken-1;
        border-title-style: bold;
        padding: 0 1;
        height: 1fr;
    }
    RunbookPanel:focus-within {
        border: round $accent;
    }
    RunbookPanel #runbook-body {
        height: 1fr;
        width: 1fr;
    }
    RunbookPanel #runbook-empty {
        color: $text-muted;
    }
    """

    can_focus = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "select(-1)", "Previous step", show=False, id="runbook.up"),
        Binding("down", "select(1)", "Next step", show=False, id="runbook.down"),
        Binding("enter,y", "run", "Run step", key_display="enter", id="runbook.run"),
        Binding("c", "cancel_step", "Cancel step", id="runbook.cancel"),
        Binding("r", "retry", "Retry", id="runbook.retry"),
        Binding("k", "skip", "Skip", id="runbook.skip"),
        Binding("a", "abort", "Abort", id="runbook.abort"),
        Binding("v", "variables", "Variables", id="runbook.variables"),
        Binding("t", "attest", "Told them", id="runbook.attest"),
        Binding("p", "picker", "Runbooks", id="runbook.picker"),
    ]

    # ------------------------------------------------------------ messages

    class Request(Message):
        """The operator asked something of the runbook shown (``runbook_id`` ``None``:
        no runbook is open); the screen answers it."""

        def __init__(self, panel: RunbookPanel, runbook_id: str | None,
                     step_id: str | None = None) -> None:
            super().__init__()
            self.panel = panel
            self.runbook_id = runbook_id
            self.step_id = step_id

        @property
        def control(self) -> RunbookPanel:
            """The pane that asked."""
            return self.panel

    class RunRequested(Request):
        """Enter on a step: run it (after whatever must be asked first)."""

    class CancelRequested(Request):
        """``c``: cancel the running step."""

    class RetryRequested(Request):
        """``r``: make the selected (or the first) failed step startable again."""

    class SkipRequested(Request):
        """``k``: skip the selected step, with a reason."""

    class AbortRequested(Request):
        """``a``: abort the runbook shown, with a reason."""

    class VariablesRequested(Request):
        """``v``: edit the variables of the runbook shown."""

    class AttestRequested(Request):
        """``t``: the operator told the targets the selected step waits for themselves."""

    class PickerRequested(Request):
        """``p`` (and ``o`` in the war room): pick a runbook to open or bring forward."""

    class DeskChanged(Message):
        """The desk changed a run (posted from whichever thread changed it)."""

        def __init__(self, runbook_id: str) -> None:
            super().__init__()
            self.runbook_id = runbook_id

        def can_replace(self, message: Message) -> bool:
            # the state lives in the desk: a burst of output lines needs one repaint
            return isinstance(message, RunbookPanel.DeskChanged) and (
                message.runbook_id == self.runbook_id)

    class StepEnded(Message):
        """A step the operator started here ended (posted from the step's thread)."""

        def __init__(self, runbook_id: str, status: StepStatus) -> None:
            super().__init__()
            self.runbook_id = runbook_id
            self.status = status

    # ------------------------------------------------------------ set-up

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.desk: RunbookDesk | None = None
        self._follow = False
        """Show the newest run and its current step (the demo's autopilot drives)."""
        self._selected: dict[str, int] = {}
        self._shown_subtitle: str | None = None
        self._unsubscribe: Any = None

    def compose(self) -> ComposeResult:
        yield Static("No runbook open. Press o (or p here) to pick one.", id="runbook-empty")
        yield Lines(id="runbook-body")

    def on_mount(self) -> None:
        self.border_title = "Runbook"
        self.query_one("#runbook-body").display = False

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()

    def attach(self, desk: RunbookDesk, *, follow: bool = False) -> None:
        """Show ``desk``'s runs; with ``follow``, always the newest run and its current
        step (someone else is at the keys)."""
        first = self.desk is None
        if self._unsubscribe is not None:
            self._unsubscribe()
        self.desk = desk
        self._follow = follow
        self._unsubscribe = desk.subscribe(lambda rb: self.post_message(self.DeskChanged(rb)))
        for run in desk.runs.values():
            self._selected.setdefault(run.runbook.id, self._current_index(run))
        if first:
            self.set_interval(TICK_S, self.refresh_pane)
        self.refresh_pane()

    # ------------------------------------------------------------ queries

    @property
    def current(self) -> str | None:
        """The id of the runbook shown."""
        return self.desk.current if self.desk is not None else None

    @property
    def runs(self) -> dict[str, RunbookRun]:
        """Every run open in the incident, in the order opened."""
        return dict(self.desk.runs) if self.desk is not None else {}

    @property
    def run(self) -> RunbookRun | None:
        """The run shown, if any."""
        current = self.current
        return self.runs.get(current) if current else None

    @staticmethod
    def _current_index(run: RunbookRun) -> int:
        index = run.current_index()
        return index if index is not None else 0

    def select_current(self, runbook_id: str) -> None:
        """Select the step holding ``runbook_id`` up (after a skip, say)."""
        run = self.runs.get(runbook_id)
        if run is not None:
            self._selected[runbook_id] = self._current_index(run)
            self.refresh_pane()

    def select_step(self, runbook_id: str, step_id: str) -> None:
        """Select one step of a run (after a retry, say)."""
        run = self.runs.get(runbook_id)
        if run is not None:
            self._selected[runbook_id] = [s.id for s in run.runbook.steps].index(step_id)
            self.refresh_pane()

    def selected_status(self) -> StepStatus | None:
        """The status of the selected step of the runbook shown."""
        run = self.run
        if run is None:
            return None
        statuses = run.steps()
        index = min(self._selected.get(run.runbook.id, 0), len(statuses) - 1)
        return statuses[index] if statuses else None

    # ------------------------------------------------------------ keys

    def _request(self, kind: type[Request], *, step: bool = True) -> None:
        status = self.selected_status() if step else None
        self.post_message(kind(self, self.current, status.id if status else None))

    def open_picker(self) -> None:
        """Ask the screen for the runbook picker."""
        self._request(self.PickerRequested, step=False)

    def action_select(self, delta: int) -> None:
        run = self.run
        if run is None:
            return
        count = len(run.runbook.steps)
        index = self._selected.get(run.runbook.id, 0) + delta
        self._selected[run.runbook.id] = max(0, min(count - 1, index))
        self.refresh_pane()

    def action_picker(self) -> None:
        self.open_picker()

    def action_run(self) -> None:
        self._request(self.RunRequested)

    def action_cancel_step(self) -> None:
        self._request(self.CancelRequested, step=False)

    def action_retry(self) -> None:
        self._request(self.RetryRequested)

    def action_skip(self) -> None:
        self._request(self.SkipRequested)

    def action_abort(self) -> None:
        self._request(self.AbortRequested, step=False)

    def action_variables(self) -> None:
        self._request(self.VariablesRequested, step=False)

    def action_attest(self) -> None:
        self._request(self.AttestRequested)

    # ------------------------------------------------------------ events

    @on(DeskChanged)
    def _on_desk_changed(self, message: DeskChanged) -> None:
        run = self.runs.get(message.runbook_id)
        if run is not None:
            self._selected.setdefault(message.runbook_id, self._current_index(run))
        if self._follow or message.runbook_id == self.current:
            self.refresh_pane()

    @on(StepEnded)
    def _on_step_ended(self, message: StepEnded) -> None:
        status, runbook_id = message.status, message.runbook_id
        if status.state is StepState.DONE:
            self._say(f"{status.id}: done")
        else:
            self._say(f"{status.id}: {state_word(status)}", severity="error", timeout=8)
        passed = status.state is StepState.DONE or (
            status.state is StepState.FAILED and status.step.on_failure == "continue")
        run = self.runs.get(runbook_id)
        if passed and run is not None:
            # the selection follows the run on to its next step
            selected = self._selected.get(runbook_id, 0)
            if run.runbook.steps[selected].id == status.id:
                self._selected[runbook_id] = self._current_index(run)
        self.refresh_pane()

    def _say(self, message: str, *, severity: str = "information",
             timeout: float | None = None) -> None:
        screen = self.screen
        if isinstance(screen, Says):  # the war room's status bar: no toast over the pane
            screen.say(message, severity=severity, timeout=timeout)
            return
        # markup off: step titles, reasons and commands may hold brackets
        self.app.notify(message, severity=severity, timeout=timeout,  # type: ignore[arg-type]
                        markup=False)

    def on_resize(self, event: Resize) -> None:
        self.refresh_pane()

    def on_focus(self) -> None:
        self.refresh_pane()

    def on_blur(self) -> None:
        self.refresh_pane()

    # ---------------------------------------------------------------- drawing

    def refresh_pane(self) -> None:
        """Redraw the pane (only when what it shows changed)."""
        run = self.run
        if self._follow and run is not None:
            self._selected[run.runbook.id] = self._current_index(run)
        empty = self.query_one("#runbook-empty", Static)
        body = self.query_one("#runbook-body", Lines)
        if run is None:
            empty.display, body.display = True, False
            return
        empty.display, body.display = False, True
        width, height = body.size
        if width <= 0 or height <= 0:
            width, height = max(20, self.size.width - 4), max(6, self.size.height - 2)
        # the rows are compared cell by cell: a ticking elapsed time repaints its digits
        body.show_rows(self.pane_lines(run, width, height))
        subtitle = self._subtitle(run)
        if subtitle != self._shown_subtitle:  # a border repaints the whole pane
            self._shown_subtitle = subtitle
            self.border_subtitle = subtitle

    def _subtitle(self, run: RunbookRun) -> str:
        statuses = run.steps()
        done = sum(s.state in (StepState.DONE, StepState.SKIPPED) for s in statuses)
        others = len(self.runs) - 1
        more = f" · {others} more open" if others else ""
        return f"{done}/{len(statuses)} done{more}"

    def _phase_line(self, run: RunbookRun, width: int) -> Content:
        outcome = run.outcome
        if outcome is RunOutcome.ABORTED:
            return Content.assemble(("ABORTED", "bold reverse $error"),
                                    _fit(f" {run.aborted}", width - 7))
        if outcome is RunOutcome.COMPLETE:
            return Content.assemble(("COMPLETE", "bold $success"),
                                    _fit(" every step done or skipped", width - 8))
        if outcome is RunOutcome.FINISHED_WITH_FAILURES:
            failed = [s.id for s in run.failed_steps()]
            word = f"FINISHED WITH {len(failed)} FAILED"
            return Content.assemble((word, "bold reverse $error"),
                                    _fit(": " + ", ".join(failed), width - len(word)))
        desk = self.desk
        clock = desk.phase(run.runbook.id) if desk is not None else None
        if desk is None or clock is None:
            return Content("")
        phases = run.runbook.phases
        index = clock[0]
        phase = phases[index]
        head = f"Phase {index + 1}/{len(phases)} {phase.name}"
        left = desk.budget_left(run.runbook.id)
        if phase.budget_s is None or left is None:
            return Content(_fit(head, width))
        if left >= 0:
            budget = f"{format_duration(left)} left of {format_duration(phase.budget_s)}"
            return Content.assemble(_fit(head, width - len(budget) - 3), " · ", (budget, "bold"))
        over = f"OVER by {format_duration(-left)} (budget {format_duration(phase.budget_s)})"
        return Content.assemble(_fit(head, width - len(over) - 3), " · ",
                                (over, "bold reverse $error"))

    def _step_lines(self, run: RunbookRun, statuses: tuple[StepStatus, ...], selected: int,
                    width: int) -> tuple[list[Content], int]:
        """Every checklist line (phase headers included) and the selected step's line index."""
        lines: list[Content] = []
        at = 0
        number = 0
        for phase in run.runbook.phases:
            budget = f" ({format_duration(phase.budget_s)})" if phase.budget_s else ""
            lines.append(Content(_fit(f"— {phase.name}{budget}", width)).stylize("dim"))
            for _ in phase.steps:
                status = statuses[number]
                marker, style = MARKERS[status.state]
                pointer = ">" if number == selected else " "
                if number == selected:
                    at = len(lines)
                word = state_word(status)
                title = status.step.title + (" [destructive]" if status.needs_confirmation
                                             else "")
                short = word if len(word) <= 14 else word.split(":", 1)[0]
                prefix = f" {number + 1:>2} "
                suffix = f" · {short}" if status.state is not StepState.PENDING else ""
                # the state word stays visible: the title gives way first
                room = width - 2 - len(marker) - len(prefix) - len(suffix)
                parts: list[str | tuple[str, str]] = [
                    (pointer + " ", "bold"), (marker, style), prefix, _fit(title, max(8, room))]
                if suffix:
                    parts += [" · ", (short, style)]
                line = Content.assemble(*parts).truncate(width, ellipsis=True)
                if number == selected and self.has_focus_within:
                    line = line.stylize("reverse")
                lines.append(line)
                number += 1
        return lines, at

    def _detail_lines(self, run: RunbookRun, status: StepStatus,
                      width: int) -> tuple[list[Content], list[Content]]:
        """The selected step: (what to do and what stops it, why it matters)."""
        step = status.step
        number = [s.id for s in run.runbook.steps].index(step.id) + 1
        marker, style = MARKERS[status.state]
        out: list[Content] = [Content.assemble(
            (marker, style), " ", (f"{number}. {step.title}", "bold")).truncate(
                width, ellipsis=True)]
        out.extend(Content(line) for line in _wrap(f"$ {status.preview}", width, "  "))
        if status.state is StepState.BLOCKED:
            for blocker in status.blockers:
                out.extend(Content(line).stylize("$warning")
                           for line in _wrap(blocker, width, "  "))
        elif status.reason:
            out.extend(Content(line).stylize(style) for line in
                       _wrap(f"{status.state.value}: {status.reason}", width, "  "))
        elif status.state is StepState.PENDING:
            # What will stop it when its turn comes (data-loss guards, missing variables).
            for problem in run.guard_problems(step):
                if problem.removeprefix("blocked: ") in status.preview:
                    continue  # the preview line already says it
                out.extend(Content(line).stylize("$text-warning") for line in
                           _wrap("guard: " + problem.removeprefix("blocked: "), width, "  "))
        if status.needs_confirmation and status.state not in (StepState.DONE, StepState.SKIPPED):
            out.append(Content(_fit(f"destructive: type '{status.target}' and an approver's "
                                    "name to run it", width)).stylize("bold"))
        why = [Content(line).stylize("dim") for line in _wrap(f"why: {step.why}", width, "  ")]
        return out, why

    def _key_line(self, status: StepStatus | None, width: int) -> Content:
        keys: list[str] = []
        state = status.state if status else None
        if state is StepState.READY:
            keys.append("enter run")
        if status is not None and state is StepState.BLOCKED and any(
                " notified (" in blocker for blocker in status.blockers):
            keys.append("t told them")  # the operator may attest telling them in person
        if state is StepState.RUNNING:
            keys.append("c cancel")
        if state in _RETRYABLE:
            keys.append("r retry")
        if state not in (StepState.DONE, StepState.SKIPPED, StepState.RUNNING):
            keys.append("k skip")
        keys += ["a abort", "v vars", "p runbooks", "↑↓ step"]
        text = ""
        for key in keys:
            candidate = f"{text} · {key}" if text else key
            if len(candidate) > width:
                break
            text = candidate
        return Content(text).stylize("$text-muted")

    def pane_lines(self, run: RunbookRun, width: int, height: int) -> list[Content]:
        """The pane's content as exactly ``height`` lines of at most ``width`` cells."""
        statuses = run.steps()
        selected = min(self._selected.get(run.runbook.id, 0), len(statuses) - 1)
        status = statuses[selected] if statuses else None
        ro = " · READ-ONLY" if self.desk is not None and self.desk.read_only else ""
        title = Content.assemble((_fit(run.runbook.title, width - len(ro)), "bold"),
                                 (ro, "bold reverse"))
        head = [title, self._phase_line(run, width)]
        keys = self._key_line(status, width)
        room = max(0, height - len(head) - 1)
        checklist, at = self._step_lines(run, statuses, selected, width)
        detail, why = self._detail_lines(run, status, width) if status else ([], [])
        output = [line for line in (status.output.splitlines() if status else []) if line.strip()]
        # The checklist gets at least half the room, more when the step needs less.
        wanted = len(detail) + len(why) + (min(len(output), 6) + 1 if output else 0)
        list_rows = min(len(checklist), max(3, room // 2, room - wanted), room)
        start = min(max(0, at - list_rows // 2), max(0, len(checklist) - list_rows))
        shown = checklist[start:start + list_rows]
        if start > 0 and shown:
            shown[0] = Content(_fit(f"  ↑ {start + 1} more", width)).stylize("dim")
        if start + list_rows < len(checklist) and shown:
            shown[-1] = Content(_fit(f"  ↓ {len(checklist) - start - list_rows + 1} more",
                                     width)).stylize("dim")
        rest = room - len(shown)
        # A step with output shows its latest lines before the why; one without, the why.
        body = detail[:rest]
        if output:
            tail_room = rest - len(body) - 1
            if tail_room > 0:
                body.append(Content(_fit(f"output ({len(output)} lines, latest last):",
                                         width)).stylize("dim"))
                body.extend(Content(_fit(line, width)) for line in output[-tail_room:])
        body += why[: max(0, rest - len(body))]
        lines = head[:height] + shown + body
        lines = lines[: max(0, height - 1)]
        lines += [Content("")] * (height - 1 - len(lines))
        return [*lines, keys] if height > 0 else []
