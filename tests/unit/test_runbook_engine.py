"""The runbook engine: states, guards, confirmations, timeouts, cancel, retry, restore."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cockpit.actions.executor import ActionResult, RunContext
from cockpit.actions.types import ResolvedAction
from cockpit.runbook.engine import (
    Confirmation,
    IncidentFacts,
    RunbookRun,
    StepRefused,
    StepState,
)
from cockpit.runbook.loader import load_library
from cockpit.runbook.model import Runbook

GOOD = Path(__file__).parent.parent / "fixtures" / "runbooks" / "good"
LIB = load_library(GOOD)
VARS = {"incident_id": "INC-20250121-142500-ab12"}


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class Recorder:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.fail_on: str | None = None

    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        if kind == self.fail_on:
            raise OSError("No space left on device")
        self.events.append({"kind": kind, "data": dict(data)})

    def kinds(self) -> list[str]:
        return [e["kind"] for e in self.events]


class FakeExecutor:
    """Succeeds by default; scripted per action type."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.calls: list[ResolvedAction] = []
        self.fail: set[str] = set()
        self.hang: set[str] = set()
        self.clock = clock

    def run(self, action: ResolvedAction, ctx: RunContext) -> ActionResult:
        self.calls.append(action)
        ctx.emit(f"running {action.type}")
        if action.type in self.hang:
            while not ctx.cancelled() and not ctx.timed_out():
                assert self.clock is not None
                self.clock.t += 30
            return ActionResult(False, "partial", (), "stopped")
        if action.type in self.fail:
            return ActionResult(False, "boom", (), "exit status 1")
        return ActionResult(True, f"ran {action.preview()}")


def make(runbook_id: str = "db-migration", **kw: Any) -> tuple[RunbookRun, Recorder,
                                                                FakeExecutor, IncidentFacts]:
    rec, clock = Recorder(), FakeClock()
    ex = FakeExecutor(clock)
    inc = IncidentFacts()
    run = RunbookRun(LIB.get(runbook_id), inc, ex, rec, VARS, monotonic=clock, **kw)
    return run, rec, ex, inc


def states(run: RunbookRun) -> dict[str, str]:
    return {s.id: s.state.value for s in run.steps()}


def test_steps_run_in_order_and_only_the_next_one_is_ready() -> None:
    run, rec, _, _ = make("api-undo")
    assert states(run) == {"history": "ready", "undo": "pending", "status": "pending",
                           "recover": "pending", "health": "pending", "announce": "pending"}
    with pytest.raises(StepRefused, match="not yet: step 'history' comes first"):
        run.start("status")
    assert run.execute("history").state is StepState.DONE
    assert states(run)["undo"] == "ready"
    assert rec.kinds()[:3] == ["runbook.opened", "step.started", "step.finished"]


def test_destructive_step_needs_typed_target_and_approver() -> None:
    run, rec, ex, _ = make("api-undo")
    run.execute("history")
    with pytest.raises(StepRefused, match="type the target name 'api'"):
        run.start("undo")
    with pytest.raises(StepRefused, match="type the target name 'api'"):
        run.start("undo", Confirmation("frontend", "Dana"))
    with pytest.raises(StepRefused, match="approver's name is required"):
        run.start("undo", Confirmation("api", "  "))
    assert len(ex.calls) == 1  # only history ran
    status = run.execute("undo", Confirmation("api", "Dana"))
    assert status.state is StepState.DONE
    started = [e for e in rec.events if e["kind"] == "step.started"][-1]["data"]
    assert started == {"runbook": "api-undo", "step": "undo", "title": "Roll back to the previous "
                       "revision", "preview": "kubectl rollout undo deployment/api -n production",
                       "destructive": True, "confirmed_target": "api", "approver": "Dana"}


