"""Benchmark: the real ``cockpit`` in a real pseudo-terminal, as an SSH session sees it.

Every figure is printed with its ratio against a baseline measured in the same run:
the bare Textual app of ``bench/bare_app.py`` (one sparkline and one table cell redrawn
a second; ``--idle`` never redraws), and htop and glances when they are installed.

- bytes/s and bytes per changed screen cell (pyte replays every write; a cell counts
  when a write changed it) over a steady-state window after the first frame and a
  warm-up, for ``cockpit train`` (bad-deploy) at ``--speed 1``, ``--speed 10`` and paused
  (space; the header must say PAUSED), at 80x24 and 200x50;
- CPU per 30 s, running and paused (``/proc``), against the bare app running and idle;
- key -> paint latency at 80x24: group switch (1-6, waiting for the new group's panel
  title and the old one's gone), help open (``?``) and close (escape), with the
  scenario's 18 pods and with 5,000; "settled" is the last byte of the burst (no byte
  for 150 ms after it);
- event-loop stall max and p95 with 5,000 and 20,000 pods (``bench/lagprobe.py`` in the
  pty), and whether the process crashed.

Each run gets a fresh empty state folder and no config file, so nothing asks to resume
an incident. The bytes and CPU windows of the two sizes are taken side by side (see
:data:`SERIAL`: measured not to move those figures); key and stall figures are taken
with nothing else of the bench running. ``main(quick=True)`` (``bench/run.py --quick``)
is the reduced form: one size, short windows, few presses, 5,000 pods only.
Not a test: nothing is asserted.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from ptyterm import (  # noqa: E402 - the harness lives beside this file
    ProgramExited,
    PtyProgram,
    Window,
    measure_together,
    pump_together,
)

Size = tuple[int, int]
NARROW: Size = (80, 24)
WIDE: Size = (200, 50)
QUIET_S = 0.15
""""Settled": this long without a byte after the burst."""
SETTLE_CAP_S = 3.0
"""A screen that never goes quiet for :data:`QUIET_S` is "settled" at most this late."""
GROUP_TITLES = {"1": "Error rate", "2": "Pods", "3": "Database", "4": "Cache",
                "5": "Decision", "6": "Runbook"}
"""The key of each panel group at 80x24 and a panel title only that group shows
(``screens/war_room.py`` GROUPS and the panels' border titles)."""
HELP_TITLE = "Rollback Cockpit — keys"
FIRST_FRAME = "Error rate"
SCENARIO_PODS = 18
SERIAL = os.environ.get("BENCH_SERIAL") == "1"
"""One size at a time. By default the cockpit's sizes run side by side: measured here,
80x24 and 200x50 at speed 1 write the same bytes/s (within 3%), bytes per changed cell
and CPU (within run-to-run noise) side by side as one at a time, while each keeps a few
percent of a core busy; a note says so when they keep more busy than
:data:`BUSY_SIDE_BY_SIDE`. Key and stall figures are always measured alone."""
BUSY_SIDE_BY_SIDE = 0.5
"""Cores the side-by-side cockpits may keep busy before their figures are doubted."""


@dataclass(frozen=True)
class Plan:
    """How much of everything to measure."""

    sizes: tuple[Size, ...]
    warmup_s: float
    """After the cockpit's first frame, before a window opens."""
    bare_warmup_s: float
    """The bare app has no simulation to warm up: after its first frame."""
    window_s: float
    paused_warmup_s: float
    presses: int
    stall_pods: tuple[int, ...]
    key_pods: tuple[int, ...]
    """Pod counts beside the scenario's own at which keys are measured."""
    speeds: tuple[int, ...]
    others: bool
    """htop and glances, when installed."""


FULL = Plan(sizes=(NARROW, WIDE), warmup_s=8.0, bare_warmup_s=3.0, window_s=30.0,
            paused_warmup_s=2.0, presses=20, stall_pods=(5_000, 20_000), key_pods=(5_000,),
            speeds=(1, 10), others=True)
QUICK = Plan(sizes=(NARROW,), warmup_s=1.5, bare_warmup_s=0.5, window_s=2.0,
             paused_warmup_s=0.5, presses=3, stall_pods=(5_000,), key_pods=(),
             speeds=(1,), others=False)


# ------------------------------------------------------------------------------ printing

LABEL_W = 42


def figure(label: str, *parts: str) -> None:
    """One figure line: a label, then values each followed by its ratio."""
    print(f"  {label:<{LABEL_W}} " + "   ".join(parts), flush=True)


def note(text: str) -> None:
    """A line that is not a figure: a skip, a crash, a check that failed."""
    print(f"  - {text}", flush=True)


def heading(text: str) -> None:
    print(text, flush=True)


def ratio(value: float, base: float, floor: float = 0.0) -> str:
    """``value`` as a multiple of ``base``; with ``base`` below the measurement's
    resolution ``floor``, a lower bound against that resolution."""
    if base > floor or (base > 0 and not floor):
        multiple = value / base
        return f"{multiple:.1f}x" if multiple >= 0.1 or not multiple else f"{multiple:.3f}x"
    if floor:
        return f">={value / floor:.0f}x"
    return "n/a"


def size_name(size: Size) -> str:
    return f"{size[0]}x{size[1]}"


def ms(seconds: float) -> str:
    value = seconds * 1000
    return f"{value:6.1f} ms" if value < 100 else f"{value:6.0f} ms"


def quantile(values: Sequence[float], q: float) -> float:
    """Nearest-rank quantile, ``q`` in 0..1."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


# ---------------------------------------------------------------------------- programs


class Lab:
    """Fresh folders for every run under one temporary directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.runs = 0
        self.cockpit = str(Path(sys.executable).with_name("cockpit"))
        if not os.access(self.cockpit, os.X_OK):
            self.cockpit = shutil.which("cockpit") or "cockpit"

    def env(self, runbooks: Path | None = None) -> dict[str, str]:
        """The environment of a run: its own empty state folder, no config file, a
        truecolor xterm; nothing inherited that changes what the app draws."""
        self.runs += 1
        env = {key: value for key, value in os.environ.items()
               if not key.startswith("TEXTUAL") and key not in ("NO_COLOR", "FORCE_COLOR",
                                                                  "COCKPIT_RUNBOOKS_DIR")}
        env.update(COCKPIT_STATE_DIR=str(self.root / f"state-{self.runs}"),
                   COCKPIT_CONFIG_FILE=str(self.root / "no-such-config.toml"),
                   TERM="xterm-256color", COLORTERM="truecolor")
        if runbooks is not None:
            env["COCKPIT_RUNBOOKS_DIR"] = str(runbooks)
        return env

    def runbooks_with(self, pods: int) -> Path:
        """A copy of the runbooks whose bad-deploy scenario runs ``pods`` api replicas
        (everything else as shipped)."""
        from cockpit.paths import runbooks_dir

        target = self.root / f"runbooks-{pods}"
        if target.exists():
            return target
        shutil.copytree(runbooks_dir(), target)
        scenario = target / "scenarios" / "bad-deploy.yaml"
        text, count = re.subn(r"(- name: api\n\s+replicas: )\d+", rf"\g<1>{pods}",
                              scenario.read_text(encoding="utf-8"))
        if count != 1:
            raise RuntimeError(f"{scenario}: no api deployment's replicas to raise")
        scenario.write_text(text, encoding="utf-8")
        return target

    def cockpit_argv(self, speed: int) -> list[str]:
        return [self.cockpit, "train", "--speed", str(speed), "--no-briefing"]

    def probe_argv(self, out: Path, speed: int = 1) -> list[str]:
        return [sys.executable, str(HERE / "lagprobe.py"), str(out), "--", "train",
                "--speed", str(speed), "--no-briefing"]

    @staticmethod
    def bare_probe_argv(out: Path) -> list[str]:
        return [sys.executable, str(HERE / "lagprobe.py"), str(out), "--bare"]

    @staticmethod
    def bare_argv(*args: str) -> list[str]:
        return [sys.executable, str(HERE / "bare_app.py"), *args]


@contextmanager
def running(programs: Sequence[PtyProgram]) -> Iterator[Sequence[PtyProgram]]:
    try:
        for program in programs:
            program.start()
        yield programs
    finally:
        for program in programs:
            program.stop()


def wait_all(programs: Sequence[PtyProgram], seen: Callable[[str], bool], what: str,
             timeout: float = 60.0) -> None:
    """Read every program until ``seen`` holds on each screen (draining all of them)."""
    deadline = time.perf_counter() + timeout
    while True:
        waiting = [p for p in programs if not seen(p.text())]
        if not waiting:
            return
        for program in waiting:
            if not program.alive():
                raise ProgramExited(f"the program ended (exit {program.returncode}) before "
                                    f"{what} was on screen:\n{last_lines(program)}")
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{what} not on screen after {timeout:.0f} s:\n"
                               + last_lines(waiting[0]))
        pump_together(programs, 0.05)


