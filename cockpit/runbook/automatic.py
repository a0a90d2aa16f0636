"""The automatic rollback's runbook: one destructive step, ``kubectl rollout undo``.

An armed trigger that fires starts a hold (:mod:`cockpit.runtime.armed`); when the hold
is confirmed or times out, the rollback it names runs through the runbook desk like
any other step (``request`` then ``start``, refusals recorded, never in read-only). This
runbook is that step: built in, so a hold always has the same exact command to name,
whatever runbook files the library holds, and a resumed incident restores its run.
"""

from __future__ import annotations

from types import MappingProxyType

from cockpit.actions.model import ActionSpec
from cockpit.runbook.model import Library, Phase, Runbook, Step

AUTOMATIC_ROLLBACK = "automatic-rollback"
"""The built-in runbook's id."""
UNDO_STEP = "undo"

_UNDO = Step(
    id=UNDO_STEP,
    title="Roll the suspect deployment back to its previous revision",
    why=("An armed automatic-rollback trigger fired: the procedures roll back the change "
         "that preceded the breach, immediately."),
    kind="action",
    action=ActionSpec("k8s.rollout_undo", MappingProxyType({
        "deployment": "${deployment}", "namespace": "${namespace}",
        "to_revision": "${to_revision}"})),
    destructive=True,
    timeout_s=60.0,
    target="${deployment}",
)

RUNBOOK = Runbook(
    id=AUTOMATIC_ROLLBACK,
    title="Automatic rollback (armed trigger)",
    summary=("The rollback an armed trigger runs after its hold: kubectl rollout undo of the "
             "deployment whose revision changed before the breach, to the revision before."),
    phases=(Phase("Roll back", (_UNDO,), budget_s=120.0),),
    source="Rollback Decision Matrix > Automatic Rollback Triggers",
    variables=MappingProxyType({"deployment": "", "to_revision": ""}),
)


def with_automatic(library: Library) -> Library:
    """``library`` with the built-in automatic rollback added (unless it has one)."""
    if AUTOMATIC_ROLLBACK in library:
        return library
    return Library(MappingProxyType({**library.runbooks, AUTOMATIC_ROLLBACK: RUNBOOK}))
