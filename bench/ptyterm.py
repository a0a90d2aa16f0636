"""A program in a real pseudo-terminal, as an SSH session would see it (``make bench``).

Every byte the program writes is counted and fed to a terminal emulator (pyte), which
tells how many screen cells each write actually changed: the figure that says whether a
repaint was worth its bytes. Keys are written to the terminal as a keyboard would send
them; the CPU the program used is read from ``/proc``.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import termios
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pyte

CLK_TCK = os.sysconf("SC_CLK_TCK")


class ProgramExited(TimeoutError):
    """The program ended while the bench waited for something on its screen."""


@dataclass
class Window:
    """What the program wrote between two moments."""

    seconds: float
    bytes: int = 0
    changed_cells: int = 0
    writes: int = 0
    cpu_s: float = 0.0

    @property
    def bytes_per_s(self) -> float:
        return self.bytes / self.seconds if self.seconds else 0.0

    @property
    def bytes_per_changed_cell(self) -> float:
        return self.bytes / self.changed_cells if self.changed_cells else float(self.bytes)

    @property
    def cpu_per_30s(self) -> float:
        return self.cpu_s / self.seconds * 30 if self.seconds else 0.0


@dataclass
class PtyProgram:
    """``argv`` running in a ``cols`` x ``rows`` pseudo-terminal."""

    argv: Sequence[str]
    cols: int = 80
    rows: int = 24
    env: Mapping[str, str] | None = None
    pid: int = 0
    fd: int = -1
    total_bytes: int = 0
    returncode: int | None = None
    """How the program ended (``waitpid`` status as an exit code, ``-N`` for signal N);
    ``None`` while it runs."""
    _screen: pyte.Screen = field(init=False, repr=False)
    _stream: pyte.ByteStream = field(init=False, repr=False)
    _cells: list[list[tuple[object, ...]]] = field(init=False, repr=False)
    _window: Window | None = field(default=None, init=False, repr=False)
    _last_cpu: float = field(default=0.0, init=False, repr=False)

    def __post_init__(self) -> None:
        self._screen = pyte.Screen(self.cols, self.rows)
        self._stream = pyte.ByteStream(self._screen)
        self._cells = [[()] * self.cols for _ in range(self.rows)]

    # ------------------------------------------------------------------ life

    def start(self) -> float:
        """Start the program; returns the moment it was started (perf_counter)."""
        env = dict(os.environ if self.env is None else self.env)
        env.setdefault("TERM", "xterm-256color")
        started = time.perf_counter()
        pid, fd = pty.fork()
        if pid == 0:  # the child: the terminal's size is known before the program reads it
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", self.rows, self.cols, 0, 0))
            try:
                os.execvpe(self.argv[0], list(self.argv), env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        return started

    def poll(self) -> int | None:
        """The program's exit code if it has ended (it is reaped then), else ``None``."""
        if self.returncode is None and self.pid:
            try:
                done, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                return self.returncode
            if done:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def stop(self, grace: float = 3.0) -> int | None:
        """End the program (SIGTERM, then SIGKILL after ``grace`` seconds) and close the
        terminal; returns its exit code."""
        if self.pid:
            for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 2.0)):
                if self.poll() is not None:
                    break
                try:
                    os.kill(self.pid, sig)
                except ProcessLookupError:
                    break
                deadline = time.monotonic() + wait
                while time.monotonic() < deadline:
                    self.pump(0.05)
                    if self.poll() is not None:
                        break
                else:
                    continue
                break
            self.poll()
            self.pid = 0
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> PtyProgram:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def alive(self) -> bool:
        """Whether the program is still running."""
        return self.poll() is None and self.pid != 0

    # ------------------------------------------------------------- reading

    def pump(self, seconds: float) -> None:
        """Read what the program writes for ``seconds``."""
        deadline = time.perf_counter() + seconds
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                return
            self._read(left)

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], max(0.0, timeout))
        if not ready:
            return False
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # the program ended
            time.sleep(timeout)
            return False
        if not data:
            time.sleep(timeout)
            return False
        self.total_bytes += len(data)
        self._stream.feed(data)
        changed = self._count_changes()
        if self._window is not None:
            self._window.bytes += len(data)
            self._window.changed_cells += changed
            self._window.writes += 1
        return True

    def _count_changes(self) -> int:
        screen = self._screen
        changed = 0
        for y in screen.dirty:
            if y >= self.rows:
                continue
            line = screen.buffer[y]
            before = self._cells[y]
            after = [tuple(line[x]) for x in range(self.cols)]
            changed += sum(1 for a, b in zip(before, after, strict=True) if a != b)
            self._cells[y] = after
        screen.dirty.clear()
        return changed

    def text(self) -> str:
        """The screen as text, a line per row."""
        return "\n".join(self._screen.display)

    def wait_for(self, needle: str, timeout: float = 30.0) -> float:
        """Read until ``needle`` is on screen; returns when it appeared (perf_counter)."""
        return self.wait_until(lambda text: needle in text, timeout, repr(needle))

    def wait_until(self, seen: Callable[[str], bool], timeout: float = 30.0,
                   what: str = "the awaited screen") -> float:
        """Read until ``seen(screen text)`` holds; returns when it first did (perf_counter).

        Raises :class:`TimeoutError` after ``timeout`` seconds, :class:`ProgramExited`
        (a ``TimeoutError``) at once if the program ends first.
        """
        deadline = time.perf_counter() + timeout
        while not seen(self.text()):
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"{what} not on screen after {timeout:.0f} s:\n"
                                   + self.text())
            if not self._read(min(left, 0.05)) and not self.alive():
                raise ProgramExited(f"the program ended (exit {self.returncode}) before "
                                    f"{what} was on screen:\n" + self.text())
        return time.perf_counter()

    def settle(self, quiet: float = 0.15, timeout: float = 5.0) -> float:
        """Read until the program has written nothing for ``quiet`` seconds; returns the
        moment of its last write (perf_counter)."""
        last = time.perf_counter()
        deadline = last + timeout
        while time.perf_counter() < deadline:
            if self._read(quiet):
                last = time.perf_counter()
            elif time.perf_counter() - last >= quiet:
                break
        return last

    # --------------------------------------------------------------- keys

    def send(self, keys: str | bytes) -> float:
        """Type ``keys``; returns the moment they were written (perf_counter)."""
        data = keys.encode() if isinstance(keys, str) else keys
        os.write(self.fd, data)
        return time.perf_counter()

    # ------------------------------------------------------------ windows

    def cpu_seconds(self) -> float:
        """User and system CPU the program (every thread, and the children it waited
        for) has used so far; the last figure read once it has ended."""
        try:
            with open(f"/proc/{self.pid}/stat", encoding="ascii") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            return self._last_cpu
        self._last_cpu = sum(int(f) for f in fields[11:15]) / CLK_TCK
        return self._last_cpu

    def measure(self, seconds: float) -> Window:
        """Read for ``seconds`` and say what was written in that time."""
        window = Window(seconds)
        cpu = self.cpu_seconds()
        self._window = window
        try:
            self.pump(seconds)
        finally:
            self._window = None
        window.cpu_s = self.cpu_seconds() - cpu
        return window


