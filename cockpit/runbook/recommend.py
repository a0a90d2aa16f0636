"""Which runbooks to offer first, given the triggers that fired and the scenario."""

from __future__ import annotations

from collections.abc import Iterable

from cockpit.runbook.model import Library, Runbook

#: The procedures' order around the rollback itself: declare and assess first, verify and
#: write the RCA last. Runbooks not named here are the rollbacks, in between.
OPENING: tuple[str, ...] = ("incident-declaration", "initial-assessment")
CLOSING: tuple[str, ...] = ("post-rollback-verification", "data-consistency",
                            "application-state", "communication", "rca")


def _stage(runbook_id: str) -> int:
    if runbook_id in OPENING:
        return OPENING.index(runbook_id)
    if runbook_id in CLOSING:
        return 100 + CLOSING.index(runbook_id)
    return 50


def recommend(library: Library, fired_trigger_ids: Iterable[str],
              scenario_id: str | None = None) -> list[Runbook]:
    """Every runbook, best first.

    Runbooks whose ``applies_to.triggers`` match a fired trigger come first
    (those also matching the scenario first, then in the procedures' order: declare,
    assess, the rollbacks (more matching triggers first), verify, communicate, RCA),
    then those matching the scenario, then the rest; ties by id.
    """
    fired = set(fired_trigger_ids)

    def key(rb: Runbook) -> tuple[int, int, int, int, str]:
        hits = len(fired.intersection(rb.triggers))
        scenario = scenario_id is not None and scenario_id in rb.scenarios
        group = 0 if hits else 1 if scenario else 2
        return (group, 0 if scenario else 1, _stage(rb.id), -hits, rb.id)

    return sorted(library, key=key)
