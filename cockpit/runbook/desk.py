"""The runbook desk: the one owner of an incident's runbook runs (no Textual).

Every caller — the war room's keys, headless training, the demo's autopilot — goes
through the desk, so its rules hold for all of them: what must be asked before a step
starts (a destructive confirmation, an approver's name), refusals recorded
(``step.refused``), the server's dry-run answer recorded before the step starts
(``step.dry_run``), read-only sessions refused anything that changes production, the
phase clocks, the status update's progress, and waiting for running steps at shutdown.

Guards read ``facts()`` (the journal reducer's ``IncidentState.facts``): the desk and its
runs record events, the reducer folds them. Change notices go to subscribers as
``callback(runbook_id)``, from whichever thread made the change (a step's output and its
end arrive from the thread running it)::

    desk = RunbookDesk(library, executor, session.record, lambda: session.state.facts,
                       now=clock.now, operator=operator_name)
    desk.restore(session.state.runbooks)     # runs open before a resume; writes nothing
    desk.subscribe(lambda runbook_id: ...)
    desk.open("frontend-kubernetes")
    ask = desk.request("frontend-kubernetes", "undo")     # None, ConfirmDestructive, AskApprover
    desk.start("frontend-kubernetes", "undo", Confirmation("frontend", "Dana (IC)"))
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from cockpit.actions.executor import ActionResult, Executor, RunContext
from cockpit.actions.types import ActionError, ResolvedAction
from cockpit.runbook.deployment_actions import with_deployment_actions
from cockpit.runbook.engine import (
    Confirmation,
    FactsSource,
    Record,
    RunbookRun,
    RunOutcome,
    StepRefused,
    StepState,
    StepStatus,
)
from cockpit.runbook.model import Library, format_duration
from cockpit.runbook.recommend import recommendations
from cockpit.timeline.kinds import EventKind as K
from cockpit.timeline.redact import default_redactor

if TYPE_CHECKING:
    from cockpit.decision.suspect import Suspect
    from cockpit.timeline.replay import RunbookState

Spawn = Callable[[Callable[[], object], str], None]
"""Run a callable in the background under a name (default: a daemon thread)."""

#: Longest server dry-run line shown in the confirmation modal (three rows at 80 columns).
DRY_RUN_LINE_MAX = 210
DRY_RUN_TIMEOUT_S = 5.0
_RETRYABLE = (StepState.FAILED, StepState.CANCELLED, StepState.INTERRUPTED)


class Refusal(StrEnum):
    """Why a step was refused: the ``code`` of its ``step.refused`` event.

    The first four are the procedure refusing an unsafe or out-of-order move (training
    scores them); the others refuse a key press that would do nothing (the step runs, is
    done, waits for an explicit retry, or its runbook was aborted)."""

    GUARD = "guard"
    """a guard's requirement is not met (the step is blocked)"""
    ORDER = "order"
    """an earlier step comes first"""
    CONFIRMATION = "confirmation"
    """a destructive step's target not typed, or no approver's name"""
    READ_ONLY = "read_only"
    """a read-only session asked to change production"""
    RUNNING = "running"
    """a step of the runbook is still running (run pressed again)"""
    FINISHED = "finished"
    """the step is already done or skipped"""
    NEEDS_RETRY = "needs_retry"
    """the step failed, was cancelled or interrupted: retry or skip it explicitly"""
    ABORTED = "aborted"
    """the runbook was aborted"""


def refusal_code(run: RunbookRun, step_id: str) -> Refusal:
    """Why :meth:`RunbookRun.check_start` refuses ``step_id`` now (read under the lock
    that made the check)."""
    if run.aborted is not None:
        return Refusal.ABORTED
    if run.running is not None:
        return Refusal.RUNNING
    state = run.state(step_id).state
    if state is StepState.BLOCKED:
        return Refusal.GUARD
    if state is StepState.PENDING:
        return Refusal.ORDER
    if state in (StepState.DONE, StepState.SKIPPED):
        return Refusal.FINISHED
    if state in _RETRYABLE:
        return Refusal.NEEDS_RETRY
    return Refusal.CONFIRMATION  # ready: what was refused is the confirmation


