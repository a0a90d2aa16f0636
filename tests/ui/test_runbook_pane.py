"""The runbook pane driven by keys on a small harness app (the pane + the simulated estate)."""

from __future__ import annotations

import time
from typing import Any

from runbook_harness import FIXTURES, INCIDENT, NotingHarness
from textual.widgets import Input, OptionList

from cockpit.runbook.engine import StepState
from screens.reason_prompt import ReasonPrompt
from screens.runbook_picker import RunbookPicker
from screens.step_confirm import StepConfirm

SIZE = (80, 24)


def keys(text: str) -> list[str]:
    return ["space" if c == " " else c for c in text]


async def settle(pilot: Any) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def open_runbook(pilot: Any, runbook_id: str) -> None:
    await pilot.press("p")
    assert isinstance(pilot.app.screen, RunbookPicker)
    await pilot.press(*keys(runbook_id), "enter")
    await pilot.pause()
    assert pilot.app.panel.current == runbook_id


async def confirm(pilot: Any, target: str, approver: str = "Dana Reyes") -> None:
    assert isinstance(pilot.app.screen, StepConfirm)
    await pilot.press(*keys(target), "enter", *keys(approver), "enter")
    await pilot.pause()


def state(app: Any, step_id: str) -> StepState:
    return app.panel.run.state(step_id).state


async def test_empty_pane_says_how_to_open_a_runbook() -> None:
    app = NotingHarness()
    async with app.run_test(size=SIZE) as pilot:
        assert "No runbook open" in app.pane_text() and "o" in app.pane_text()
        await pilot.press("enter")
        assert app.notes[-1] == ("warning", "No runbook open: press p (or o) to pick one.")


async def test_picker_lists_recommended_first_filters_and_escape_cancels() -> None:
    app = NotingHarness(fired=("error_rate",))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p")
        picker = app.screen
        assert isinstance(picker, RunbookPicker)
        options = picker.query_one(OptionList)
        first = str(options.get_option_at_index(0).prompt)
        assert "recommended (declare first: error_rate fired)" in first and "steps" in first
        last = str(options.get_option_at_index(options.option_count - 1).prompt)
        assert "recommended" not in last
        assert options.option_count == len(app.desk.library)
        await pilot.press(*keys("frontend"))
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert set(ids) == {"frontend-blue-green", "frontend-kubernetes"}
        await pilot.press("escape")
        assert not isinstance(app.screen, RunbookPicker)
        assert app.panel.current is None and "runbook.opened" not in app.kinds()


async def test_open_select_and_run_by_enter_with_the_checklist_and_preview() -> None:
    app = NotingHarness()
    async with app.run_test(size=SIZE) as pilot:
        await open_runbook(pilot, "frontend-kubernetes")
        assert app.events[0] == {"kind": "runbook.opened", "data": {
            "runbook": "frontend-kubernetes", "title": "Frontend rollback (Kubernetes)"},
            "t": app.events[0]["t"]}
        text = app.pane_text()
        assert "Frontend rollback (Kubernetes)" in text
        assert "Phase 1/3 Assess · 2m left of 2m" in text
        assert "> [>]  1 Check rollout history · ready" in text
        assert "$ kubectl rollout history deployment/frontend -n production" in text
        assert "enter run" in text
        await pilot.press("down")
        text = app.pane_text()
        assert "> [ ]  2 Roll back to the previous revision [destructive]" in text
        assert "$ kubectl rollout undo deployment/frontend -n production" in text
        assert "why: Kubernetes re-applies" in text
        await pilot.press("up", "enter")
        await settle(pilot)
        assert state(app, "history") is StepState.DONE
        text = app.pane_text()
        assert "[x]  1 Check rollout history · done" in text
        # the selection moved on to the next step, and the phase with it
        assert "> [>]  2 Roll back to the previous revision" in text
        assert "Phase 2/3 Roll back" in text
        assert app.kinds()[-2:] == ["step.started", "step.finished"]


