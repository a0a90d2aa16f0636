"""The revision history of a deployment (enter or h in the Pods panel), and the guarded
actions on it, on the simulated estate.

The history modal sits over the runbook pane's harness (a RunbookDeskScreen with a desk
on the simulator, its events folded by the journal's reducer): undo to a chosen
revision, scale and restart go through the desk's one guarded path (the destructive
modal, the target typed, the approver) and land in the record with the command that
ran; the war room opens the modal when the Pods panel asks.
"""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable, Static

from cockpit.app import make_sim_app
from cockpit.runbook.engine import StepState
from screens.reason_prompt import ReasonPrompt
from screens.resource_view import ResourceView
from screens.revision_history import RevisionHistory
from screens.step_confirm import StepConfirm
from tests.ui.pilot_wait import settle, wait_until
from tests.ui.runbook_harness import PaneHarness
from widgets.pods_panel import PodsPanel

SIZE = (80, 24)
NS = "production"
UNDO_6 = "act/production/api/undo-6"


def keys(text: str) -> list[str]:
    return ["space" if c == " " else c for c in text]


def text_of(screen: Any, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def open_history(pilot: Any, deployment: str = "api") -> RevisionHistory:
    app = pilot.app
    modal = RevisionHistory(deployment, NS, app.sim, app.desk)
    await app.push_screen(modal)
    await wait_until(pilot, lambda: modal.history is not None, "the history read")
    return modal


def rows(modal: RevisionHistory, *, marks: bool = False) -> list[list[str]]:
    """The table's rows; the first cell without the cursor's mark unless ``marks``."""
    table = modal.query_one("#history-table", DataTable)
    out = [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]
    if not marks:
        for row in out:
            row[0] = row[0].replace("▶", "").strip()
    return out


async def confirm(pilot: Any, target: str = "api", approver: str = "Dana Reyes") -> None:
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, StepConfirm),
                     "the destructive modal")
    await pilot.press(*keys(target), "enter", *keys(approver), "enter")


def started(app: Any, runbook: str) -> list[dict[str, Any]]:
    return [e["data"] for e in app.events
            if e["kind"] == "step.started" and e["data"]["runbook"] == runbook]


async def test_the_history_says_which_revision_runs_and_what_an_undo_would_change() -> None:
    app = PaneHarness()
    async with app.run_test(size=SIZE) as pilot:
        modal = await open_history(pilot)
        listed = rows(modal)
        # newest first, the running one said in words, versions written once with a v
        assert [row[:3] for row in listed] == [["8", "RUNNING", "v2.0.0"], ["7", "", "v1.9.3"],
                                               ["6", "", "v1.9.2"]]
        assert all(row[5] != "?" for row in listed)  # ages
        assert listed[0][6].startswith("api-")         # the ReplicaSet
        assert "deploy v1.9.3" in listed[1]
        # the cursor starts on what a plain undo returns to, with its diff below
        assert modal.selected is not None and modal.selected.revision == 7
        # marked in the list by a glyph, not by the cursor's colour alone (NO_COLOR)
        assert [row[0] for row in rows(modal, marks=True)] == ["  8", "▶ 7", "  6"]
        assert text_of(modal, "#history-diff-title") == (
            "diff: revision 8 (running) → revision 7 (v1.9.3)")
        diff = text_of(modal, "#history-diff")
        assert "-    image: registry.whitecross.health/api:2.0.0" in diff
        assert "+    image: registry.whitecross.health/api:1.9.3" in diff
        await pilot.press("down")
        await pilot.pause()
        assert "+    image: registry.whitecross.health/api:1.9.2" in text_of(modal,
                                                                           "#history-diff")
        await pilot.press("up", "up")
        await pilot.pause()
        assert "is RUNNING" in text_of(modal, "#history-diff-title")
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, RevisionHistory)


