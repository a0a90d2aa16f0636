"""The step state machine of one runbook run within an incident.

Steps run one at a time, in order. A step is *ready* when it is the next step
not done or skipped and every guard holds; otherwise the next step is
*blocked* and says which guard blocks and why. Destructive steps need a
:class:`Confirmation` (the target's name typed, and an approver). Every
transition is recorded through ``record(kind, data)`` before it takes effect:
``step.started`` is written before the action runs, and if writing fails the
action does not run. Nothing is retried automatically.

Guards read what the incident has established from ``facts()``, a
:class:`GuardFacts` (in the cockpit: the journal reducer's ``IncidentState.facts``).
A run never changes facts itself: it records ``fact.established``,
``approval.recorded`` and ``step.finished`` (with ``notified``), and the reducer folds
them before ``record`` returns, so the next guard check sees them.

:class:`~cockpit.runbook.desk.RunbookDesk` owns an incident's runs; driven directly::

    run = RunbookRun(runbook, lambda: state.facts, executor, journal_record, variables)
    status = run.start("undo", Confirmation("api", "Dana (IC)"))  # refusals raise
    if status.state is StepState.RUNNING:
        run_in_thread(lambda: run.run_step("undo"))                # blocking, streams output
    run.cancel("undo")                                               # any time, any thread
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from cockpit.actions.executor import ActionResult, Executor, RunContext
from cockpit.actions.types import (
    MANUAL_TYPES,
    RUNTIME_VARIABLES,
    ActionError,
    ResolvedAction,
    effective_variables,
    expand,
    resolve,
    variable_refs,
)
from cockpit.runbook.loader import facts_established_by, missing_db_guards
from cockpit.runbook.model import (
    FACT_HINTS,
    NOTIFY_TARGETS,
    ROLES,
    Runbook,
    Step,
    format_duration,
)
from cockpit.timeline.kinds import EventKind as K
from cockpit.timeline.redact import redact_text
from cockpit.timeline.sanitize import needs_sanitizing, visible

if TYPE_CHECKING:
    from cockpit.timeline.replay import RunbookState

Record = Callable[[str, dict[str, Any]], None]
OUTPUT_KEEP_BYTES = 4096
INTERRUPTED = "interrupted: started but never finished (the session ended)"


class StepState(StrEnum):
    """Where a step stands."""

    PENDING = "pending"
    READY = "ready"
    BLOCKED = "blocked"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"
    INTERRUPTED = "interrupted"
    CANCELLED = "cancelled"


#: States that hold the runbook up until the operator acts on them.
_CURRENT = frozenset({StepState.READY, StepState.BLOCKED, StepState.RUNNING, StepState.FAILED,
                      StepState.CANCELLED, StepState.INTERRUPTED})


class RunOutcome(StrEnum):
    """How a run stands as a whole."""

    IN_PROGRESS = "in progress"
    COMPLETE = "complete"
    """Every step done or skipped."""
    FINISHED_WITH_FAILURES = "finished with failures"
    """Every step ended, and some failed (``on_failure: continue`` let the rest run)."""
    ABORTED = "aborted"


class StepRefused(Exception):
    """The engine refuses an operator's request; the message says why (one line)."""


@dataclass(frozen=True)
class Confirmation:
    """The operator's confirmation of a step: the target name typed, and who approves."""

    target_typed: str = ""
    approver: str = ""


@dataclass(frozen=True)
class StepStatus:
    """A step's state as the UI shows it."""

    step: Step
    state: StepState
    reason: str = ""
    """Why blocked / failed / skipped / cancelled (first blocking guard for blocked)."""
    blockers: tuple[str, ...] = ()
    """Every guard that blocks the step."""
    preview: str = ""
    """The exact equivalent command, or the variable error that prevents it."""
    output: str = ""
    elapsed_s: float | None = None
    """Seconds since start (running) or the run's duration (finished)."""
    target: str = ""
    """The name to type to confirm a destructive step."""
    needs_confirmation: bool = False
    mutates: bool = False
    idempotent: bool = True

    @property
    def id(self) -> str:
        """The step's id."""
        return self.step.id


def _ended(status: StepStatus) -> bool:
    """Done, skipped, or failed with ``on_failure: continue`` (the run went on past it)."""
    return status.state in (StepState.DONE, StepState.SKIPPED) or (
        status.state is StepState.FAILED and status.step.on_failure == "continue")


