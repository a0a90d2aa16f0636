"""The demo walkthrough: the autopilot plays a scenario at the pace of whoever watches.

:class:`DemoDriver` runs :class:`~cockpit.training.autopilot.Autopilot` over a
:class:`~cockpit.training.session.TrainingSession` whose simulated time moves at the
watcher's speed and pauses with it (the war room's space and +/- keys), and stops when
the watcher goes. Blocking: call :meth:`DemoDriver.play` in a thread.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from cockpit.clock import SimClock
from cockpit.sim.scenario import Scenario
from cockpit.timeline.journal import JournalError

if TYPE_CHECKING:
    from cockpit.training.score import Score
    from cockpit.training.session import TrainingSession


class DemoStopped(Exception):
    """The watcher went away under the autopilot."""


class DemoDriver:
    """The autopilot, paced by a clock someone else controls (see the module docstring)."""

    def __init__(self, scenario: Scenario, *, seed: int | None = None,
                 speed: float | None = None) -> None:
        from cockpit.training.session import TrainingSession

        self.stopping = threading.Event()
        """Set when the watcher goes: the autopilot stops at its next pause."""
        self.done = threading.Event()
        """Set when :meth:`play` has returned (its journal released)."""
        self._started = False
        self.pace = 1.0
        """A further speed-up beyond the clock's 60x (tests use it)."""
        self.session: TrainingSession = TrainingSession(
            scenario, mode="demo", seed=seed, speed=1.0, real_sleep=self._sleep)
        self.session.clock.speed = speed if speed is not None else scenario.speed

    @property
    def clock(self) -> SimClock:
        """The demo's clock: its speed and pause are the watcher's to change."""
        return self.session.clock

    def _sleep(self, sim_seconds: float) -> None:
        """Real time for ``sim_seconds`` at the clock's speed, longer while it is paused;
        raises :class:`DemoStopped` when the watcher has gone."""
        clock = self.clock
        left = sim_seconds / max(1.0, clock.speed) / self.pace
        while left > 0 or clock.paused:
            if self.stopping.is_set():
                raise DemoStopped
            nap = min(0.1, left) if left > 0 else 0.1
            time.sleep(nap)
            if not clock.paused:
                left -= nap
        if self.stopping.is_set():
            raise DemoStopped

    def play(self, narrate: Callable[[str], None],
             failed: Callable[[str], None]) -> Score | None:
        """Play the scenario to its end; the score, or ``None`` when it stopped or failed.

        A demo stopped by the watcher closes its incident as far as it went (it is the
        autopilot's record, still exportable, never offered back for resume); one that
        failed is left open and ``failed(reason)`` says why.
        """
        from cockpit.training.autopilot import Autopilot, AutopilotError

        demo = self.session
        self._started = True
        try:
            return Autopilot(demo, narrate).play()
        except DemoStopped:
            with contextlib.suppress(JournalError):
                demo.incident.close()
            return None
        except (AutopilotError, JournalError) as exc:
            demo.abandon()
            if not self.stopping.is_set():
                failed(str(exc))
            return None
        finally:
            self.done.set()

    def stop(self, timeout_s: float = 10.0) -> None:
        """The watcher goes: stop at the next pause and wait for the record to be released."""
        self.stopping.set()
        if self._started:
            self.done.wait(timeout=timeout_s)
