"""Benchmark: the decision engine over 24 hours of 1-second samples for all six metrics.

518,400 samples.  Figures are printed with a ratio against baselines measured in the
same run: creating/iterating the samples with a trivial per-sample call, and (for the
headless pipeline) just parsing the JSON lines.  Not a test: nothing is asserted.
"""

from __future__ import annotations

import json
import math
import time
from datetime import UTC, datetime, timedelta

from cockpit.decision import DecisionEngine, load_policy
from cockpit.decision.headless import evaluate_samples, parse_samples

METRICS = (
    ("error_rate_pct", 1.0, 6.0),
    ("latency_p95_ms", 400.0, 700.0),
    ("health_check_failing_pct", 2.0, 3.0),
    ("db_connection_error_pct", 1.0, 2.0),
    ("cpu_pct", 60.0, 38.0),
    ("memory_pct", 70.0, 28.0),
)
SECONDS = 24 * 3600
T0 = datetime(2025, 1, 21, tzinfo=UTC)


def make_samples() -> list[tuple[str, datetime, float]]:
    """24 h of samples: slow waves that cross the thresholds a few times a day."""
    out = []
    for s in range(SECONDS):
        t = T0 + timedelta(seconds=s)
        wave = math.sin(s / 3000.0)
        for name, base, swing in METRICS:
            out.append((name, t, base + swing * wave))
    return out


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    policy = load_policy()
    samples = make_samples()
    n = len(samples)

    def baseline() -> None:
        sink: list[float] = []
        push = sink.append
        for _name, _t, value in samples:
            push(value)

    def engine_run() -> None:
        engine = DecisionEngine(policy)
        observe = engine.observe
        for name, t, value in samples:
            observe(name, t, value)
        engine.state(samples[-1][1])

    def engine_with_ticks() -> None:
        engine = DecisionEngine(policy)
        observe, tick = engine.observe, engine.tick
        for name, t, value in samples:
            tick(t)
            observe(name, t, value)

    base = min(timed(baseline) for _ in range(3))
    eng = min(timed(engine_run) for _ in range(2))
    ticked = timed(engine_with_ticks)
    print(f"decision engine, {n:,} samples (24 h x 1 s x 6 metrics)")
    print(f"  baseline (iterate the samples, append each value): {base:.3f} s")
    print(f"  engine.observe:          {eng:.2f} s; {n / eng / 1e6:.2f} M samples/s;"
          f" {eng / base:.1f}x baseline")
    print(f"  engine.tick + observe:   {ticked:.2f} s; {ticked / base:.1f}x baseline")

    lines = [
        json.dumps({"t": t.isoformat().replace("+00:00", "Z"), "metric": m, "value": v})
        for m, t, v in samples
    ]
    parse = timed(lambda: parse_samples(lines, policy, "bench"))
    parsed = parse_samples(lines, policy, "bench")
    headless = timed(lambda: evaluate_samples(parsed, policy))
    print(f"  headless: parse {parse:.2f} s + evaluate {headless:.2f} s;"
          f" evaluate is {headless / parse:.2f}x the cost of just parsing the lines")


if __name__ == "__main__":
    main()
