"""``shell`` and ``wait`` actions, and the process runner ``pg_dump`` shares.

A command is an argv list (never a shell), its output streamed line by line,
started in its own session so that a timeout or a cancel stops it and its
children (SIGTERM to the group, SIGKILL 5 s later). The child's environment
never holds the variables the config reads secrets from.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from collections.abc import Mapping

from cockpit.actions.executor import ActionResult
from cockpit.actions.model import format_duration
from cockpit.actions.types import ResolvedAction
from cockpit.connectors.actions.base import Call, Fail, Setup


class ProcessRunner:
    """Runs commands for the handlers and kills every one still running on :meth:`close`."""

    def __init__(self, setup: Setup) -> None:
        self.setup = setup
        self._processes: set[subprocess.Popen[str]] = set()

    def close(self) -> None:
        """Stop every command still running."""
        with self.setup.lock:
            running = list(self._processes)
        for proc in running:
            _kill(proc)

    def stream(self, argv: list[str], call: Call, *, env: Mapping[str, str] | None = None,
                label: str = "", umask: int = 0o077) -> int:
        """Run argv (no shell), stream its output, stop it on timeout/cancel.

        The command runs with ``umask`` (default 077: whatever it creates is owner-only).
        Returns the exit code, or -1 when it was stopped.
        """
        if env is None:
            env = {k: v for k, v in os.environ.items() if k not in self.setup.secret_env_names()}
        try:
            proc = subprocess.Popen(  # noqa: S603 - argv list, never a shell
                argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                text=True, errors="replace", env=dict(env), start_new_session=True, bufsize=1,
                umask=umask)
        except FileNotFoundError:
            raise Fail(f"{argv[0]}: command not found") from None
        except OSError as exc:
            raise Fail(f"{argv[0]}: cannot start ({exc.strerror})") from None
        with self.setup.lock:
            self._processes.add(proc)

        def pump() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                call.say(line.rstrip("\n"))

        reader = threading.Thread(target=pump, name=f"cockpit-{label or argv[0]}", daemon=True)
        reader.start()
        try:
            while True:
                try:
                    code = proc.wait(timeout=0.2)
                    reader.join(timeout=5)
                    return int(code)
                except subprocess.TimeoutExpired:
                    pass
                if call.stop_reason():
                    _kill(proc)
                    reader.join(timeout=5)
                    return -1
        finally:
            with self.setup.lock:
                self._processes.discard(proc)



class ShellActions:
    """The ``shell`` and ``wait`` handlers."""

    def __init__(self, runner: ProcessRunner) -> None:
        self.runner = runner

    def shell(self, action: ResolvedAction, call: Call) -> ActionResult:
        """Run the argv list; fails with its exit code, stops on timeout/cancel."""
        argv = [str(a) for a in action.params["argv"]]
        code = self.runner.stream(argv, call)
        if code == -1:
            stop = call.stop_reason() or "stopped"
            call.say(f"{argv[0]}: stopped ({stop})")
            return ActionResult(False, call.output(), (), stop)
        if code != 0:
            return ActionResult(False, call.output(), (), f"{argv[0]} exited with {code}")
        return call.ok()

    def wait(self, action: ResolvedAction, call: Call) -> ActionResult:
        """Wait the given duration (returns early, failed, on timeout/cancel)."""
        end = call.ctx.monotonic() + float(action.params["duration"])
        call.say(f"waiting {format_duration(float(action.params['duration']))}")
        while True:
            left = end - call.ctx.monotonic()
            if left <= 0:
                call.say("waited")
                return call.ok()
            stop = call.stop_reason()
            if stop:
                return ActionResult(False, call.output(), (), stop)
            call.pause(min(left, 1.0))


def _kill(proc: subprocess.Popen[str]) -> None:
    """Stop a command and its children: SIGTERM to its process group, SIGKILL after 5 s."""
    import signal

    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)

