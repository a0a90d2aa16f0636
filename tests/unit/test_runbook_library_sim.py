"""Shipped runbooks on the simulated estate: what works there, and what stops safely."""

from __future__ import annotations

from runbook_recorder import Recorder

from cockpit.paths import runbooks_dir
from cockpit.runbook.engine import Confirmation, RunbookRun, StepState
from cockpit.runbook.loader import load_library
from cockpit.sim.estate import SimEstate
from cockpit.sim.executor import SimExecutor
from cockpit.sim.scenario import find_scenario

LIB = load_library(runbooks_dir())
VARS = {"incident_id": "INC-20250121-142500-ab12"}


def sim() -> tuple[SimEstate, SimExecutor]:
    estate = SimEstate(find_scenario("bad-deploy"), seed=7)
    estate.clock.advance(420)  # the error-rate trigger has fired
    return estate, SimExecutor(estate, sleep=lambda _s: estate.clock.advance(10))


def test_frontend_kubernetes_set_to_the_api_recovers_the_error_rate() -> None:
    estate, executor = sim()
    rec = Recorder()  # folds what the run records with the journal's reducer
    run = RunbookRun(LIB.get("frontend-kubernetes"), rec.facts, executor, rec, VARS)
    run.set_variables({"deployment": "api", "selector": "app=api"})
    assert estate.metrics_snapshot().latest()["error_rate_pct"] > 5
    assert run.execute("history").state is StepState.DONE
    assert run.execute("undo", Confirmation("api", "Dana")).state is StepState.DONE
    for step in ("status", "verify-pods", "logs"):
        assert run.execute(step).state is StepState.DONE, run.state(step).reason
    assert run.finished
    assert estate.cluster_snapshot().deployment("api").version == "1.9.3"
    estate.clock.advance(180)
    assert estate.metrics_snapshot().latest()["error_rate_pct"] < 1


def test_backend_api_stops_on_the_missing_v1_deployment_before_changing_anything() -> None:
    estate, executor = sim()
    rec = Recorder()
    run = RunbookRun(LIB.get("backend-api"), rec.facts, executor, rec, VARS)
    # the first step says which layout the estate has, before any step acts
    assert [s.id for s in run.runbook.steps][0] == "layout"
    status = run.execute("layout")
    assert status.state is StepState.FAILED
    assert "api-v1" in status.reason and "not found" in status.reason
    assert "container-rollback" in run.runbook.step("layout").why
    assert run.state("schema-compatibility").state is not StepState.READY
    assert {d.name: d.desired for d in estate.cluster_snapshot().deployments} == {
        "frontend": 4, "api": 10, "workers": 4}
    assert run.state("scale-down-new").state is StepState.PENDING
