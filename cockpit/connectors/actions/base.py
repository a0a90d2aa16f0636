"""What every live action handler shares: the call being run, the expected failure, the setup.

A handler is ``handler(action, call) -> ActionResult``. It writes its output
through :meth:`Call.say` (cleaned of secrets, streamed to the screen, kept for
the result) and raises :class:`Fail` for an expected failure, which the
executor turns into ``ok=False`` with a one-line detail.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cockpit.actions.executor import ActionResult, RunContext
from cockpit.actions.types import ResolvedAction
from cockpit.config import Config

#: Longest output kept in an ActionResult (the stream shows everything).
MAX_OUTPUT_CHARS = 64_000


class Fail(Exception):
    """An expected failure: ``detail`` is the one-line reason shown to the operator."""

    def __init__(self, detail: str, output: str = "") -> None:
        super().__init__(detail)
        self.detail = detail
        self.output = output


@dataclass
class Call:
    """One action being run: its context, whether it is a dry run, and its output."""

    ctx: RunContext
    dry: bool
    clean: Callable[[str], str]
    lines: list[str]

    def say(self, text: str) -> str:
        """Emit every line of ``text`` (cleaned) and keep it for the result."""
        out = []
        for line in text.splitlines() or [""]:
            line = self.clean(line)
            self.ctx.emit(line)
            self.lines.append(line)
            out.append(line)
        return "\n".join(out)

    def output(self) -> str:
        """Everything said so far (the last :data:`MAX_OUTPUT_CHARS`)."""
        text = "\n".join(self.lines)
        return text if len(text) <= MAX_OUTPUT_CHARS else text[-MAX_OUTPUT_CHARS:]

    def ok(self, facts: tuple[str, ...] = (), detail: str = "") -> ActionResult:
        """A success carrying the output."""
        return ActionResult(True, self.output(), facts, detail)

    def failed(self, detail: str) -> ActionResult:
        """A failure carrying the output (nothing more is said)."""
        return ActionResult(False, self.output(), (), detail)

    def timeout(self, limit_s: float) -> float:
        """A request timeout: ``limit_s`` bounded by the step's remaining time (at least 1 s)."""
        return max(1.0, min(limit_s, self.ctx.remaining()))

    def stop_reason(self) -> str | None:
        """Why the action must stop now (cancelled, timed out), or None."""
        if self.ctx.cancelled():
            return "cancelled by the operator"
        if self.ctx.timed_out():
            return "step timeout reached"
        return None

    def pause(self, seconds: float) -> None:
        """Sleep up to ``seconds``, returning early on cancel or at the step's deadline."""
        self.ctx.cancel_event.wait(max(0.0, min(seconds, self.ctx.remaining())))


Handler = Callable[[ResolvedAction, Call], ActionResult]


@dataclass
class Setup:
    """What the live executor hands every system's handlers."""

    config: Config
    read_only: bool
    """Build every client with its read-only guard (the executor refuses mutations first)."""
    now: Callable[[], datetime]
    poll_s: float = 2.0
    """Seconds between polls of waiting actions (rollout status, metrics)."""
    lock: threading.RLock = field(default_factory=threading.RLock)
    """Guards the lazily built clients (handlers run in worker threads)."""

    def secret_env_names(self) -> set[str]:
        """The environment variables the config reads secrets from (never passed to a child)."""
        names = set()
        for section in (self.config.datadog, self.config.postgres, self.config.redis,
                        self.config.slack, self.config.pagerduty, self.config.email):
            if section is None:
                continue
            for attr in dir(section):
                if attr.endswith("_env") and isinstance(getattr(section, attr), str):
                    names.add(getattr(section, attr))
        return names


class LazyClient:
    """A system's handlers over one client, built on first use and rebuilt after
    :meth:`close` (the executor closes its clients when the cockpit stops). Subclasses
    say how to build it in :meth:`_connect` (raising :class:`Fail` when the system is not
    configured)."""

    def __init__(self, setup: Setup) -> None:
        self.setup = setup
        self.config = setup.config
        self.read_only = setup.read_only
        self._conn: Any = None

    def _connect(self) -> Any:
        raise NotImplementedError

    def client(self) -> Any:
        """The client, built once (under the executor's lock)."""
        with self.setup.lock:
            if self._conn is None:
                self._conn = self._connect()
            return self._conn

    def close(self) -> None:
        """Close the client (built again on the next use)."""
        with self.setup.lock:
            if self._conn is not None:
                with contextlib.suppress(Exception):
                    self._conn.close()
            self._conn = None
