"""Event-loop lateness of a Textual app, measured from inside it (``make bench``).

``python bench/lagprobe.py OUT.json -- train --speed 1`` runs ``cockpit.cli.main`` with the
arguments after ``--``; ``python bench/lagprobe.py OUT.json --bare`` runs the bare baseline
app (``bench/bare_app.py``) instead. Once the app's asyncio loop runs, a ``call_later``
chain asks to be woken every 5 ms and records how late each wake-up came: a callback that
holds the loop for 500 ms shows up as a 500 ms late wake-up, whatever it was.

The samples are ``[time.monotonic(), lateness_s]`` pairs. ``time.monotonic`` is the
system's CLOCK_MONOTONIC, the same clock in every process, so the bench that started this
program picks out its own measurement window. The file is written (atomically) when the
process receives SIGUSR1 and again when the app ends, crash or not; besides the samples it
holds ``max``, ``p50`` and ``p95`` over all of them and, after the app ended, its
``return_code`` and the exception that ended it, if one did. Bench code only: the product
is not changed, the probe wraps ``textual.app.App.run_async`` in this process.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

PERIOD_S = 0.005
HERE = Path(__file__).resolve().parent


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[rank]


class Probe:
    """A wake-up every :data:`PERIOD_S` on the running loop; lateness recorded."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.samples: list[tuple[float, float]] = []
        self.loop: asyncio.AbstractEventLoop | None = None
        self.ended: dict[str, Any] = {}
        self._due = 0.0

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.loop is not None:  # a second app in the same process: keep the first's chain
            return
        self.loop = loop
        try:
            loop.add_signal_handler(signal.SIGUSR1, self.write)
        except (NotImplementedError, RuntimeError):  # not the main thread: at exit only
            pass
        self._due = time.monotonic() + PERIOD_S
        loop.call_later(PERIOD_S, self._wake)

    def _wake(self) -> None:
        now = time.monotonic()
        self.samples.append((now, max(0.0, now - self._due)))
        self._due = now + PERIOD_S
        assert self.loop is not None
        self.loop.call_later(PERIOD_S, self._wake)

    def write(self) -> None:
        late = [lateness for _t, lateness in self.samples]
        body = {
            "period_s": PERIOD_S,
            "count": len(late),
            "max": max(late, default=0.0),
            "p50": percentile(late, 0.50),
            "p95": percentile(late, 0.95),
            "samples": self.samples,
            **self.ended,
        }
        tmp = self.out.with_name(self.out.name + ".tmp")
        tmp.write_text(json.dumps(body), encoding="utf-8")
        os.replace(tmp, self.out)


def install(probe: Probe) -> None:
    """Start ``probe`` on the loop of the first Textual app that runs in this process."""
    from textual.app import App

    original = App.run_async

    async def run_async(self: App[Any], *args: Any, **kwargs: Any) -> Any:
        probe.start(asyncio.get_running_loop())
        try:
            result = await original(self, *args, **kwargs)
        except BaseException as exc:
            probe.ended = {"return_code": None, "error": f"{type(exc).__name__}: {exc}"}
            probe.write()
            raise
        error = getattr(self, "_exception", None)
        probe.ended = {"return_code": self.return_code,
                       "error": f"{type(error).__name__}: {error}" if error else None}
        probe.write()
        return result

    App.run_async = run_async  # type: ignore[method-assign]


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] not in ("--", "--bare"):
        print("usage: lagprobe.py OUT.json -- COCKPIT-ARGS... | lagprobe.py OUT.json --bare "
              "[BARE-ARGS...]", file=sys.stderr)
        return 2
    probe = Probe(Path(argv[0]))
    install(probe)
    if argv[1] == "--bare":
        sys.path.insert(0, str(HERE))
        import bare_app

        return bare_app.main(argv[2:])
    from cockpit.cli import main as cockpit_main

    cockpit_main(argv[2:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
