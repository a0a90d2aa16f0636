"""An SSH drop, for real: the cockpit is killed mid-incident and `cockpit` takes it back."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from tmux_terminal import cockpit_bin, roll_back_the_api, terminal  # noqa: F401 - fixtures

from cockpit.timeline.journal import read_events


def incident_folders() -> list[Path]:
    root = Path(os.environ["COCKPIT_STATE_DIR"]) / "incidents"
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.exists() else []


def wait_gone(term) -> None:  # type: ignore[no-untyped-def]
    term.wait_gone()


def test_killed_cockpit_is_resumed_with_severity_and_notes(terminal, cockpit_bin) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    env = {"NO_COLOR": "1"}
    first = terminal([str(cockpit_bin), "train", "--speed", "60"], width=80, height=24, env=env)
    first.wait_for(lambda s: "Briefing: " in s and "enter start" in s)
    first.send("Enter")  # the trainee has read the briefing: the clock starts
    first.wait_for(lambda s: "Error rate" in s and "SEV" in s)
    first.send("s")
    first.wait_for(lambda s: "Incident severity" in s)
    first.send("h")
    first.wait_for(lambda s: "SEV HIGH" in s)
    first.send("n")
    first.wait_for(lambda s: "Note for" in s)
    first.send("-l", "pods v2 crashlooping")
    first.send("Enter")
    first.wait_for(lambda s: "Note recorded" in s)
    [folder] = incident_folders()
    journal = folder / "journal.jsonl"

    # kill -9: no chance to record anything (the SSH session and the process are gone)
    pid = int(first.tmux("list-panes", "-t", first.name, "-F", "#{pane_pid}").split()[0])
    os.kill(pid, signal.SIGKILL)
    wait_gone(first)
    assert read_events(journal)[-1].kind != "operator.disconnected"

    second = terminal([str(cockpit_bin)], width=80, height=24, env=env)
    offer = second.wait_for(lambda s: "[r]esume it" in s)
    assert folder.name in offer and "bad-deploy" in offer and "severity high" in offer
    second.send("r", "Enter")
    screen = second.wait_for(lambda s: "Error rate" in s and "SEV" in s)
    assert "SEV HIGH" in screen
    assert incident_folders() == [folder], "resuming must not open a second incident"
    kinds = [event.kind for event in read_events(journal)]
    assert "operator.resumed" in kinds
    notes = [e.data["text"] for e in read_events(journal) if e.kind == "note.added"]
    assert notes == ["pods v2 crashlooping"]

    second.send("q")
    second.wait_for(lambda s: "Leave the incident open" in s)
    second.send("l")
    wait_gone(second)
    verify = subprocess.run([str(cockpit_bin), "timeline", "verify", folder.name],
                            capture_output=True, text=True, timeout=30)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_steps_survive_a_killed_terminal_and_the_running_one_is_interrupted(
        terminal, cockpit_bin) -> None:  # type: ignore[no-untyped-def]
    env = {"NO_COLOR": "1"}
    # at 1x the rollout-status wait runs for about a simulated (= real) minute
    first = terminal([str(cockpit_bin), "train", "--speed", "1"], width=80, height=24, env=env)
    first.wait_for(lambda s: "Briefing: " in s and "enter start" in s)
    first.send("Enter")
    first.wait_for(lambda s: "Error rate" in s and "SEV" in s)
    roll_back_the_api(first)
    first.wait_for(lambda s: "[x]  2 Roll back" in s and "> [>]  3 " in s, timeout=30)
    first.send("Enter")
    first.wait_for(lambda s: "[*]  3 Watch the rollback progress" in s)
    [folder] = incident_folders()

    first.kill()  # the terminal goes: the cockpit gets SIGHUP
    journal = folder / "journal.jsonl"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and read_events(journal)[-1].kind != (
            "operator.disconnected"):
        time.sleep(0.2)
    kinds = [e.kind for e in read_events(journal)]
    assert kinds[-1] == "operator.disconnected"
    status_events = [e.kind for e in read_events(journal) if e.data.get("step") == "status"]
    assert status_events == ["step.started"], "the wait must not be recorded as ended"

    second = terminal([str(cockpit_bin), "resume", folder.name], width=80, height=24,
                      env=env)
    second.wait_for(lambda s: "Error rate" in s)
    second.send("6")
    screen = second.wait_for(lambda s: "Frontend rollback (Kubernetes)" in s
                             and "interrupted" in s)
    assert "[x]  1 Check rollout history · done" in screen
    assert "[x]  2 Roll back to the previous revision" in screen
    assert "[?]  3 Watch the rollback progress · interrupted" in screen
    interrupted = [e.data for e in read_events(journal) if e.kind == "step.interrupted"]
    assert [d["step"] for d in interrupted] == ["status"]
    assert "kubectl rollout status deployment/api" in interrupted[0]["preview"]
    second.send("q")
    second.wait_for(lambda s: "Quit: INC-" in s)
    second.send("l")
    wait_gone(second)
