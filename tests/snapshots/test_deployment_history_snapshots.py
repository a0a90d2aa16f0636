"""The revision history of a deployment and the destructive modal opened from it, at 80x24
and 160x48 and with NO_COLOR, against stored SVG snapshots.

Fixed seed, simulated time that does not move (the ages are the estate's), the history
over the runbook pane's harness; the cursor on revision 7, what a plain undo returns to.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "ui"))

from pilot_wait import wait_until  # noqa: E402
from runbook_harness import PaneHarness  # noqa: E402

from screens.revision_history import RevisionHistory  # noqa: E402
from screens.step_confirm import StepConfirm  # noqa: E402

SIZES = {"80x24": (80, 24), "160x48": (160, 48)}


def harness() -> PaneHarness:
    app = PaneHarness(advance_s=420)
    app.animation_level = "none"
    return app


async def open_history(pilot: Any) -> None:
    app = pilot.app
    modal = RevisionHistory("api", "production", app.sim, app.desk)
    await app.push_screen(modal)
    await wait_until(pilot, lambda: modal.history is not None, "the history read")
    await pilot.pause()


async def open_undo(pilot: Any) -> None:
    await open_history(pilot)
    await pilot.press("u")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, StepConfirm), "the modal")
    await pilot.pause()


@pytest.mark.parametrize("size", sorted(SIZES))
def test_revision_history(snap_compare, size: str) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(harness(), terminal_size=SIZES[size], run_before=open_history)


@pytest.mark.parametrize("size", sorted(SIZES))
def test_undo_modal_from_the_history(snap_compare, size: str) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(harness(), terminal_size=SIZES[size], run_before=open_undo)


def test_revision_history_80x24_no_color(snap_compare, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """NO_COLOR: the running revision, the cursor and the diff's sides read without colour
    (RUNNING in words, the +/- of the diff)."""
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(harness(), terminal_size=SIZES["80x24"], run_before=open_history)


def test_undo_modal_from_the_history_80x24_no_color(snap_compare, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(harness(), terminal_size=SIZES["80x24"], run_before=open_undo)


def test_logs_reader_searched_80x24(snap_compare) -> None:  # type: ignore[no-untyped-def]
    """The api's logs read from the history (l), searched for 'error': the current match
    marked ▶, the others underlined, the count in words on the status line."""
    async def run_before(pilot: Any) -> None:
        from screens.resource_view import ResourceView

        await open_history(pilot)
        await pilot.press("l")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ResourceView)
                         and pilot.app.screen.reads > 0, "the logs read")
        await pilot.press("slash", *"error", "enter")
        await pilot.pause()

    assert snap_compare(harness(), terminal_size=SIZES["80x24"], run_before=run_before)