async def test_phase_budget_counts_down_on_the_incident_clock_and_shows_over() -> None:
    app = NotingHarness()
    async with app.run_test(size=SIZE) as pilot:
        await open_runbook(pilot, "frontend-kubernetes")
        app.clock.advance(75)
        assert "Phase 1/3 Assess · 45s left of 2m" in app.pane_text()
        app.clock.advance(60)
        assert "Phase 1/3 Assess · OVER by 15s (budget 2m)" in app.pane_text()


async def test_destructive_step_refuses_a_wrong_target_and_runs_with_the_right_one() -> None:
    app = NotingHarness(authority="Incident Commander")
    async with app.run_test(size=SIZE) as pilot:
        await open_runbook(pilot, "frontend-kubernetes")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("enter")
        modal = app.screen
        assert isinstance(modal, StepConfirm)
        # it starts in the target field, empty: the first letter typed counts
        assert app.focused is not None and app.focused.id == "confirm-target"
        assert modal.query_one("#confirm-target", Input).value == ""
        assert not modal.query_one("#confirm-target", Input).placeholder
        labels = " ".join(str(w.render()) for w in modal.query("Static"))
        assert "required authority: Incident Commander" in labels
        assert "kubectl rollout undo deployment/frontend -n production" in labels
        await pilot.press(*keys("frontned"), "enter")
        assert isinstance(app.screen, StepConfirm)
        assert "'frontned' is not the target: type frontend" in str(
            modal.query_one("#confirm-message").render())
        assert "step.started" not in app.kinds()[1:] or app.kinds().count("step.started") == 1
        field = modal.query_one("#confirm-target", Input)
        field.value = ""
        await pilot.press(*keys("frontend"), "enter", "enter")
        assert isinstance(app.screen, StepConfirm), "an approver is required"
        assert "approver's name is required" in str(modal.query_one("#confirm-message").render())
        await pilot.press(*keys("Dana Reyes"), "enter")
        await settle(pilot)
        assert not isinstance(app.screen, StepConfirm)
        assert state(app, "undo") is StepState.DONE
        started = [e["data"] for e in app.events if e["kind"] == "step.started"][-1]
        assert started["confirmed_target"] == "frontend" and started["approver"] == "Dana Reyes"
        assert app.estate.cluster_snapshot().deployment("frontend").version == "3.4.0"


async def test_escape_in_the_destructive_modal_runs_nothing() -> None:
    app = NotingHarness()
    async with app.run_test(size=SIZE) as pilot:
        await open_runbook(pilot, "frontend-kubernetes")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("y")
        assert isinstance(app.screen, StepConfirm)
        await pilot.press("enter", "enter")  # nothing typed: it says so and stays open
        assert isinstance(app.screen, StepConfirm)
        assert "type the target name frontend first" in str(
            app.screen.query_one("#confirm-message").render())
        await pilot.press("escape")  # one key away, from any field
        assert not isinstance(app.screen, StepConfirm)
        await pilot.press("enter", "escape")
        await settle(pilot)
        assert state(app, "undo") is StepState.READY
        assert app.kinds().count("step.started") == 1


async def test_cancel_a_running_wait_step() -> None:
    app = NotingHarness(folder=FIXTURES, sim_step_s=0)  # simulated time stands still
    async with app.run_test(size=SIZE) as pilot:
        await open_runbook(pilot, "api-undo")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("enter")
        await confirm(pilot, "api")
        await settle(pilot)
        await pilot.press("enter")  # status: waits for a rollout that cannot progress
        assert await wait_until(pilot, lambda: app.panel.run.running == "status")
        assert "[*]  3 Watch the rollback · running" in app.pane_text()
        assert "c cancel" in app.pane_text()
        await pilot.press("c")
        await settle(pilot)
        assert state(app, "status") is StepState.CANCELLED
        assert "[c]  3 Watch the rollback · cancelled" in app.pane_text()
        finished = [e["data"] for e in app.events if e["kind"] == "step.finished"][-1]
        assert finished["step"] == "status" and finished["outcome"] == "cancelled"
        await pilot.press("c")
        assert app.notes[-1] == ("warning", "No step is running.")


