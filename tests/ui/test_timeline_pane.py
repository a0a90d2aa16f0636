"""The timeline pane (group 7 at 80x24, beside the others at 160x48) and the status bar:
every recorded event as it happens, filtered, in either order, pinned for the RCA; the
cockpit's messages on one line instead of toasts over the work and the modals."""

from __future__ import annotations

import pytest
from pilot_wait import settle, wait_until

from cockpit.app import CockpitApp, make_replay_app, make_sim_app
from cockpit.sim.scenario import find_scenario
from cockpit.timeline.journal import read_events
from cockpit.training.session import TrainingSession
from widgets.status_bar import StatusBar
from widgets.timeline_panel import DETAIL_MARK, MESSAGE_MARK, PIN_MARK, TimelinePanel

SIZE = (80, 24)
AT_S = 420  # the error-rate trigger has fired


def typed(text: str) -> list[str]:
    return ["space" if c == " " else c for c in text]


def pane(app: CockpitApp) -> TimelinePanel:
    return app.screen_stack[0].query_one(TimelinePanel)


def rows(app: CockpitApp) -> list[str]:
    """The pane's list, a row each (whole: the screen cuts them at its width), without the
    blank rows under the last or the selected line's continuation under the list."""
    return [row for row in pane(app).plain.splitlines()
            if row.strip() and not row.startswith(DETAIL_MARK)]


def bar(app: CockpitApp) -> str:
    return app.screen_stack[0].query_one(StatusBar).plain