def last_lines(program: PtyProgram, count: int = 3) -> str:
    lines = [line.strip() for line in program.text().splitlines() if line.strip()]
    return " | ".join(lines[-count:])


def header(program: PtyProgram) -> str:
    return program.text().splitlines()[0]


def says_speed(speed: int) -> Callable[[str], bool]:
    pattern = re.compile(rf"\bx{speed}\b")
    return lambda text: bool(pattern.search(text.splitlines()[0])) and FIRST_FRAME in text


# --------------------------------------------------------------------------- key timing


@dataclass
class Keys:
    """Key -> paint and key -> settled times of one kind of key press."""

    paint: list[float]
    settled: list[float]
    capped: int = 0

    def add(self, paint: float, settled: float, capped: bool) -> None:
        self.paint.append(paint)
        self.settled.append(settled)
        self.capped += capped


def press(program: PtyProgram, key: str, seen: Callable[[str], bool], what: str,
          into: Keys, *, quiet_first: bool = False) -> None:
    """Type ``key``; time until ``seen`` and until the screen is quiet again.

    Each press ends on a quiet screen, so only the first of a series needs to wait for
    one (``quiet_first``) before it types.
    """
    if quiet_first:
        program.settle(QUIET_S, SETTLE_CAP_S)
    sent = program.send(key)
    painted = program.wait_until(seen, 20.0, what)
    last = program.settle(QUIET_S, SETTLE_CAP_S)
    capped = time.perf_counter() - painted >= SETTLE_CAP_S
    into.add(painted - sent, max(last, painted) - sent, capped)


