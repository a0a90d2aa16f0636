"""Training walkthroughs in the real `cockpit` at 80x24: guided by keyboard, and the demo."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tmux_terminal import (  # noqa: F401 - pytest fixtures
    cockpit_bin,
    roll_back_the_api,
    terminal,
)

from cockpit.timeline.journal import read_events


def journal() -> Path:
    [folder] = sorted((Path(os.environ["COCKPIT_STATE_DIR"]) / "incidents").iterdir())
    return folder / "journal.jsonl"


def gone(term, timeout: float = 30.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while term.alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    return not term.alive()


def test_guided_walkthrough_by_keyboard_to_the_debrief(terminal, cockpit_bin) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    term = terminal([str(cockpit_bin), "train", "--scenario", "bad-deploy", "--mode", "guided",
                     "--speed", "60"], width=80, height=24, env={"NO_COLOR": "1"})
    # the briefing first: the scenario, the goal and the keys; the clock waits for enter
    briefing = term.wait_for(lambda s: "Briefing: Bad deploy of api v2" in s
                             and "enter start" in s)
    assert "GUIDED · speed x60" in briefing and "T+00:00 until you start" in briefing
    assert "declare: set the severity" in briefing
    term.send("Enter")
    term.wait_for(lambda s: "GUIDED" in s and "Error rate" in s)
    # the trainee waits; the trigger fires; the coach says what the procedure expects
    term.wait_for(lambda s: "Declare: press s" in s, timeout=40)
    term.send("s")
    term.wait_for(lambda s: "Incident severity" in s)
    term.send("c")
    term.wait_for(lambda s: "SEV CRITICAL" in s)
    term.send("d")
    term.wait_for(lambda s: "Record the decision" in s)
    term.send("r")
    term.wait_for(lambda s: "Decision recorded" in s)

    roll_back_the_api(term)
    for number in (3, 4, 5):
        term.wait_for(lambda s, n=number: f"> [>]  {n} " in s, timeout=20)
        term.send("Enter")
        term.wait_for(lambda s, n=number: f"[x]  {n} " in s or "COMPLETE" in s, timeout=40)
    term.wait_for(lambda s: "COMPLETE" in s)
    term.send("1")  # back to the metrics: the error rate recovers
    term.wait_for(lambda s: "ok (limit" in s, timeout=40)

    term.send("q")
    term.wait_for(lambda s: "Quit: INC-" in s)
    term.send("c")
    debrief = term.wait_for(lambda s: "Debrief: bad-deploy (guided)" in s and "Outcome:" in s)
    events = read_events(journal())
    outcome = [e.data for e in events if e.kind == "training.outcome"][-1]
    assert outcome["restored"] is True and outcome["data_lost_rows"] == 0
    # nothing covers the debrief: it says what the record says
    assert "Outcome: RESTORED" in debrief and "Data lost: no" in debrief
    kinds = [e.kind for e in events]
    assert kinds[-1] == "incident.closed" and "score.recorded" in kinds
    term.send("Escape")
    assert gone(term)


def test_demo_walkthrough_narrates_and_quits(terminal, cockpit_bin) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    term = terminal([str(cockpit_bin), "train", "--scenario", "bad-deploy", "--mode", "demo",
                     "--speed", "60"], width=80, height=24, env={"NO_COLOR": "1"})
    term.wait_for(lambda s: "DEMO" in s and "Error rate" in s)
    term.send("s")  # hands off: the autopilot answers
    term.wait_for(lambda s: "autopilot is at the keyboard" in s)
    term.wait_for(lambda s: "Autopilot" in s and "why" in s, timeout=40)
    term.send("q")
    assert gone(term)
    assert read_events(journal())[-1].kind == "incident.closed"
