"""Start-up: the first complete frame of the real ``cockpit train`` in a real pty, and the
import of ``cockpit.app``, each against bare Textual measured the same way in the same run.

- First frame: the time from ``fork`` until the war room's header, panel titles and
  footer are all on the screen of a real pseudo-terminal (``bench/ptyterm.py``), at 80x24
  and 200x50, for the real ``cockpit train`` command (the console script, fresh state
  folder per run, no config file) against a bare Textual app (one Static and a Footer).
- Import: ``import cockpit.app`` against ``import textual.app`` plus the widgets a minimal
  app uses (Static, Footer), each in a fresh interpreter.
- Bytecode: how many of the project's modules that ``import cockpit.app`` loads have no
  up-to-date ``.pyc`` (each is compiled at every start on a machine that runs with
  ``PYTHONDONTWRITEBYTECODE=1``; ``make`` compiles them at install).

Medians of 5 runs (``quick``: 2 runs, 80x24 only). Not a test: nothing is asserted.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ptyterm import PtyProgram  # noqa: E402 - beside this file, not a package

RUNS = 5
QUICK_RUNS = 2
SIZES = ((80, 24), (200, 50))
#: Closed incidents in the state folder for the bare ``cockpit`` figure.
HISTORY = 40

BARE_APP = """
from textual.app import App
from textual.widgets import Footer, Static
class Bare(App):
    BINDINGS = [("q", "quit", "Quit")]
    def compose(self):
        yield Static("bare textual app")
        yield Footer()
Bare().run()
"""
BARE_MARKERS = ("bare textual app", "q Quit")

#: The war room's first complete frame: the header (estate label), the panel titles every
#: size shows, and the footer; at 200x50 the whole board, every group's panel title.
COCKPIT_MARKERS: dict[tuple[int, int], tuple[str, ...]] = {
    (80, 24): ("SIM bad-deploy", "Error rate", "Latency p95", "Endpoints", "q Quit"),
    (200, 50): ("SIM bad-deploy", "Error rate", "Latency p95", "Endpoints", "Pods",
                "Database", "Cache", "Decision", "q Quit"),
}
#: The incident id in the header (it is clipped at 80x24: the top line is wider).
INCIDENT_MARKER = "INC-"

IMPORT_COCKPIT = "import cockpit.app"
IMPORT_TEXTUAL = "import textual.app\nfrom textual.widgets import Footer, Static"
TIMED_IMPORT = """
import time
t0 = time.perf_counter()
{code}
print(time.perf_counter() - t0)
"""
HEAVY = ("kubernetes", "datadog_api_client", "psycopg", "redis", "httpx", "jinja2")
STALE_BYTECODE = """
import importlib.util, os, sys
import cockpit.app
root = os.path.dirname(os.path.dirname(cockpit.app.__file__))
packages = tuple(os.path.join(root, p) + os.sep for p in ("cockpit", "screens", "widgets"))
ours, stale = 0, []
for name, module in list(sys.modules.items()):
    path = getattr(module, "__file__", None) or ""
    if not path.endswith(".py") or not path.startswith(packages):
        continue
    ours += 1
    cached = importlib.util.cache_from_source(path)
    if not os.path.exists(cached) or os.path.getmtime(cached) < os.path.getmtime(path):
        stale.append(name)
heavy = sorted({{m.split(".")[0] for m in sys.modules}} & set({heavy!r}))
print(ours, len(stale), ",".join(heavy) or "-")
"""


def _cockpit_command() -> list[str]:
    """The real console script of this environment (what ``make run`` starts)."""
    script = Path(sys.executable).parent / "cockpit"
    return [str(script), "train", "--no-briefing"]


def first_frame(argv: Sequence[str], size: tuple[int, int], markers: Sequence[str],
                late: str = "", history: Path | None = None) -> tuple[float, float | None]:
    """Seconds from start until every one of ``markers`` is on screen, in a fresh state
    folder (a copy of ``history`` when given); and, with ``late``, until that text is on
    screen too (None if never in 5 s)."""
    state = tempfile.mkdtemp(prefix="bench-startup-")
    if history is not None:
        shutil.copytree(history, state, dirs_exist_ok=True)
    env = dict(os.environ, COCKPIT_STATE_DIR=state, TERM="xterm-256color",
               COCKPIT_CONFIG_FILE=os.path.join(state, "no-such-config.toml"))
    env.pop("NO_COLOR", None)
    program = PtyProgram(list(argv), size[0], size[1], env)
    try:
        started = program.start()
        shown = started
        for marker in markers:
            shown = program.wait_for(marker, timeout=60)
        late_at: float | None = None
        if late:
            try:
                late_at = program.wait_for(late, timeout=5) - started
            except TimeoutError:
                late_at = None
        return shown - started, late_at
    finally:
        program.stop()
        shutil.rmtree(state, ignore_errors=True)


def closed_history(count: int) -> Path:
    """A state folder holding ``count`` closed training incidents (one headless demo of
    the default scenario, copied), what a trainee's machine holds after a few weeks."""
    state = Path(tempfile.mkdtemp(prefix="bench-history-"))
    env = dict(os.environ, COCKPIT_STATE_DIR=str(state),
               COCKPIT_CONFIG_FILE=str(state / "no-such-config.toml"))
    subprocess.run([_cockpit_command()[0], "train", "--headless", "--quiet"], env=env,
                   check=True, capture_output=True, timeout=300)
    root = state / "incidents"
    (played,) = list(root.iterdir())
    for n in range(1, count):
        shutil.copytree(played, root / f"{played.name[:-4]}{n:04x}")
    return state