def test_database_rollback_stays_blocked_until_backup_approval_and_compliance() -> None:
    run, rec, ex, inc = make()
    run.execute("stop-writes")
    # skip ahead to the rollback step with nothing established: each guard blocks and says why
    run.skip("backup", "testing the guards")
    run.skip("approve-dba", "testing the guards")
    run.skip("confirm-no-data-loss", "testing the guards")
    run.skip("notify-compliance", "testing the guards")
    status = run.state("undo-migration")
    assert status.state is StepState.BLOCKED
    assert status.blockers == (
        "blocked: needs a successful backup step (fact backup_taken) in this incident",
        "blocked: needs a confirmation that no data will be lost (fact no_data_loss_confirmed) "
        "in this incident",
        "blocked: needs the DBA's approval (role dba) recorded in this incident",
        "blocked: needs the Compliance Officer notified (compliance) in this incident",
    )
    assert status.reason == status.blockers[0]
    with pytest.raises(StepRefused, match="fact backup_taken"):
        run.start("undo-migration", Confirmation("whitecross_prod", "Dana"))
    inc.establish("backup_taken", "no_data_loss_confirmed")
    inc.approve("dba", "Sam (DBA)")
    assert run.state("undo-migration").blockers == (
        "blocked: needs the Compliance Officer notified (compliance) in this incident",)
    inc.notify("compliance")
    assert run.state("undo-migration").state is StepState.READY
    assert not any(c.type == "shell" for c in ex.calls)


def test_guard_steps_establish_facts_approvals_and_notifications() -> None:
    run, rec, ex, inc = make()
    run.execute("stop-writes")
    run.execute("backup")
    with pytest.raises(StepRefused, match="approver's name for role dba is required"):
        run.start("approve-dba")
    run.execute("approve-dba", Confirmation(approver="Sam (DBA)"))
    run.execute("confirm-no-data-loss")
    run.execute("notify-compliance")
    assert inc.facts >= {"backup_taken", "no_data_loss_confirmed", "writes_stopped"}
    assert inc.approvals == {"dba": "Sam (DBA)"}
    assert inc.notified == {"compliance"}
    status = run.execute("undo-migration", Confirmation("whitecross_prod", "Dana"))
    assert status.state is StepState.DONE
    assert ("approval.recorded", {"role": "dba", "approver": "Sam (DBA)", "step": "approve-dba",
                                  "runbook": "db-migration"}) in [
        (e["kind"], e["data"]) for e in rec.events]
    queued = next(e["data"] for e in rec.events if e["kind"] == "notification.queued")
    assert queued["channel"] == "email" and queued["targets"] == ["compliance"]
    assert queued["summary"] == "DB rollback INC-20250121-142500-ab12"


def test_failed_step_is_never_retried_automatically_and_blocks_the_rest() -> None:
    run, rec, ex, _ = make("api-undo")
    ex.fail.add("k8s.rollout_history")
    status = run.execute("history")
    assert status.state is StepState.FAILED and status.reason == "exit status 1"
    assert states(run)["undo"] == "pending"
    with pytest.raises(StepRefused, match="retry it explicitly or skip it"):
        run.start("history")
    assert len(ex.calls) == 1
    ex.fail.clear()
    assert run.retry("history").state is StepState.READY
    assert len(ex.calls) == 1  # retry only re-arms the step
    assert run.execute("history").state is StepState.DONE
    assert len(ex.calls) == 2
    with pytest.raises(StepRefused, match="only a failed"):
        run.retry("history")


def test_skip_needs_a_reason_and_is_recorded() -> None:
    run, rec, _, _ = make("api-undo")
    with pytest.raises(StepRefused, match="needs a reason"):
        run.skip("history", "  ")
    status = run.skip("history", "history checked in the dashboard")
    assert status.state is StepState.SKIPPED and status.reason.startswith("history checked")
    assert rec.events[-1] == {"kind": "step.skipped", "data": {
        "runbook": "api-undo", "step": "history", "reason": "history checked in the dashboard"}}
    assert states(run)["undo"] == "ready"


def test_timeout_fails_the_step_with_a_clear_reason() -> None:
    run, rec, ex, _ = make("api-undo")
    ex.hang.add("k8s.rollout_history")
    status = run.execute("history")
    assert status.state is StepState.FAILED
    assert status.reason == "timed out after 5m (stopped)"
    finished = rec.events[-1]["data"]
    assert finished["outcome"] == "failed" and finished["duration_s"] >= 300


def test_cancel_ends_the_running_step_cancelled() -> None:
    run, rec, ex, _ = make("api-undo")

    def cancel_then_run(action: ResolvedAction, ctx: RunContext) -> ActionResult:
        run.cancel("history")
        assert ctx.cancelled()
        return ActionResult(False, "interrupted by operator", (), "")

    ex.run = cancel_then_run  # type: ignore[method-assign]
    assert run.start("history").state is StepState.RUNNING
    with pytest.raises(StepRefused, match="still running"):
        run.start("history")
    status = run.run_step("history")
    assert status.state is StepState.CANCELLED
    assert rec.events[-1]["data"]["outcome"] == "cancelled"
    with pytest.raises(StepRefused, match="not running"):
        run.cancel("history")


