"""The interface between the runbook engine and whatever runs actions.

The engine resolves a step's action and calls :meth:`Executor.run` in the
caller's thread with a :class:`RunContext`; the real connectors and the
simulator (:class:`cockpit.sim.executor.SimExecutor`) implement the
same protocol, so training exercises the same engine as a real incident.
An executor streams output lines through :meth:`RunContext.emit`, polls
:meth:`RunContext.cancelled` and :meth:`RunContext.timed_out` while it waits,
and never raises for an expected failure: it returns ``ok=False`` with a detail.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from cockpit.actions.types import ResolvedAction


@dataclass(frozen=True)
class ActionResult:
    """What running an action gave: success, its full output, facts it established, a detail."""

    ok: bool
    output: str = ""
    facts: tuple[str, ...] = ()
    detail: str = ""


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


class Executor(Protocol):
    """Runs resolved actions; implemented by the live connectors and the simulator."""

    def run(self, action: ResolvedAction, ctx: RunContext) -> ActionResult:
        """Run ``action`` to completion, timeout or cancellation, streaming through ``ctx``."""
        ...