def measure_together(programs: Sequence[PtyProgram], seconds: float) -> list[Window]:
    """Read every program for the same ``seconds``; a window each.

    For baselines that cost next to nothing run side by side (an idle app): each
    program's terminal is drained as it writes, so none of them blocks on a full pty.
    """
    windows = [Window(seconds) for _ in programs]
    cpu = [program.cpu_seconds() for program in programs]
    for program, window in zip(programs, windows, strict=True):
        program._window = window
    try:
        pump_together(programs, seconds)
    finally:
        for program in programs:
            program._window = None
    for program, window, before in zip(programs, windows, cpu, strict=True):
        window.cpu_s = program.cpu_seconds() - before
    return windows


def pump_together(programs: Sequence[PtyProgram], seconds: float) -> None:
    """Read what every program writes for ``seconds`` (as long, even if they all end)."""
    if not programs:
        return
    by_fd = {program.fd: program for program in programs if program.fd >= 0}
    deadline = time.perf_counter() + seconds
    while by_fd:
        left = deadline - time.perf_counter()
        if left <= 0:
            return
        ready, _, _ = select.select(list(by_fd), [], [], left)
        for fd in ready:
            if not by_fd[fd]._read(0):
                if not by_fd[fd].alive():
                    del by_fd[fd]
    time.sleep(max(0.0, deadline - time.perf_counter()))
