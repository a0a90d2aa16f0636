"""Start-up: time to the first frame with data on the simulated estate, headless at 80x24.

Baseline, measured in the same run: a bare Textual app with one Static, so the
ratio says what the cockpit adds on top of Textual itself.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys

RUNS = 5

BARE = """
import time, asyncio
t0 = time.perf_counter()
from textual.app import App
from textual.widgets import Static
class Bare(App):
    def compose(self):
        yield Static("hello")
async def main():
    app = Bare()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
asyncio.run(main())
print(time.perf_counter() - t0)
"""

COCKPIT = """
import time, asyncio
t0 = time.perf_counter()
from cockpit.app import make_sim_app
async def main():
    app = make_sim_app(start_clock=False)
    async with app.run_test(size=(80, 24)) as pilot:
        while not app.has_first_data():
            await pilot.pause(0.005)
        await pilot.pause()
asyncio.run(main())
print(time.perf_counter() - t0)
"""

IMPORTS = """
import sys, time
t0 = time.perf_counter()
import cockpit.app
HEAVY = {'kubernetes', 'datadog_api_client', 'psycopg', 'redis', 'httpx'}
heavy = sorted({m.split('.')[0] for m in sys.modules} & HEAVY)
print(time.perf_counter() - t0, ",".join(heavy) or "-")
"""


def _run(code: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    return out.stdout.split()


def main() -> None:
    bare = [float(_run(BARE)[0]) for _ in range(RUNS)]
    cockpit = [float(_run(COCKPIT)[0]) for _ in range(RUNS)]
    imports = _run(IMPORTS)
    b, c = statistics.median(bare), statistics.median(cockpit)
    print(f"   bare Textual app, first frame:         {b * 1000:7.0f} ms (median of {RUNS})")
    print(f"   cockpit, first frame with every panel: {c * 1000:7.0f} ms (median of {RUNS})")
    print(f"   ratio cockpit / bare Textual:          {c / b:7.2f}x")
    print(f"   import cockpit.app: {float(imports[0]) * 1000:.0f} ms; heavy client "
          f"libraries imported: {imports[1]}")


if __name__ == "__main__":
    asyncio.run(asyncio.sleep(0))
    main()
