"""The runbook pane: the open runbook's checklist, the selected step, and the keys that run it.

The pane draws from :class:`~cockpit.runbook.engine.RunbookRun` objects (the engine
decides; the pane shows and asks). Steps run in thread workers because
``run_step`` blocks; their output arrives as :class:`RunbookPanel.StepOutput`
messages posted from the worker thread, so the event loop never waits on a step.
"""

from __future__ import annotations

import contextlib
import textwrap
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.events import Resize
from textual.message import Message
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from cockpit.actions.executor import ActionResult, RunContext
from cockpit.actions.types import ActionError
from cockpit.incident import PlannedStep, Progress
from cockpit.runbook.context import RunbookContext
from cockpit.runbook.engine import Confirmation, RunbookRun, StepRefused, StepState, StepStatus
from cockpit.runbook.model import Runbook, format_duration
from cockpit.runbook.recommend import recommend
from cockpit.timeline.redact import default_redactor

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
#: States that hold the runbook up until the operator acts on them.
_CURRENT = (StepState.READY, StepState.BLOCKED, StepState.RUNNING, StepState.FAILED,
            StepState.CANCELLED, StepState.INTERRUPTED)
_RETRYABLE = (StepState.FAILED, StepState.CANCELLED, StepState.INTERRUPTED)
TICK_S = 0.5
#: Longest server dry-run line shown in the confirmation modal (three rows at 80 columns).
DRY_RUN_LINE_MAX = 210


def _fit(text: str, width: int) -> str:
    """``text`` cut to ``width`` cells with an ellipsis when it is longer."""
    if width <= 0:
        return ""
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def _wrap(text: str, width: int, indent: str = "") -> list[str]:
    lines = textwrap.wrap(" ".join(text.split()), max(8, width), subsequent_indent=indent,
                          break_long_words=True, break_on_hyphens=False)
    return lines or [""]


def dry_run_line(result: ActionResult | None, action_type: str, error: str = "") -> str:
    """The confirmation modal's one line for a server-side dry run's ``result``.

    ``server dry run: ok · <what would change>``, ``server dry run: refused: <reason>``,
    ``server dry run: not offered for <type>`` or ``server dry run: failed: <error>``;
    redacted (an API's refusal can quote values) and cut to one short line.
    """
    if result is None:
        text = f"server dry run: failed: {error}"
    elif not result.ok:
        lines = [line for line in result.output.splitlines() if line.strip()]
        reason = result.detail or (lines[-1] if lines else "") or "no reason given"
        text = f"server dry run: refused: {reason}"
    elif result.detail == "preview only":
        text = f"server dry run: not offered for {action_type} (nothing sent)"
    else:
        lines = [line for line in result.output.splitlines() if line.strip()]
        said = lines[-1].replace(" (server dry run)", "") if lines else ""
        text = "server dry run: ok" + (f" · {said}" if said else "")
    text = " ".join(default_redactor().redact_text(text).split())
    return _fit(text, DRY_RUN_LINE_MAX)


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


def _event_parts(event: Any) -> tuple[str, Mapping[str, Any], datetime | None]:
    if isinstance(event, Mapping):
        kind, data, when = event.get("kind", ""), event.get("data") or {}, event.get("t")
    else:
        kind, data = getattr(event, "kind", ""), getattr(event, "data", None) or {}
        when = getattr(event, "t", None)
    at: datetime | None = None
    if isinstance(when, datetime):
        at = when
    elif isinstance(when, str):
        try:
            at = datetime.fromisoformat(when.replace("Z", "+00:00"))
        except ValueError:
            at = None
    return str(kind), data, at


