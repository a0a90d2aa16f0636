"""Acting on a chosen deployment (undo to a revision, scale, restart) through the desk on
the simulator; the simulator's answers to the history, describe, events and logs views."""

from __future__ import annotations

import pytest
from runbook_recorder import Recorder

from cockpit.actions.inspect import RevisionRow, clean_lines, template_diff
from cockpit.paths import runbooks_dir
from cockpit.runbook.deployment_actions import DeploymentAction, fresh, parse_id
from cockpit.runbook.desk import ConfirmDestructive, RunbookDesk
from cockpit.runbook.engine import Confirmation, StepRefused, StepState
from cockpit.runbook.loader import load_library
from cockpit.sim.estate import SimEstate
from cockpit.sim.executor import SimExecutor
from cockpit.sim.scenario import find_scenario

NS = "production"
LIB = load_library(runbooks_dir())


def sim(advance_s: float = 300) -> tuple[SimEstate, SimExecutor]:
    estate = SimEstate(find_scenario("bad-deploy"), seed=7)
    estate.clock.advance(advance_s)
    return estate, SimExecutor(estate, sleep=lambda _s: None)


def desk(executor: SimExecutor, rec: Recorder, read_only: bool = False) -> RunbookDesk:
    return RunbookDesk(LIB, executor, rec, rec.facts, now=lambda: rec.now(),
                       operator=lambda: "dana@bastion", read_only=read_only,
                       variables={"incident_id": "INC-1", "namespace": NS})


# ------------------------------------------------------------------ the run's id


def test_an_action_id_says_what_it_does_and_is_read_back() -> None:
    undo = DeploymentAction("undo", NS, "api", 6)
    assert undo.runbook_id == "act/production/api/undo-6"
    assert parse_id(undo.runbook_id) == undo
    assert parse_id(undo.again().runbook_id) == DeploymentAction("undo", NS, "api", 6, 2)
    assert parse_id("act/production/api/restart") == DeploymentAction("restart", NS, "api")
    for other in ("frontend-kubernetes", "act/production/api/restart-3",
                  "act/production/api/undo", "act/Prod/api/scale-2", "act/p/a/b/undo-1"):
        assert parse_id(other) is None, other
    with pytest.raises(ValueError):
        DeploymentAction("undo", NS, "api;rm", 6)
    with pytest.raises(ValueError):
        DeploymentAction("scale", NS, "api")


def test_the_runbook_writes_its_values_in_and_its_step_is_destructive() -> None:
    runbook = DeploymentAction("undo", NS, "api", 6).runbook()
    (step,) = runbook.steps
    assert step.destructive and step.target == "api"
    assert dict(step.action.params) == {"deployment": "api", "namespace": NS, "to_revision": 6}
    assert runbook.variables == {}  # nothing from the config can retarget it


# ------------------------------------------------------------------ through the desk


def test_undo_to_a_chosen_revision_through_the_desk_is_recorded_with_the_revision() -> None:
    estate, executor = sim()
    rec = Recorder()
    d = desk(executor, rec)
    action = fresh(DeploymentAction("undo", NS, "api", 6), d.runs)
    d.open(action.runbook_id)
    ask = d.request(action.runbook_id, action.step_id)
    assert isinstance(ask, ConfirmDestructive)
    assert ask.preview == "kubectl rollout undo deployment/api -n production --to-revision=6"
    assert ask.target == "api"
    with pytest.raises(StepRefused):
        d.start(action.runbook_id, "undo", Confirmation("frontend", "Dana"), background=False)
    final = d.start(action.runbook_id, "undo", Confirmation("api", "Dana Reyes"),
                    background=False)
    assert final.state is StepState.DONE, final.reason
    api = estate.cluster_snapshot().deployment("api")
    assert api is not None and (api.revision, api.version) == (9, "1.9.2")
    assert "rollout undo deployment/api -> revision 9 (1.9.2)" in estate.actions[-1][1]
    kinds = rec.kinds()
    assert kinds.index("step.refused") < kinds.index("step.started")
    (started,) = [e["data"] for e in rec.events if e["kind"] == "step.started"]
    assert started["preview"].endswith("--to-revision=6")
    assert started["approver"] == "Dana Reyes"
    # folded by the journal's reducer like any run
    assert rec.state.runbooks[action.runbook_id].steps["undo"].status == "done"
    # the same action again is a new run
    again = fresh(DeploymentAction("undo", NS, "api", 6), d.runs)
    assert again.runbook_id == "act/production/api/undo-6/2"


