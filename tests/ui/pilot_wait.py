"""Waiting in pilot tests: for a condition, never for a fixed time (shared by the UI tests).

On a busy machine (CI beside another job, a slow bastion) the app's workers, timers and
repaints run late: a pause that is long enough on an idle laptop is too short there, and a
loop that gives up after N rounds and carries on turns into a confusing assertion further
down. Every wait here polls its condition and, after a generous wall-clock timeout, fails
saying what it was waiting for.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from screens.war_room import WarRoomScreen

#: How long a condition may take on a loaded machine before the test fails.
TIMEOUT_S = 30.0
#: How often a condition is looked at.
POLL_S = 0.02


async def wait_until(pilot: Any, condition: Callable[[], object], what: str,
                     within_s: float = TIMEOUT_S) -> None:
    """Until ``condition()`` is true, letting the app run between looks; then until the
    messages it set off are handled. Fails after ``within_s`` seconds naming ``what``."""
    deadline = time.monotonic() + within_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {within_s:.0f}s for {what}")
        await pilot.pause(POLL_S)
    await pilot.pause()


def war_room_composed(app: Any) -> bool:
    """Whether the war room's panels exist (sources may answer before they do)."""
    return any(isinstance(screen, WarRoomScreen) and screen.is_composed and screen.children
               for screen in app.screen_stack)


async def settle(pilot: Any) -> None:
    """Until the war room is composed and every configured source has answered once, and
    the panels have drawn it."""
    app = pilot.app
    await wait_until(pilot, lambda: war_room_composed(app) and app.has_first_data(),
                     "the war room and every source's first answer")
    await pilot.pause()  # the panels' own messages, posted while drawing the first data