class RunbookPanel(Vertical):
    """The open runbook's checklist; until one is opened, says how to open one.

    Call :meth:`attach` with the incident's :class:`RunbookContext` once; runs that
    were open in the incident's journal come back (an interrupted step shows as
    ``interrupted`` and never re-runs by itself).
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
    DRY_RUN_TIMEOUT_S: ClassVar[float] = 5.0
    """How long the confirmation modal waits for a server-side dry run's answer."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "select(-1)", "Previous step", show=False, id="runbook.up"),
        Binding("down", "select(1)", "Next step", show=False, id="runbook.down"),
        Binding("enter,y", "run", "Run step", key_display="enter", id="runbook.run"),
        Binding("c", "cancel_step", "Cancel step", id="runbook.cancel"),
        Binding("r", "retry", "Retry", id="runbook.retry"),
        Binding("k", "skip", "Skip", id="runbook.skip"),
        Binding("a", "abort", "Abort", id="runbook.abort"),
        Binding("v", "variables", "Variables", id="runbook.variables"),
        Binding("p", "picker", "Runbooks", id="runbook.picker"),
    ]

    class StepOutput(Message):
        """A running step printed a line (posted from the step's worker thread)."""

        def __init__(self, runbook_id: str, step_id: str) -> None:
            super().__init__()
            self.runbook_id = runbook_id
            self.step_id = step_id

        def can_replace(self, message: Message) -> bool:
            # The lines live in the run; a burst of them needs one repaint.
            return isinstance(message, RunbookPanel.StepOutput) and (
                message.runbook_id == self.runbook_id)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ctx: RunbookContext | None = None
        self._following = ""
        """Why the keys are off while the pane follows another driver's runs ("" = not)."""
        self.runs: dict[str, RunbookRun] = {}
        """Every runbook opened in this incident, by id, in the order opened."""
        self.current: str | None = None
        """The id of the runbook shown."""
        self._selected: dict[str, int] = {}
        self._phase_clock: dict[str, tuple[int, datetime]] = {}
        self._last_key: tuple[Any, ...] | None = None

    def compose(self) -> ComposeResult:
        yield Static("No runbook open. Press o (or p here) to pick one.", id="runbook-empty")
        yield Static("", id="runbook-body")

    def on_mount(self) -> None:
        self.border_title = "Runbook"
        self.query_one("#runbook-body").display = False

    # ----------------------------------------------------------------- set-up

    def attach(self, ctx: RunbookContext) -> None:
        """Take the incident's context; rebuild the runs its journal had open."""
        first = self.ctx is None
        self.ctx = ctx
        opened: list[str] = []
        for event in ctx.events:
            kind, data, _ = _event_parts(event)
            runbook_id = str(data.get("runbook", ""))
            if kind == "runbook.opened" and runbook_id and runbook_id not in opened:
                opened.append(runbook_id)
        for runbook_id in opened:
            if runbook_id in self.runs or runbook_id not in ctx.library:
                continue
            runbook = ctx.library.get(runbook_id)
            try:
                run = RunbookRun.from_events(runbook, ctx.facts, ctx.executor, ctx.record,
                                             ctx.variables, ctx.events,
                                             on_output=self._output_callback(runbook_id))
            except Exception as exc:  # noqa: BLE001 - one bad run must not hide the others
                self._say(f"Runbook {runbook_id} could not be restored: {exc}",
                                severity="error")
                continue
            self.runs[runbook_id] = run
            self._restore_clock(run, ctx.events)
            self._select_current(run)
            self.current = runbook_id
        if first:
            self.set_interval(TICK_S, self.refresh_pane)
        self.refresh_pane()

    def _output_callback(self, runbook_id: str):  # type: ignore[no-untyped-def]
        def on_output(step_id: str, line: str) -> None:
            self.post_message(self.StepOutput(runbook_id, step_id))

        return on_output

    def _restore_clock(self, run: RunbookRun, events: Any) -> None:
        """The current phase began with its first started step, else the run's last event."""
        index = self._phase_index(run)
        phase_steps = ({s.id for s in run.runbook.phases[index].steps} if index is not None
                       else set())
        last: datetime | None = None
        began: datetime | None = None
        for event in events:
            kind, data, at = _event_parts(event)
            if data.get("runbook") != run.runbook.id or at is None:
                continue
            if kind == "step.started" and data.get("step") in phase_steps and began is None:
                began = at
            if began is None:
                last = at
        if index is not None and self.ctx is not None:
            self._phase_clock[run.runbook.id] = (index, began or last or self.ctx.now())

    # ---------------------------------------------------------------- queries

    @property
    def run(self) -> RunbookRun | None:
        """The run shown, if any."""
        return self.runs.get(self.current) if self.current else None

    @staticmethod
    def _current_index(statuses: tuple[StepStatus, ...]) -> int | None:
        for index, status in enumerate(statuses):
            if status.state in _CURRENT and not (
                    status.state is StepState.FAILED and status.step.on_failure == "continue"):
                return index
        return None

    def _phase_index(self, run: RunbookRun) -> int | None:
        statuses = run.steps()
        index = self._current_index(statuses)
        if index is None:
            return None
        step_id = statuses[index].id
        return next(i for i, phase in enumerate(run.runbook.phases)
                    if any(s.id == step_id for s in phase.steps))

    def _select_current(self, run: RunbookRun) -> None:
        index = self._current_index(run.steps())
        self._selected[run.runbook.id] = index if index is not None else 0

    def selected_status(self) -> StepStatus | None:
        """The status of the selected step of the runbook shown."""
        run = self.run
        if run is None:
            return None
        statuses = run.steps()
        index = min(self._selected.get(run.runbook.id, 0), len(statuses) - 1)
        return statuses[index] if statuses else None

    def progress(self) -> Progress:
        """Every open runbook's steps, the shown one's phase and an ETA from its budgets
        (for the status update template)."""
        steps = tuple(PlannedStep(run.runbook.id, s.id, s.step.title, s.state.value)
                      for run in self.runs.values() for s in run.steps())
        run = self.run
        if run is None:
            return Progress(steps=steps)
        index = self._phase_index(run)
        if index is None:
            return Progress(steps=steps, phase=f"{run.runbook.title}: complete")
        phases = run.runbook.phases
        phase = f"{run.runbook.title}: {phases[index].name} ({index + 1}/{len(phases)})"
        left = 0.0
        clock = self._phase_clock.get(run.runbook.id)
        if phases[index].budget_s and clock is not None and clock[0] == index and self.ctx:
            elapsed = (self.ctx.now() - clock[1]).total_seconds()
            left = max(0.0, phases[index].budget_s - elapsed)
        left += sum(p.budget_s or 0 for p in phases[index + 1:])
        eta = f"about {format_duration(left)} (phase budgets left)" if left else None
        return Progress(steps=steps, phase=phase, eta=eta)

    def wait_idle(self, poll_s: float = 0.05, *, changes_only: bool = False) -> None:
        """Before the app goes: let a running step finish and be recorded (blocking).

        A step that changes something is given the rest of its timeout. A step that only
        waits or reads is cancelled (it changes nothing, and on the simulator its clock
        stops with the app) — or, with ``changes_only``, left alone and not waited for
        (SIGHUP: the record then shows it started and never finished: interrupted).
        """
        deadline = 0.0
        for run in self.runs.values():
            step_id = run.running
            if step_id is None:
                continue
            status = run.state(step_id)
            if not status.mutates:
                if changes_only:
                    continue
                with contextlib.suppress(StepRefused):
                    run.cancel(step_id)
            left = status.step.timeout_s - (status.elapsed_s or 0.0)
            deadline = max(deadline, time.monotonic() + max(1.0, left))

        def busy() -> bool:
            for run in self.runs.values():
                step_id = run.running
                if step_id is not None and (not changes_only or run.state(step_id).mutates):
                    return True
            return False

        while deadline and time.monotonic() < deadline and busy():
            time.sleep(poll_s)

    # ---------------------------------------------------------------- opening

    def open_picker(self) -> None:
        """Show the runbook picker (recommended first); the chosen one opens or comes forward."""
        from screens.runbook_picker import PickerEntry, RunbookPicker

        if self._hands_off():
            return
        ctx = self.ctx
        if ctx is None:
            self._say("Runbooks are not available yet (the incident is starting).",
                            severity="warning")
            return
        fired = set(ctx.fired())
        entries = []
        for runbook in recommend(ctx.library, fired, ctx.scenario_id):
            hits = sorted(fired.intersection(runbook.triggers))
            scenario = ctx.scenario_id is not None and ctx.scenario_id in runbook.scenarios
            why = ("fired: " + ", ".join(hits)) if hits else (
                f"scenario {ctx.scenario_id}" if scenario else "")
            entries.append(PickerEntry(runbook.id, runbook.title, len(runbook.steps),
                                       bool(hits or scenario), why,
                                       self._open_note(runbook.id)))
        self.app.push_screen(RunbookPicker(entries, self.current), self._picked)

    def _open_note(self, runbook_id: str) -> str:
        run = self.runs.get(runbook_id)
        if run is None:
            return ""
        if run.aborted is not None:
            return "open, ABORTED"
        statuses = run.steps()
        done = sum(s.state in (StepState.DONE, StepState.SKIPPED) for s in statuses)
        return f"open {done}/{len(statuses)} done"

    def _picked(self, runbook_id: str | None) -> None:
        if runbook_id:
            self.open_runbook(runbook_id)
        self.focus()

    def open_runbook(self, runbook_id: str) -> RunbookRun | None:
        """Show ``runbook_id``: bring an open run forward, or open (and record) a new one."""
        ctx = self.ctx
        if ctx is None:
            return None
        if runbook_id not in self.runs:
            try:
                runbook: Runbook = ctx.library.get(runbook_id)
                run = RunbookRun(runbook, ctx.facts, ctx.executor, ctx.record, ctx.variables,
                                 on_output=self._output_callback(runbook_id))
            except Exception as exc:  # noqa: BLE001 - a journal error: say it, open nothing
                self._say(f"Could not open {runbook_id}: {exc}", severity="error")
                return None
            self.runs[runbook_id] = run
            self._phase_clock[runbook_id] = (0, ctx.now())
            self._select_current(run)
        self.current = runbook_id
        self.refresh_pane()
        return self.runs[runbook_id]

    # ---------------------------------------------------------------- keys

    def _say(self, message: str, *, severity: str = "information",
             timeout: float | None = None) -> None:
        # markup off: step titles, reasons and commands may hold brackets
        self.app.notify(message, severity=severity, timeout=timeout,  # type: ignore[arg-type]
                        markup=False)

    def _record_dry_run(self, run: RunbookRun, step_id: str, line: str) -> None:
        if self.ctx is None:
            return
        with contextlib.suppress(Exception):  # a journal that fails is shown by the app
            self.ctx.record("step.dry_run", {"runbook": run.runbook.id, "step": step_id,
                                             "result": line, "by": self.ctx.operator()})

    def _record_refusal(self, run: RunbookRun, step_id: str, reason: str) -> None:
        """A guard or confirmation refused a step: that goes in the record (compliance
        reads it, training scores it)."""
        if self.ctx is None:
            return
        with contextlib.suppress(Exception):  # a journal that fails is shown by the app
            self.ctx.record("step.refused", {"runbook": run.runbook.id, "step": step_id,
                                             "reason": reason, "by": self.ctx.operator()})

    def _refuse(self, message: str) -> None:
        self._say(message, severity="warning", timeout=6)

    def _needs_run(self) -> RunbookRun | None:
        run = self.run
        if run is None:
            self._refuse("No runbook open: press p (or o) to pick one.")
        return run

    def follow(self, runs: dict[str, RunbookRun], why: str) -> None:
        """Show someone else's runs as they progress (the demo's autopilot), hands off.

        ``runs`` is the other driver's live mapping; the newest run is shown, its current
        step selected. Every key that would act says ``why`` instead.
        """
        self.runs = runs
        self._following = why
        if self.ctx is None:
            self.set_interval(TICK_S, self.refresh_pane)

    def _follow_newest(self) -> None:
        if not self._following or not self.runs:
            return
        newest = list(self.runs)[-1]
        if newest != self.current:
            self.current = newest
            self._phase_clock.setdefault(newest, (0, self.ctx.now() if self.ctx else
                                                  datetime.now(UTC)))
        run = self.runs[newest]
        self._select_current(run)

    def _hands_off(self) -> bool:
        if self._following:
            self._refuse(self._following)
            return True
        return False

    def _writable(self, what: str) -> bool:
        if self._hands_off():
            return False
        if self.ctx is not None and self.ctx.read_only:
            self._refuse(f"Read-only session: observers cannot {what}.")
            return False
        return True

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
        if self._hands_off():
            return
        run, status = self._needs_run(), self.selected_status()
        if run is None or status is None:
            return
        if self.ctx is not None and self.ctx.read_only and status.mutates:
            self._refuse(f"Read-only session: '{status.step.title}' changes production; "
                         "not run.")
            return
        if status.state is StepState.READY and status.needs_confirmation:
            from screens.step_confirm import StepConfirm

            authority = self.ctx.authority() if self.ctx is not None else None
            modal = StepConfirm(status.step.title, status.preview, status.target, authority,
                                runbook=run.runbook.id, dry_run=self._dry_run_call(run, status),
                                dry_run_timeout_s=self.DRY_RUN_TIMEOUT_S)

            def confirmed(confirmation: Confirmation | None) -> None:
                if confirmation is not None and modal.dry_run is not None:
                    # what the server said before the engineer confirmed belongs to the record
                    self._record_dry_run(run, status.id, modal.dry_run_line)
                self._confirmed(run, status.id, confirmation)

            self.app.push_screen(modal, confirmed)
            return
        if status.state is StepState.READY and status.step.action.type == "approval":
            from screens.reason_prompt import ReasonPrompt

            role = str(status.step.action.params.get("role", "approver"))
            self.app.push_screen(
                ReasonPrompt(status.step.title, status.step.why, label=f"Name of the {role} "
                             "approving", placeholder="recorded in the incident timeline"),
                lambda name: self._confirmed(run, status.id,
                                             Confirmation(approver=name) if name else None))
            return
        self._start(run, status.id, None)

    def _dry_run_call(self, run: RunbookRun, status: StepStatus) -> Callable[[], str] | None:
        """A call asking the executor for a server-side dry run of the step, for the
        confirmation modal to run in a thread worker; ``None`` when the executor has none
        (the simulator)."""
        dry_run = getattr(run.executor, "dry_run", None)
        if not callable(dry_run):
            return None
        try:
            action = run.resolve(status.step)
        except ActionError:
            return None
        variables = dict(run.variables)
        if run.runbook.path:
            variables["runbooks_dir"] = str(Path(run.runbook.path).parent)
        timeout_s = self.DRY_RUN_TIMEOUT_S

        def call() -> str:
            # runs in the modal's thread worker: the executor's requests are bounded
            # by the context's deadline, the modal's timer covers one that hangs anyway
            ctx = RunContext(deadline=time.monotonic() + timeout_s, variables=variables,
                             runbook_id=run.runbook.id, step_id=status.id)
            try:
                result = dry_run(action, ctx)
            except Exception as exc:  # noqa: BLE001 - a dry run must never break the modal
                return dry_run_line(None, action.type, f"{type(exc).__name__}: {exc}")
            return dry_run_line(result, action.type)

        return call

    def _confirmed(self, run: RunbookRun, step_id: str, confirmation: Confirmation | None) -> None:
        self.focus()
        if confirmation is not None:
            self._start(run, step_id, confirmation)

    def _start(self, run: RunbookRun, step_id: str, confirmation: Confirmation | None) -> None:
        try:
            status = run.start(step_id, confirmation)
        except StepRefused as exc:
            self._refuse(str(exc))
            self._record_refusal(run, step_id, str(exc))
            return
        if status.state is StepState.RUNNING:
            self.run_worker(partial(run.run_step, step_id), thread=True, exit_on_error=False,
                            group="runbook-step", name=f"runbook:{run.runbook.id}:{step_id}",
                            description=status.preview)
        else:
            self._say(f"{step_id}: {status.reason}", severity="error", timeout=8)
        self.refresh_pane()

    def action_cancel_step(self) -> None:
        if self._hands_off():
            return
        run = self._needs_run()
        if run is None:
            return
        running = run.running
        if running is None:
            self._refuse("No step is running.")
            return
        try:
            run.cancel(running)
        except StepRefused as exc:
            self._refuse(str(exc))
            return
        self._say(f"Cancelling {running}…")
        self.refresh_pane()

    def action_retry(self) -> None:
        run, status = self._needs_run(), self.selected_status()
        if run is None or status is None or not self._writable("retry steps"):
            return
        if status.state not in _RETRYABLE:
            failed = next((s for s in run.steps() if s.state in _RETRYABLE), None)
            if failed is None:
                self._refuse(f"Only a failed, cancelled or interrupted step can be retried; "
                             f"'{status.id}' is {status.state.value}.")
                return
            status = failed
        try:
            after = run.retry(status.id)
        except StepRefused as exc:
            self._refuse(str(exc))
            return
        self._selected[run.runbook.id] = [s.id for s in run.steps()].index(status.id)
        self._say(f"{status.id} is {after.state.value} again: enter runs it.")
        self.refresh_pane()

    def action_skip(self) -> None:
        run, status = self._needs_run(), self.selected_status()
        if run is None or status is None or not self._writable("skip steps"):
            return
        if status.state in (StepState.DONE, StepState.SKIPPED, StepState.RUNNING):
            self._refuse(f"Step '{status.id}' is {status.state.value}; it cannot be skipped.")
            return
        from screens.reason_prompt import ReasonPrompt

        def skipped(reason: str | None) -> None:
            self.focus()
            if reason is None:
                return
            try:
                run.skip(status.id, reason)
            except StepRefused as exc:
                self._refuse(str(exc))
                return
            self._select_current(run)
            self.refresh_pane()

        self.app.push_screen(ReasonPrompt(f"Skip step: {status.step.title}",
                                          "The reason goes into the incident timeline."),
                             skipped)

    def action_abort(self) -> None:
        run = self._needs_run()
        if run is None or not self._writable("abort runbooks"):
            return
        if run.aborted is not None:
            self._refuse(f"{run.runbook.id} is already aborted: {run.aborted}")
            return
        from screens.reason_prompt import ReasonPrompt

        def aborted(reason: str | None) -> None:
            self.focus()
            if reason is None:
                return
            try:
                run.abort(reason)
            except StepRefused as exc:
                self._refuse(str(exc))
                return
            except Exception as exc:  # noqa: BLE001 - the journal refused: nothing changed
                self._say(f"Abort not recorded: {exc}", severity="error")
                return
            self._say(f"Runbook {run.runbook.id} aborted.")
            self.refresh_pane()

        self.app.push_screen(ReasonPrompt(f"Abort runbook: {run.runbook.title}",
                                          "No step may start afterwards; a running step is "
                                          "cancelled."), aborted)

    def action_variables(self) -> None:
        run = self._needs_run()
        if run is None or not self._writable("change variables"):
            return
        values = run.editable_variables()
        if not values:
            self._refuse(f"{run.runbook.id} uses no variables.")
            return
        from screens.runbook_variables import RunbookVariables

        def done(changed: dict[str, str] | None) -> None:
            self.focus()
            if not changed:
                return
            try:
                run.set_variables(changed)
            except StepRefused as exc:
                self._refuse(str(exc))
                return
            except Exception as exc:  # noqa: BLE001 - the journal refused: nothing changed
                self._say(f"Variables not recorded: {exc}", severity="error")
                return
            self._say("Set " + ", ".join(f"{k} = {v}" for k, v in changed.items()))
            self.refresh_pane()

        self.app.push_screen(RunbookVariables(run.runbook.title, values), done)

    # ---------------------------------------------------------------- events

    @on(StepOutput)
    def _on_output(self, message: StepOutput) -> None:
        if message.runbook_id == self.current:
            self.refresh_pane()

    @on(Worker.StateChanged)
    def _on_worker(self, event: Worker.StateChanged) -> None:
        name = event.worker.name
        if not name.startswith("runbook:"):
            return
        event.stop()
        _, runbook_id, step_id = name.split(":", 2)
        if event.state is WorkerState.SUCCESS:
            status: StepStatus = event.worker.result
            if status.state is StepState.DONE:
                self._say(f"{step_id}: done")
                run = self.runs.get(runbook_id)
                if run is not None:
                    selected = self._selected.get(runbook_id, 0)
                    ids = [s.id for s in run.steps()]
                    if ids[selected] == step_id:
                        self._select_current(run)
            else:
                self._say(f"{step_id}: {state_word(status)}", severity="error", timeout=8)
        elif event.state is WorkerState.ERROR:
            self._say(f"{step_id}: the step's worker failed: {event.worker.error}",
                            severity="error", timeout=10)
        self.refresh_pane()

    def on_resize(self, event: Resize) -> None:
        self.refresh_pane()

    def on_focus(self) -> None:
        self.refresh_pane()

    def on_blur(self) -> None:
        self.refresh_pane()

    # ---------------------------------------------------------------- drawing

    def refresh_pane(self) -> None:
        """Redraw the pane (only when what it shows changed)."""
        self._follow_newest()
        run = self.run
        empty = self.query_one("#runbook-empty", Static)
        body = self.query_one("#runbook-body", Static)
        if run is None:
            empty.display, body.display = True, False
            return
        empty.display, body.display = False, True
        width, height = body.size
        if width <= 0 or height <= 0:
            width, height = max(20, self.size.width - 4), max(6, self.size.height - 2)
        lines = self.pane_lines(run, width, height)
        key = (tuple(line.plain for line in lines), self.has_focus_within, width, height)
        if key != self._last_key:
            self._last_key = key
            body.update(Content("\n").join(lines))
        self.border_subtitle = self._subtitle(run)

    def _subtitle(self, run: RunbookRun) -> str:
        statuses = run.steps()
        done = sum(s.state in (StepState.DONE, StepState.SKIPPED) for s in statuses)
        others = len(self.runs) - 1
        more = f" · {others} more open" if others else ""
        return f"{done}/{len(statuses)} done{more}"

    def _phase_line(self, run: RunbookRun, width: int) -> Content:
        ctx = self.ctx
        if run.aborted is not None:
            return Content.assemble(("ABORTED", "bold reverse $error"),
                                    _fit(f" {run.aborted}", width - 7))
        index = self._phase_index(run)
        if index is None:
            return Content.assemble(("COMPLETE", "bold $success"),
                                    _fit(" every step done or skipped", width - 8))
        phases = run.runbook.phases
        phase = phases[index]
        now = ctx.now() if ctx is not None else datetime.now().astimezone()
        clock = self._phase_clock.get(run.runbook.id)
        if clock is None or clock[0] != index:
            clock = (index, now)
            self._phase_clock[run.runbook.id] = clock
        head = f"Phase {index + 1}/{len(phases)} {phase.name}"
        if phase.budget_s is None:
            return Content(_fit(head, width))
        left = phase.budget_s - (now - clock[1]).total_seconds()
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
        ro = " · READ-ONLY" if self.ctx is not None and self.ctx.read_only else ""
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
