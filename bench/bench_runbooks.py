"""Benchmark: `cockpit runbooks check runbooks/` (load and validate the shipped library).

Figures with ratios against baselines measured in the same run:
in process, the checker (what the command does) against a plain ``yaml.safe_load`` of
the same files; as a command, ``cockpit runbooks check runbooks/`` in a fresh
interpreter against a fresh interpreter that only imports the CLI.
Not a test: nothing is asserted.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from cockpit.paths import runbooks_dir
from cockpit.runbook.loader import check_paths, load_library, runbook_files

REPEAT = 15
COMMAND_REPEAT = 5


def median_s(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    folder = runbooks_dir()
    files = runbook_files([folder])
    texts = [Path(f).read_text(encoding="utf-8") for f in files]
    size_kb = sum(len(t.encode()) for t in texts) / 1024
    library = load_library(folder)
    print(f"   library: {len(files)} runbooks, {library.step_count} steps, "
          f"{size_kb:.0f} KB of YAML")

    def plain_yaml() -> None:
        for text in texts:
            yaml.safe_load(text)

    def checker() -> None:
        errors = check_paths([folder])
        assert not errors, errors[:3]

    base = median_s(plain_yaml, REPEAT)
    check = median_s(checker, REPEAT)
    load = median_s(lambda: load_library(folder), REPEAT)
    print(f"   yaml.safe_load of the files (baseline): {base * 1000:7.1f} ms")
    print(f"   check_paths (runbooks check):           {check * 1000:7.1f} ms  "
          f"ratio {check / base:.2f}x")
    print(f"   load_library (the pane's library):      {load * 1000:7.1f} ms  "
          f"ratio {load / base:.2f}x")

    python = sys.executable
    cockpit = str(Path(python).with_name("cockpit"))
    bare = [python, "-c", "import cockpit.cli"]
    command = [cockpit, "runbooks", "check", str(folder)]

    def run(argv: list[str]) -> None:
        subprocess.run(argv, check=True, capture_output=True, timeout=60)  # noqa: S603

    run(command)  # warm the file cache and bytecode
    start_only = median_s(lambda: run(bare), COMMAND_REPEAT)
    whole = median_s(lambda: run(command), COMMAND_REPEAT)
    print(f"   python -c 'import cockpit.cli' (baseline): {start_only * 1000:7.1f} ms")
    print(f"   cockpit runbooks check runbooks/:          {whole * 1000:7.1f} ms  "
          f"ratio {whole / start_only:.2f}x")


if __name__ == "__main__":
    main()