async def note(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    app = pilot.app
    before = len(app.runtime.state.notes)
    await pilot.press("n", *typed(text), "enter")
    await wait_until(pilot, lambda: len(app.runtime.state.notes) > before, "the note recorded")


async def test_events_appear_as_they_happen_newest_last_and_the_status_bar_says_it() -> None:
    app = make_sim_app("bad-deploy", start_clock=False, advance_s=AT_S)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("7")
        await wait_until(pilot, lambda: pane(app).display and "FIRED" in pane(app).plain,
                         "the timeline group with the trigger that fired")
        assert "incident opened" in rows(app)[0]
        await note(pilot, "pods restarting since the deploy")
        await wait_until(pilot, lambda: "pods restarting since the deploy" in rows(app)[-1],
                         "the note as the newest line")
        assert rows(app)[-1].startswith(">")  # the cursor follows the newest
        # said on the status bar, in words, and no toast covers anything
        assert "INFO" in bar(app) and "Note recorded." in bar(app)
        assert not list(app._notifications)


async def test_filter_by_kind_and_flip_the_order() -> None:
    app = make_sim_app("bad-deploy", start_clock=False, advance_s=AT_S)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("7")
        await note(pilot, "checked the dashboards")
        panel = pane(app)
        await pilot.press("slash")  # decisions
        await wait_until(pilot, lambda: panel.view == "decisions", "the decisions view")
        assert "decisions" in str(panel.border_subtitle)
        assert any("FIRED" in r for r in rows(app))
        assert not any("checked the dashboards" in r for r in rows(app))
        await pilot.press("slash", "slash")  # steps (none yet), then notes
        await wait_until(pilot, lambda: panel.view == "notes", "the notes view")
        assert [r for r in rows(app) if "note by" in r] == rows(app)
        await pilot.press("slash", "slash")  # sources, then the cockpit's messages
        await wait_until(pilot, lambda: panel.view == "messages", "the messages view")
        assert any(MESSAGE_MARK in r and "Note recorded." in r for r in rows(app))
        await pilot.press("slash", "r")  # all again, newest first
        await wait_until(pilot, lambda: panel.newest_first and panel.view == "all",
                         "all, newest first")
        assert "checked the dashboards" in rows(app)[0]
        assert "incident opened" in rows(app)[-1] or len(rows(app)) == panel.size.height
        assert "newest first" in str(panel.border_subtitle)


async def test_pin_marks_the_event_in_words_and_the_rca_export_lists_it() -> None:
    app = make_sim_app("bad-deploy", start_clock=False, advance_s=AT_S)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("7")
        await note(pilot, "api pods crash looping since 14:25")
        await pilot.press("p")
        await wait_until(pilot, lambda: PIN_MARK in rows(app)[-1], "the pin on the note's row")
        assert "pinned for the RCA" in bar(app)
        assert app.session is not None
        path = app.session.journal.path
        noted = next(e for e in read_events(path) if e.kind == "note.added")
        pinned = [e for e in read_events(path) if e.kind == "event.pinned"]
        assert [e.data["seq"] for e in pinned] == [noted.seq]
        rca = app.session.export("md")
        section = rca.split("## Pinned Events", 1)[1].split("\n## ", 1)[0]
        assert "api pods crash looping since 14:25" in section
        assert f"| {noted.seq} **PINNED** |" in rca
        # p again takes the pin off; the record says so, and so does the pane
        await pilot.press("p")
        await wait_until(pilot, lambda: PIN_MARK not in pane(app).plain, "the pin taken off")
        assert [e.kind for e in read_events(path)][-1] == "event.unpinned"
        assert "None pinned" in app.session.export("md")


async def test_a_message_cannot_be_pinned_and_says_why() -> None:
    app = make_sim_app("bad-deploy", start_clock=False, advance_s=AT_S)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("7")
        await note(pilot, "one")
        await pilot.press(*["slash"] * 5)  # the messages view
        await wait_until(pilot, lambda: pane(app).view == "messages", "the messages view")
        await pilot.press("p")
        await wait_until(pilot, lambda: "only recorded events can be pinned" in bar(app),
                         "the refusal on the status bar")
        assert "WARNING" in bar(app)
        assert app.session is not None
        assert "event.pinned" not in [e.kind for e in read_events(app.session.journal.path)]


async def test_the_pinned_marker_is_text_with_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_sim_app("bad-deploy", start_clock=False, advance_s=AT_S)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("7")
        await note(pilot, "pin me")
        await pilot.press("p")
        await wait_until(pilot, lambda: PIN_MARK in pane(app).plain, "the pin")
        panel = pane(app)
        drawn = [panel.render_line(y).text for y in range(panel.size.height)]
        assert any(PIN_MARK in line and "pin me" in line for line in drawn)
        # the cursor is a glyph too, not only a reversed row
        assert any(line.startswith(">" + PIN_MARK) for line in drawn)


async def test_a_timeline_that_did_not_change_issues_no_refresh() -> None:
    app = make_sim_app("bad-deploy", start_clock=False, advance_s=AT_S)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        panel = pane(app)
        assert panel.display  # beside the other panels at 160x48
        await wait_until(pilot, lambda: "FIRED" in panel.plain, "the timeline drawn")
        await pilot.pause(0.3)
        before = panel.refreshes
        for _ in range(5):  # ticks and keys elsewhere hand it the same state
            app._refresh()
            await pilot.pause()
        assert panel.refreshes == before
        await note(pilot, "something new")
        await wait_until(pilot, lambda: panel.refreshes > before, "a repaint for the new line")
        assert "something new" in panel.plain


async def test_a_replay_rebuilds_the_timeline_and_pins_from_a_journal_it_did_not_write(
        tmp_path) -> None:  # type: ignore[no-untyped-def]
    s = TrainingSession(find_scenario("bad-deploy"), mode="exam", state_dir=tmp_path)
    s.advance(60)
    s.runtime.note("deploy of api 2.0.0 at 14:25", by="dana")
    seq = s.runtime.state.timeline[-1].seq
    s.runtime.pin(seq)
    s.advance(60)
    path = s.incident.journal.path
    s.abandon()
    events = read_events(path)
    app = make_replay_app(path, start_clock=False,
                          advance_s=(events[-1].time - events[0].time).total_seconds() + 1)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("7")
        await wait_until(pilot, lambda: any(PIN_MARK in r and "deploy of api 2.0.0" in r
                                            for r in rows(app)),
                         "the recorded note, pinned, on the replay's timeline")
        await pilot.press("p")  # nothing can be added to a replay
        await wait_until(pilot, lambda: "replay" in bar(app), "the refusal")
    assert read_events(path) == events


async def test_a_message_said_under_a_modal_is_no_toast_over_it() -> None:
    app = make_sim_app("bad-deploy", start_clock=False, advance_s=AT_S)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("n")  # the note modal is open
        await pilot.pause()
        app.runtime.say("The journal head could not be signed.", severity="warning")
        await wait_until(pilot, lambda: "could not be signed" in bar(app), "the message")
        assert not list(app._notifications), "a toast would cover the modal"
        assert "! WARNING" in bar(app)


async def test_a_message_ages_out_with_one_repaint_to_show_it_and_one_to_clear_it() -> None:
    app = make_sim_app("bad-deploy", start_clock=False, advance_s=AT_S)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        status = app.screen.query_one(StatusBar)
        before = status.refreshes
        app.say("Step history finished.", timeout=0.3)
        await wait_until(pilot, lambda: "Step history finished." in status.plain, "the message")
        await wait_until(pilot, lambda: not status.plain.strip(), "the message to age out")
        assert status.refreshes == before + 2
        # it is still in the log the timeline pane shows, marked as a message
        assert app.messages.texts()[-1] == "Step history finished."


async def test_a_step_that_finishes_is_said_on_the_status_bar_and_is_on_the_timeline() -> None:
    from screens.runbook_picker import RunbookPicker
    from widgets.runbook_panel import RunbookPanel

    app = make_sim_app("bad-deploy", start_clock=False, advance_s=AT_S)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("o")
        await wait_until(pilot, lambda: isinstance(app.screen, RunbookPicker), "the picker")
        await pilot.press(*typed("frontend-kubernetes"), "enter")
        runbook = app.screen_stack[0].query_one(RunbookPanel)
        await wait_until(pilot, lambda: runbook.current == "frontend-kubernetes",
                         "the runbook open")
        runbook.focus()
        await pilot.press("enter")  # the first step reads the rollout history
        await wait_until(pilot, lambda: ": done" in bar(app), "the step's end said")
        assert "INFO" in bar(app) and not list(app._notifications)
        await wait_until(pilot, lambda: any("frontend-kubernetes/" in r and "done" in r
                                            for r in rows(app)), "the step on the timeline")


async def test_the_selected_line_cut_at_the_pane_width_is_shown_whole_under_it() -> None:
    app = make_sim_app("bad-deploy", start_clock=False, advance_s=AT_S)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("7")
        long = "api pods crash looping since the deploy of 2.0.0: connection pool exhausted"
        await note(pilot, long)
        panel = pane(app)

        def drawn() -> list[str]:
            return [panel.render_line(y).text for y in range(panel.size.height)]

        await wait_until(pilot, lambda: panel.has_focus and any(
            line.startswith(DETAIL_MARK) and "pool exhausted" in line for line in drawn()),
                         "the end of the long note under the list")
        cursor = next(line for line in drawn() if line.startswith(">"))
        assert "pool exhausted" not in cursor and cursor.rstrip().endswith("…")  # cut
        await pilot.press("up")  # a line that fits: no continuation
        await wait_until(pilot, lambda: not any(line.startswith(DETAIL_MARK)
                                                for line in drawn()), "no continuation")