# ------------------------------------------------------------------ what the desk returns


@dataclass(frozen=True)
class PlannedStep:
    """One step of the runbook plan as the runbook engine sees it (pending ones included)."""

    runbook: str
    step: str
    title: str
    status: str
    """``pending``, ``ready``, ``blocked``, ``running``, ``done``, ``failed``, ``skipped``..."""


@dataclass(frozen=True)
class Progress:
    """What the journal cannot know, for the status update template.

    ``steps`` is the whole plan in order (pending steps included); without it the
    template works from the steps the journal has seen and cannot list next steps.
    """

    steps: tuple[PlannedStep, ...] = ()
    phase: str | None = None
    eta: str | None = None
    contact: str | None = None


@dataclass(frozen=True)
class PickerEntry:
    """One runbook as the picker lists it."""

    id: str
    title: str
    steps: int
    recommended: bool = False
    why: str = ""
    """A few words: why it is recommended (``error_rate fired 7m after api went to r8``),
    or why not for one that matched (``acts on frontend; api changed``)."""
    status: str = ""
    """``open 2/6 done`` for a runbook already open in this incident."""
    target: str = ""
    """The deployment it would act on (``api``): the picker's search matches it too."""


@dataclass(frozen=True)
class ConfirmDestructive:
    """Before a destructive step starts: the target's name typed and an approver's name."""

    runbook: str
    step: str
    title: str
    preview: str
    target: str
    authority: str | None
    """Who may approve at the incident's severity (``None`` while it is unset)."""
    dry_run: Callable[[], str] | None
    """Asks the server for a dry run (blocking: call it in a thread) and returns the line
    to show; ``None`` when the executor offers none. Give the line shown when the
    engineer confirmed to :meth:`RunbookDesk.start` as ``dry_run_line``."""
    dry_run_timeout_s: float = DRY_RUN_TIMEOUT_S


@dataclass(frozen=True)
class AskApprover:
    """Before an approval step starts: the name of the person approving."""

    runbook: str
    step: str
    title: str
    why: str
    role: str


Ask = ConfirmDestructive | AskApprover | None
"""What the UI must ask before :meth:`RunbookDesk.start` (``None``: nothing)."""


class Verb(StrEnum):
    """An operator's request on a run, for :meth:`RunbookDesk.check`."""

    SKIP = "skip steps"
    ABORT = "abort runbooks"
    RETRY = "retry steps"
    VARIABLES = "change variables"
    ATTEST = "attest notifications"


# ------------------------------------------------------------------ helpers


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
    return text if len(text) <= DRY_RUN_LINE_MAX else text[: DRY_RUN_LINE_MAX - 1] + "…"


def _thread(target: Callable[[], object], name: str) -> None:
    threading.Thread(target=target, name=name, daemon=True).start()


# ------------------------------------------------------------------ the desk