async def test_retry_a_failed_step_runs_it_again_only_when_asked() -> None:
    app = NotingHarness(folder=FIXTURES, fail_once=("k8s.rollout_history",))
    async with app.run_test(size=SIZE) as pilot:
        await open_runbook(pilot, "api-undo")
        await pilot.press("enter")
        await settle(pilot)
        assert state(app, "history") is StepState.FAILED
        text = app.pane_text()
        assert "[!]  1 Check rollout history · failed" in text
        assert "failed: connection refused" in text and "error: connection refused" in text
        assert ("error", "history: failed: connection refused") in app.notes
        assert "r retry" in text
        assert app.executor.calls == ["k8s.rollout_history"]
        await pilot.press("enter")  # a failed step is not re-run by enter
        await settle(pilot)
        assert app.executor.calls == ["k8s.rollout_history"]
        assert "retry it explicitly or skip it" in app.notes[-1][1]
        await pilot.press("r")
        assert state(app, "history") is StepState.READY
        await pilot.press("enter")
        await settle(pilot)
        assert state(app, "history") is StepState.DONE
        assert app.executor.calls == ["k8s.rollout_history"] * 2


async def test_skip_needs_a_reason_and_shows_it() -> None:
    app = NotingHarness(folder=FIXTURES)
    async with app.run_test(size=SIZE) as pilot:
        await open_runbook(pilot, "api-undo")
        await pilot.press("k")
        assert isinstance(app.screen, ReasonPrompt)
        await pilot.press("enter")
        assert isinstance(app.screen, ReasonPrompt), "an empty reason is refused"
        await pilot.press(*keys("history checked in Argo"), "enter")
        await pilot.pause()
        assert state(app, "history") is StepState.SKIPPED
        assert "[-]  1 Check rollout history · skipped" in app.pane_text()
        assert app.events[-1]["data"] == {"runbook": "api-undo", "step": "history",
                                          "reason": "history checked in Argo"}
        await pilot.press("up")
        assert "skipped: history checked in Argo" in app.pane_text()


async def test_abort_asks_a_reason_and_then_nothing_starts() -> None:
    app = NotingHarness(folder=FIXTURES)
    async with app.run_test(size=SIZE) as pilot:
        await open_runbook(pilot, "api-undo")
        await pilot.press("a", "escape")
        assert app.panel.run.aborted is None
        await pilot.press("a", *keys("wrong runbook: the database is the cause"), "enter")
        await pilot.pause()
        assert "ABORTED wrong runbook: the database is the cause" in app.pane_text()
        await pilot.press("enter")
        assert app.notes[-1][0] == "warning" and "was aborted" in app.notes[-1][1]
        assert "step.started" not in app.kinds()


async def test_database_rollback_blocked_until_backup_dba_approval_and_compliance() -> None:
    app = NotingHarness(folder=FIXTURES)
    async with app.run_test(size=SIZE) as pilot:
        await open_runbook(pilot, "db-migration")
        for _ in range(5):
            await pilot.press("down")
        text = app.pane_text()
        # while still pending, the rollback step already says what will stop it
        assert "guard: needs a successful backup step (fact backup_taken)" in text
        await pilot.press("up", "up", "up", "up", "up")
        await pilot.press("enter")  # maintenance mode on
        await settle(pilot)
        await pilot.press("enter")  # backup
        await settle(pilot)
        assert app.sim.backups and app.sim.backups[0].name == f"rollback_{INCIDENT}.dump"
        await pilot.press("enter")  # the DBA's approval asks for a name
        assert isinstance(app.screen, ReasonPrompt)
        await pilot.press(*keys("Sam Okafor"), "enter")
        await settle(pilot)
        await pilot.press("enter")  # confirm no data loss
        await settle(pilot)
        # the compliance officer is not notified yet: the rollback is blocked, and says why
        await pilot.press("k", *keys("compliance told by phone, email after"), "enter")
        await pilot.pause()
        assert state(app, "undo-migration") is StepState.BLOCKED
        text = app.pane_text()
        assert "[#]  6 Undo the last migration [destructive] · blocked" in text
        assert "blocked: needs the Compliance Officer notified (compliance)" in text
        await pilot.press("enter")
        assert not isinstance(app.screen, StepConfirm)
        assert "Compliance Officer notified" in app.notes[-1][1]
        assert "shell" not in app.executor.calls
        # the attempt is in the record: compliance reads it, training scores it
        refused = [e["data"] for e in app.events if e["kind"] == "step.refused"]
        assert refused and refused[-1]["step"] == "undo-migration"
        assert "Compliance Officer notified" in refused[-1]["reason"]


