"""The runbook desk, without Textual: what is asked before a step, what is recorded, what a
read-only session may do, restoring from the recorded state, progress and phase clocks."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from runbook_recorder import START, Recorder

from cockpit.actions.executor import ActionResult, Capabilities, RunContext
from cockpit.actions.types import ResolvedAction
from cockpit.runbook.desk import AskApprover, ConfirmDestructive, RunbookDesk, Verb
from cockpit.runbook.engine import Confirmation, StepRefused, StepState
from cockpit.runbook.loader import load_library

GOOD = Path(__file__).parent.parent / "fixtures" / "runbooks" / "good"
LIB = load_library(GOOD)
VARS = {"incident_id": "INC-20250121-142500-ab12"}


class Clock:
    def __init__(self) -> None:
        self.t = START

    def __call__(self):  # type: ignore[no-untyped-def]
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += timedelta(seconds=seconds)


class Executor:
    """Succeeds; ``fail`` action types fail; ``hold`` makes a run wait for ``release``."""

    capabilities = Capabilities()

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.fail: set[str] = set()
        self.release = threading.Event()
        self.release.set()

    def run(self, action: ResolvedAction, ctx: RunContext) -> ActionResult:
        self.calls.append(action.type)
        ctx.emit(f"running {action.type}")
        self.release.wait(5)
        if action.type in self.fail:
            return ActionResult(False, "boom", (), "exit status 1")
        return ActionResult(True, f"ran {action.preview()}")


class DryRunExecutor(Executor):
    capabilities = Capabilities(dry_run=True)

    def dry_run(self, action: ResolvedAction, ctx: RunContext) -> ActionResult:
        return ActionResult(True, f"{action.params['deployment']} rolled back (server dry run)")


def desk(executor: Any = None, *, rec: Recorder | None = None, clock: Clock | None = None,
         library: Any = LIB, **kw: Any) -> tuple[RunbookDesk, Recorder, Any]:
    clock = clock or Clock()
    rec = rec or Recorder(clock)
    executor = executor or Executor()
    made = RunbookDesk(library, executor, rec, rec.facts, now=clock,
                       operator=lambda: "dana@bastion", authority=lambda: "Incident Commander",
                       variables=VARS, **kw)
    return made, rec, executor


def test_open_records_once_and_brings_an_open_run_forward() -> None:
    d, rec, _ = desk()
    d.open("api-undo")
    d.open("db-migration")
    assert d.current == "db-migration"
    d.open("api-undo")
    assert d.current == "api-undo" and list(d.runs) == ["api-undo", "db-migration"]
    assert rec.kinds() == ["runbook.opened", "runbook.opened"]


def test_request_says_what_to_ask_before_a_step() -> None:
    d, _, _ = desk()
    d.open("api-undo")
    assert d.request("api-undo", "history") is None
    assert d.request("api-undo", "undo") is None, "not ready yet: start refuses and says why"
    d.start("api-undo", "history", background=False)
    ask = d.request("api-undo", "undo")
    assert isinstance(ask, ConfirmDestructive)
    assert (ask.target, ask.authority) == ("api", "Incident Commander")
    assert ask.preview == "kubectl rollout undo deployment/api -n production"
    assert ask.dry_run is None, "this executor declares no dry run"
    d.open("db-migration")
    d.start("db-migration", "stop-writes", background=False)
    d.start("db-migration", "backup", background=False)
    ask = d.request("db-migration", "approve-dba")
    assert isinstance(ask, AskApprover) and ask.role == "dba"


def test_a_refusal_is_recorded_and_raised() -> None:
    d, rec, ex = desk()
    d.open("api-undo")
    with pytest.raises(StepRefused, match="not yet: step 'history' comes first"):
        d.start("api-undo", "undo", Confirmation("api", "Dana"))
    d.start("api-undo", "history", background=False)
    with pytest.raises(StepRefused, match="type the target name 'api'"):
        d.start("api-undo", "undo", Confirmation("frontend", "Dana"))
    refused = [e["data"] for e in rec.events if e["kind"] == "step.refused"]
    assert refused == [
        {"runbook": "api-undo", "step": "undo", "by": "dana@bastion",
         "reason": "not yet: step 'history' comes first", "code": "order"},
        {"runbook": "api-undo", "step": "undo", "by": "dana@bastion",
         "reason": "destructive step: type the target name 'api' to confirm",
         "code": "confirmation"}]
    assert ex.calls == ["k8s.rollout_history"]
    assert [a.kind for a in rec.state.attempts] == ["step.refused", "step.refused"]


def test_guards_unblock_only_on_what_is_recorded() -> None:
    d, rec, ex = desk()
    d.open("db-migration")
    d.start("db-migration", "stop-writes", background=False)
    ex.fail.add("pg.backup")
    assert d.start("db-migration", "backup", background=False).state is StepState.FAILED
    assert "backup_taken" not in rec.facts().facts, "a failed backup establishes nothing"
    d.retry("db-migration", "backup")
    ex.fail.clear()
    d.start("db-migration", "backup", background=False)
    assert "backup_taken" in rec.facts().facts
    assert ("fact.established", "backup_taken") in [
        (e["kind"], e["data"].get("fact")) for e in rec.events]


def test_the_dry_run_answer_is_recorded_before_the_step_starts() -> None:
    d, rec, _ = desk(DryRunExecutor())
    d.open("api-undo")
    d.start("api-undo", "history", background=False)
    ask = d.request("api-undo", "undo")
    assert isinstance(ask, ConfirmDestructive) and ask.dry_run is not None
    line = ask.dry_run()
    assert line == "server dry run: ok · api rolled back"
    with pytest.raises(StepRefused):
        d.start("api-undo", "undo", Confirmation("apii", "Dana"), dry_run_line=line)
    assert "step.dry_run" not in rec.kinds(), "a refused start records the refusal only"
    d.start("api-undo", "undo", Confirmation("api", "Dana"), dry_run_line=line,
            background=False)
    undo = [(e["kind"], e["data"].get("result")) for e in rec.events
            if e["data"].get("step") == "undo" and e["kind"] != "step.refused"]
    assert undo == [("step.dry_run", line), ("step.started", None), ("step.finished", None)]


def test_read_only_is_enforced_in_the_desk() -> None:
    d, rec, ex = desk(read_only=True)
    d.open("api-undo")
    assert d.start("api-undo", "history", background=False).state is StepState.DONE
    message = ("Read-only session: 'Roll back to the previous revision' changes production; "
               "not run.")
    with pytest.raises(StepRefused) as refused:
        d.request("api-undo", "undo")
    assert str(refused.value) == message
    with pytest.raises(StepRefused, match="changes production"):
        d.start("api-undo", "undo", Confirmation("api", "Dana"))
    assert ex.calls == ["k8s.rollout_history"]
    before = list(rec.events)
    for verb, call in ((Verb.SKIP, lambda: d.skip("api-undo", "undo", "why")),
                       (Verb.ABORT, lambda: d.abort("api-undo", "why")),
                       (Verb.RETRY, lambda: d.retry("api-undo", "undo")),
                       (Verb.VARIABLES, lambda: d.set_variables("api-undo", {"deployment": "x"}))):
        with pytest.raises(StepRefused) as exc:
            call()
        assert str(exc.value) == f"Read-only session: observers cannot {verb.value}."
    assert rec.events == before


def test_restore_shows_interrupted_and_the_phase_clock_as_recorded() -> None:
    clock = Clock()
    d, rec, _ = desk(clock=clock)
    d.open("api-undo")
    clock.advance(5)
    d.start("api-undo", "history", background=False)
    clock.advance(35)  # 14:30:40: the undo starts, and the cockpit dies with it
    d.runs["api-undo"].start("undo", Confirmation("api", "Dana"))  # started, never run
    clock.advance(600)

    later, rec2, ex2 = desk(clock=clock)
    assert later.restore(rec.state.runbooks) == []
    assert rec2.events == [], "restoring writes nothing"
    assert later.current == "api-undo"
    restored = later.runs["api-undo"]
    undo = restored.state("undo")
    assert undo.state is StepState.INTERRUPTED
    assert undo.preview == "kubectl rollout undo deployment/api -n production"
    assert later.phase("api-undo") == (1, START + timedelta(seconds=40))
    assert later.budget_left("api-undo") == 600 - 600  # 10m budget, 10m gone
    with pytest.raises(StepRefused, match="interrupted: retry it explicitly"):
        later.start("api-undo", "undo", Confirmation("api", "Dana"))
    assert ex2.calls == []


def test_restore_without_a_started_step_in_the_phase_counts_from_the_last_event() -> None:
    clock = Clock()
    d, rec, _ = desk(clock=clock)
    d.open("api-undo")
    clock.advance(5)
    d.start("api-undo", "history", background=False)  # 14:30:05, the run's last event
    clock.advance(900)
    later, _, _ = desk(clock=clock)
    later.restore(rec.state.runbooks)
    assert later.phase("api-undo") == (1, START + timedelta(seconds=5))
    assert later.budget_left("api-undo") == 600 - 900


def test_a_new_phase_begins_when_its_first_step_becomes_current() -> None:
    clock = Clock()
    d, _, _ = desk(clock=clock)
    d.open("api-undo")
    assert d.phase("api-undo") == (0, START)
    clock.advance(30)
    d.start("api-undo", "history", background=False)
    assert d.phase("api-undo") == (1, START + timedelta(seconds=30))


def test_background_steps_notify_subscribers_from_their_thread() -> None:
    d, _, ex = desk()
    seen: list[tuple[str, str]] = []
    finished = threading.Event()
    d.subscribe(lambda rb: seen.append((rb, threading.current_thread().name)))
    d.open("api-undo")
    ex.release.clear()
    status = d.start("api-undo", "history", on_finish=lambda _s: finished.set())
    assert status.state is StepState.RUNNING and not d.idle()
    ex.release.set()
    assert finished.wait(5)
    assert d.idle() and d.runs["api-undo"].state("history").state is StepState.DONE
    assert any(name == "runbook:api-undo:history" for _, name in seen)


CHECKS = Path(__file__).parents[1] / "fixtures" / "runbooks" / "checks"


def test_progress_names_a_run_finished_with_failures(tmp_path: Path) -> None:
    d, _, ex = desk(library=load_library(CHECKS))
    d.open("checks")
    assert d.progress().phase == "Five checks: Check (1/1)"
    for n in range(1, 6):
        ex.fail = {"k8s.rollout_history"} if n in (2, 3, 5) else set()
        d.start("checks", f"c{n}", background=False)
    progress = d.progress()
    assert progress.phase == "Five checks: finished with 3 failed"
    assert [p.status for p in progress.steps] == ["done", "failed", "failed", "done", "failed"]


def test_progress_of_an_aborted_run() -> None:
    d, _, _ = desk()
    d.open("api-undo")
    progress = d.progress()
    assert progress.phase == "API rollback (Kubernetes): Assess (1/3)"
    assert [p.status for p in progress.steps][:2] == ["ready", "pending"]
    d.abort("api-undo", "wrong runbook")
    assert d.progress().phase == "API rollback (Kubernetes): aborted"


def test_picker_lists_recommended_first_with_why() -> None:
    d, _, _ = desk(fired=lambda: ["error_rate"], scenario_id="bad-deploy")
    d.open("api-undo")
    entries = d.picker_entries()
    assert entries[0].id == "api-undo" and entries[0].recommended
    assert entries[0].why == "error_rate fired" and entries[0].status == "open 0/6 done"


def test_wait_idle_cancels_a_read_that_is_still_running() -> None:
    d, _, ex = desk()
    d.open("api-undo")
    ex.release.clear()
    d.start("api-undo", "history")
    d.wait_idle(changes_only=True)
    assert not d.idle(), "at SIGHUP a read is not waited for"
    threading.Timer(0.1, ex.release.set).start()
    d.wait_idle()
    assert d.idle()
