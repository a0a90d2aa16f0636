"""The note, status update and export modals, driven by keys at 80x24."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from textual.app import App
from textual.screen import Screen
from textual.widgets import Button, Input, Static, TextArea

from cockpit.clock import SimClock
from cockpit.incident import IncidentSession
from screens.export import ExportScreen
from screens.note import NoteScreen
from screens.status_update import StatusUpdateScreen

SIZE = (80, 24)
T0 = datetime(2025, 1, 21, 14, 0, tzinfo=UTC)


class Host(App[None]):
    """A bare app that pushes one modal and keeps what it dismissed with."""

    def __init__(self, modal: Screen[Any]) -> None:
        super().__init__()
        self.modal = modal
        self.results: list[Any] = []

    def on_mount(self) -> None:
        self.push_screen(self.modal, self.results.append)


def keys(text: str) -> list[str]:
    return ["space" if c == " " else c for c in text]


def fits(app: App[Any], widget_id: str) -> bool:
    region = app.screen.query_one(widget_id).region
    return region.x >= 0 and region.y >= 0 and region.right <= SIZE[0] and (
        region.bottom <= SIZE[1])


def session(tmp_path: Path) -> IncidentSession:
    return IncidentSession.start(scenario="bad-deploy", environment="production",
                                 mode="training", title="API 5xx", clock=SimClock(T0),
                                 state_dir=tmp_path)


# -- note ------------------------------------------------------------------------------------


async def test_note_is_saved_with_enter() -> None:
    app = Host(NoteScreen("INC-20250121-140000-abcd"))
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.focused, Input)
        assert fits(app, "#note-box")
        await pilot.press(*keys("v1 pods ready"), "enter")
        await pilot.pause()
    assert app.results == ["v1 pods ready"]


async def test_note_is_saved_with_ctrl_s_and_cancelled_with_escape() -> None:
    app = Host(NoteScreen())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*keys("paged DBA"), "ctrl+s")
        await pilot.pause()
        app.push_screen(NoteScreen(), app.results.append)
        await pilot.pause()
        await pilot.press(*keys("draft"), "escape")
        await pilot.pause()
    assert app.results == ["paged DBA", None]


async def test_empty_note_is_not_saved() -> None:
    app = Host(NoteScreen())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space", "enter")
        await pilot.pause()
        assert isinstance(app.screen, NoteScreen)
        hint = app.screen.query_one("#note-keys", Static)
        assert "Type a note first" in str(hint.render())
    assert app.results == []


# -- status update ---------------------------------------------------------------------------

TEMPLATE = "ROLLBACK STATUS UPDATE - 2025-01-21 14:15 UTC\n\nCurrent Status: In Progress"


async def test_status_update_is_edited_and_recorded() -> None:
    app = Host(StatusUpdateScreen(TEMPLATE, slack_configured=False))
    async with app.run_test(size=SIZE) as pilot:
        area = app.screen.query_one(TextArea)
        assert app.focused is area and area.text == TEMPLATE
        for widget in ("#status-box", "#status-record", "#status-post"):
            assert fits(app, widget), widget
        area.move_cursor(area.document.end)
        await pilot.press("enter", *keys("ETA 14:30"), "ctrl+s")
        await pilot.pause()
    assert app.results == [(TEMPLATE + "\nETA 14:30", False)]


async def test_posting_is_disabled_without_slack() -> None:
    app = Host(StatusUpdateScreen(TEMPLATE, slack_configured=False))
    async with app.run_test(size=SIZE) as pilot:
        assert app.screen.query_one("#status-post", Button).disabled
        keys_hint = str(app.screen.query_one("#status-keys", Static).render())
        assert "Slack is not configured" in keys_hint
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert isinstance(app.screen, StatusUpdateScreen)
        # said in the modal, not in a toast over it
        said = str(app.screen.query_one("#status-keys", Static).render())
        assert "ctrl+s records only" in said and not app._notifications  # noqa: SLF001
        # tab leaves the text for the Record button; the disabled one is skipped
        await pilot.press("tab")
        assert app.focused is app.screen.query_one("#status-record", Button)
        await pilot.press("enter")
        await pilot.pause()
    assert app.results == [(TEMPLATE, False)]


async def test_record_and_post_when_slack_is_configured() -> None:
    app = Host(StatusUpdateScreen(TEMPLATE, slack_configured=True))
    async with app.run_test(size=SIZE) as pilot:
        assert not app.screen.query_one("#status-post", Button).disabled
        await pilot.press("ctrl+o")
        await pilot.pause()
        app.push_screen(StatusUpdateScreen(TEMPLATE, slack_configured=True),
                        app.results.append)
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
    assert app.results == [(TEMPLATE, True), None]


# -- export ----------------------------------------------------------------------------------


async def test_export_writes_markdown_into_the_incident_folder(tmp_path: Path) -> None:
    incident = session(tmp_path)
    screen = ExportScreen(incident)
    app = Host(screen)
    async with app.run_test(size=SIZE) as pilot:
        assert fits(app, "#export-box")
        await pilot.press("m")
        await app.workers.wait_for_complete()
        await pilot.pause()
        target = incident.folder / f"{incident.incident_id}.md"
        assert target.is_file()
        shown = str(screen.query_one("#export-result", Static).render())
        assert incident.incident_id in shown and incident.head_short in shown
        assert incident.head_short in target.read_text(encoding="utf-8")
        await pilot.press("escape")
        await pilot.pause()
    assert app.results == [None]
    incident.disconnect()


async def test_export_json_and_html_into_a_given_directory(tmp_path: Path) -> None:
    incident = session(tmp_path / "state")
    out = tmp_path / "out"
    out.mkdir()
    screen = ExportScreen(incident, out)
    app = Host(screen)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j")
        await app.workers.wait_for_complete()
        await pilot.press("h")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.last_result is not None and screen.last_result.fmt == "html"
    written = sorted(p.name for p in out.iterdir())
    assert written == [f"{incident.incident_id}.html", f"{incident.incident_id}.json"]
    record = json.loads((out / f"{incident.incident_id}.json").read_text(encoding="utf-8"))
    assert record["incident_id"] == incident.incident_id
    assert record["journal"]["head"] == incident.journal.head
    page = (out / f"{incident.incident_id}.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and incident.head_short in page
    incident.disconnect()


async def test_export_failure_is_shown_not_raised(tmp_path: Path) -> None:
    incident = session(tmp_path)
    screen = ExportScreen(incident, tmp_path / "missing-dir")
    app = Host(screen)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("m")
        await app.workers.wait_for_complete()
        await pilot.pause()
        shown = str(screen.query_one("#export-result", Static).render())
        assert "Export failed" in shown and "No such file or directory" in shown
        assert isinstance(app.screen, ExportScreen)
    incident.disconnect()
