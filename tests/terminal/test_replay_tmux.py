"""The real `cockpit replay` in a real 80x24 terminal: a recorded incident played back."""

from __future__ import annotations

from tmux_terminal import cockpit_bin, terminal  # noqa: F401, F811 - pytest fixtures

from cockpit.sim.scenario import find_scenario
from cockpit.timeline.journal import read_events
from cockpit.training.autopilot import Autopilot
from cockpit.training.session import TrainingSession


def test_replay_plays_the_record_to_its_end_and_quits(terminal, cockpit_bin) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    session = TrainingSession(find_scenario("bad-deploy"), mode="demo")
    Autopilot(session).play()
    path = session.incident.journal.path
    before = path.read_bytes()
    events = read_events(path)
    span = (events[-1].time - events[0].time).total_seconds()

    term = terminal([str(cockpit_bin), "replay", session.incident_id, "--speed", "60",
                     "--from", str(max(0.0, span - 120))], width=80, height=24,
                    env={"NO_COLOR": "1"})
    # started two minutes before the end: the recorded severity is already in force
    term.wait_for(lambda s: "REPLAY" in s and "Error rate" in s and "SEV CRITICAL" in s)
    term.wait_for(lambda s: "End of the record" in s, timeout=30)
    term.send("q")
    term.wait_gone()
    assert path.read_bytes() == before
