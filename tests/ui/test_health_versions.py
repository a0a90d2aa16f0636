"""The Endpoints panel shows the version each service runs, and an undo changes it."""

from __future__ import annotations

import time
from typing import Any

import pytest

from cockpit.app import make_sim_app
from cockpit.domain import version_token
from widgets.health_panel import HealthPanel, summary_line
from widgets.lines import Lines


async def wait_for(pilot: Any, check: Any, within_s: float = 30.0) -> bool:
    """Until ``check()`` (30 s of wall clock at most: a loaded machine is slow)."""
    deadline = time.monotonic() + within_s
    while not check():
        if time.monotonic() > deadline:
            return bool(check())
        await pilot.pause(0.05)
    return True


def body(panel: HealthPanel) -> str:
    """The panel's text as a plain 80-column terminal shows it (no colour)."""
    return panel.query_one("#health-body", Lines).plain + "\n"


async def test_versions_line_at_80x24_follows_a_rollout_undo() -> None:
    app = make_sim_app("bad-deploy", seed=7, start_clock=False, advance_s=420)
    estate = app.estate  # type: ignore[attr-defined]
    async with app.run_test(size=(80, 24)) as pilot:
        panel = app.screen.query_one("#health", HealthPanel)
        assert await wait_for(pilot, lambda: "versions:" in body(panel))
        last = body(panel).rstrip("\n").splitlines()[-1]
        assert last.rstrip() == ("1/5 failing (20%) · versions: api 2.0.0 · frontend 3.4.1 · "
                                 "workers 1.9.3")
        assert len(last) <= 76
        estate.rollout_undo("api")
        assert await wait_for(pilot, lambda: "api 1.9.3" in body(panel)), body(panel)
        assert "api 2.0.0" not in body(panel)


@pytest.mark.parametrize(("width", "expected"), [
    (120, "1/5 failing (20%; rollback at > 50%) · versions: api 1.9.3 · frontend 3.4.1"),
    (70, "1/5 failing (20%) · versions: api 1.9.3 · frontend 3.4.1"),
    (50, "1/5 failing (20%) · api 1.9.3 · frontend 3.4.1"),
    (40, "1/5 failing · api 1.9.3 · frontend 3.4.1"),
    (35, "1/5 failing · api 1.9.3 · …"),
    (8, "1/5 fai…"),
])
def test_summary_line_fits_the_width_dropping_detail_first(width: int, expected: str) -> None:
    versions = (("frontend", "3.4.1"), ("api", "1.9.3"))
    text, head = summary_line(1, 5, 20.0, versions, width)
    assert text == expected and len(text) <= width
    # the failing share (styled as a breach when over 50%) ends where the versions begin
    assert text[head:].startswith(" · ") or head == len(text)


def test_summary_line_without_versions_is_the_failing_share() -> None:
    assert summary_line(3, 5, 60.0, (), 80) == ("3/5 failing (60%; rollback at > 50%)", 36)


@pytest.mark.parametrize(("raw", "shown"), [
    ("2.0.0", "2.0.0"), ("v1.9.3", "v1.9.3"), ("2.1.0-rc.1+b7", "2.1.0-rc.1+b7"), (1234, "1234"),
    ("a1b2c3d4e5f60718293a4b5c", "a1b2c3d4e5f6"),  # a git SHA, shortened
    ("<html><body>Bad gateway</body></html>", "?"), ("Jane Doe", "?"), ("latest", "?"),
    ("123-45-6789", "?"),  # SSN-shaped: never on screen
    ("555-123-4567", "?"), ("2.0.0-" + "x" * 40, "?"), ("", "?"), (None, "?"),
])
def test_untrusted_version_strings_become_a_short_token_or_a_question_mark(
        raw: object, shown: str) -> None:
    assert version_token(raw) == shown