async def test_database_rollback_becomes_ready_when_every_guard_holds() -> None:
    app = NotingHarness(folder=FIXTURES)
    async with app.run_test(size=SIZE) as pilot:
        await open_runbook(pilot, "db-migration")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("enter", *keys("Sam Okafor"), "enter")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        # the approval is in the record, and the guards read it from there
        assert app.record.facts().approvals == {"dba": "Sam Okafor"}
        assert state(app, "undo-migration") is StepState.READY
        await pilot.press("enter")
        await confirm(pilot, "whitecross_prod")
        await settle(pilot)
        assert state(app, "undo-migration") is StepState.DONE
        assert "db:migrate:undo" in " ".join(app.sim.commands[-1])


async def test_resume_shows_an_interrupted_step_with_its_preview_and_never_reruns_it() -> None:
    preview = "kubectl rollout undo deployment/api -n production"
    events = [
        {"kind": "runbook.opened", "data": {"runbook": "api-undo", "title": "API rollback"},
         "t": "2025-01-21T14:30:00+00:00"},
        {"kind": "step.started", "data": {"runbook": "api-undo", "step": "history",
                                          "preview": "kubectl rollout history ..."},
         "t": "2025-01-21T14:30:05+00:00"},
        {"kind": "step.finished", "data": {"runbook": "api-undo", "step": "history",
                                           "outcome": "done", "output": "REVISION"},
         "t": "2025-01-21T14:30:06+00:00"},
        {"kind": "step.started", "data": {"runbook": "api-undo", "step": "undo",
                                          "preview": preview},
         "t": "2025-01-21T14:30:40+00:00"},
    ]
    app = NotingHarness(folder=FIXTURES, events=events)
    async with app.run_test(size=SIZE) as pilot:
        assert app.panel.current == "api-undo"
        text = app.pane_text()
        assert "> [?]  2 Roll back to the previous revision [destructive] · interrupted" in text
        assert f"$ {preview}" in text
        # restoring writes nothing: the journal's resume records step.interrupted, once
        assert len(app.events) == len(events)
        # the phase began when its first step started (14:30:40), on the incident clock
        assert "Phase 2/3 Roll back" in text
        await pilot.press("enter")
        await settle(pilot)
        assert app.executor.calls == []
        assert "interrupted: retry it explicitly or skip it" in app.notes[-1][1]