# ------------------------------------------------------------------ incident


class GuardFacts(Protocol):
    """What the incident has established, as runbook guards read it.

    The cockpit passes the journal reducer's ``IncidentState.facts``
    (:class:`cockpit.timeline.replay.Facts`), folded from what the runs record.
    """

    @property
    def facts(self) -> Set[str]:
        """Facts established (``backup_taken``, ``incident_declared``...)."""
        ...

    @property
    def approvals(self) -> Mapping[str, str]:
        """role -> approver."""
        ...

    @property
    def undelivered(self) -> Mapping[str, str]:
        """target -> why a notification to it is not delivered yet (pending, failed)."""
        ...

    @property
    def notified(self) -> Set[str]:
        """Targets a channel accepted a message for, or the operator attested telling."""
        ...

    @property
    def steps_done(self) -> Set[str]:
        """``runbook/step`` of every step done in this incident."""
        ...


FactsSource = Callable[[], GuardFacts]
"""Called at every guard check: the facts as recorded now."""


# ------------------------------------------------------------------ run


@dataclass
class _Slot:
    state: StepState | None = None  # None: derived (pending/ready/blocked)
    reason: str = ""
    lines: list[str] = field(default_factory=list)
    output: str = ""
    started_at: float | None = None
    duration_s: float | None = None
    preview: str = ""
    confirmation: Confirmation | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    executing: bool = False


def _digest_and_tail(output: str) -> tuple[str, str, bool]:
    data = output.encode("utf-8")
    digest = hashlib.sha256(data).hexdigest()
    if len(data) <= OUTPUT_KEEP_BYTES:
        return output, digest, False
    return data[-OUTPUT_KEEP_BYTES:].decode("utf-8", errors="ignore"), digest, True


