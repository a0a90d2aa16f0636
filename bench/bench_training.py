"""Benchmark: the headless autopilot on every scenario (``cockpit train --headless``).

For each scenario: wall time of the whole run (estate, decision engine, runbooks
through the simulator, fsynced journal, score), the simulated time it covers and
the journal's size. Baseline, measured in the same run: only the estate and the
decision engine stepping through the same simulated span every 10 s (no journal,
no runbooks), so the ratio is what the incident record and the runbook engine
add. Not a test: nothing is asserted.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from cockpit.decision import DecisionEngine, load_policy
from cockpit.sim.estate import SimEstate
from cockpit.sim.scenario import find_scenario, scenario_ids


def autopilot_run(scenario_id: str, state_dir: Path) -> tuple[float, float, int, int]:
    from cockpit.training.autopilot import Autopilot
    from cockpit.training.session import TrainingSession

    started = time.perf_counter()
    session = TrainingSession(find_scenario(scenario_id), state_dir=state_dir)
    score = Autopilot(session).play()
    wall = time.perf_counter() - started
    return wall, session.elapsed_s, len(session.events()), score.total


def baseline_run(scenario_id: str, sim_s: float) -> float:
    policy = load_policy()
    scenario = find_scenario(scenario_id)
    started = time.perf_counter()
    estate = SimEstate(scenario)
    engine = DecisionEngine(policy, started_at=estate.now())
    steps = int(sim_s // 10)
    for _ in range(steps):
        estate.clock.advance(10)
        now = estate.now()
        for metric, value in estate.sample_values().items():
            engine.observe(metric, now, value)
        engine.tick(now)
    return time.perf_counter() - started


def main() -> None:
    os.environ.setdefault("COCKPIT_STATE_DIR", tempfile.mkdtemp(prefix="bench-training-"))
    total_wall = total_base = total_sim = 0.0
    print(f"   {'scenario':<26}{'run':>8}{'sim time':>10}{'x real':>9}{'events':>8}"
          f"{'score':>7}{'baseline':>10}{'ratio':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for sid in scenario_ids():
            wall, sim_s, events, total = autopilot_run(sid, Path(tmp))
            base = baseline_run(sid, sim_s)
            total_wall += wall
            total_base += base
            total_sim += sim_s
            print(f"   {sid:<26}{wall:>7.2f}s{sim_s / 60:>8.1f}m{sim_s / wall:>8.0f}x"
                  f"{events:>8}{total:>7}{base:>9.3f}s{wall / base:>6.1f}x")
    print(f"   all {len(scenario_ids())} scenarios: {total_wall:.2f} s for "
          f"{total_sim / 3600:.1f} simulated hours ({total_sim / total_wall:.0f}x real time); "
          f"{total_wall / total_base:.1f}x the estate+engine baseline ({total_base:.2f} s)")


if __name__ == "__main__":
    main()
