"""Which runbooks to offer first, given the triggers that fired and the scenario."""

from __future__ import annotations

from collections.abc import Iterable

from cockpit.runbook.model import Library, Runbook


def recommend(library: Library, fired_trigger_ids: Iterable[str],
              scenario_id: str | None = None) -> list[Runbook]:
    """Every runbook, best first.

    Runbooks whose ``applies_to.triggers`` match a fired trigger come first
    (more matches first, then those also matching the scenario), then those
    matching the scenario, then the rest; ties by id.
    """
    fired = set(fired_trigger_ids)

    def key(rb: Runbook) -> tuple[int, int, int, str]:
        hits = len(fired.intersection(rb.triggers))
        scenario = scenario_id is not None and scenario_id in rb.scenarios
        group = 0 if hits else 1 if scenario else 2
        return (group, -hits, 0 if scenario else 1, rb.id)

    return sorted(library, key=key)
