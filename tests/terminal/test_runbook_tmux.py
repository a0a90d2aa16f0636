"""The runbook pane in the real `cockpit` at 80x24: open a runbook and run a step by keyboard."""

from __future__ import annotations

import os
from pathlib import Path

from tmux_terminal import cockpit_bin, terminal  # noqa: F401 - pytest fixtures

from cockpit.timeline.journal import read_events


def test_open_frontend_kubernetes_and_run_its_first_step(terminal, cockpit_bin) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    term = terminal([str(cockpit_bin), "train", "--speed", "60"], width=80, height=24,
                    env={"NO_COLOR": "1"})
    term.wait_for(lambda s: "Briefing: " in s and "enter start" in s)
    term.send("Enter")
    term.wait_for(lambda s: "Error rate" in s and "SEV" in s)
    term.send("o")
    term.wait_for(lambda s: "Open a runbook" in s and "recommended" in s)
    term.send("-l", "frontend-kubernetes")
    term.send("Enter")
    screen = term.wait_for(lambda s: "Frontend rollback (Kubernetes)" in s and "[>]" in s)
    assert "> [>]  1 Check rollout history · ready" in screen
    assert "$ kubectl rollout history deployment/frontend -n production" in screen
    assert "Phase 1/3 Assess" in screen and "enter run" in screen
    term.send("Enter")
    # the step's outcome and the cursor moving to the next step are drawn one after the other
    term.wait_for(lambda s: "[x]  1 Check rollout history · done" in s
                  and "> [>]  2 Roll back to the previous revision" in s)
    # the destructive step asks for the target's name; escape leaves it untouched
    term.send("Enter")
    term.wait_for(lambda s: "DESTRUCTIVE STEP" in s and "Type the target name" in s)
    term.send("Escape")
    term.wait_for(lambda s: "DESTRUCTIVE STEP" not in s and "2 Roll back" in s)

    [folder] = sorted((Path(os.environ["COCKPIT_STATE_DIR"]) / "incidents").iterdir())
    events = read_events(folder / "journal.jsonl")
    finished = [e.data for e in events if e.kind == "step.finished"]
    assert [(d["runbook"], d["step"], d["outcome"]) for d in finished] == [
        ("frontend-kubernetes", "history", "done")]
    assert "REVISION" in finished[0]["output"]
    assert not [e for e in events if e.kind == "step.started" and e.data["step"] == "undo"]
