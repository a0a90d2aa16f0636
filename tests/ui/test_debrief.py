"""The debrief modal: a real score's breakdown, penalties and outcome, by keyboard at 80x24."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.app import App
from textual.containers import VerticalScroll
from textual.widgets import Static

from screens.debrief import DebriefScreen, debrief_text
from tests.unit.training_helpers import declare_and_decide, session, until_fired

SIZE = (80, 24)


class Host(App[None]):
    def __init__(self, modal: DebriefScreen) -> None:
        super().__init__()
        self.modal = modal
        self.results: list[Any] = []

    def on_mount(self) -> None:
        self.push_screen(self.modal, self.results.append)


def data_loss_score(tmp_path: Path):  # type: ignore[no-untyped-def]
    s = session("db-migration-failure", tmp_path)
    until_fired(s)
    declare_and_decide(s)
    s.off_book(["npx", "sequelize-cli", "db:migrate:undo"])
    return s.finish()


def test_debrief_text_shows_breakdown_penalties_and_data_lost_in_words(tmp_path: Path) -> None:
    score = data_loss_score(tmp_path)
    text = debrief_text(score, "Failed database migration")
    assert f"Score {score.total}/100" in text
    assert "Outcome:[/b] NOT RESTORED" in text  # finished before the estate recovered
    assert "Data lost:[/b] YES - " in text and "patient-record rows" in text
    assert "outside any runbook" in text
    assert "What the wrong actions did" in text and "Root cause" in text
    for label in ("Decision", "Runbooks", "Guards", "Communication", "Outcome"):
        assert label in text


async def test_debrief_fits_80x24_scrolls_and_closes_by_keyboard(tmp_path: Path) -> None:
    score = data_loss_score(tmp_path)
    app = Host(DebriefScreen(score, "Failed database migration"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        box = app.screen.query_one("#debrief-box").region
        assert box.x >= 0 and box.y >= 0 and box.right <= SIZE[0] and box.bottom <= SIZE[1]
        keys = app.screen.query_one("#debrief-keys", Static).region
        assert keys.bottom <= SIZE[1]  # the key line is never pushed off screen
        body = app.screen.query_one("#debrief-body", VerticalScroll)
        assert app.focused is body
        assert body.max_scroll_y > 0  # more than fits at 80x24: it scrolls
        await pilot.press("pagedown")
        await pilot.pause()
        assert body.scroll_y > 0
        await pilot.press("escape")
        await pilot.pause()
        assert app.results == [None]
        assert not isinstance(app.screen, DebriefScreen)
