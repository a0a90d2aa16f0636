"""``bench/run.py --quick --only terminal`` runs the real cockpit in real pseudo-terminals
and prints every terminal figure with a number and its ratio against the same run's
baseline (behaviour: what a reader of ``make bench-quick`` relies on; no speed asserted)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: a measured value with its unit (``4,158 B/s``, ``143 ms``, ``0.48 s``)
VALUE = re.compile(r"\d[\d,]*(?:\.\d+)? (?:B/s|B/changed cell|ms|s)\b")
#: a ratio (``8.8x``, ``>=11x``); ``80x24`` is not one
RATIO = re.compile(r"(?:>=)?\d+(?:\.\d+)?x\b")

#: the figures the quick form must print (label fragments, one line each at least)
EXPECTED = (
    "80x24  bare Textual app (baseline)",
    "80x24  cockpit --speed 1",
    "80x24  cockpit paused",
    "80x24  bare app running (baseline)",
    "80x24  bare app idle (baseline)",
    "bare app, k counted in a label (baseline)",
    "cockpit 18 pods, group switch (1-6)",
    "cockpit 18 pods, help open (?)",
    "cockpit 18 pods, help close (escape)",
    "bare app (baseline)",
    "cockpit 5,000 pods",
)


@pytest.fixture(scope="module")
def quick_run() -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("COCKPIT_")}
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--only", "terminal"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)


def figure_lines(stdout: str) -> list[str]:
    """Lines indented by exactly two spaces, not notes (``  - ``): the figures."""
    return [line for line in stdout.splitlines()
            if line.startswith("  ") and not line.startswith(("   ", "  - "))]


@pytest.mark.timeout(600)
def test_quick_terminal_bench_exits_0_and_prints_every_figure_with_a_ratio(
        quick_run: subprocess.CompletedProcess[str]) -> None:
    out = quick_run.stdout
    assert quick_run.returncode == 0, out + quick_run.stderr
    assert "FAILED" not in out, out
    assert "CRASHED" not in out, out
    lines = figure_lines(out)
    for fragment in EXPECTED:
        assert any(line.strip().startswith(fragment) for line in lines), (fragment, out)
    for line in lines:
        assert VALUE.search(line), line
        assert RATIO.search(line), line


@pytest.mark.timeout(600)
def test_quick_terminal_bench_saw_the_pause(
        quick_run: subprocess.CompletedProcess[str]) -> None:
    """The paused figure exists only when the header said PAUSED after space."""
    assert "space did not pause" not in quick_run.stdout, quick_run.stdout
    assert any(line.strip().startswith("80x24  cockpit paused")
               for line in figure_lines(quick_run.stdout))
