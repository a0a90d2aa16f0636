"""A journal stand-in for runbook tests: records events and folds each with the real reducer.

Guards read ``recorder.facts()``, the reducer's ``IncidentState.facts``, as they do in the
cockpit, so a test proves what a run *records* is what unblocks the next guard.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from cockpit.timeline.journal import Event
from cockpit.timeline.replay import Facts, IncidentState, Reducer

START = datetime(2025, 1, 21, 14, 30, 0, tzinfo=UTC)


class Recorder:
    """``record(kind, data)``; ``fail_on`` makes one kind fail as a full disk would."""

    def __init__(self, now: Callable[[], datetime] = lambda: START) -> None:
        self.now = now
        self.events: list[dict[str, Any]] = []
        self.reducer = Reducer("INC-20250121-142500-ab12")
        self.fail_on: str | None = None

    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        if kind == self.fail_on:
            raise OSError("No space left on device")
        self.reducer.apply(Event(len(self.events), self.now().isoformat(), str(kind), {},
                                 dict(data), "", ""))
        self.events.append({"kind": kind, "data": dict(data)})

    def kinds(self) -> list[str]:
        return [e["kind"] for e in self.events]

    @property
    def state(self) -> IncidentState:
        return self.reducer.state

    def facts(self) -> Facts:
        return self.reducer.state.facts
