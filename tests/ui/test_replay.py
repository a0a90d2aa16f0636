"""`cockpit replay`: a recorded incident played back in the war room, read-only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pilot_wait import settle, wait_until

from cockpit.app import make_replay_app
from cockpit.sim.scenario import find_scenario
from cockpit.timeline.journal import read_events
from cockpit.training.autopilot import Autopilot
from cockpit.training.session import TrainingSession
from widgets.incident_header import IncidentHeader
from widgets.metric_panel import MetricPanel
from widgets.pods_panel import PodsPanel

SIZE = (80, 24)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A whole bad-deploy incident as the autopilot plays it: the journal path."""
    session = TrainingSession(find_scenario("bad-deploy"), mode="demo",
                              state_dir=tmp_path_factory.mktemp("recorded"))
    Autopilot(session).play()
    return session.incident.journal.path


def read_bytes(path: Path) -> bytes:
    return path.read_bytes()


def first(path: Path, kind: str):  # type: ignore[no-untyped-def]
    return next(e for e in read_events(path) if e.kind == kind)




async def test_replay_reapplies_the_decision_when_the_clock_reaches_it(recorded: Path) -> None:
    before = read_bytes(recorded)
    decision = first(recorded, "decision.recorded")
    opened = read_events(recorded)[0].time
    app = make_replay_app(recorded, start_clock=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "REPLAY" in app.screen.query_one(IncidentHeader).estate
        assert app.engine.state(app.clock.now()).decision is None
        # play up to just after the recorded decision
        app.clock.advance((decision.time - opened).total_seconds() + 1)  # type: ignore[attr-defined]

        def told() -> list[str]:
            return [m.text for m in app.messages]

        await wait_until(pilot, lambda: app.engine.state(app.clock.now()).decision is not None
                         and any(m.startswith("declare the incident") for m in told()),
                         "the recorded declaration and decision to be re-applied")
        state = app.engine.state(app.clock.now())
        assert state.decision is not None and state.decision.decision == "rollback"
        assert str(state.severity) == "critical"
        # the error rate panel draws the recorded samples; the rest was never recorded
        now = app.clock.now()
        recorded_error = [e.data["value"] for e in read_events(recorded)
                          if e.kind == "sample" and e.data["metric"] == "error_rate_pct"
                          and e.time <= now]

        def drawn_from_the_record() -> bool:
            status = app.statuses["metrics"]
            return (status.state == "ok" and status.label == "recorded"
                    and status.snapshot.error_rate_pct.latest == recorded_error[-1])

        await wait_until(pilot, drawn_from_the_record, "the metrics drawn from the record")
        assert app.screen.query_one("#error-rate", MetricPanel).display
        await pilot.press("3")
        assert app.statuses["cluster"].reason == "not in the record"
        assert app.screen.query_one(PodsPanel) is not None
        await pilot.press("n")  # nothing can be added to a replay
        await wait_until(pilot, lambda: any("replay" in m for m in told()),
                         "a notice that a replay cannot be added to")
    assert read_bytes(recorded) == before, "a replay must not write to the journal"


async def test_replay_announces_the_end_of_the_record(recorded: Path) -> None:
    events = read_events(recorded)
    span = (events[-1].time - events[0].time).total_seconds()
    app = make_replay_app(recorded, start_clock=False, advance_s=span + 1)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await wait_until(pilot, lambda: any("End of the record" in m.text
                                            for m in app.messages),
                         "the end of the record to be announced")


def test_replay_of_an_unknown_incident_is_one_line_exit_2() -> None:
    cockpit = Path(sys.executable).with_name("cockpit")
    result = subprocess.run([str(cockpit), "replay", "INC-nope"], capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "INC-nope" in result.stderr
