"""Drive the real ``cockpit`` command in a real terminal: tmux send-keys and capture-pane.

Not a conftest.py: several test folders import helpers from their own conftest by name.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest

COCKPIT = Path(sys.executable).with_name("cockpit")
#: How long a screen may take to show what a test waits for (a loaded machine draws late).
WAIT_S = 30.0


class Terminal:
    """A detached tmux session running one command at a fixed size."""

    def __init__(self, command: list[str], width: int = 80, height: int = 24,
                 env: dict[str, str] | None = None) -> None:
        self.name = f"cockpit-test-{uuid.uuid4().hex[:8]}"
        self.socket = f"cockpit-{uuid.uuid4().hex[:8]}"
        full_env = {**os.environ, "TERM": "xterm-256color", **(env or {})}
        # -L: a private tmux server per test, so tests never see each other's sessions
        subprocess.run(
            ["tmux", "-L", self.socket, "new-session", "-d", "-s", self.name,
             "-x", str(width), "-y", str(height), *command],
            check=True, env=full_env, timeout=10,
        )

    def tmux(self, *args: str) -> str:
        result = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True,
                                text=True, timeout=10)
        return result.stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.name)

    def send(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.name, *keys)

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = WAIT_S) -> str:
        """Until the screen satisfies ``predicate``; fails with the last screen after
        ``timeout`` seconds (generous: a loaded CI machine draws late)."""
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.screen()
            if predicate(text):
                return text
            time.sleep(0.2)
        raise AssertionError(f"timed out; the screen was:\n{text}")

    def wait_gone(self, timeout: float = WAIT_S) -> None:
        """Until the command has exited (tmux closes the session with it)."""
        deadline = time.monotonic() + timeout
        while self.alive():
            if time.monotonic() > deadline:
                raise AssertionError(f"still running after {timeout:.0f}s; the screen was:\n"
                                     f"{self.screen()}")
            time.sleep(0.2)

    def alive(self) -> bool:
        result = subprocess.run(["tmux", "-L", self.socket, "has-session", "-t", self.name],
                                capture_output=True, timeout=10)
        return result.returncode == 0

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True,
                       timeout=10)


@pytest.fixture
def cockpit_bin() -> Path:
    """The installed ``cockpit`` console script of this environment."""
    return COCKPIT


@pytest.fixture
def terminal(service_missing: Callable[[str], NoReturn]) -> Iterator[Callable[..., Terminal]]:
    """Start commands in tmux; without tmux the test is skipped (failed under CI=true)."""
    if shutil.which("tmux") is None:
        service_missing("tmux is not installed (.ci/run installs it)")
    started: list[Terminal] = []

    def start(command: list[str], **kwargs: object) -> Terminal:
        term = Terminal(command, **kwargs)  # type: ignore[arg-type]
        started.append(term)
        return term

    yield start
    for term in started:
        term.kill()


#: A person's pause between fields: Textual moves focus after the keys already queued.
HUMAN_PAUSE_S = 0.3


def roll_back_the_api(term: Terminal) -> None:
    """By keyboard: open frontend-kubernetes, point it at the api (the bad-deploy estate's
    failing deployment), run its history check, then confirm and run the undo."""
    term.send("o")
    term.wait_for(lambda s: "Open a runbook" in s)
    term.send("-l", "frontend-kubernetes")
    term.send("Enter")
    term.wait_for(lambda s: "Frontend rollback (Kubernetes)" in s and "[>]" in s)
    term.send("v")
    term.wait_for(lambda s: "Variables of" in s)
    term.send("-l", "api")
    time.sleep(HUMAN_PAUSE_S)
    term.send("Down")
    time.sleep(HUMAN_PAUSE_S)
    term.send("-l", "app=api")
    time.sleep(HUMAN_PAUSE_S)
    term.send("Enter")
    term.wait_for(lambda s: "rollout history deployment/api" in s)
    term.send("Enter")
    term.wait_for(lambda s: "[x]  1 Check rollout history · done" in s and "> [>]  2 " in s)
    term.send("Enter")
    term.wait_for(lambda s: "DESTRUCTIVE STEP" in s)
    term.send("-l", "api")  # the modal starts in the target field
    term.send("Enter")
    time.sleep(HUMAN_PAUSE_S)
    term.send("-l", "Dana Reyes")
    term.send("Enter")
    term.wait_for(lambda s: "[x]  2 Roll back to the previous revision" in s, timeout=30)
