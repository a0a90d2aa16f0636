"""Clocks: the estate's time, simulated or real."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the estate's current time."""

    def now(self) -> datetime:
        """The current time, aware UTC."""
        ...


class WallClock:
    """Real time, for a live incident."""

    def now(self) -> datetime:
        """The current UTC time."""
        return datetime.now(UTC)


class SimClock:
    """Simulated time that only moves when told to, scaled by a speed factor.

    The app calls :meth:`tick` with real elapsed seconds; tests call
    :meth:`advance` with simulated seconds, so snapshots are reproducible.
    """

    MIN_SPEED = 1.0
    MAX_SPEED = 60.0

    def __init__(self, start: datetime, speed: float = 1.0) -> None:
        if start.tzinfo is None:
            raise ValueError("SimClock needs an aware start time")
        self._start = start
        self._now = start
        self._speed = 1.0
        self.paused = False
        self.speed = speed
        self._lock = threading.Lock()

    @property
    def start(self) -> datetime:
        """When the simulation began (T=0)."""
        return self._start

    @property
    def speed(self) -> float:
        """How many simulated seconds pass per real second (1 to 60)."""
        return self._speed

    @speed.setter
    def speed(self, value: float) -> None:
        if not self.MIN_SPEED <= value <= self.MAX_SPEED:
            raise ValueError(f"speed must be between 1 and 60, got {value:g}")
        self._speed = float(value)

    def now(self) -> datetime:
        """The simulated time."""
        return self._now

    def elapsed(self) -> timedelta:
        """Simulated time since the start."""
        return self._now - self._start

    def advance(self, seconds: float) -> datetime:
        """Move simulated time forward by ``seconds`` (simulated), whatever the speed."""
        if seconds < 0:
            raise ValueError("time does not run backwards")
        with self._lock:
            self._now = self._now + timedelta(seconds=seconds)
            return self._now

    def tick(self, real_seconds: float) -> datetime:
        """Move forward by ``real_seconds`` of wall time at the current speed (unless paused)."""
        if self.paused:
            return self._now
        return self.advance(real_seconds * self._speed)