def test_write_ahead_failure_prevents_the_action() -> None:
    run, rec, ex, _ = make("api-undo")
    rec.fail_on = "step.started"
    status = run.start("history")
    assert status.state is StepState.FAILED
    assert status.reason == ("not started: could not write the journal: No space left on device")
    assert ex.calls == []
    rec.fail_on = None
    run.retry("history")
    assert run.execute("history").state is StepState.DONE


def test_output_is_truncated_to_4kb_with_digest_of_the_full_output() -> None:
    run, rec, ex, _ = make("api-undo")
    big = "x" * 10000 + "END"
    ex.run = lambda action, ctx: ActionResult(True, big)  # type: ignore[method-assign]
    run.execute("history")
    data = rec.events[-1]["data"]
    import hashlib

    assert data["output"].endswith("END") and len(data["output"].encode()) == 4096
    assert data["output_sha256"] == hashlib.sha256(big.encode()).hexdigest()
    assert run.state("history").output == big


def test_undefined_and_injected_variables_block_the_step() -> None:
    runbook: Runbook = LIB.get("api-undo")
    for value, needle in (("x; rm -rf /", "not allowed in a command argument"),
                          ("$(id)", "not allowed in a command argument"),
                          ("-rf", "would become an option")):
        run = RunbookRun(runbook, IncidentFacts(), FakeExecutor(), Recorder(),
                         {**VARS, "deployment": value})
        status = run.state("history")
        assert status.state is StepState.BLOCKED
        assert f"variable 'deployment' = '{value}'" in status.reason and needle in status.reason
    run = RunbookRun(runbook, IncidentFacts(), FakeExecutor(), Recorder(), {})
    run.execute("history")
    run.execute("undo", Confirmation("api", "Dana"))
    run.execute("status")
    run.execute("recover")
    run.execute("health")
    status = run.state("announce")
    assert status.state is StepState.BLOCKED
    assert "undefined variable 'incident_id'" in status.reason


def test_abort_stops_further_steps() -> None:
    run, rec, _, _ = make("api-undo")
    with pytest.raises(StepRefused, match="needs a reason"):
        run.abort("")
    run.abort("wrong runbook")
    assert rec.events[-1] == {"kind": "runbook.aborted",
                              "data": {"runbook": "api-undo", "reason": "wrong runbook"}}
    with pytest.raises(StepRefused, match="aborted: wrong runbook"):
        run.start("history")


def test_restore_from_events_marks_started_without_finish_interrupted() -> None:
    run, rec, ex, inc = make("api-undo")
    run.execute("history")
    run.start("undo", Confirmation("api", "Dana"))  # crash: never finished
    events = list(rec.events)

    rec2, ex2 = Recorder(), FakeExecutor()
    inc2 = IncidentFacts.from_events(events)
    restored = RunbookRun.from_events(LIB.get("api-undo"), inc2, ex2, rec2, VARS, events)
    assert states(restored)["history"] == "done"
    undo = restored.state("undo")
    assert undo.state is StepState.INTERRUPTED
    assert undo.preview == "kubectl rollout undo deployment/api -n production"
    assert rec2.events == [{"kind": "step.interrupted", "data": {
        "runbook": "api-undo", "step": "undo",
        "preview": "kubectl rollout undo deployment/api -n production"}}]
    assert "api-undo/history" in inc2.steps_done
    with pytest.raises(StepRefused, match="interrupted"):
        restored.start("undo", Confirmation("api", "Dana"))
    assert ex2.calls == []
    restored.retry("undo")
    assert restored.execute("undo", Confirmation("api", "Dana")).state is StepState.DONE


def test_incident_facts_rebuilt_from_events() -> None:
    run, rec, _, _ = make()
    run.execute("stop-writes")
    run.execute("backup")
    run.execute("approve-dba", Confirmation(approver="Sam"))
    run.execute("confirm-no-data-loss")
    run.execute("notify-compliance")
    rebuilt = IncidentFacts.from_events(rec.events)
    assert rebuilt.facts == {"writes_stopped", "backup_taken", "no_data_loss_confirmed"}
    assert rebuilt.approvals == {"dba": "Sam"}
    assert rebuilt.notified == {"compliance"}
    restored = RunbookRun.from_events(LIB.get("db-migration"), rebuilt, FakeExecutor(),
                                      Recorder(), VARS, rec.events)
    assert restored.state("undo-migration").state is StepState.READY
