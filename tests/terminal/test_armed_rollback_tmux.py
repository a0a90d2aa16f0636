"""The armed automatic rollback in the real `cockpit` at 80x24 with NO_COLOR: b arms it, the
header says ARMED, the error rate fires, the hold names the exact undo and runs it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tmux_terminal import cockpit_bin, terminal  # noqa: F401 - pytest fixtures

from cockpit.timeline.journal import read_events

UNDO = "kubectl rollout undo deployment/api -n production --to-revision=7"


@pytest.mark.timeout(240)  # a loaded machine: the waits below fail first, saying what
def test_arm_then_the_fired_trigger_rolls_the_suspect_back(terminal, cockpit_bin) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    term = terminal([str(cockpit_bin), "train", "--speed", "60"], width=80, height=24,
                    env={"NO_COLOR": "1"})
    term.wait_for(lambda s: "Briefing: " in s and "enter start" in s)
    term.send("Enter")
    term.wait_for(lambda s: "Error rate" in s and "SEV" in s)
    term.send("b")
    term.wait_for(lambda s: "Arm the automatic rollback" in s and "[ ] error_rate" in s)
    term.send("Space")
    term.wait_for(lambda s: "[x] error_rate" in s)
    term.send("Tab")
    term.send("-l", "CTO or VP Engineering")
    term.send("Enter")
    term.wait_for(lambda s: "Arm the automatic rollback" not in s and " ARMED " in s)
    [folder] = sorted((Path(os.environ["COCKPIT_STATE_DIR"]) / "incidents").iterdir())

    def rolled_back(_screen: str) -> bool:
        return any(e.kind == "step.finished" and e.data.get("runbook") == "automatic-rollback"
                   for e in read_events(folder / "journal.jsonl"))

    # at x60 the error rate fires within seconds and the hold (60 s simulated) lasts one:
    # wait for what it leaves in the record, never for a time
    try:
        term.wait_for(rolled_back, timeout=75)
    except AssertionError:
        said = [(e.kind, e.data) for e in read_events(folder / "journal.jsonl")
                if e.kind.startswith(("rollback.", "step.", "runbook."))]
        raise AssertionError(f"no automatic rollback recorded: {said}") from None
    events = read_events(folder / "journal.jsonl")
    kinds = [e.kind for e in events if e.kind.startswith("rollback.")]
    assert kinds == ["rollback.armed", "rollback.hold_started", "rollback.hold_confirmed"]
    started = next(e.data for e in events if e.kind == "rollback.hold_started")
    assert started["command"] == UNDO
    assert started["why"] == "error_rate fired 7m after api went to r8"
    step = next(e.data for e in events if e.kind == "step.started"
                and e.data["runbook"] == "automatic-rollback")
    assert step["preview"] == UNDO and "(armed the automatic rollback)" in step["approver"]