class RunbookDesk:
    """The runbook runs of one incident, in the order they were opened (thread-safe)."""

    def __init__(
        self,
        library: Library,
        executor: Executor,
        record: Record,
        facts: FactsSource,
        *,
        now: Callable[[], datetime],
        operator: Callable[[], str] = lambda: "",
        fired: Callable[[], Sequence[str]] = lambda: (),
        authority: Callable[[], str | None] = lambda: None,
        scenario_id: str | None = None,
        variables: Mapping[str, Any] | None = None,
        read_only: bool = False,
        suspect: Callable[[], Suspect | None] = lambda: None,
        monotonic: Callable[[], float] = time.monotonic,
        spawn: Spawn | None = None,
        dry_run_timeout_s: float = DRY_RUN_TIMEOUT_S,
    ) -> None:
        """``record(kind, data)`` writes one event durably (raises when it cannot, and the
        step then does not run); ``facts()`` is what the record has established;
        ``now`` is the incident clock (phase budgets count on it); ``fired`` the
        triggers firing now (recommended runbooks first); ``authority`` the approver
        role for the severity; ``variables`` config and incident values over runbook
        defaults (read when a run opens); ``read_only``: observers run nothing that
        changes production. ``spawn`` runs a started step in the background (a
        daemon thread unless given)."""
        # the library answers the deployment actions' ids too (one-step runs opened from
        # the Pods panel's history), so a resumed incident restores them from the record
        self.library = with_deployment_actions(library)
        self.executor = executor
        self.record = record
        self.facts = facts
        self.now = now
        self.operator = operator
        self.fired = fired
        self.authority = authority
        self.scenario_id = scenario_id
        self.suspect = suspect
        """The deployment whose revision changed before the breach (the picker recommends
        its rollback with it filled in)."""
        self._suggested: dict[str, dict[str, str]] = {}
        self.variables: Mapping[str, Any] = variables if variables is not None else {}
        self.read_only = read_only
        self.dry_run_timeout_s = dry_run_timeout_s
        self._monotonic = monotonic
        self._spawn = spawn or _thread
        self._lock = threading.RLock()
        self._runs: dict[str, RunbookRun] = {}
        self._current: str | None = None
        self._clocks: dict[str, tuple[int, datetime]] = {}
        self._subscribers: list[Callable[[str], None]] = []
        self._settled = threading.Condition(threading.Lock())
        """Notified at every change (a step started or ended): :meth:`wait_idle` waits on
        it instead of polling. Its own lock, held around nothing else (a step's thread
        may hold its run's lock when it notifies)."""
        self._changes = 0

    # -------------------------------------------------------------- notices

    def subscribe(self, callback: Callable[[str], None]) -> Callable[[], None]:
        """Call ``callback(runbook_id)`` on every change (from any thread); returns the
        call that unsubscribes it."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock, contextlib.suppress(ValueError):
                self._subscribers.remove(callback)

        return unsubscribe

    def _changed(self, runbook_id: str) -> None:
        run = self._runs.get(runbook_id)
        if run is not None:
            self.phase(runbook_id)  # a new phase begins when the change happens
        with self._lock:
            subscribers = list(self._subscribers)
        with self._settled:
            self._changes += 1
            self._settled.notify_all()
        for callback in subscribers:
            callback(runbook_id)

    # -------------------------------------------------------------- runs

    @property
    def runs(self) -> Mapping[str, RunbookRun]:
        """Every run opened in this incident, by runbook id, in the order opened."""
        with self._lock:
            return MappingProxyType(dict(self._runs))

    @property
    def current(self) -> str | None:
        """The runbook shown: the one opened or brought forward last."""
        return self._current

    def run(self, runbook_id: str) -> RunbookRun:
        """The open run of ``runbook_id`` (:class:`StepRefused` when it is not open)."""
        run = self._runs.get(runbook_id)
        if run is None:
            raise StepRefused(f"runbook {runbook_id} is not open: press p (or o) to pick one")
        return run

    def _new_run(self, runbook_id: str, recorded: RunbookState | None) -> RunbookRun:
        return RunbookRun.from_state(
            self.library.get(runbook_id), recorded, self.facts, self.executor, self.record,
            dict(self.variables.items()), monotonic=self._monotonic,
            on_output=lambda _step, _line: self._changed(runbook_id))

    def restore(self, runbooks: Mapping[str, RunbookState]) -> list[str]:
        """Rebuild the runs the record has open (the reducer's ``IncidentState.runbooks``).

        Writes nothing. A step still running in the record shows ``interrupted`` and
        never re-runs by itself; each phase clock comes back as recorded (the current
        phase began with its first started step, else at the run's last event). Returns
        one line per run that could not be restored (the others are).
        """
        problems: list[str] = []
        for runbook_id, recorded in runbooks.items():
            if runbook_id in self._runs:
                continue
            if runbook_id not in self.library:
                problems.append(f"Runbook {runbook_id} could not be restored: it is no longer "
                                "in the runbook library")
                continue
            try:
                run = self._new_run(runbook_id, recorded)
            except Exception as exc:  # noqa: BLE001 - one bad run must not hide the others
                problems.append(f"Runbook {runbook_id} could not be restored: {exc}")
                continue
            with self._lock:
                self._runs[runbook_id] = run
                self._current = runbook_id
                index = run.phase_index()
                if index is not None:
                    phase = {s.id for s in run.runbook.phases[index].steps}
                    started = [s.started_at for sid, s in recorded.steps.items()
                               if sid in phase and s.started_at is not None]
                    began = min(started) if started else recorded.last_at
                    self._clocks[runbook_id] = (index, began or self.now())
            self._changed(runbook_id)
        return problems

    def open(self, runbook_id: str) -> RunbookRun:
        """Show ``runbook_id``: bring an open run forward, or open one (``runbook.opened``
        recorded once). Raises ``KeyError`` for an unknown runbook and the journal's
        error when it cannot record the opening (nothing opens)."""
        with self._lock:
            run = self._runs.get(runbook_id)
            if run is None:
                run = self._new_run(runbook_id, None)
                self._runs[runbook_id] = run
                self._clocks[runbook_id] = (0, self.now())
                self._fill_suggested(run)
            self._current = runbook_id
        self._changed(runbook_id)
        return run

    def _fill_suggested(self, run: RunbookRun) -> None:
        """A run opened from the picker's recommendation gets the values it was offered
        with (the suspect deployment: ``runbook.variables``, recorded)."""
        values = self._suggested.get(run.runbook.id)
        if not values:
            return
        editable = run.editable_variables()
        changed = {k: v for k, v in values.items() if k in editable and editable[k] != v}
        if changed:
            with contextlib.suppress(StepRefused):  # the run opens with its defaults
                run.set_variables(changed)

    def picker_entries(self) -> list[PickerEntry]:
        """Every runbook, recommended first (:func:`cockpit.runbook.recommend.
        recommendations`: what fired and the suspect deployment), with why."""
        picks = recommendations(self.library, self.fired(), self.scenario_id,
                                suspect=self.suspect())
        with self._lock:
            self._suggested = {p.runbook.id: dict(p.variables) for p in picks if p.variables}
        return [PickerEntry(p.runbook.id, p.runbook.title, len(p.runbook.steps),
                            p.recommended, p.why, self._open_note(p.runbook.id),
                            p.variables.get("deployment", p.target))
                for p in picks]

    def _open_note(self, runbook_id: str) -> str:
        run = self._runs.get(runbook_id)
        if run is None:
            return ""
        if run.aborted is not None:
            return "open, ABORTED"
        statuses = run.steps()
        done = sum(s.state in (StepState.DONE, StepState.SKIPPED) for s in statuses)
        return f"open {done}/{len(statuses)} done"

    # -------------------------------------------------------------- refusals

    def _refused(self, runbook_id: str, step_id: str, reason: str,
                 code: Refusal) -> StepRefused:
        """A guard, a confirmation or read-only refused a step: that goes in the record
        with why (compliance reads it; training scores the procedure's refusals, not a
        key pressed on a step that runs)."""
        with contextlib.suppress(Exception):  # a journal that fails is shown by the app
            self.record(K.STEP_REFUSED, {"runbook": runbook_id, "step": step_id,
                                         "reason": reason, "code": code.value,
                                         "by": self.operator()})
        return StepRefused(reason)

    def _refuse_read_only(self, run: RunbookRun, status: StepStatus) -> None:
        if self.read_only and status.mutates:
            raise self._refused(run.runbook.id, status.id,
                                f"Read-only session: '{status.step.title}' changes "
                                "production; not run.", Refusal.READ_ONLY)

    def check(self, verb: Verb, runbook_id: str, step_id: str | None = None) -> None:
        """Raise :class:`StepRefused` (one line) if ``verb`` would be refused now, before the
        UI asks for a reason or values. The verbs themselves check again."""
        if self.read_only:
            raise StepRefused(f"Read-only session: observers cannot {verb.value}.")
        run = self.run(runbook_id)
        if verb is Verb.SKIP and step_id is not None:
            status = run.state(step_id)
            if status.state in (StepState.DONE, StepState.SKIPPED, StepState.RUNNING):
                raise StepRefused(f"Step '{step_id}' is {status.state.value}; it cannot be "
                                  "skipped.")
        elif verb is Verb.ABORT and run.aborted is not None:
            raise StepRefused(f"{runbook_id} is already aborted: {run.aborted}")
        elif verb is Verb.VARIABLES and not run.editable_variables():
            raise StepRefused(f"{runbook_id} uses no variables.")
        elif verb is Verb.ATTEST and not self.unnotified(runbook_id, step_id):
            raise StepRefused("Nothing to attest: the selected step waits for no notification.")

    def unnotified(self, runbook_id: str, step_id: str | None) -> list[str]:
        """The targets the step's ``notified`` guard still waits for (none: ``[]``)."""
        if step_id is None:
            return []
        step = self.run(runbook_id).runbook.step(step_id)
        notified = self.facts().notified
        return [t for t in step.requires.notified if t not in notified]

    def attest(self, runbook_id: str, step_id: str, how: str) -> list[str]:
        """The operator told the step's unnotified targets themselves (by phone, in
        person): record ``notification.attested`` {target, how, by} for each, a labelled
        fact of its own that the guard accepts, never a delivery. Returns the targets."""
        how = " ".join(how.split())
        if not how:
            raise StepRefused("say how they were told (a phone call to whom, when)")
        self.check(Verb.ATTEST, runbook_id, step_id)
        targets = self.unnotified(runbook_id, step_id)
        for target in targets:
            self.record(K.NOTIFICATION_ATTESTED,
                        {"target": target, "how": how, "by": self.operator(),
                         "runbook": runbook_id, "step": step_id})
        self._changed(runbook_id)
        return targets

    # -------------------------------------------------------------- starting

    def request(self, runbook_id: str, step_id: str) -> Ask:
        """What the UI must ask before :meth:`start`: nothing, a destructive confirmation
        or an approver's name. Raises :class:`StepRefused` (recorded) when a read-only
        session would refuse the step anyway; a step that is not ready asks nothing
        (:meth:`start` refuses it and says why)."""
        run = self.run(runbook_id)
        status = run.state(step_id)
        self._refuse_read_only(run, status)
        if status.state is not StepState.READY:
            return None
        if status.needs_confirmation:
            return ConfirmDestructive(runbook_id, step_id, status.step.title, status.preview,
                                      status.target, self.authority(),
                                      self._dry_run_call(run, status), self.dry_run_timeout_s)
        if status.step.action.type == "approval":
            role = str(status.step.action.params.get("role", "approver"))
            return AskApprover(runbook_id, step_id, status.step.title, status.step.why, role)
        return None

    def _dry_run_call(self, run: RunbookRun, status: StepStatus) -> Callable[[], str] | None:
        if not self.executor.capabilities.dry_run:
            return None
        try:
            action = run.resolve(status.step)
        except ActionError:
            return None
        variables = dict(run.variables)
        if run.runbook.path:
            variables["runbooks_dir"] = str(Path(run.runbook.path).parent)
        dry_run: Callable[[ResolvedAction, RunContext], ActionResult] = self.executor.dry_run
        timeout_s = self.dry_run_timeout_s
        runbook_id, step_id = run.runbook.id, status.id

        def call() -> str:
            # the executor's requests are bounded by the context's deadline; the modal's
            # timer covers one that hangs anyway
            ctx = RunContext(deadline=time.monotonic() + timeout_s, variables=variables,
                             runbook_id=runbook_id, step_id=step_id)
            try:
                result = dry_run(action, ctx)
            except Exception as exc:  # noqa: BLE001 - a dry run must never break the modal
                return dry_run_line(None, action.type, f"{type(exc).__name__}: {exc}")
            return dry_run_line(result, action.type)

        return call

    def start(self, runbook_id: str, step_id: str, confirmation: Confirmation | None = None,
              *, dry_run_line: str | None = None, background: bool = True,
              on_finish: Callable[[StepStatus], None] | None = None) -> StepStatus:
        """Start a step and run it: in the background (``spawn``), or with
        ``background=False`` to its end in the caller's thread (headless).

        A refusal (not ready, a guard, a wrong confirmation, read-only) is recorded as
        ``step.refused`` and raised as :class:`StepRefused`. ``dry_run_line``, what the
        engineer saw of the server's dry run when confirming, is recorded
        (``step.dry_run``) before ``step.started``. ``on_finish(status)`` is called
        with the final status, in the thread that ran the step. Returns the status
        after the start (running, or failed when the journal could not be written),
        or the final one without ``background``.
        """
        with self._lock:
            run = self.run(runbook_id)
            self._refuse_read_only(run, run.state(step_id))
            try:
                run.check_start(step_id, confirmation)
            except StepRefused as exc:
                raise self._refused(runbook_id, step_id, str(exc),
                                    refusal_code(run, step_id)) from None
            if dry_run_line is not None:
                with contextlib.suppress(Exception):  # step.started below is the check
                    self.record(K.STEP_DRY_RUN, {"runbook": runbook_id, "step": step_id,
                                                 "result": dry_run_line, "by": self.operator()})
            status = run.start(step_id, confirmation)
        self._changed(runbook_id)
        if status.state is not StepState.RUNNING:
            if on_finish is not None:
                on_finish(status)
            return status

        def run_it() -> StepStatus:
            final = run.run_step(step_id)
            self._changed(runbook_id)
            if on_finish is not None:
                on_finish(final)
            return final

        if not background:
            return run_it()
        self._spawn(run_it, f"runbook:{runbook_id}:{step_id}")
        return status

    # -------------------------------------------------------------- the other verbs

    def cancel(self, runbook_id: str, step_id: str | None = None) -> str:
        """Ask the running step (or ``step_id``) to stop; returns its id. It ends
        ``cancelled`` when the executor notices."""
        run = self.run(runbook_id)
        step_id = step_id or run.running
        if step_id is None:
            raise StepRefused("No step is running.")
        run.cancel(step_id)
        self._changed(runbook_id)
        return step_id

    def retry(self, runbook_id: str, step_id: str | None = None) -> StepStatus:
        """Make a failed, cancelled or interrupted step startable again (never automatic):
        ``step_id`` if it is one, else the first such step of the run."""
        self.check(Verb.RETRY, runbook_id)
        run = self.run(runbook_id)
        statuses = run.steps()
        chosen = next((s for s in statuses if s.id == step_id), None)
        if chosen is None or chosen.state not in _RETRYABLE:
            failed = next((s for s in statuses if s.state in _RETRYABLE), None)
            if failed is None:
                what = f"'{chosen.id}' is {chosen.state.value}" if chosen else "none is"
                raise StepRefused("Only a failed, cancelled or interrupted step can be "
                                  f"retried; {what}.")
            chosen = failed
        status = run.retry(chosen.id)
        self._changed(runbook_id)
        return status

    def skip(self, runbook_id: str, step_id: str, reason: str) -> StepStatus:
        """Skip a step with a reason (recorded)."""
        self.check(Verb.SKIP, runbook_id, step_id)
        status = self.run(runbook_id).skip(step_id, reason)
        self._changed(runbook_id)
        return status

    def abort(self, runbook_id: str, reason: str) -> None:
        """Abort a run with a reason (recorded): no step may start; a running one is
        cancelled. The journal's error is raised when it cannot be recorded."""
        self.check(Verb.ABORT, runbook_id)
        self.run(runbook_id).abort(reason)
        self._changed(runbook_id)

    def editable_variables(self, runbook_id: str) -> dict[str, str]:
        """The variables the operator may set for a run, with their current values."""
        return self.run(runbook_id).editable_variables()

    def set_variables(self, runbook_id: str, values: Mapping[str, str]) -> dict[str, str]:
        """Set some of a run's variables (``runbook.variables``); returns those changed."""
        self.check(Verb.VARIABLES, runbook_id)
        changed = self.run(runbook_id).set_variables(values)
        self._changed(runbook_id)
        return changed

    # -------------------------------------------------------------- reading

    def phase(self, runbook_id: str) -> tuple[int, datetime] | None:
        """The phase clock of a run: (the current phase's index, when it began on the
        incident clock); ``None`` once every step has ended or for a run not open."""
        run = self._runs.get(runbook_id)
        if run is None:
            return None
        index = run.phase_index()
        if index is None:
            return None
        with self._lock:
            clock = self._clocks.get(runbook_id)
            if clock is None or clock[0] != index:
                clock = self._clocks[runbook_id] = (index, self.now())
            return clock

    def budget_left(self, runbook_id: str) -> float | None:
        """Seconds left of the current phase's budget (negative: over); ``None`` without
        a budget or a current phase."""
        clock = self.phase(runbook_id)
        if clock is None:
            return None
        budget = self._runs[runbook_id].runbook.phases[clock[0]].budget_s
        if budget is None:
            return None
        return budget - (self.now() - clock[1]).total_seconds()

    def progress(self) -> Progress:
        """Every open runbook's steps, the shown one's phase and an ETA from its budgets
        (for the status update template)."""
        runs = list(self.runs.values())
        steps = tuple(PlannedStep(run.runbook.id, s.id, s.step.title, s.state.value)
                      for run in runs for s in run.steps())
        current = self._current
        if current is None:
            return Progress(steps=steps)
        run = self._runs[current]
        title = run.runbook.title
        outcome = run.outcome
        if outcome is not RunOutcome.IN_PROGRESS:
            failed = len(run.failed_steps())
            said = (f"finished with {failed} failed" if outcome is
                    RunOutcome.FINISHED_WITH_FAILURES else outcome.value)
            return Progress(steps=steps, phase=f"{title}: {said}")
        clock = self.phase(current)
        assert clock is not None
        index, phases = clock[0], run.runbook.phases
        phase = f"{title}: {phases[index].name} ({index + 1}/{len(phases)})"
        left = max(0.0, self.budget_left(current) or 0.0)
        left += sum(p.budget_s or 0 for p in phases[index + 1:])
        eta = f"about {format_duration(left)} (phase budgets left)" if left else None
        return Progress(steps=steps, phase=phase, eta=eta)

    def wait_idle(self, *, changes_only: bool = False) -> None:
        """Before the cockpit goes: let a running step finish and be recorded (blocking).

        A step that changes something is given the rest of its timeout. A step that only
        waits or reads is cancelled (it changes nothing, and on the simulator its clock
        stops with the app) — or, with ``changes_only``, left alone and not waited for
        (SIGHUP: the record then shows it started and never finished: interrupted).
        """
        deadline = 0.0
        runs = list(self.runs.values())
        for run in runs:
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
            for run in runs:
                step_id = run.running
                if step_id is not None and (not changes_only or run.state(step_id).mutates):
                    return True
            return False

        # blocks on the desk's condition (notified when a step ends), never spins; the
        # wake-up once a second covers a run whose step ended without a notice
        while deadline:
            with self._settled:
                seen = self._changes
            if not busy():
                return
            left = deadline - time.monotonic()
            if left <= 0:
                return
            with self._settled:
                if self._changes == seen:
                    self._settled.wait(min(left, 1.0))

    def idle(self) -> bool:
        """Whether no step of any run is running."""
        return all(run.running is None for run in self.runs.values())

