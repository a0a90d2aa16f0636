"""The interface between the runbook engine and whatever runs actions.

The engine resolves a step's action and calls :meth:`Executor.run` in the
caller's thread with a :class:`RunContext`; the real connectors
(:class:`cockpit.connectors.executor.LiveExecutor`) and the simulator
(:class:`cockpit.sim.executor.SimExecutor`) subclass the same :class:`Executor`,
so training exercises the same engine as a real incident. An executor streams
output lines through :meth:`RunContext.emit`, polls :meth:`RunContext.cancelled`
and :meth:`RunContext.timed_out` while it waits, and never raises for an
expected failure: it returns ``ok=False`` with a detail.

What an executor can do beyond running actions is declared in its
:attr:`Executor.capabilities` (a server-side dry run, posting a status update);
callers read that, never probe for methods. A capability that is not declared
raises :class:`NotImplementedError` when called instead of silently doing nothing.
Each executor dispatches through an explicit table (:attr:`Executor.handlers`),
which a test checks against :data:`cockpit.actions.types.ACTION_TYPES`.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cockpit.actions.inspect import (
    DEFAULT_TAIL,
    READ_TIMEOUT_S,
    DeploymentHistory,
    ReadText,
)
from cockpit.actions.types import ResolvedAction


@dataclass(frozen=True)
class ActionResult:
    """What running an action gave: success, its full output, facts it established, a detail."""

    ok: bool
    output: str = ""
    facts: tuple[str, ...] = ()
    detail: str = ""
    delivered: bool = False
    """A notification: the channel accepted the message (a notified guard may count it)."""
    notification_id: str = ""
    """A notification still being delivered: its outbox id; the guard counts it only once
    ``notification.delivered`` with this id is recorded."""


@dataclass
class RunContext:
    """What an executor may use while running one step."""

    deadline: float
    """When the step times out, on the ``monotonic`` clock."""
    variables: Mapping[str, str] = field(default_factory=dict)
    """The incident's variables (``incident_id``, ``operator``, ``namespace``...)."""
    runbook_id: str = ""
    step_id: str = ""
    on_emit: Callable[[str], None] | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event)
    monotonic: Callable[[], float] = time.monotonic

    def emit(self, line: str) -> None:
        """Stream one line of output to the engine (and the screen)."""
        if self.on_emit is not None:
            self.on_emit(line)

    def cancelled(self) -> bool:
        """Whether the operator asked to stop this step."""
        return self.cancel_event.is_set()

    def remaining(self) -> float:
        """Seconds left before the step's timeout (never negative)."""
        return max(0.0, self.deadline - self.monotonic())

    def timed_out(self) -> bool:
        """Whether the step's timeout has passed."""
        return self.monotonic() >= self.deadline

    @property
    def incident_id(self) -> str:
        """The incident this step runs in ('' when unknown)."""
        return self.variables.get("incident_id", "")


@dataclass(frozen=True)
class Capabilities:
    """What an executor offers besides :meth:`Executor.run`; the UI offers only these."""

    dry_run: bool = False
    """:meth:`Executor.dry_run` previews a mutating action on the server (nothing is stored)."""
    status_updates: bool = False
    """:meth:`Executor.post_status_update` queues a status update to a channel (Slack)."""
    inspect: bool = False
    """:meth:`Executor.read_history` and :meth:`Executor.read_text` answer the history,
    describe, events and logs views of a deployment or a pod (:mod:`cockpit.actions.inspect`)."""


Record = Callable[[str, dict[str, Any]], object]
"""Writes one event to the incident journal: ``record(kind, data)``."""


class Executor(ABC):
    """Runs resolved actions; subclassed by the live connectors and the simulator.

    A subclass sets :attr:`capabilities` (on the class, or per instance when its
    configuration decides, as the live executor's Slack channel does), builds
    :attr:`handlers`, and implements :meth:`run` by dispatching through that table.
    Every other method has a default: the undeclared capabilities raise, ``bind``
    and ``close`` do nothing.
    """

    capabilities: Capabilities = Capabilities()
    """What this executor offers; read it, never probe with ``getattr``/``hasattr``."""

    @property
    @abstractmethod
    def handlers(self) -> Mapping[str, Callable[..., ActionResult]]:
        """The dispatch table: action type -> the callable that runs it.

        Every non-manual type of :data:`~cockpit.actions.types.ACTION_TYPES` is a
        key (checked by ``tests/unit/test_executor_coverage.py``); manual types
        (:data:`~cockpit.actions.types.MANUAL_TYPES`) are recorded by the engine.
        """

    @abstractmethod
    def run(self, action: ResolvedAction, ctx: RunContext) -> ActionResult:
        """Run ``action`` to completion, timeout or cancellation, streaming through ``ctx``."""

    def dry_run(self, action: ResolvedAction, ctx: RunContext) -> ActionResult:
        """Preview ``action`` server-side; only when ``capabilities.dry_run``."""
        raise NotImplementedError(f"{type(self).__name__} has no server-side dry run")

    def read_history(self, deployment: str, namespace: str, *,
                     timeout_s: float = READ_TIMEOUT_S) -> DeploymentHistory:
        """A deployment's revisions with their pod templates; only when
        ``capabilities.inspect``. Blocking (call it in a thread); raises
        :class:`~cockpit.actions.inspect.InspectError` with one line."""
        raise NotImplementedError(f"{type(self).__name__} reads no revision history")

    def read_text(self, kind: str, name: str, namespace: str, view: str, *,
                  tail: int = DEFAULT_TAIL, timeout_s: float = READ_TIMEOUT_S) -> ReadText:
        """``describe``, ``events`` or ``logs`` (the last ``tail`` lines) of a
        ``deployment`` or a ``pod``, cleaned (:func:`~cockpit.actions.inspect.clean_lines`);
        only when ``capabilities.inspect``. Blocking; raises
        :class:`~cockpit.actions.inspect.InspectError` with one line."""
        raise NotImplementedError(f"{type(self).__name__} reads no {view}")

    def status_channel(self) -> str | None:
        """Where :meth:`post_status_update` would post (``"slack"``), or None when it cannot."""
        return None

    def post_status_update(self, text: str) -> str:
        """Queue a status update; returns the channel it was queued to.

        Only when ``capabilities.status_updates``.
        """
        raise NotImplementedError(f"{type(self).__name__} does not post status updates")

    def bind(self, record: Record, head: Callable[[], str], folder: Any = None) -> None:
        """Attach the incident: ``record`` journals what the executor does on its own
        (deliveries, from its own thread), ``head`` is the journal head to quote in
        every message, ``folder`` (a ``Path``) is the incident's folder (its outbox lives
        there). Default: nothing to attach."""
        del record, head, folder

    def close(self) -> None:  # noqa: B027 - an optional hook: most executors hold nothing
        """Stop background work and release clients (idempotent)."""


NO_EXECUTOR_DETAIL = ("no executor is configured for runbook actions: start the cockpit "
                      "with `cockpit run --config FILE`")


class NoExecutor(Executor):
    """Runs nothing: every action fails with :data:`NO_EXECUTOR_DETAIL` (no config given)."""

    @property
    def handlers(self) -> Mapping[str, Callable[..., ActionResult]]:
        """Nothing is dispatched."""
        return {}

    def run(self, action: ResolvedAction, ctx: RunContext) -> ActionResult:
        """Fails every action with :data:`NO_EXECUTOR_DETAIL`."""
        return ActionResult(False, detail=NO_EXECUTOR_DETAIL)