def cockpit_keys(program: PtyProgram, presses: int) -> dict[str, Keys]:
    """Group switches cycling 2..6, 1 from group 1; then help opened and closed."""
    groups, opened, closed = Keys([], []), Keys([], []), Keys([], [])
    order = ["2", "3", "4", "5", "6", "1"]
    current = "1"
    for n in range(presses):
        key = order[n % len(order)]
        new, old = f"─ {GROUP_TITLES[key]}", f"─ {GROUP_TITLES[current]}"
        press(program, key, lambda text, new=new, old=old: new in text and old not in text,
              f"group {key} ({GROUP_TITLES[key]})", groups, quiet_first=n == 0)
        current = key
    if current != "1":
        press(program, "1", lambda text: f"─ {GROUP_TITLES['1']}" in text, "group 1",
              Keys([], []))
    for _ in range(presses):
        press(program, "?", lambda text: HELP_TITLE in text, "the help", opened)
        press(program, "\x1b", lambda text: HELP_TITLE not in text, "the help closed", closed)
    return {"group switch (1-6)": groups, "help open (?)": opened,
            "help close (escape)": closed}


def bare_keys(program: PtyProgram, presses: int) -> Keys:
    keys = Keys([], [])
    for n in range(1, presses + 1):
        needle = f"key presses: {n}"
        press(program, "k", lambda text, needle=needle: needle in text, needle, keys,
              quiet_first=n == 1)
    return keys


def print_keys(label: str, keys: Keys, base: Keys) -> None:
    parts = []
    for name, q, values, base_values in (("p50", 0.5, keys.paint, base.paint),
                                         ("p95", 0.95, keys.paint, base.paint),
                                         ("settled p50", 0.5, keys.settled, base.settled),
                                         ("p95", 0.95, keys.settled, base.settled)):
        value = quantile(values, q)
        parts.append(f"{name} {ms(value)} {ratio(value, quantile(base_values, q)):>6}")
    figure(label, *parts)
    if keys.capped:
        note(f"{label}: {keys.capped} of {len(keys.settled)} presses never went quiet "
             f"for {QUIET_S * 1000:.0f} ms; counted as settled at {SETTLE_CAP_S:.0f} s")


