"""What the runbook pane needs from the incident around it, in one object.

The app builds a :class:`RunbookContext` and hands it to the runbook pane; the pane
opens :class:`~cockpit.runbook.engine.RunbookRun` objects with it. Keeping this a plain
dataclass keeps the pane testable without the app, and the app free of pane details.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cockpit.actions.executor import Executor
from cockpit.runbook.engine import IncidentFacts, Record
from cockpit.runbook.model import Library


@dataclass
class RunbookContext:
    """The incident's side of every runbook run."""

    library: Library
    """Every runbook that can be opened."""
    executor: Executor
    """Runs actions: the simulator in training, the live connectors otherwise."""
    record: Record
    """Write one event durably to the incident journal; raises when it cannot
    (the step must then not run)."""
    facts: IncidentFacts
    """What this incident has established (backups, approvals, notifications)."""
    now: Callable[[], datetime]
    """The incident clock (simulated time in training): phase budgets count on it."""
    operator: Callable[[], str]
    """Who is at the keyboard: ``user@host (ssh from ADDR)``."""
    fired: Callable[[], Sequence[str]] = lambda: ()
    """Ids of the decision triggers firing now (recommended runbooks first)."""
    authority: Callable[[], str | None] = lambda: None
    """The approver role for the incident's severity (``None`` while unset)."""
    scenario_id: str | None = None
    """The training scenario, when there is one."""
    variables: Mapping[str, Any] = field(default_factory=dict)
    """Config and incident values overriding runbook defaults (``namespace``...)."""
    events: Sequence[Any] = ()
    """The journal's events so far: runs opened before a resume are rebuilt from them."""
    read_only: bool = False
    """Observers: show everything, run nothing that mutates."""
