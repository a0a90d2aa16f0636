"""The armed automatic rollback's rules (no Textual): what a hold names, who may let it run.

The procedures' decision matrix marks some triggers "automatic rollback". Armed (by the
operator, or ``[rollback] armed`` in config), such a trigger's firing starts a *hold*: a
countdown on the incident clock naming the exact rollback it will run, the undo of the
deployment whose revision changed before the breach (:mod:`cockpit.decision.suspect`).
Any key cancels it or confirms it; at its end it runs. The runtime
(:class:`cockpit.runtime.runtime.IncidentRuntime`) owns it and records every change
(``rollback.*``); the journal's reducer folds them into ``IncidentState.armed_rollback``,
so the arming and the hold a screen shows are rebuilt from the record. This module holds
the pure parts: the hold's plan, the authority rule and the header's words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cockpit.actions.model import ActionSpec
from cockpit.actions.types import ActionError, preview, resolve
from cockpit.decision.policy import Policy
from cockpit.decision.suspect import SUSPECT_WITHIN, RevisionChange, Suspect, short_duration
from cockpit.timeline.replay import ArmedRollback, RollbackHold

#: Where the hold's own record says who approved: the armer, by arming.
APPROVED_BY_ARMING = "{armer} (armed the automatic rollback)"


@dataclass(frozen=True)
class HoldPlan:
    """What a new hold will say and do (the ``rollback.hold_started`` event's data)."""

    trigger: str
    fired_at: datetime | None
    command: str
    why: str
    deployment: str | None = None
    namespace: str | None = None
    to_revision: int | None = None
    blocked: str = ""
    """Why it cannot run by itself (``''``: it can)."""

    @property
    def automatic(self) -> bool:
        """True when the hold's end runs the rollback."""
        return not self.blocked


def undo_command(deployment: str, namespace: str, to_revision: int) -> str:
    """The exact command, as the executor's preview writes it."""
    spec = ActionSpec("k8s.rollout_undo", {"deployment": deployment, "namespace": namespace,
                                           "to_revision": to_revision})
    try:
        return preview(resolve(spec, {}))
    except ActionError as exc:
        return f"(cannot be built: {exc})"


def authority_covers(policy: Policy, held: str | None, required: str | None) -> bool:
    """Whether someone holding ``held`` (a role the policy names, ``CTO or VP
    Engineering``) may approve what ``required`` must approve: the same role, or the role
    of a more severe row of the policy's table. Nothing required: anyone."""
    if not required:
        return True
    if not held:
        return False
    order = [rule.authority.casefold() for rule in policy.severities]
    held_key, required_key = held.casefold(), required.casefold()
    if held_key == required_key:
        return True
    if held_key not in order or required_key not in order:
        return False
    return order.index(held_key) <= order.index(required_key)


def plan_hold(trigger: str, fired_at: datetime | None, suspect: Suspect | None, *,
              policy: Policy, armer: str, armer_authority: str | None,
              required: str | None, undated: Sequence[RevisionChange] = ()) -> HoldPlan:
    """The hold an armed trigger's firing starts: the suspect's undo, or why none runs
    (``undated``: changes nothing dates, named so the engineer can judge them)."""
    if suspect is None:
        why = (f"{trigger} fired; no deployment's revision changed in the "
               f"{short_duration(SUSPECT_WITHIN)} before the breach")
        if undated:
            why += "; " + ", ".join(change.describe() for change in undated[:2])
        return HoldPlan(trigger, fired_at, "(none)", why,
                        blocked="nothing to roll back automatically: choose a runbook (o)")
    change = suspect.change
    assert change.undo_to is not None
    command = undo_command(change.deployment, change.namespace, change.undo_to)
    blocked = ""
    if not authority_covers(policy, armer_authority, required):
        held = armer_authority or "no role given"
        blocked = (f"needs {required}'s approval; {armer or 'the armer'} armed it as {held}: "
                   "confirm it yourself")
    return HoldPlan(trigger, fired_at, command, suspect.reason, change.deployment,
                    change.namespace, change.undo_to, blocked)


def seconds_left(hold: RollbackHold, now: datetime) -> float:
    """Seconds until the hold ends (0 once due)."""
    return max(0.0, (hold.ends_at - now).total_seconds())


def header_words(armed: ArmedRollback, now: datetime) -> str:
    """The header's words: ``ROLLBACK in 45s`` during a hold (``ROLLBACK? in 45s`` when it
    will only ask), ``ARMED`` while armed, else ``''``."""
    hold = armed.hold
    if hold is not None:
        left = int(seconds_left(hold, now) + 0.999)
        return f"ROLLBACK{'' if hold.automatic else '?'} in {left}s"
    return "ARMED" if armed.armed else ""