# ------------------------------------------------------------------------------- stalls


@dataclass
class Stall:
    """The probe's samples inside the window, and how the run went."""

    late: list[float]
    window: Window | None = None
    crashed: str = ""
    """How the program ended by itself, if it did: exit status, exception, last screen."""
    problem: str = ""
    """What else kept a figure from being taken (with the program still running)."""

    @property
    def max(self) -> float:
        return max(self.late)

    @property
    def p95(self) -> float:
        return quantile(self.late, 0.95)


def probe_samples(out: Path, begin: float, end: float) -> list[float]:
    """The lateness of the probe's wake-ups between ``begin`` and ``end`` (monotonic)."""
    body = json.loads(out.read_text(encoding="utf-8"))
    return [lateness for t, lateness in body["samples"] if begin <= t <= end]


def probe_run(program: PtyProgram, out: Path, ready: str, warmup: float, seconds: float,
              after: Callable[[PtyProgram], None] | None = None) -> Stall:
    """Run ``program`` (lagprobe.py) to its first frame, warm up, take a window, ask the
    probe for its samples (SIGUSR1) and keep those inside the window; then ``after``.
    A program that ends by itself is reported as crashed, never raised."""
    started = time.monotonic()
    stall = Stall([])
    with running([program]):
        try:
            program.wait_for(ready, 60)
            program.pump(warmup)
            begin = time.monotonic()
            stall.window = program.measure(seconds)
            end = time.monotonic()
            if program.alive():
                out.unlink(missing_ok=True)
                os.kill(program.pid, signal.SIGUSR1)
                deadline = time.perf_counter() + 30
                while not out.exists() and program.alive() and time.perf_counter() < deadline:
                    program.pump(0.1)
                if out.exists():
                    stall.late = probe_samples(out, begin, end)
                    if not stall.late:
                        stall.problem = "no probe wake-up inside the window"
                elif program.alive():
                    stall.problem = "the probe wrote no samples within 30 s of SIGUSR1"
            if after is not None and program.alive():
                after(program)
        except TimeoutError as exc:  # ProgramExited included
            if program.alive():
                stall.problem = str(exc).splitlines()[0]
        if not program.alive():
            program.pump(0.5)
            error = ""
            with suppress(OSError, ValueError):
                error = json.loads(out.read_text(encoding="utf-8")).get("error") or ""
            how = "CRASHED" if program.returncode or error else "ENDED by itself"
            stall.crashed = (f"{how} (exit {program.returncode}) "
                             f"{time.monotonic() - started:.1f} s after start: "
                             f"{error or 'no exception recorded'}; "
                             f"last screen: {last_lines(program)[-300:]}")
    return stall


# --------------------------------------------------------------------------- the bench


def bench_bare(lab: Lab, plan: Plan) -> tuple[dict[Size, Window], dict[Size, Window], Keys]:
    """The bare app running at every size, and idle, side by side (each costs a few
    percent of a core); then its key answer at 80x24, alone."""
    running_apps = [PtyProgram(lab.bare_argv(), *size, lab.env()) for size in plan.sizes]
    idle_apps = [PtyProgram(lab.bare_argv("--idle"), *size, lab.env()) for size in plan.sizes]
    with running(running_apps + idle_apps) as programs:
        wait_all(programs, lambda text: "key presses: 0" in text, "the bare app", 30)
        pump_together(programs, plan.bare_warmup_s)
        windows = measure_together(programs, plan.window_s)
        for program in programs[1:]:
            program.stop()
        # twice the presses: a press costs it ~0.2 s, and a steadier baseline steadies
        # every key ratio
        keys = bare_keys(programs[0], 2 * plan.presses)
    n = len(plan.sizes)
    return (dict(zip(plan.sizes, windows[:n], strict=True)),
            dict(zip(plan.sizes, windows[n:], strict=True)), keys)