def test_a_resumed_incident_restores_the_action_runs_from_the_record() -> None:
    _estate, executor = sim()
    rec = Recorder()
    first = desk(executor, rec)
    action = DeploymentAction("scale", NS, "api", 3)
    first.open(action.runbook_id)
    first.start(action.runbook_id, "scale", Confirmation("api", "Dana"), background=False)
    resumed = desk(executor, rec)
    assert resumed.restore(rec.state.runbooks) == []
    run = resumed.run(action.runbook_id)
    assert run.state("scale").state is StepState.DONE
    assert run.runbook.title == "Scale api to 3 replicas"
    # the picker still lists only the library's runbooks
    assert all(not e.id.startswith("act/") for e in resumed.picker_entries())


def test_read_only_refuses_the_action_and_records_why() -> None:
    estate, executor = sim()
    rec = Recorder()
    d = desk(executor, rec, read_only=True)
    action = DeploymentAction("restart", NS, "api")
    d.open(action.runbook_id)
    with pytest.raises(StepRefused, match="Read-only session"):
        d.request(action.runbook_id, "restart")
    assert "step.refused" in rec.kinds() and "step.started" not in rec.kinds()
    assert not any("restart" in what for _, what in estate.actions)


# ------------------------------------------------------------------ the simulator's answers


def test_the_simulator_answers_the_history_with_the_running_revision_and_the_diff() -> None:
    _estate, executor = sim()
    history = executor.read_history("api", NS)
    assert [(r.revision, r.version, r.running) for r in history.revisions] == [
        (6, "1.9.2", False), (7, "1.9.3", False), (8, "2.0.0", True)]
    assert history.replicas == 10 and history.selector == "app=api"
    assert history.revisions[-1].age_s == 360.0  # deployed a minute before T=0, 5 min in
    diff = history.diff(6)
    assert diff[:2] == ["--- revision 8 (running)", "+++ revision 6"]
    assert "+    image: registry.whitecross.health/api:1.9.2" in diff
    assert history.diff(8) == []


def test_simulated_events_and_logs_follow_the_estate_and_its_seed() -> None:
    estate, executor = sim()
    logs = executor.read_text("deployment", "api", NS, "logs", tail=30).lines
    assert len(logs) == 30
    assert any("ERROR api v2.0.0 request failed" in line for line in logs)
    assert logs == sim()[1].read_text("deployment", "api", NS, "logs", tail=30).lines
    frontend = executor.read_text("deployment", "frontend", NS, "logs", tail=30).lines
    assert not any("ERROR" in line for line in frontend)
    estate.scale("api", 4)
    estate.restart_pods("api", rolling=True)
    events = "\n".join(executor.read_text("deployment", "api", NS, "events").lines)
    assert "Scaled down replica set api-" in events and "to 4" in events
    assert "Restarted the pods of deployment api (4, rolling)" in events


def test_untrusted_lines_are_stripped_redacted_and_bounded() -> None:
    lines = clean_lines(["\x1b]52;c;ZXZpbA==\x07ok \x1b[31mred\x1b[0m",
                         "patient SSN 123-45-6789 seen", "x" * 1000], width=100)
    assert lines[0] == "ok red"
    assert "123-45-6789" not in lines[1]
    assert len(lines[2]) == 100 and lines[2].endswith("…")
    assert len(clean_lines([str(i) for i in range(10)], limit=3)) == 3


def test_the_template_diff_without_templates_compares_the_images() -> None:
    running = RevisionRow(2, "2.0.0", "reg/api:2.0.0", running=True)
    chosen = RevisionRow(1, "1.0.0", "reg/api:1.0.0")
    assert template_diff(running, chosen)[-2:] == ["-image: reg/api:2.0.0",
                                                   "+image: reg/api:1.0.0"]