async def test_undo_to_the_selected_revision_goes_through_the_guarded_path() -> None:
    app = PaneHarness()
    async with app.run_test(size=SIZE) as pilot:
        modal = await open_history(pilot)
        await pilot.press("down")  # revision 6, two back
        await pilot.press("u")
        await wait_until(pilot, lambda: isinstance(app.screen, StepConfirm), "the modal")
        confirm_modal = app.screen
        assert isinstance(confirm_modal, StepConfirm)
        assert confirm_modal.preview == ("kubectl rollout undo deployment/api -n production "
                                         "--to-revision=6")
        assert confirm_modal.target == "api"
        await confirm(pilot)
        await wait_until(pilot, lambda: app.desk.run(UNDO_6).state("undo").state
                         is StepState.DONE, "the undo to finish")
        # the estate runs revision 6's version again, as a new revision
        api = app.estate.cluster_snapshot().deployment("api")
        assert api is not None and api.version == "1.9.2" and api.revision == 9
        # the record says what ran, on which revision, confirmed by whom
        opened = [e["data"] for e in app.events if e["kind"] == "runbook.opened"]
        assert opened[-1] == {"runbook": UNDO_6, "title": "Roll api back to revision 6"}
        (step,) = started(app, UNDO_6)
        assert step["preview"].endswith("--to-revision=6")
        assert step["confirmed_target"] == "api" and step["approver"] == "Dana Reyes"
        assert step["destructive"] is True
        # the history reads itself again: the running revision moved
        await wait_until(pilot, lambda: "undo: done" in modal.message
                         or "revision 6: done" in modal.message, "the outcome line")
        await wait_until(pilot, lambda: rows(modal)[0][:3] == ["9", "RUNNING", "v1.9.2"],
                         "the history read again")


async def test_undo_refuses_the_running_revision_and_a_cancel_runs_nothing() -> None:
    app = PaneHarness()
    async with app.run_test(size=SIZE) as pilot:
        app.desk.open("frontend-kubernetes")
        modal = await open_history(pilot)
        await pilot.press("up", "u")
        await pilot.pause()
        assert modal.message == ("revision 8 is the one running: select the revision to go "
                                 "back to")
        assert not isinstance(app.screen, StepConfirm)
        await pilot.press("down", "u")
        await wait_until(pilot, lambda: isinstance(app.screen, StepConfirm), "the modal")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is modal, "back to the history")
        assert modal.message == "Roll api back to revision 7: cancelled, nothing ran"
        assert started(app, "act/production/api/undo-7") == []
        # the runbook pane shows what it showed before
        assert app.desk.current == "frontend-kubernetes"
        api = app.estate.cluster_snapshot().deployment("api")
        assert api is not None and api.revision == 8


async def test_scale_asks_how_many_then_confirms() -> None:
    app = PaneHarness()
    async with app.run_test(size=SIZE) as pilot:
        modal = await open_history(pilot)
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, ReasonPrompt), "the prompt")
        await pilot.press("x", "enter")
        await wait_until(pilot, lambda: app.screen is modal, "back to the history")
        assert modal.message == "'x' is not a number of replicas (0 to 1000)"
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, ReasonPrompt), "the prompt")
        await pilot.press("3", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, StepConfirm), "the modal")
        assert app.screen.preview == "kubectl scale deployment/api --replicas=3 -n production"
        await confirm(pilot)
        await wait_until(pilot, lambda: app.desk.run("act/production/api/scale-3")
                         .state("scale").state is StepState.DONE, "the scale")
        api = app.estate.cluster_snapshot().deployment("api")
        assert api is not None and api.desired == 3


async def test_restart_twice_opens_a_second_run_and_both_are_recorded() -> None:
    app = PaneHarness()
    async with app.run_test(size=SIZE) as pilot:
        await open_history(pilot)
        for run_id in ("act/production/api/restart", "act/production/api/restart/2"):
            await pilot.press("r")
            await wait_until(pilot, lambda: isinstance(app.screen, StepConfirm), "the modal")
            assert app.screen.preview == "kubectl rollout restart deployment/api -n production"
            await confirm(pilot)
            await wait_until(pilot, lambda rid=run_id: rid in app.desk.runs and app.desk.run(
                rid).state("restart").state is StepState.DONE, f"{run_id} done")
        assert [s["runbook"] for e in [app.events] for s in
                [x["data"] for x in e if x["kind"] == "step.finished"]] == [
            "act/production/api/restart", "act/production/api/restart/2"]
        assert "rollout restart deployment/api" in app.estate.actions[-1][1]