async def test_read_only_runs_checks_but_refuses_what_changes_production() -> None:
    app = NotingHarness(folder=FIXTURES, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await open_runbook(pilot, "api-undo")
        assert "READ-ONLY" in app.pane_text()
        await pilot.press("enter")
        await settle(pilot)
        assert state(app, "history") is StepState.DONE
        await pilot.press("enter")
        assert not isinstance(app.screen, StepConfirm)
        assert app.notes[-1] == ("warning", "Read-only session: 'Roll back to the previous "
                                            "revision' changes production; not run.")
        await pilot.press("k")
        assert app.notes[-1] == ("warning", "Read-only session: observers cannot skip steps.")


async def test_variables_key_sets_a_runbook_variable_and_the_preview_follows() -> None:
    app = NotingHarness()
    async with app.run_test(size=SIZE) as pilot:
        await open_runbook(pilot, "frontend-kubernetes")
        await pilot.press("v")
        field = app.screen.query_one("#var-0", Input)
        assert field.value == "frontend"
        field.value = ""
        await pilot.press(*keys("api"), "down")
        selector = app.focused
        assert isinstance(selector, Input) and selector.value == "app=frontend"
        selector.value = ""
        await pilot.press(*keys("app=api"), "enter")
        await pilot.pause()
        assert "$ kubectl rollout history deployment/api -n production" in app.pane_text()
        assert app.events[-1]["data"] == {"runbook": "frontend-kubernetes",
                                          "variables": {"deployment": "api",
                                                        "selector": "app=api"}}


async def test_placeholder_variable_blocks_with_set_variable() -> None:
    app = NotingHarness()
    async with app.run_test(size=SIZE) as pilot:
        await open_runbook(pilot, "cdn-dns")
        statuses = app.panel.run.steps()
        blocked = [s for s in statuses if "set variable" in s.reason or "set variable"
                   in s.preview]
        assert blocked
        for _ in range([s.id for s in statuses].index(blocked[0].id)):
            await pilot.press("down")
        assert "set variable '" in app.pane_text()


async def test_two_runbooks_open_the_picker_switches_between_them() -> None:
    app = NotingHarness(folder=FIXTURES)
    async with app.run_test(size=SIZE) as pilot:
        await open_runbook(pilot, "api-undo")
        await pilot.press("enter")
        await settle(pilot)
        await open_runbook(pilot, "db-migration")
        assert "Database migration rollback" in app.pane_text()
        await pilot.press("p")
        options = app.screen.query_one(OptionList)
        prompts = {options.get_option_at_index(i).id: str(options.get_option_at_index(i).prompt)
                   for i in range(options.option_count)}
        assert "open 1/6 done" in prompts["api-undo"]
        await pilot.press(*keys("api"), "enter")
        await pilot.pause()
        assert app.panel.current == "api-undo"
        assert app.kinds().count("runbook.opened") == 2


# -- the war room on the simulator ----------------------------------------------------------


def error_rate_line(app: Any) -> str:
    return str(app.screen.query_one("#error-rate .metric-value").render())


async def wait_until(pilot: Any, check: Any, within_s: float = 60.0) -> bool:
    """Until ``check()`` (a minute of wall clock at most: a loaded machine is slow)."""
    deadline = time.monotonic() + within_s
    while not check():
        if time.monotonic() > deadline:
            return bool(check())
        await pilot.pause(0.05)
    return True


async def test_war_room_runs_frontend_kubernetes_by_keyboard_and_the_error_rate_recovers(
) -> None:
    from cockpit.app import make_sim_app
    from widgets.runbook_panel import RunbookPanel

    # seven simulated minutes in: the error rate is over 5% and its trigger has fired
    app = make_sim_app("bad-deploy", seed=7, speed=60, advance_s=420)
    async with app.run_test(size=(100, 30)) as pilot:
        assert await wait_until(pilot, lambda: "OVER" in error_rate_line(app))
        # the runbook library is read in a worker: on a loaded machine it comes late
        assert await wait_until(pilot, lambda: app.runtime.desk is not None)
        await pilot.pause()
        await pilot.press("o")
        assert await wait_until(pilot, lambda: isinstance(app.screen, RunbookPicker))
        await pilot.press(*keys("frontend-kubernetes"), "enter")
        await pilot.pause()
        panel = app.screen.query_one(RunbookPanel)
        assert panel.has_focus and panel.current == "frontend-kubernetes"
        # the bad release is the api's: point the container rollback at it
        await pilot.press("v")
        app.screen.query_one("#var-0", Input).value = ""
        await pilot.press(*keys("api"), "down")
        app.screen.query_one("#var-1", Input).value = ""
        await pilot.press(*keys("app=api"), "enter")
        await pilot.pause()
        run = panel.run
        assert run is not None and run.variables["deployment"] == "api"

        async def steps_idle() -> None:
            # steps run in the desk's threads: wait until none runs
            assert panel.desk is not None
            assert await wait_until(pilot, panel.desk.idle)
            await pilot.pause()

        async def run_selected() -> None:
            await pilot.press("enter")
            await pilot.pause()
            await steps_idle()

        await run_selected()  # history
        await pilot.press("enter")  # undo: destructive
        assert isinstance(app.screen, StepConfirm)
        await pilot.press(*keys("api"), "enter", *keys("Dana Reyes"), "enter")
        await steps_idle()
        await run_selected()  # rollout status: waits on the simulated clock
        await run_selected()  # pod health
        await run_selected()  # logs
        assert [s.state.value for s in run.steps()] == ["done"] * 5, [
            (s.id, s.state.value, s.reason) for s in run.steps()]
        assert "COMPLETE" in str(panel.query_one("#runbook-body").render())
        await pilot.press("1")
        assert await wait_until(pilot, lambda: "ok (limit" in error_rate_line(app)), (
            error_rate_line(app))
        kinds = [e.kind for e in app.session.journal.events]
        assert kinds.count("step.finished") == 5 and "runbook.variables" in kinds


async def test_the_panes_keys_post_requests_and_the_screen_opens_the_modal() -> None:
    from widgets.runbook_panel import RunbookPanel

    posted: list[Any] = []
    app = NotingHarness()

    def hook(message: Any) -> None:
        # the hook sees a message at each node it bubbles through: keep it once
        if isinstance(message, RunbookPanel.Request) and all(m is not message for m in posted):
            posted.append(message)

    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await open_runbook(pilot, "frontend-kubernetes")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("enter")
        assert isinstance(app.screen, StepConfirm), "the screen answered with the modal"
        kinds = [(type(m).__name__, m.runbook_id, m.step_id) for m in posted]
        assert kinds == [("PickerRequested", None, None),
                         ("RunRequested", "frontend-kubernetes", "history"),
                         ("RunRequested", "frontend-kubernetes", "undo")]
        assert all(m.control is app.panel for m in posted)
        await pilot.press("escape")


async def test_hands_off_refuses_every_acting_key_but_still_shows_the_runs() -> None:
    app = NotingHarness()
    why = "Demo: the autopilot is at the keyboard (space pauses)."
    async with app.run_test(size=SIZE) as pilot:
        assert app.desk is not None
        app.pane_screen.attach_desk(app.desk, hands_off=why)
        app.desk.open("frontend-kubernetes")  # the autopilot opens one
        await pilot.pause()
        assert "Frontend rollback (Kubernetes)" in app.pane_text()
        for key in ("enter", "k", "a", "v", "p"):
            await pilot.press(key)
            assert app.notes[-1] == ("warning", why), key
            assert app.screen is app.pane_screen
        assert app.kinds() == ["runbook.opened"]


async def test_a_run_that_finished_with_failures_is_never_complete(tmp_path: Any) -> None:
    checks = FIXTURES.parent / "checks"  # five checks, on_failure: continue
    app = NotingHarness(folder=checks, fail_once=("k8s.rollout_history",))
    async with app.run_test(size=SIZE) as pilot:
        await open_runbook(pilot, "checks")
        for n in range(1, 6):
            app.executor.fail_once = {"k8s.rollout_history"} if n in (1, 3, 4) else set()
            await pilot.press("enter")
            await settle(pilot)
        text = app.pane_text()
        assert "COMPLETE" not in text
        assert "FINISHED WITH 3 FAILED: c1, c3, c4" in text


async def test_told_them_myself_is_recorded_as_an_attestation_that_opens_the_guard() -> None:
    app = NotingHarness(folder=FIXTURES)
    async with app.run_test(size=SIZE) as pilot:
        await open_runbook(pilot, "db-migration")
        for _ in range(2):  # stop writes, backup
            await pilot.press("enter")
            await settle(pilot)
        await pilot.press("enter", *keys("Sam Okafor"), "enter")  # the DBA approves
        await settle(pilot)
        await pilot.press("enter")  # no data loss confirmed
        await settle(pilot)
        await pilot.press("k", *keys("mail is down"), "enter")  # the notification, skipped
        await settle(pilot)
        assert state(app, "undo-migration") is StepState.BLOCKED
        assert "t told them" in app.pane_text()
        await pilot.press("t", *keys("phoned Pat Lee at 14:40"), "enter")
        await settle(pilot)
        facts = app.record.facts()
        assert "compliance" in facts.notified
        assert facts.attested["compliance"].endswith("phoned Pat Lee at 14:40")
        assert "notification.attested" in app.kinds()
        assert "notification.delivered" not in app.kinds()
        assert state(app, "undo-migration") is StepState.READY
