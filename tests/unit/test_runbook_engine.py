"""The runbook engine: states, guards, confirmations, timeouts, cancel, retry, restore.

Events go through :class:`runbook_recorder.Recorder`, which folds them with the journal's
reducer: the guards read the recorded facts, as in the cockpit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from runbook_recorder import Recorder

from cockpit.actions.executor import ActionResult, RunContext
from cockpit.actions.types import ResolvedAction
from cockpit.runbook.engine import (
    Confirmation,
    RunbookRun,
    RunOutcome,
    StepRefused,
    StepState,
)
from cockpit.runbook.loader import load_library
from cockpit.runbook.model import Runbook
from cockpit.timeline.journal import Journal
from cockpit.timeline.replay import Reducer, resume

GOOD = Path(__file__).parent.parent / "fixtures" / "runbooks" / "good"
LIB = load_library(GOOD)
VARS = {"incident_id": "INC-20250121-142500-ab12"}


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


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
        # a notification here is accepted by its channel at once
        return ActionResult(True, f"ran {action.preview()}",
                            delivered=action.type.startswith("notify."))


def make(runbook_id: str = "db-migration", **kw: Any) -> tuple[RunbookRun, Recorder,
                                                                FakeExecutor, Recorder]:
    rec, clock = Recorder(), FakeClock()
    ex = FakeExecutor(clock)
    run = RunbookRun(LIB.get(runbook_id), rec.facts, ex, rec, VARS, monotonic=clock, **kw)
    return run, rec, ex, rec


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
    # what another runbook (or a cockpit on the same journal) records counts, and only that
    rec("fact.established", {"fact": "backup_taken"})
    rec("fact.established", {"fact": "no_data_loss_confirmed"})
    rec("approval.recorded", {"role": "dba", "approver": "Sam (DBA)"})
    assert run.state("undo-migration").blockers == (
        "blocked: needs the Compliance Officer notified (compliance) in this incident",)
    rec("step.finished", {"runbook": "communication", "step": "email-compliance",
                          "outcome": "failed", "notified": ["compliance"]})
    assert run.state("undo-migration").state is StepState.BLOCKED, "a failed email notifies no one"
    rec("step.finished", {"runbook": "communication", "step": "email-compliance",
                          "outcome": "done", "notified": ["compliance"]})
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
    facts = inc.facts()
    assert facts.facts >= {"backup_taken", "no_data_loss_confirmed", "writes_stopped"}
    assert facts.approvals == {"dba": "Sam (DBA)"}
    assert facts.notified == {"compliance"}
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
        rec = Recorder()
        run = RunbookRun(runbook, rec.facts, FakeExecutor(), rec, {**VARS, "deployment": value})
        status = run.state("history")
        assert status.state is StepState.BLOCKED
        assert f"variable 'deployment' = '{value}'" in status.reason and needle in status.reason
    rec = Recorder()
    run = RunbookRun(runbook, rec.facts, FakeExecutor(), rec, {})
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


def test_restore_from_state_shows_interrupted_writes_nothing_and_never_reruns() -> None:
    run, rec, ex, _ = make("api-undo")
    run.execute("history")
    run.set_variables({"namespace": "staging"})
    run.start("undo", Confirmation("api", "Dana"))  # crash: never finished
    recorded = rec.state.runbooks["api-undo"]
    assert recorded.steps["undo"].status == "running"

    rec2, ex2 = Recorder(), FakeExecutor()
    restored = RunbookRun.from_state(LIB.get("api-undo"), recorded, rec.facts, ex2, rec2, VARS)
    assert rec2.events == [], "restoring writes nothing (resume records step.interrupted)"
    assert states(restored)["history"] == "done"
    undo = restored.state("undo")
    assert undo.state is StepState.INTERRUPTED
    assert undo.preview == "kubectl rollout undo deployment/api -n staging"
    assert undo.reason.startswith("interrupted: started but never finished")
    assert restored.variables["namespace"] == "staging", "the operator's values come back"
    with pytest.raises(StepRefused, match="interrupted"):
        restored.start("undo", Confirmation("api", "Dana"))
    assert ex2.calls == []
    restored.retry("undo")
    assert restored.execute("undo", Confirmation("api", "Dana")).state is StepState.DONE


def test_resume_is_the_one_writer_of_step_interrupted(tmp_path: Path) -> None:
    journal = Journal.create(tmp_path, incident_id="INC-20250121-142500-ab12")
    live = Reducer(journal.incident_id)

    def record(kind: str, data: dict[str, Any]) -> None:
        live.apply(journal.append(kind, data))

    run = RunbookRun(LIB.get("api-undo"), lambda: live.state.facts, FakeExecutor(), record, VARS)
    run.execute("history")
    run.start("undo", Confirmation("api", "Dana"))
    reducer = resume(journal)
    kinds = [e.kind for e in journal.events]
    assert kinds.count("step.interrupted") == 1
    restored = RunbookRun.from_state(LIB.get("api-undo"), reducer.state.runbooks["api-undo"],
                                     lambda: reducer.state.facts, FakeExecutor(),
                                     lambda kind, data: journal.append(kind, data), VARS)
    assert restored.state("undo").state is StepState.INTERRUPTED
    assert [e.kind for e in journal.events] == kinds


def test_guards_read_the_facts_folded_from_the_record() -> None:
    run, rec, _, _ = make()
    run.execute("stop-writes")
    run.execute("backup")
    run.execute("approve-dba", Confirmation(approver="Sam"))
    run.execute("confirm-no-data-loss")
    run.execute("notify-compliance")
    facts = rec.facts()
    assert facts.facts == {"writes_stopped", "backup_taken", "no_data_loss_confirmed"}
    assert facts.approvals == {"dba": "Sam"}
    assert facts.notified == {"compliance"}
    restored = RunbookRun.from_state(LIB.get("db-migration"), rec.state.runbooks["db-migration"],
                                     rec.facts, FakeExecutor(), Recorder(), VARS)
    assert restored.state("undo-migration").state is StepState.READY
    # the same run against an incident that recorded none of it stays blocked
    empty = Recorder()
    elsewhere = RunbookRun.from_state(LIB.get("db-migration"),
                                      rec.state.runbooks["db-migration"], empty.facts,
                                      FakeExecutor(), empty, VARS)
    assert elsewhere.state("undo-migration").state is StepState.BLOCKED


CONTINUE = Path(__file__).parents[1] / "fixtures" / "runbooks" / "checks"


def test_a_run_whose_steps_ended_with_failures_is_not_complete(tmp_path: Path) -> None:
    runbook = load_library(CONTINUE).get("checks")
    rec, ex = Recorder(), FakeExecutor()
    run = RunbookRun(runbook, rec.facts, ex, rec, VARS)
    assert run.outcome is RunOutcome.IN_PROGRESS
    for n in range(1, 6):
        ex.fail = {"k8s.rollout_history"} if n in (1, 3, 4) else set()
        run.execute(f"c{n}")
    assert run.finished, "every step ended: on_failure continue let the run go on"
    assert run.outcome is RunOutcome.FINISHED_WITH_FAILURES
    assert [s.id for s in run.failed_steps()] == ["c1", "c3", "c4"]
    assert run.phase_index() is None
    run.retry("c1")
    assert run.outcome is RunOutcome.IN_PROGRESS
    ex.fail = set()
    for n in (1, 3, 4):
        if run.state(f"c{n}").state is StepState.FAILED:
            run.retry(f"c{n}")
        run.execute(f"c{n}")
    assert run.outcome is RunOutcome.COMPLETE
    run2 = RunbookRun(runbook, rec.facts, ex, rec, VARS)
    run2.abort("wrong runbook")
    assert run2.outcome is RunOutcome.ABORTED