def timed_import(code: str) -> float:
    """Seconds ``code`` takes in a fresh interpreter (the interpreter's own start excluded)."""
    out = subprocess.run([sys.executable, "-c", TIMED_IMPORT.format(code=code)],
                         capture_output=True, text=True, check=True, timeout=120)
    return float(out.stdout.split()[-1])


def _median_ms(values: Sequence[float]) -> float:
    return statistics.median(values) * 1000


def _line(label: str, value_ms: float, base_ms: float, runs: int) -> None:
    print(f"   {label:<44} {value_ms:7.0f} ms  {value_ms / base_ms:5.2f}x"
          f"  (median of {runs})")


def main(quick: bool = False) -> None:
    runs = QUICK_RUNS if quick else RUNS
    sizes = SIZES[:1] if quick else SIZES
    bare_argv = [sys.executable, "-c", BARE_APP]
    cockpit_argv = _cockpit_command()

    for size in sizes:
        bare, cockpit, ident = [], [], []
        for _ in range(runs):  # interleaved, so a busy moment weighs on both alike
            bare.append(first_frame(bare_argv, size, BARE_MARKERS)[0])
            late = INCIDENT_MARKER if size[0] >= 160 else ""
            frame, id_at = first_frame(cockpit_argv, size, COCKPIT_MARKERS[size], late)
            cockpit.append(frame)
            if id_at is not None:
                ident.append(id_at)
        cols, rows = size
        base = _median_ms(bare)
        print(f"   first complete frame in a pty at {cols}x{rows}:")
        _line("bare Textual app (Static + Footer)", base, base, runs)
        _line("cockpit train (header, panels, footer)", _median_ms(cockpit), base, runs)
        if ident:
            _line("cockpit train, incident id in the header", _median_ms(ident), base,
                  len(ident))

    if not quick:  # a bare `cockpit` first looks for an open incident to offer for resume
        history = closed_history(HISTORY)
        try:
            bare, cockpit = [], []
            for _ in range(runs):
                bare.append(first_frame(bare_argv, SIZES[0], BARE_MARKERS)[0])
                cockpit.append(first_frame(cockpit_argv[:1], SIZES[0],
                                           COCKPIT_MARKERS[SIZES[0]], history=history)[0])
        finally:
            shutil.rmtree(history, ignore_errors=True)
        base = _median_ms(bare)
        print(f"   first complete frame at 80x24, {HISTORY} closed incidents in the state folder:")
        _line("bare Textual app (Static + Footer)", base, base, runs)
        _line("cockpit (bare: looks for one to resume)", _median_ms(cockpit), base, runs)

    textual_import = [timed_import(IMPORT_TEXTUAL) for _ in range(runs)]
    cockpit_import = [timed_import(IMPORT_COCKPIT) for _ in range(runs)]
    base = _median_ms(textual_import)
    print("   import, fresh interpreter:")
    _line("import textual.app + Static, Footer", base, base, runs)
    _line("import cockpit.app", _median_ms(cockpit_import), base, runs)

    out = subprocess.run([sys.executable, "-c", STALE_BYTECODE.format(heavy=HEAVY)],
                         capture_output=True, text=True, check=True, timeout=120)
    ours, stale, heavy = out.stdout.split()
    print(f"   project modules loaded by import cockpit.app: {ours}; compiled at every "
          f"start (no up-to-date .pyc): {stale}")
    print(f"   heavy client libraries imported: {heavy}")


if __name__ == "__main__":
    started = time.perf_counter()
    main(quick="--quick" in sys.argv)
    print(f"   ({time.perf_counter() - started:.1f} s)")
