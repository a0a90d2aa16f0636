"""A live incident (real Datadog client on a loopback Datadog) resumes as it was recorded.

The metrics say the error rate has been over 5% for 25 minutes and p95 latency over
1000 ms for 15: both triggers fire on the first poll. The engineer sets the severity,
answers the tree and decides; the SSH session drops. ``cockpit resume`` takes it back:
at the same moment the decision state is the one recorded (fire times, decide-by,
recommendation, severity and its deadline, answers, decision), not a recomputation from
the 10 s chart samples.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from cockpit.app import make_app, open_incident_app
from cockpit.clock import WallClock
from cockpit.config import load_config
from cockpit.connectors import build_sources
from cockpit.incident import IncidentSession


async def wait_until(pilot, condition, what: str, within_s: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    import time

    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, f"waited {within_s:.0f}s for {what}"
        await pilot.pause(0.02)
    await pilot.pause()


async def test_a_live_incident_resumes_with_its_recorded_decision_state(
        fake_datadog, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from conftest import DD_API_KEY, DD_APP_KEY

    # 40 points over the last 30 minutes (45 s apart): breaching for the last 33 / 20
    fake_datadog.series["avg:app.error_rate{env:prod}"] = [0.5] * 7 + [7.5] * 33
    fake_datadog.series["p95:app.response_time{env:prod}"] = [200.0] * 20 + [1600.0] * 20
    config_file = tmp_path / "cockpit.toml"
    config_file.write_text(
        '[cockpit]\nenvironment = "production"\n\n'
        f'[datadog]\nhost = "{fake_datadog.url}"\napi_key_env = "T_DD_API"\n'
        'app_key_env = "T_DD_APP"\ninterval_s = 0.2\ntimeout_s = 2\n')
    env = {"T_DD_API": DD_API_KEY, "T_DD_APP": DD_APP_KEY}
    config = load_config(config_file, env)
    app = make_app(build_sources(config, read_only=True), clock=WallClock(),
                   read_only=True, config_path=str(config_file))
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: len(app.runtime.decision().fired) == 2,
                         "both metric triggers to fire from the Datadog history")
        await pilot.press("s", "c")            # severity Critical
        await pilot.press("f", "n")            # cannot fix forward
        await pilot.press("d", "r")            # roll back
        await wait_until(pilot, lambda: app.runtime.decision().decision is not None,
                         "the decision to be recorded")
        await pilot.press("q")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ChoiceScreen",
                         "the quit question")
        await pilot.press("l")
        await wait_until(pilot, lambda: not app.is_running, "the cockpit to leave",
                         within_s=20)
    # what the engine said when the engineer left (the pollers ran until then)
    at = app.clock.now() + timedelta(minutes=1)
    before = app.runtime.decision(at)
    fired = {t.id: (t.fired_at, t.decide_by) for t in before.fired}
    assert set(fired) == {"error_rate", "latency_p95"}

    import os

    os.environ.update(env)  # the resumed cockpit reads its secrets from the environment
    try:
        session = IncidentSession.resume(app.runtime.incident_id, clock=WallClock())
        resumed = open_incident_app(session)
        try:
            after = resumed.runtime.decision(at)
            assert {t.id: (t.fired_at, t.decide_by) for t in after.fired} == fired
            assert after == before
            assert resumed.runtime.read_only is True
        finally:
            resumed.runtime.shutdown()
            for source in resumed.sources:
                source.close()
    finally:
        for key in env:
            os.environ.pop(key, None)