class RunbookRun:
    """One runbook being run within an incident: the step state machine."""

    def __init__(
        self,
        runbook: Runbook,
        facts: FactsSource,
        executor: Executor,
        record: Record,
        variables: Mapping[str, Any] | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        on_output: Callable[[str, str], None] | None = None,
        _opened: bool = False,
    ) -> None:
        """Open a run; records ``runbook.opened`` (unless restored: see :meth:`from_state`).

        ``facts()`` is read at every guard check; ``variables`` are config and incident
        values (they override the runbook's defaults); ``on_output(step_id, line)``
        receives streamed lines (from the thread running the step).
        """
        self.runbook = runbook
        self.facts = facts
        self.executor = executor
        self._record = record
        self._given = dict(variables or {})
        self.overrides: dict[str, str] = {}
        """Values the operator set for this run (``runbook.variables`` events)."""
        self.variables = effective_variables(runbook.variables, variables)
        self._monotonic = monotonic
        self._on_output = on_output
        self._lock = threading.RLock()
        self._slots: dict[str, _Slot] = {step.id: _Slot() for step in runbook.steps}
        self.aborted: str | None = None
        """The abort reason once the run is aborted."""
        self._previews: dict[str, str] = {}
        if not _opened:
            record(K.RUNBOOK_OPENED, {"runbook": runbook.id, "title": runbook.title})

    # -------------------------------------------------------------- queries

    def resolve(self, step: Step) -> ResolvedAction:
        """The step's action with this run's variables (``ActionError`` if one is wrong)."""
        return resolve(step.action, self.variables)

    def _ref(self, step_id: str) -> str:
        return step_id if "/" in step_id else f"{self.runbook.id}/{step_id}"

    def guard_problems(self, step: Step) -> list[str]:
        """Every reason ``step`` may not start now, each a ``blocked: ...`` line."""
        problems = []
        missing = missing_db_guards(step)
        if missing:
            problems.append("blocked: this database rollback step lacks guards the "
                            f"data-loss-prevention rule requires (missing: {', '.join(missing)})")
        try:
            self.resolve(step)
        except ActionError as exc:
            problems.append(f"blocked: {exc}")
        inc = self.facts()
        for ref in step.requires.steps:
            if self._ref(ref) not in inc.steps_done:
                if "/" in ref:
                    problems.append(f"blocked: needs step {ref} done in this incident")
                else:
                    title = self.runbook.step(ref).title
                    problems.append(f"blocked: needs step '{ref}' ({title}) done first")
        for fact in step.requires.facts:
            if fact not in inc.facts:
                hint = FACT_HINTS.get(fact) or next(
                    (f"a successful '{s.title}' step" for s in self.runbook.steps
                     if fact in facts_established_by(s)), None)
                problems.append(f"blocked: needs {hint} (fact {fact}) in this incident" if hint
                                else f"blocked: needs fact {fact} established in this incident")
        for role in step.requires.approvals:
            if role not in inc.approvals:
                problems.append(f"blocked: needs {ROLES.get(role, role)} (role {role}) "
                                "recorded in this incident")
        for target in step.requires.notified:
            if target not in inc.notified:
                undelivered = inc.undelivered.get(target)
                if undelivered:
                    problems.append(f"blocked: needs {NOTIFY_TARGETS.get(target, target)} "
                                    f"notified ({target}): {undelivered}")
                    continue
                problems.append(f"blocked: needs {NOTIFY_TARGETS.get(target, target)} notified "
                                f"({target}) in this incident")
        return problems

    def _needs_confirmation(self, step: Step, action: ResolvedAction | None) -> bool:
        return step.destructive or step.database_rollback or bool(
            action and action.always_destructive)

    def _target(self, step: Step, action: ResolvedAction | None) -> str:
        if step.target:
            try:
                return resolve_text(step.target, self.variables)
            except ActionError:
                return step.target
        return (action.target if action else "") or step.id

    def steps(self) -> tuple[StepStatus, ...]:
        """Every step's status, in order."""
        with self._lock:
            out: list[StepStatus] = []
            current_seen = False
            for step in self.runbook.steps:
                slot = self._slots[step.id]
                state = slot.state
                reason = slot.reason
                blockers: tuple[str, ...] = ()
                if state in (StepState.DONE, StepState.SKIPPED):
                    pass
                elif state is StepState.FAILED and step.on_failure == "continue":
                    pass
                elif self.aborted is not None and state is None:
                    state, reason = StepState.PENDING, f"runbook aborted: {self.aborted}"
                elif not current_seen:
                    current_seen = True
                    if state is None:
                        problems = self.guard_problems(step)
                        state = StepState.BLOCKED if problems else StepState.READY
                        blockers = tuple(problems)
                        reason = problems[0] if problems else ""
                elif state is None or state is StepState.RUNNING:
                    state = state or StepState.PENDING
                out.append(self._status(step, slot, state, reason, blockers))
            return tuple(out)

    def _status(self, step: Step, slot: _Slot, state: StepState, reason: str,
                blockers: tuple[str, ...]) -> StepStatus:
        action: ResolvedAction | None
        try:
            action = self.resolve(step)
            preview = action.preview()
        except ActionError as exc:
            action, preview = None, f"(cannot resolve: {exc})"
        if slot.preview:
            preview = slot.preview
        preview = self._shown(preview)
        elapsed = slot.duration_s
        if state is StepState.RUNNING and slot.started_at is not None:
            elapsed = self._monotonic() - slot.started_at
        output = slot.output or "\n".join(slot.lines)
        return StepStatus(
            step, state, reason, blockers, preview, output, elapsed,
            self._target(step, action), self._needs_confirmation(step, action),
            bool(action and action.mutates), bool(action is None or action.idempotent),
        )

    def _shown(self, preview: str) -> str:
        """A preview as the screen and the journal may show it: neutralised and redacted
        (a variable's value can carry an escape sequence or a patient identifier)."""
        shown = self._previews.get(preview)
        if shown is None:
            if len(self._previews) > 256:
                self._previews.clear()
            shown = self._previews[preview] = redact_text(preview)
        return shown

    def state(self, step_id: str) -> StepStatus:
        """The status of one step (``KeyError`` for an unknown id)."""
        self.runbook.step(step_id)
        return next(s for s in self.steps() if s.step.id == step_id)

    @property
    def running(self) -> str | None:
        """The id of the running step, if any."""
        with self._lock:
            return next((sid for sid, slot in self._slots.items()
                         if slot.state is StepState.RUNNING), None)

    @property
    def finished(self) -> bool:
        """Whether every step has ended: done, skipped, or failed with ``on_failure: continue``.

        A finished run is not necessarily a success: see :attr:`outcome`.
        """
        return all(_ended(s) for s in self.steps())

    @property
    def outcome(self) -> RunOutcome:
        """How the run stands: the one rule the pane and the status update use."""
        if self.aborted is not None:
            return RunOutcome.ABORTED
        statuses = self.steps()
        if not all(_ended(s) for s in statuses):
            return RunOutcome.IN_PROGRESS
        if any(s.state is StepState.FAILED for s in statuses):
            return RunOutcome.FINISHED_WITH_FAILURES
        return RunOutcome.COMPLETE

    def failed_steps(self) -> tuple[StepStatus, ...]:
        """The steps that failed (those with ``on_failure: continue`` included), in order."""
        return tuple(s for s in self.steps() if s.state is StepState.FAILED)

    def current_index(self, statuses: tuple[StepStatus, ...] | None = None) -> int | None:
        """The index of the step holding the run up (ready, blocked, running, or failed,
        cancelled or interrupted until retried or skipped); ``None`` once finished."""
        for index, status in enumerate(self.steps() if statuses is None else statuses):
            if status.state in _CURRENT and not _ended(status):
                return index
        return None

    def phase_index(self, statuses: tuple[StepStatus, ...] | None = None) -> int | None:
        """The index of the current step's phase (``None`` once finished)."""
        statuses = self.steps() if statuses is None else statuses
        index = self.current_index(statuses)
        if index is None:
            return None
        step_id = statuses[index].id
        return next(i for i, phase in enumerate(self.runbook.phases)
                    if any(s.id == step_id for s in phase.steps))

    def editable_variables(self) -> dict[str, str]:
        """The variables this runbook's steps use that the operator may set, with their
        current values ('' when undefined), in order of first use.

        Incident values (``incident_id``, ``operator``...) are not editable.
        """
        names: list[str] = list(self.runbook.variables)

        def refs(value: Any) -> None:
            if isinstance(value, str):
                try:
                    names.extend(variable_refs(value))
                except ValueError:
                    pass
            elif isinstance(value, list | tuple):
                for item in value:
                    refs(item)
            elif isinstance(value, Mapping):
                for item in value.values():
                    refs(item)

        for step in self.runbook.steps:
            refs(dict(step.action.params))
            refs(step.target or "")
        return {name: self.variables.get(name, "") for name in dict.fromkeys(names)
                if name not in RUNTIME_VARIABLES}

    def set_variables(self, values: Mapping[str, str]) -> dict[str, str]:
        """Set some of :meth:`editable_variables` for this run; records ``runbook.variables``.

        Returns the values that changed. Values are checked when a step uses them
        (a bad one blocks that step and says why). Refused while a step runs, after an
        abort, for a name the runbook does not use, or for an empty value.
        """
        editable = self.editable_variables()
        with self._lock:
            if self.aborted is not None:
                raise StepRefused(f"runbook {self.runbook.id} was aborted: {self.aborted}")
            if self.running is not None:
                raise StepRefused(f"step '{self.running}' is running; set variables after it ends")
            changed: dict[str, str] = {}
            for name, raw in values.items():
                if name not in editable:
                    valid = ", ".join(editable) or "none"
                    raise StepRefused(f"runbook {self.runbook.id} does not use variable "
                                      f"'{name}' (it uses: {valid})")
                value = str(raw).strip()
                if not value:
                    raise StepRefused(f"variable '{name}' needs a value")
                if needs_sanitizing(value):
                    bad = next(c for c in value if needs_sanitizing(c))
                    raise StepRefused(f"variable '{name}' contains a control or invisible "
                                      f"character ({visible(bad)}); type it again")
                if value != editable[name]:
                    changed[name] = value
            if not changed:
                return {}
            self._record(K.RUNBOOK_VARIABLES, {"runbook": self.runbook.id,
                                               "variables": dict(changed)})
            self._apply_overrides(changed)
            return changed

    def _apply_overrides(self, values: Mapping[str, Any]) -> None:
        self.overrides.update({str(k): str(v) for k, v in values.items()})
        self.variables = effective_variables(self.runbook.variables, self._given, self.overrides)

    # -------------------------------------------------------------- actions

    def check_start(self, step_id: str, confirmation: Confirmation | None = None) -> StepStatus:
        """The step's status if :meth:`start` would start it now; else :class:`StepRefused`."""
        with self._lock:
            if self.aborted is not None:
                raise StepRefused(f"runbook {self.runbook.id} was aborted: {self.aborted}")
            running = self.running
            if running is not None:
                raise StepRefused(f"step '{running}' is still running")
            status = self.state(step_id)
            if status.state is not StepState.READY:
                raise StepRefused(self._not_ready(status))
            step = status.step
            action = self.resolve(step)
            confirmation = confirmation or Confirmation()
            if status.needs_confirmation:
                if confirmation.target_typed.strip() != status.target:
                    raise StepRefused(f"destructive step: type the target name '{status.target}' "
                                      "to confirm")
                if not confirmation.approver.strip():
                    raise StepRefused("destructive step: an approver's name is required")
            if action.type == "approval" and not confirmation.approver.strip():
                raise StepRefused(f"the approver's name for role {action.params['role']} is "
                                  "required")
            return status

    def start(self, step_id: str, confirmation: Confirmation | None = None) -> StepStatus:
        """Start a ready step: check its confirmation, then write ``step.started``.

        Raises :class:`StepRefused` (nothing changes) when the step is not
        ready or the confirmation is missing or wrong. If the journal cannot
        be written the step fails with ``not started: could not write the
        journal: ...`` and its action never runs. Call :meth:`run_step` next.
        """
        with self._lock:
            status = self.check_start(step_id, confirmation)
            confirmation = confirmation or Confirmation()
            step = status.step
            action = self.resolve(step)
            slot = self._slots[step_id]
            data: dict[str, Any] = {
                "runbook": self.runbook.id, "step": step_id, "title": step.title,
                "preview": status.preview, "destructive": status.needs_confirmation,
            }
            if status.needs_confirmation:
                data["confirmed_target"] = confirmation.target_typed.strip()
                data["approver"] = confirmation.approver.strip()
            try:
                self._record(K.STEP_STARTED, data)
                if action.type.startswith("notify."):
                    self._record(K.NOTIFICATION_QUEUED, {
                        "runbook": self.runbook.id, "step": step_id,
                        "channel": action.type.split(".", 1)[1],
                        "summary": _notify_summary(action), "targets": list(step.notifies),
                    })
            except Exception as exc:  # noqa: BLE001 - any journal failure stops the step
                slot.state = StepState.FAILED
                slot.reason = f"not started: could not write the journal: {exc}"
                return self.state(step_id)
            slot.state = StepState.RUNNING
            slot.reason, slot.lines, slot.output, slot.duration_s = "", [], "", None
            slot.preview = status.preview
            slot.started_at = self._monotonic()
            slot.cancel = threading.Event()
            slot.confirmation = confirmation
            slot.executing = False
            return self.state(step_id)

    def _not_ready(self, status: StepStatus) -> str:
        sid = status.step.id
        if status.state is StepState.BLOCKED:
            return status.reason
        if status.state is StepState.PENDING:
            if self.aborted is not None:
                return status.reason
            current = next((s for s in self.steps() if s.state in (
                StepState.READY, StepState.BLOCKED, StepState.FAILED, StepState.RUNNING,
                StepState.INTERRUPTED, StepState.CANCELLED)), None)
            first = current.step.id if current else "?"
            return f"not yet: step '{first}' comes first"
        if status.state in (StepState.FAILED, StepState.CANCELLED, StepState.INTERRUPTED):
            return f"step '{sid}' is {status.state.value}: retry it explicitly or skip it"
        return f"step '{sid}' is {status.state.value}"

    def run_step(self, step_id: str) -> StepStatus:
        """Run a started step to its end in the caller's thread; returns its final status.

        Output streams to ``on_output``; the step ends done, failed (error or
        timeout) or cancelled, and ``step.finished`` is recorded.
        """
        with self._lock:
            slot = self._slots[step_id]
            if slot.state is not StepState.RUNNING or slot.executing:
                raise StepRefused(f"step '{step_id}' has not been started (or already runs)")
            slot.executing = True
            step = self.runbook.step(step_id)
            action = self.resolve(step)
            started = slot.started_at if slot.started_at is not None else self._monotonic()
            ctx = RunContext(
                deadline=started + step.timeout_s,
                variables={**self.variables, "runbooks_dir": str(Path(self.runbook.path).parent)}
                if self.runbook.path else dict(self.variables),
                runbook_id=self.runbook.id, step_id=step_id,
                on_emit=lambda line: self._emit(step_id, line), cancel_event=slot.cancel,
                monotonic=self._monotonic,
            )
            confirmation = slot.confirmation or Confirmation()
        try:
            if ctx.cancelled():
                result = ActionResult(False, "", (), "cancelled before it ran")
            elif action.type in MANUAL_TYPES:
                result = self._manual(action, confirmation)
            else:
                result = self.executor.run(action, ctx)
        except Exception as exc:  # noqa: BLE001 - an executor bug must not kill the cockpit
            result = ActionResult(False, "", (), f"error: {type(exc).__name__}: {exc}")
        return self._finish(step, action, slot, ctx, result, confirmation)

    def _manual(self, action: ResolvedAction, confirmation: Confirmation) -> ActionResult:
        if action.type == "approval":
            who = confirmation.approver.strip()
            return ActionResult(True, f"approval of {action.params['role']} recorded: {who}")
        if action.type == "confirm":
            return ActionResult(True, f"confirmed: {action.params['fact']}")
        items = "\n".join(f"[x] {item}" for item in action.params["items"])
        return ActionResult(True, items)

    def _emit(self, step_id: str, line: str) -> None:
        # a command's output is untrusted: no escape sequence or identifier reaches the pane
        line = redact_text(line)
        with self._lock:
            self._slots[step_id].lines.append(line)
        if self._on_output is not None:
            self._on_output(step_id, line)

    def _finish(self, step: Step, action: ResolvedAction, slot: _Slot, ctx: RunContext,
                result: ActionResult, confirmation: Confirmation) -> StepStatus:
        with self._lock:
            duration = self._monotonic() - (slot.started_at or self._monotonic())
            # the executor's output and error are untrusted text (a command, a server)
            output = redact_text(result.output) if result.output else "\n".join(slot.lines)
            detail = redact_text(result.detail) if result.detail else ""
            if result.ok:
                outcome, reason = StepState.DONE, ""
            elif ctx.cancelled():
                outcome, reason = StepState.CANCELLED, detail or "cancelled by the operator"
            elif ctx.timed_out():
                outcome = StepState.FAILED
                reason = f"timed out after {format_duration(step.timeout_s)}"
                if detail:
                    reason += f" ({detail})"
            else:
                outcome, reason = StepState.FAILED, detail or "failed"
            kept, digest, truncated = _digest_and_tail(output)
            data: dict[str, Any] = {
                "runbook": self.runbook.id, "step": step.id, "outcome": outcome.value,
                "duration_s": round(duration, 3), "output": kept, "output_sha256": digest,
            }
            if truncated:
                data["output_truncated"] = True
            if reason:
                data["reason"] = reason
            if outcome is StepState.DONE and step.notifies:
                # "notified" means a channel accepted the message: queued is not told
                if result.delivered:
                    data["notified"] = list(step.notifies)
                elif result.notification_id:
                    data["notifying"] = {"id": result.notification_id,
                                         "targets": list(step.notifies)}
            slot.state, slot.reason, slot.output = outcome, reason, output
            slot.duration_s = duration
            slot.executing = False
            try:
                self._record(K.STEP_FINISHED, data)
            except Exception as exc:  # noqa: BLE001
                slot.reason = (reason + "; " if reason else "") + (
                    f"warning: could not write the journal: {exc}")
            if outcome is StepState.DONE:
                self._established(step, action, result, confirmation)
            return self.state(step.id)

    def _established(self, step: Step, action: ResolvedAction, result: ActionResult,
                     confirmation: Confirmation) -> None:
        """After success: record the approval and the facts the step established.

        (``step.finished`` already carries the step done and whom it notified.) The
        reducer folds these records into the incident's facts; nothing here changes them.
        """
        if action.type == "approval":
            role, who = str(action.params["role"]), confirmation.approver.strip()
            self._safe_record(K.APPROVAL_RECORDED, {"role": role, "approver": who,
                                                    "step": step.id, "runbook": self.runbook.id})
        facts = list(dict.fromkeys([*facts_established_by(step), *result.facts]))
        for fact in facts:
            self._safe_record(K.FACT_ESTABLISHED, {"fact": fact, "step": step.id,
                                                   "runbook": self.runbook.id})

    def _safe_record(self, kind: str, data: dict[str, Any]) -> None:
        try:
            self._record(kind, data)
        except Exception:  # noqa: BLE001, S110 - a fact not recorded errs on the safe side:
            pass  # the guards that need it keep blocking

    def execute(self, step_id: str, confirmation: Confirmation | None = None) -> StepStatus:
        """:meth:`start` then :meth:`run_step` in the caller's thread (for tests and the CLI)."""
        status = self.start(step_id, confirmation)
        if status.state is not StepState.RUNNING:
            return status
        return self.run_step(step_id)

    def cancel(self, step_id: str) -> None:
        """Ask the running step to stop; it ends ``cancelled`` when the executor notices."""
        with self._lock:
            slot = self._slots[step_id]
            if slot.state is not StepState.RUNNING:
                raise StepRefused(f"step '{step_id}' is not running")
            slot.cancel.set()

    def retry(self, step_id: str) -> StepStatus:
        """Make a failed, cancelled or interrupted step startable again (never automatic).

        The step becomes ready (or blocked by its guards); the operator starts
        it like any other step, with a new confirmation if it is destructive.
        """
        with self._lock:
            slot = self._slots[step_id]
            if slot.state not in (StepState.FAILED, StepState.CANCELLED, StepState.INTERRUPTED):
                raise StepRefused(f"only a failed, cancelled or interrupted step can be retried; "
                                  f"'{step_id}' is {self.state(step_id).state.value}")
            slot.state, slot.reason, slot.preview = None, "", ""
            return self.state(step_id)

    def skip(self, step_id: str, reason: str) -> StepStatus:
        """Skip a step that has not run to completion; a reason is required and recorded."""
        if not reason or not reason.strip():
            raise StepRefused("skipping a step needs a reason")
        with self._lock:
            status = self.state(step_id)
            if status.state in (StepState.DONE, StepState.SKIPPED, StepState.RUNNING):
                raise StepRefused(f"step '{step_id}' is {status.state.value}; it cannot be skipped")
            self._record(K.STEP_SKIPPED, {"runbook": self.runbook.id, "step": step_id,
                                          "reason": reason.strip()})
            slot = self._slots[step_id]
            slot.state, slot.reason = StepState.SKIPPED, reason.strip()
            return self.state(step_id)

    def abort(self, reason: str) -> None:
        """Abort the run (reason required): no step may start; a running one is cancelled."""
        if not reason or not reason.strip():
            raise StepRefused("aborting a runbook needs a reason")
        with self._lock:
            self._record(K.RUNBOOK_ABORTED, {"runbook": self.runbook.id, "reason": reason.strip()})
            self.aborted = reason.strip()
            for slot in self._slots.values():
                if slot.state is StepState.RUNNING:
                    slot.cancel.set()

    # -------------------------------------------------------------- restore

    @classmethod
    def from_state(
        cls,
        runbook: Runbook,
        recorded: RunbookState | None,
        facts: FactsSource,
        executor: Executor,
        record: Record,
        variables: Mapping[str, Any] | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        on_output: Callable[[str, str], None] | None = None,
    ) -> RunbookRun:
        """Rebuild a run from the journal reducer's :class:`~cockpit.timeline.replay.RunbookState`.

        Writes nothing (``recorded`` says the run was opened). A step still ``running``
        in the record was cut short: it shows ``interrupted`` with its preview and is
        never re-run by itself (the journal's resume records ``step.interrupted``). The
        operator's variables come back with it. ``recorded=None``: a run never opened.
        """
        run = cls(runbook, facts, executor, record, variables, monotonic=monotonic,
                  on_output=on_output, _opened=recorded is not None)
        if recorded is None:
            return run
        if recorded.aborted_at is not None:
            run.aborted = recorded.abort_reason or "aborted"
        if recorded.variables:
            run._apply_overrides(recorded.variables)
        for step_id, step in recorded.steps.items():
            slot = run._slots.get(step_id)
            if slot is None:  # a step the runbook no longer has
                continue
            slot.preview = step.preview or ""
            slot.reason = step.reason or ""
            slot.output = step.output or ""
            slot.duration_s = step.duration_s
            if step.status in ("running", "interrupted"):
                slot.state = StepState.INTERRUPTED
                slot.reason = step.reason or INTERRUPTED
            elif step.status == "pending":
                slot.state = None
            else:
                slot.state = StepState(step.status)
        return run


def resolve_text(text: str, variables: Mapping[str, str]) -> str:
    """Substitute variables in a plain text (a step's ``target``)."""
    return expand(text, variables)[0]


def _notify_summary(action: ResolvedAction) -> str:
    p = action.params
    return str(p.get("summary") or p.get("subject") or p.get("message") or "")
