"""Which runbooks to offer first, and why: what fired, and what the estate shows.

The procedures' first question after a metric breach is what changed. When a
deployment's revision changed shortly before the breach (the *suspect*,
:mod:`cockpit.decision.suspect`), the container rollback of that deployment comes first,
with the deployment filled in, and the reason says so in a few words (``error_rate fired
7m after api went to r8``). Runbooks the procedures reserve for other failures (a
database migration, a point-in-time recovery, a security breach, data corruption) are
never recommended for a metric breach unless their own triggers fired, whatever their
``applies_to`` lists; neither is a rollback of a deployment that did not change while
one that did is known.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from cockpit.decision.suspect import Suspect
from cockpit.runbook.model import Library, Runbook

#: The procedures' order around the rollback itself: declare and assess first, verify and
#: write the RCA last. Runbooks not named here are the rollbacks, in between.
OPENING: tuple[str, ...] = ("incident-declaration", "initial-assessment")
CLOSING: tuple[str, ...] = ("post-rollback-verification", "data-consistency",
                            "application-state", "communication", "rca")

#: Runbooks the procedures keep for another failure than a metric breach: each is
#: recommended only when one of its own triggers fired (none: only on its scenario).
RESERVED: Mapping[str, frozenset[str]] = MappingProxyType({
    "database-migration": frozenset({"data_corruption"}),
    "point-in-time-recovery": frozenset({"data_corruption", "security_breach"}),
    "selective-restore": frozenset({"data_corruption"}),
    "scenario-database-corruption": frozenset({"data_corruption"}),
    "scenario-security-breach": frozenset({"security_breach"}),
    "scenario-integration-failure": frozenset(),
    "scenario-performance-degradation": frozenset(),
})
"""A ``scenario-<id>`` runbook is also recommended in training on its own scenario."""

#: The generic container rollback (``deployment``, ``namespace``, ``to_revision``), in the
#: order preferred: the suspect's undo is offered through the first one the library has.
CONTAINER_ROLLBACKS: tuple[str, ...] = ("container-rollback", "frontend-kubernetes")

#: Hidden from the picker: the armed rollback's own runbook (run by a hold).
HIDDEN: frozenset[str] = frozenset({"automatic-rollback"})

_OPENING_WHY = {"incident-declaration": "declare first", "initial-assessment": "then assess"}


@dataclass(frozen=True)
class Pick:
    """One runbook as the picker offers it."""

    runbook: Runbook
    recommended: bool = False
    why: str = ""
    """A few words: why it is recommended (or why not, for a runbook that matched)."""
    target: str = ""
    """The deployment it would act on (``api``), when one is known."""
    variables: Mapping[str, str] = field(default_factory=dict)
    """Values to fill in when it is opened from here (the suspect's deployment)."""


def _stage(runbook_id: str) -> int:
    if runbook_id in OPENING:
        return OPENING.index(runbook_id)
    if runbook_id in CLOSING:
        return 100 + CLOSING.index(runbook_id)
    return 50


def target_of(runbook: Runbook) -> str:
    """The deployment a runbook acts on as written (its ``deployment`` or
    ``new_deployment`` variable), ``''`` when it names none."""
    for name in ("deployment", "new_deployment", "api_deployment"):
        value = runbook.variables.get(name)
        if value and "${" not in value:
            return value
    return ""


def recommendations(library: Library, fired_trigger_ids: Iterable[str],
                    scenario_id: str | None = None, *,
                    suspect: Suspect | None = None) -> list[Pick]:
    """Every runbook (but the hidden ones), recommended first, each with why.

    Recommended, in the procedures' order: declare and assess once anything fired; the
    container rollback of the suspect (its deployment and the revision to return to
    filled in); the other runbooks a fired trigger names that are not reserved for
    another failure (:data:`RESERVED`) and do not roll back a deployment other than the
    suspect. Then (not marked) verification, communication and the RCA, the matching
    rollbacks of other deployments, what the scenario names (recommended while nothing
    fired), and the rest, by id.
    """
    fired = set(fired_trigger_ids)
    container = next((rid for rid in CONTAINER_ROLLBACKS if rid in library), None)
    picks: list[tuple[tuple[int, int, int, str], Pick]] = []
    for rb in library:
        if rb.id in HIDDEN:
            continue
        hits = sorted(fired.intersection(rb.triggers))
        scenario = scenario_id is not None and scenario_id in rb.scenarios
        target = target_of(rb)
        reserved = RESERVED.get(rb.id)
        own = sorted(fired & reserved) if reserved is not None else hits
        if reserved is not None and scenario_id is not None and rb.id == f"scenario-{scenario_id}":
            reserved, own = None, hits or [f"scenario {scenario_id}"]
        if suspect is not None and rb.id == container:
            change = suspect.change
            values = {"deployment": change.deployment}
            if "to_revision" in rb.variables and change.undo_to is not None:
                values["to_revision"] = str(change.undo_to)
            if "selector" in rb.variables:
                values["selector"] = f"app={change.deployment}"
            pick = Pick(rb, True, suspect.reason, change.deployment, values)
            picks.append(((0, 10, 0, rb.id), pick))
            continue
        if reserved is not None and not own:
            why = ("reserved for " + (", ".join(sorted(reserved)) or "its scenario")
                   if hits else "")
            picks.append(((3, 0 if scenario else 1, 0, rb.id), Pick(rb, False, why, target)))
            continue
        if not hits:
            group = 2 if scenario else 3
            why = f"scenario {scenario_id}" if scenario else ""
            picks.append(((group, _stage(rb.id), 0, rb.id),
                          Pick(rb, scenario and reserved is None and not fired, why, target)))
            continue
        stage = _stage(rb.id)
        said = ", ".join(own) + " fired"
        if rb.id in OPENING:
            pick = Pick(rb, True, f"{_OPENING_WHY[rb.id]}: {said}", target)
        elif rb.id in CLOSING:
            pick = Pick(rb, False, "after the rollback", target)
        elif suspect is not None and target and target != suspect.change.deployment:
            pick = Pick(rb, False, f"acts on {target}; {suspect.change.deployment} changed",
                        target)
            stage += 100  # after the closing runbooks: not this incident's rollback
        elif suspect is not None and not target:
            pick = Pick(rb, False, f"{said}; {suspect.change.deployment} changed first",
                        target)
            stage += 100
        else:
            pick = Pick(rb, True, said, target)
        group = 0 if pick.recommended or rb.id in CLOSING else 1
        picks.append(((group, stage, -len(own), rb.id), pick))
    return [pick for _, pick in sorted(picks, key=lambda kp: kp[0])]


def recommend(library: Library, fired_trigger_ids: Iterable[str],
              scenario_id: str | None = None, *,
              suspect: Suspect | None = None) -> list[Runbook]:
    """The runbooks of :func:`recommendations`, in its order."""
    return [p.runbook for p in recommendations(library, fired_trigger_ids, scenario_id,
                                               suspect=suspect)]