def reached(programs: Sequence[PtyProgram], seen: Callable[[str], bool], what: str,
            notes: list[str], timeout: float = 60.0) -> list[PtyProgram]:
    """The programs whose screen came to ``seen``; each other one is named in ``notes``
    (ended, with its last screen, or not there in time)."""
    deadline = time.perf_counter() + timeout
    waiting = list(programs)
    while True:
        waiting = [p for p in waiting if not seen(p.text())]
        for program in [p for p in waiting if not p.alive()]:
            notes.append(f"{program_name(program)}: ended (exit {program.returncode}) before "
                         f"{what}; last screen: {last_lines(program)}")
        waiting = [p for p in waiting if p.alive()]
        if not waiting or time.perf_counter() > deadline:
            break
        pump_together(programs, 0.05)
    for program in waiting:
        notes.append(f"{program_name(program)}: {what} not on screen after {timeout:.0f} s; "
                     f"header: {header(program).strip()!r}")
    return [p for p in programs if all(p is not w for w in waiting) and p.alive()]


def program_name(program: PtyProgram) -> str:
    args = " ".join(program.argv[2:]) if "cockpit" in program.argv[0] else program.argv[-1]
    return f"cockpit {args} at {program.cols}x{program.rows}"


def survivors(programs: Sequence[PtyProgram], windows: Sequence[Window], mode: str,
              notes: list[str]) -> dict[Size, Window]:
    """The windows of the programs still running at the end of them, by size."""
    kept = {}
    for program, window in zip(programs, windows, strict=True):
        if program.alive():
            kept[(program.cols, program.rows)] = window
        else:
            notes.append(f"{program_name(program)}: ended (exit {program.returncode}) during "
                         f"the {mode} window; last screen: {last_lines(program)}")
    return kept


def side_by_side_load(windows: Sequence[Window]) -> float:
    """Cores the programs measured together kept busy."""
    return sum(w.cpu_s for w in windows) / windows[0].seconds if windows else 0.0


def bench_cockpit(lab: Lab, sizes: Sequence[Size], speed: int, plan: Plan, notes: list[str],
                  keys: bool) -> tuple[dict[Size, dict[str, Window]], dict[str, Keys]]:
    """Cockpits at each of ``sizes`` at ``speed``, side by side: a steady window; at
    speed 1 also a paused one. With ``keys``, the 80x24 one then answers keys alone
    (the others stopped, the simulation resumed)."""
    windows: dict[Size, dict[str, Window]] = {size: {} for size in sizes}
    timings: dict[str, Keys] = {}
    programs = [PtyProgram(lab.cockpit_argv(speed), *size, lab.env()) for size in sizes]
    with running(programs):
        live = reached(programs, says_speed(speed), f"the war room at x{speed}", notes)
        if not live:
            return windows, timings
        pump_together(live, plan.warmup_s)
        got = measure_together(live, plan.window_s)
        load = side_by_side_load(got)
        for size, window in survivors(live, got, f"--speed {speed}", notes).items():
            windows[size][f"--speed {speed}"] = window
        live = [p for p in live if p.alive()]
        if speed == 1 and live:
            for program in live:
                program.send(" ")
            live = reached(live, lambda text: "PAUSED" in text.splitlines()[0],
                           "PAUSED in the header after space", notes, 10)
            if live:
                pump_together(live, plan.paused_warmup_s)
                got = measure_together(live, plan.window_s)
                load = max(load, side_by_side_load(got))
                for size, window in survivors(live, got, "paused", notes).items():
                    windows[size]["paused"] = window
        if len(programs) > 1 and load > BUSY_SIDE_BY_SIDE:
            notes.append(f"--speed {speed}: the cockpits measured side by side kept "
                         f"{load:.2f} cores busy; on {os.cpu_count()} cores their figures may "
                         "be distorted (BENCH_SERIAL=1 measures one size at a time)")
        narrow = [p for p in programs if (p.cols, p.rows) == NARROW and p.alive()]
        if keys and narrow:
            for program in programs:
                if program is not narrow[0]:
                    program.stop()
            program = narrow[0]
            try:
                if "PAUSED" in header(program):
                    program.send(" ")
                    program.wait_until(lambda text: "PAUSED" not in text.splitlines()[0], 10,
                                       "the simulation resumed")
                    program.pump(plan.paused_warmup_s)
                timings = cockpit_keys(program, plan.presses)
            except TimeoutError as exc:  # ProgramExited included: reported, not fatal
                program.pump(0.3)
                notes.append(f"{program_name(program)}, keys: {str(exc).splitlines()[0]} "
                             f"Last screen: {last_lines(program)}")
    return windows, timings


