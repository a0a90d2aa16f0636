"""The runbook model: frozen dataclasses for runbooks, phases, steps, guards and actions.

A runbook file (see ``runbooks/*.yaml``) is one procedure of the rollback
document: phases of steps, each step a typed action with guards. The loader
(:mod:`cockpit.runbook.loader`) builds these objects and reports every mistake
as ``FILE:LINE: message``; nothing here reads files.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

# re-exported: the runbook model speaks them, and callers import them from here
from cockpit.actions.model import NOTIFY_TARGETS as NOTIFY_TARGETS
from cockpit.actions.model import ROLES as ROLES
from cockpit.actions.model import ActionSpec as ActionSpec
from cockpit.actions.model import format_duration as format_duration
from cockpit.actions.model import parse_duration as parse_duration

#: Step kinds.
KINDS: tuple[str, ...] = ("check", "action", "manual", "notify", "wait")
#: What happens to the rest of the runbook when a step fails.
ON_FAILURE: tuple[str, ...] = ("stop", "continue")
#: Facts the incident itself may establish (outside any runbook step).
INCIDENT_FACTS: tuple[str, ...] = ("incident_declared", "rollback_decided")
#: Human wording of well-known facts, used in blocking messages.
FACT_HINTS: dict[str, str] = {
    "backup_taken": "a successful backup step",
    "no_data_loss_confirmed": "a confirmation that no data will be lost",
    "writes_stopped": "application writes stopped",
}
#: The guards every database rollback step must carry (the data-loss-prevention rule).
DB_ROLLBACK_FACTS: tuple[str, ...] = ("backup_taken", "no_data_loss_confirmed")
DB_ROLLBACK_APPROVALS: tuple[str, ...] = ("dba",)
DB_ROLLBACK_NOTIFIED: tuple[str, ...] = ("compliance",)

DEFAULT_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class Guards:
    """What must hold before a step may start; every list must be satisfied."""

    steps: tuple[str, ...] = ()
    approvals: tuple[str, ...] = ()
    facts: tuple[str, ...] = ()
    notified: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.steps or self.approvals or self.facts or self.notified)


@dataclass(frozen=True)
class Step:
    """One step of a runbook."""

    id: str
    title: str
    why: str
    kind: str
    action: ActionSpec
    destructive: bool = False
    requires: Guards = Guards()
    establishes: tuple[str, ...] = ()
    notifies: tuple[str, ...] = ()
    timeout_s: float = DEFAULT_TIMEOUT_S
    on_failure: str = "stop"
    notes: str = ""
    database_rollback: bool = False
    """True when the step rolls back a database (declared, or detected from its action)."""
    target: str | None = None
    """Name the operator types to confirm a destructive step (default: from the action)."""
    line: int = 0


@dataclass(frozen=True)
class Phase:
    """A named group of steps with an optional time budget."""

    name: str
    steps: tuple[Step, ...]
    budget_s: float | None = None
    line: int = 0


@dataclass(frozen=True)
class Runbook:
    """One procedure as code."""

    id: str
    title: str
    summary: str
    phases: tuple[Phase, ...]
    source: str = ""
    triggers: tuple[str, ...] = ()
    scenarios: tuple[str, ...] = ()
    variables: Mapping[str, str] = field(default_factory=dict, hash=False)
    path: str = ""
    line: int = 0

    @property
    def steps(self) -> tuple[Step, ...]:
        """Every step, in order, across phases."""
        return tuple(step for phase in self.phases for step in phase.steps)

    def step(self, step_id: str) -> Step:
        """The step called ``step_id``; ``KeyError`` if there is none."""
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(f"runbook '{self.id}' has no step '{step_id}'")

    def phase_of(self, step_id: str) -> Phase:
        """The phase holding ``step_id``."""
        for phase in self.phases:
            if any(step.id == step_id for step in phase.steps):
                return phase
        raise KeyError(f"runbook '{self.id}' has no step '{step_id}'")


@dataclass(frozen=True)
class Library:
    """Every runbook of a folder, by id."""

    runbooks: Mapping[str, Runbook] = field(default_factory=dict, hash=False)

    def __iter__(self) -> Iterator[Runbook]:
        return iter(sorted(self.runbooks.values(), key=lambda rb: rb.id))

    def __len__(self) -> int:
        return len(self.runbooks)

    def __contains__(self, runbook_id: object) -> bool:
        return runbook_id in self.runbooks

    def get(self, runbook_id: str) -> Runbook:
        """The runbook called ``runbook_id``; ``KeyError`` naming the valid ids otherwise."""
        try:
            return self.runbooks[runbook_id]
        except KeyError:
            valid = ", ".join(sorted(self.runbooks)) or "(none)"
            raise KeyError(f"unknown runbook '{runbook_id}' (valid: {valid})") from None

    @property
    def step_count(self) -> int:
        """How many steps all runbooks hold together."""
        return sum(len(rb.steps) for rb in self.runbooks.values())
