"""Run every benchmark in this folder: ``make bench`` (or ``python bench/run.py``).

``--quick`` (``make bench-quick``) runs each in its reduced form, for CI: a module whose
``main`` takes a ``quick`` argument is given ``quick=True``; one whose ``main`` takes no
argument has no reduced form and is skipped, said in one line (it runs in ``make bench``,
and with ``--only``). ``--only NAME`` runs ``bench_NAME.py`` alone (repeatable).
Exit 1 when a benchmark failed, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def benchmarks() -> dict[str, Path]:
    """The benchmark modules by name (``bench_terminal.py`` is ``terminal``)."""
    return {path.stem.removeprefix("bench_"): path for path in sorted(HERE.glob("bench_*.py"))}


def main(argv: list[str] | None = None) -> int:
    found = benchmarks()
    parser = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="the reduced form of every benchmark (CI: under a minute)")
    parser.add_argument("--only", action="append", metavar="NAME", choices=sorted(found),
                        help="run this benchmark alone (repeatable)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE.parent))
    failures = 0
    began = time.perf_counter()
    for name, path in found.items():
        if args.only and name not in args.only:
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module  # dataclasses look their module up there
        print(f"== {path.stem}{' (quick)' if args.quick else ''}", flush=True)
        started = time.perf_counter()
        try:
            spec.loader.exec_module(module)
            takes_quick = "quick" in inspect.signature(module.main).parameters
            if takes_quick:
                module.main(quick=args.quick)
            elif args.quick and not args.only:
                print("   skipped: its main() has no quick form (`make bench` runs it)")
            else:
                module.main()
        except Exception as exc:  # noqa: BLE001 - report and go on to the next benchmark
            failures += 1
            print(f"   FAILED: {type(exc).__name__}: {exc}")
        print(f"   ({time.perf_counter() - started:.1f} s)\n", flush=True)
    print(f"({time.perf_counter() - began:.1f} s in all)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
