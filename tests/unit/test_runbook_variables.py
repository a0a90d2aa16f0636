"""Variables the operator sets on an open run, and REPLACE_ME_ placeholders in the library."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cockpit.paths import runbooks_dir
from cockpit.runbook.engine import RunbookRun, StepRefused, StepState
from cockpit.runbook.loader import load_library
from cockpit.runbook.model import Library
from cockpit.timeline.journal import Event
from cockpit.timeline.replay import Facts, replay

GOOD = Path(__file__).parent.parent / "fixtures" / "runbooks" / "good"
VARS = {"incident_id": "INC-20250121-142500-ab12"}


class Recorder:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        self.events.append({"kind": kind, "data": dict(data)})


class NoExecutor:
    def run(self, action, ctx):  # type: ignore[no-untyped-def]
        raise AssertionError(f"nothing should run: {action.preview()}")


def test_setting_a_variable_changes_the_preview_and_is_recorded() -> None:
    rec = Recorder()
    run = RunbookRun(load_library(GOOD).get("api-undo"), Facts, NoExecutor(), rec, VARS)
    assert run.state("undo").preview == "kubectl rollout undo deployment/api -n production"
    editable = run.editable_variables()
    assert editable["deployment"] == "api" and editable["namespace"] == "production"
    assert "incident_id" not in editable  # incident values are not the operator's to change
    assert run.set_variables({"deployment": "frontend", "namespace": "production"}) == {
        "deployment": "frontend"}
    assert run.state("undo").preview == "kubectl rollout undo deployment/frontend -n production"
    assert rec.events[-1] == {"kind": "runbook.variables", "data": {
        "runbook": "api-undo", "variables": {"deployment": "frontend"}}}
    # a resumed run gets the operator's value back from the journal
    state = replay([Event(seq, "2025-01-21T14:30:00+00:00", e["kind"], {}, e["data"], "", "")
                    for seq, e in enumerate(rec.events)])
    restored = RunbookRun.from_state(run.runbook, state.runbooks["api-undo"], Facts,
                                     NoExecutor(), Recorder(), VARS)
    assert restored.state("undo").preview == (
        "kubectl rollout undo deployment/frontend -n production")


def test_bad_variable_values_are_refused_or_block_the_step() -> None:
    run = RunbookRun(load_library(GOOD).get("api-undo"), Facts, NoExecutor(),
                     Recorder(), VARS)
    with pytest.raises(StepRefused, match="does not use variable 'nope'"):
        run.set_variables({"nope": "x"})
    with pytest.raises(StepRefused, match="'deployment' needs a value"):
        run.set_variables({"deployment": "  "})
    run.set_variables({"deployment": "api; rm -rf /"})
    status = run.state("history")
    assert status.state is StepState.BLOCKED
    assert "variable 'deployment'" in status.reason and "not allowed" in status.reason


def test_placeholder_blocks_the_step_with_set_variable_until_it_is_set() -> None:
    lib: Library = load_library(runbooks_dir())
    runbook = lib.get("infrastructure-terraform")
    run = RunbookRun(runbook, Facts, NoExecutor(), Recorder(), VARS)
    blocked = [s for s in run.steps() if "REPLACE_ME_" in s.preview or "REPLACE_ME_" in s.reason]
    assert blocked, "the placeholder must show somewhere"
    uses = next(s for s in runbook.steps if "previous_infra_ref" in str(s.action.params))
    status = run.state(uses.id)
    assert "set variable 'previous_infra_ref' first" in status.preview
    assert "REPLACE_ME_" not in run.set_variables({"previous_infra_ref": "v2025.01.20"})[
        "previous_infra_ref"]
    assert "set variable" not in run.state(uses.id).preview


@pytest.mark.parametrize("runbook_id", ["frontend-blue-green", "cdn-dns",
                                        "scenario-security-breach", "point-in-time-recovery",
                                        "infrastructure-terraform"])
def test_no_step_of_the_library_resolves_with_a_placeholder(runbook_id: str) -> None:
    run = RunbookRun(load_library(runbooks_dir()).get(runbook_id), Facts, NoExecutor(),
                     Recorder(), VARS)
    for step in run.runbook.steps:
        try:
            action = run.resolve(step)
        except Exception as exc:  # noqa: BLE001
            if "REPLACE_ME_" in str(exc):
                assert "set variable '" in str(exc)
            continue
        assert "REPLACE_ME_" not in action.preview(), step.id