def bench_other(lab: Lab, name: str, size: Size, plan: Plan) -> Window | str:
    """htop or glances at ``size``: a window after a warm-up, or why not."""
    path = shutil.which(name)
    if path is None:
        return "not installed (shutil.which), skipped"
    program = PtyProgram([path], *size, lab.env())
    with running([program]):
        program.pump(plan.warmup_s)
        if not program.alive():
            return f"ended by itself (exit {program.returncode}): {last_lines(program)}"
        return program.measure(plan.window_s)


def print_bytes(label: str, window: Window, base: Window) -> None:
    cells = window.changed_cells / window.seconds
    per_cell = (f"{window.bytes_per_changed_cell:7,.0f} B/changed cell "
                f"{ratio(window.bytes_per_changed_cell, base.bytes_per_changed_cell):>6}"
                if window.changed_cells else f"{'no cell changed':>29}")
    figure(label,
           f"{window.bytes_per_s:9,.0f} B/s {ratio(window.bytes_per_s, base.bytes_per_s):>6}",
           per_cell, f"{cells:6.1f} cells changed/s")


def main(quick: bool = False) -> None:
    """Print the terminal figures (``quick``: the reduced form for CI)."""
    plan = QUICK if quick else FULL
    with tempfile.TemporaryDirectory(prefix="bench-terminal-") as tmp:
        lab = Lab(Path(tmp))
        run(lab, plan)