async def test_a_read_only_session_refuses_the_undo_and_records_it() -> None:
    app = PaneHarness(read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        modal = await open_history(pilot)
        await pilot.press("u")
        await pilot.pause()
        assert modal.message.startswith("Read-only session: 'Roll api back to revision 7' "
                                        "changes production")
        assert not isinstance(app.screen, StepConfirm)
        refused = [e["data"] for e in app.events if e["kind"] == "step.refused"]
        assert refused and refused[-1]["runbook"] == "act/production/api/undo-7"
        assert started(app, "act/production/api/undo-7") == []


async def test_o_opens_the_container_rollback_with_the_deployment_filled_in() -> None:
    app = PaneHarness()
    async with app.run_test(size=SIZE) as pilot:
        await open_history(pilot)
        await pilot.press("down", "o")  # revision 6
        await wait_until(pilot, lambda: not isinstance(app.screen, RevisionHistory),
                         "the history to close")
        assert app.desk.current == "container-rollback"
        values = app.desk.editable_variables("container-rollback")
        assert values["deployment"] == "api" and values["to_revision"] == "6"
        assert values["selector"] == "app=api"
        recorded = [e["data"] for e in app.events if e["kind"] == "runbook.variables"]
        assert recorded[-1]["runbook"] == "container-rollback"
        assert recorded[-1]["variables"]["to_revision"] == "6"
        undo = app.desk.run("container-rollback").state("undo")
        assert undo.preview == ("kubectl rollout undo deployment/api -n production "
                                "--to-revision=6")


async def test_a_history_that_cannot_be_read_is_one_line() -> None:
    app = PaneHarness()
    async with app.run_test(size=SIZE) as pilot:
        modal = RevisionHistory("nope", NS, app.sim, app.desk)
        await app.push_screen(modal)
        await wait_until(pilot, lambda: "cannot read" in text_of(modal, "#history-note"),
                         "the failure line")
        assert text_of(modal, "#history-note") == (
            'cannot read the history: deployments.apps "nope" not found')
        await pilot.press("u")
        await pilot.pause()
        assert modal.message == "the history is not read yet"


async def test_the_war_room_opens_the_history_and_the_reading_views() -> None:
    app = make_sim_app("bad-deploy", start_clock=False, advance_s=300)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        war_room = app.screen
        await wait_until(pilot, lambda: war_room.desk is not None, "the runbook desk")
        pods = war_room.query_one(PodsPanel)
        pods.post_message(PodsPanel.HistoryRequested("api", NS))
        await wait_until(pilot, lambda: isinstance(app.screen, RevisionHistory), "the history")
        history = app.screen
        await wait_until(pilot, lambda: history.history is not None, "the history read")
        assert rows(history)[0][:2] == ["8", "RUNNING"]
        await pilot.press("l")  # the logs of the deployment, from the history
        await wait_until(pilot, lambda: isinstance(app.screen, ResourceView), "the logs")
        await wait_until(pilot, lambda: app.screen.reads > 0, "the logs read")
        assert app.screen.view == "logs" and app.screen.kind == "deployment"
        await pilot.press("escape", "escape")
        await wait_until(pilot, lambda: app.screen is war_room, "the war room again")
        pod = next(p.name for p in app.estate.cluster_snapshot().pods if p.deployment == "api")
        pods.post_message(PodsPanel.InspectRequested("pod", pod, NS, "describe"))
        await wait_until(pilot, lambda: isinstance(app.screen, ResourceView), "describe")
        reader = app.screen
        await wait_until(pilot, lambda: reader.reads > 0, "describe read")
        assert reader.lines[0] == f"Name:             {pod}"


async def test_h_on_a_deployment_row_and_l_on_a_pod_row_of_the_pods_panel() -> None:
    app = make_sim_app("bad-deploy", start_clock=False, advance_s=300)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        war_room = app.screen
        await wait_until(pilot, lambda: war_room.desk is not None, "the runbook desk")
        await pilot.press("2")  # the pods group at 80x24
        pods = war_room.query_one(PodsPanel)
        await wait_until(pilot, lambda: pods.cursor_row is not None, "the pods rows")

        async def move_to(kind: str) -> None:
            for _ in range(200):
                row = pods.cursor_row
                if row is not None and row.kind == kind and row.deployment == "api":
                    return
                await pilot.press("down")
            raise AssertionError(f"no api {kind} row")

        await move_to("deployment")
        await pilot.press("h")
        await wait_until(pilot, lambda: isinstance(app.screen, RevisionHistory), "the history")
        assert app.screen.deployment == "api"
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is war_room, "the war room again")
        await move_to("pod")
        await pilot.press("l")
        await wait_until(pilot, lambda: isinstance(app.screen, ResourceView), "the pod's logs")
        reader = app.screen
        await wait_until(pilot, lambda: reader.reads > 0, "the logs read")
        assert reader.kind == "pod" and reader.view == "logs"
        assert reader.lines and all(line.startswith(f"[pod/{reader.resource}/api]")
                                    for line in reader.lines)
