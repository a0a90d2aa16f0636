"""Shared helpers for the live-executor tests (a plain module: no second conftest)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from cockpit.actions.executor import ActionResult, RunContext
from cockpit.actions.types import resolve
from cockpit.config import Config
from cockpit.connectors.executor import LiveExecutor
from cockpit.runbook.model import ActionSpec


def action(type_: str, **params: Any):
    """A resolved action as the engine would hand it over."""
    return resolve(ActionSpec(type_, params), {"incident_id": "INC-7", "operator": "alice"})


class Ctx:
    """A RunContext factory that keeps every emitted line."""

    def __init__(self, seconds: float = 30.0) -> None:
        self.lines: list[str] = []
        self.cancel = threading.Event()
        self.ctx = RunContext(deadline=time.monotonic() + seconds,
                              variables={"incident_id": "INC-7", "operator": "alice"},
                              on_emit=self.lines.append, cancel_event=self.cancel)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def run(executor: LiveExecutor, type_: str, seconds: float = 30.0,
        **params: Any) -> tuple[ActionResult, Ctx]:
    """Run one action and return its result and context."""
    ctx = Ctx(seconds)
    return executor.run(action(type_, **params), ctx.ctx), ctx


def executor(config: Config, tmp_path: Path, read_only: bool = False,
             **kw: Any) -> LiveExecutor:
    """A live executor with its outbox under ``tmp_path`` and quick polls."""
    kw.setdefault("poll_s", 0.05)
    return LiveExecutor(config, read_only=read_only, state_dir=tmp_path / "state", **kw)