def run(lab: Lab, plan: Plan) -> None:
    window = f"{plan.window_s:g} s"
    heading(f"terminal: real pseudo-terminals; windows of {window} after the first frame "
            f"and a {plan.warmup_s:g} s warm-up ({plan.bare_warmup_s:g} s for the bare app); "
            "ratios against the same run's baselines")
    bare, idle, bare_key = bench_bare(lab, plan)

    cockpit: dict[Size, dict[str, Window]] = {size: {} for size in plan.sizes}
    keys18: dict[str, Keys] = {}
    notes: list[str] = []
    batches = [[size] for size in plan.sizes] if SERIAL else [list(plan.sizes)]
    for speed in plan.speeds:
        for sizes in batches:
            windows, timings = bench_cockpit(lab, sizes, speed, plan, notes,
                                             keys=NARROW in sizes and speed == 1)
            for size, by_mode in windows.items():
                cockpit[size].update(by_mode)
            keys18.update(timings)

    heading(f"bytes to the terminal over {window}, cockpit train (bad-deploy); "
            "ratios: x the bare app at the same size")
    for size in plan.sizes:
        name = size_name(size)
        print_bytes(f"{name}  bare Textual app (baseline)", bare[size], bare[size])
        for mode, result in cockpit[size].items():
            print_bytes(f"{name}  cockpit {mode}", result, bare[size])
        if plan.others:
            for other in ("htop", "glances"):
                got = bench_other(lab, other, size, plan)
                if isinstance(got, str):
                    note(f"{name}  {other}: {got}")
                    continue
                print_bytes(f"{name}  {other}", got, bare[size])
                speed1 = cockpit[size].get("--speed 1")
                if speed1 is not None:
                    tick = 0.01 / got.seconds * 30
                    figure(f"{name}  cockpit --speed 1 against {other}",
                           f"{speed1.bytes_per_s:9,.0f} B/s "
                           f"{ratio(speed1.bytes_per_s, got.bytes_per_s):>6} {other}'s",
                           f"CPU {speed1.cpu_per_30s:5.2f} s/30 s "
                           f"{ratio(speed1.cpu_per_30s, got.cpu_per_30s, tick):>6} {other}'s "
                           f"({got.cpu_per_30s:.2f} s)")
    for line in notes:
        note(line)

    heading(f"CPU per 30 s (user + system, /proc) over {window}")
    for size in plan.sizes:
        name = size_name(size)
        tick = 0.01 / idle[size].seconds * 30  # one clock tick: the resolution
        figure(f"{name}  bare app running (baseline)",
               f"{bare[size].cpu_per_30s:6.2f} s {ratio(1, 1):>6}")
        figure(f"{name}  bare app idle (baseline)",
               f"{idle[size].cpu_per_30s:6.2f} s {ratio(1, 1):>6}",
               f"{idle[size].bytes_per_s:,.0f} B/s written")
        running_w = cockpit[size].get("--speed 1")
        if running_w is not None:
            figure(f"{name}  cockpit --speed 1",
                   f"{running_w.cpu_per_30s:6.2f} s "
                   f"{ratio(running_w.cpu_per_30s, bare[size].cpu_per_30s):>6} bare running")
        paused = cockpit[size].get("paused")
        if paused is not None:
            figure(f"{name}  cockpit paused",
                   f"{paused.cpu_per_30s:6.2f} s "
                   f"{ratio(paused.cpu_per_30s, idle[size].cpu_per_30s, tick):>6} bare idle",
                   f"{ratio(paused.cpu_per_30s, bare[size].cpu_per_30s):>6} bare running")

    key_rows: list[tuple[str, Keys]] = [(f"cockpit {SCENARIO_PODS} pods, {kind}", keys)
                                        for kind, keys in keys18.items()]
    stalls: dict[int, Stall] = {}
    missing_keys: list[int] = []
    bare_out = lab.root / "lag-bare.json"
    base_stall = probe_run(PtyProgram(lab.bare_probe_argv(bare_out), *NARROW, lab.env()),
                           bare_out, "key presses: 0", plan.bare_warmup_s, plan.window_s)
    for pods in plan.stall_pods:
        out = lab.root / f"lag-{pods}.json"
        got_keys: dict[str, Keys] = {}

        def after(program: PtyProgram, got_keys: dict[str, Keys] = got_keys,
                  pods: int = pods) -> None:
            if pods in plan.key_pods:
                got_keys.update(cockpit_keys(program, plan.presses))

        program = PtyProgram(lab.probe_argv(out), *NARROW, lab.env(lab.runbooks_with(pods)))
        stalls[pods] = probe_run(program, out, FIRST_FRAME, plan.warmup_s, plan.window_s, after)
        key_rows += [(f"cockpit {pods:,} pods, {kind}", keys) for kind, keys in got_keys.items()]
        if pods in plan.key_pods and not got_keys:
            missing_keys.append(pods)

    heading(f"key -> paint at 80x24, {plan.presses} presses each, {2 * plan.presses} for the "
            "bare app (paint: the awaited text "
            f"on screen; settled: its last byte, then {QUIET_S * 1000:.0f} ms without one); "
            "ratios: x the bare app")
    print_keys("bare app, k counted in a label (baseline)", bare_key, bare_key)
    for label, keys in key_rows:
        print_keys(label, keys, bare_key)
    for pods in missing_keys:
        note(f"cockpit {pods:,} pods: no key figure (the run did not get that far)")
    if not keys18:
        note(f"cockpit {SCENARIO_PODS} pods: no key figure (the run did not get that far)")

    heading(f"event-loop stall at 80x24, --speed 1, over {window} (bench/lagprobe.py: "
            "lateness of a 5 ms call_later chain); ratios: x the bare app")
    base_window = base_stall.window
    if not base_stall.late or base_window is None:
        note(f"bare app under the probe: {base_stall.crashed or base_stall.problem}")
        return
    figure("bare app (baseline)", f"max {ms(base_stall.max)} {ratio(1, 1):>6}",
           f"p95 {ms(base_stall.p95)} {ratio(1, 1):>6}",
           f"CPU {base_window.cpu_per_30s:5.2f} s/30 s {ratio(1, 1):>6}")
    for pods, stall in stalls.items():
        label = f"cockpit {pods:,} pods"
        if stall.late and stall.window is not None:
            figure(label,
                   f"max {ms(stall.max)} {ratio(stall.max, base_stall.max):>6}",
                   f"p95 {ms(stall.p95)} {ratio(stall.p95, base_stall.p95):>6}",
                   f"CPU {stall.window.cpu_per_30s:5.2f} s/30 s "
                   f"{ratio(stall.window.cpu_per_30s, base_window.cpu_per_30s):>6}")
        for problem in (stall.problem, stall.crashed):
            if problem:
                note(f"{label}: {problem}")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
