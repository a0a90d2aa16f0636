"""The terminal is watched (issue #12, item 4): the real ``cockpit`` in tmux.

A terminal that goes without a SIGHUP (the pty closed under a cockpit in another session,
as after ``nohup``, ``setsid`` or a wrapper that swallows the signal) reads EOF forever:
the cockpit used to spin at full CPU on it, stop recording and keep the incident locked.
Now it is a disconnect: ``operator.disconnected`` recorded, the lock released, exit 129,
CPU low. SIGTERM is recorded like SIGHUP and restores the terminal (exit 143). The "resume
it?" prompt of a bare ``cockpit`` exits when its terminal goes.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "terminal"))

from tmux_terminal import Terminal, cockpit_bin, terminal  # noqa: E402, F401 - fixtures

from cockpit.clock import WallClock  # noqa: E402
from cockpit.incident import IncidentSession  # noqa: E402
from cockpit.timeline.journal import read_events  # noqa: E402

#: Runs a command in a session of its own (so a closed terminal sends it no SIGHUP, and
#: it sees only EOF or EIO), writes its pid, waits for it and writes its exit status.
DETACHED = """
import os, signal, sys
pid_file, rc_file, *command = sys.argv[1:]
child = os.fork()
if child == 0:
    os.setsid()
    with open(pid_file + ".tmp", "w") as out:
        out.write(str(os.getpid()))
    os.rename(pid_file + ".tmp", pid_file)
    os.execv(command[0], command)
signal.signal(signal.SIGHUP, signal.SIG_IGN)
_, status = os.waitpid(child, 0)
with open(rc_file + ".tmp", "w") as out:
    out.write(str(os.waitstatus_to_exitcode(status)))
os.rename(rc_file + ".tmp", rc_file)
"""


def incident_folders() -> list[Path]:
    root = Path(os.environ["COCKPIT_STATE_DIR"]) / "incidents"
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.exists() else []


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds the process has used, None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for_file(path: Path, within_s: float = 30.0) -> str:
    deadline = time.monotonic() + within_s
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.1)
    return path.read_text()


def exits_within(pid: int, within_s: float) -> tuple[float, float]:
    """Watch ``pid`` until it is gone: ``(seconds it took, CPU seconds it used meanwhile)``;
    fails if it is still running after ``within_s``."""
    started = time.monotonic()
    first = cpu_seconds(pid) or 0.0
    last = first
    while True:
        now = cpu_seconds(pid)
        if now is None:
            return time.monotonic() - started, last - first
        last = now
        if time.monotonic() - started > within_s:
            os.kill(pid, signal.SIGKILL)  # do not leave a spinning cockpit behind
            raise AssertionError(f"still running {within_s:.0f}s after its terminal went, "
                                 f"having used {last - first:.1f}s of CPU")
        time.sleep(0.05)


def start_detached(start, tmp_path: Path, *command: str) -> tuple[Terminal, int, Path]:  # type: ignore[no-untyped-def]
    """``command`` in tmux, in a session of its own: ``(terminal, its pid, its rc file)``."""
    pid_file, rc_file = tmp_path / "pid", tmp_path / "rc"
    term = start([sys.executable, "-c", DETACHED, str(pid_file), str(rc_file), *command],
                    width=80, height=24, env={"NO_COLOR": "1"})
    pid = int(wait_for_file(pid_file))
    return term, pid, rc_file


def test_a_terminal_gone_without_sighup_is_a_disconnect(terminal, cockpit_bin,  # noqa: F811
                                                        tmp_path) -> None:  # type: ignore[no-untyped-def]
    term, pid, rc_file = start_detached(terminal, tmp_path, str(cockpit_bin), "train",
                                        "--speed", "1", "--no-briefing")
    term.wait_for(lambda s: "Error rate" in s and "SEV" in s)
    [folder] = incident_folders()

    term.kill()  # the pty's master closes: the cockpit (another session) gets no SIGHUP
    took, cpu = exits_within(pid, within_s=15)
    assert took < 10, f"it took {took:.1f}s to notice"
    assert cpu < 0.6 * took + 0.5, f"{cpu:.1f}s of CPU in {took:.1f}s: it spun"
    assert wait_for_file(rc_file, 5) == "129"
    kinds = [event.kind for event in read_events(folder / "journal.jsonl")]
    assert kinds[-1] == "operator.disconnected"

    # the lock is free: the incident resumes in another terminal
    again = terminal([str(cockpit_bin), "resume", folder.name], width=80, height=24,
                     env={"NO_COLOR": "1"})
    again.wait_for(lambda s: "Error rate" in s and "SEV" in s)
    assert "operator.resumed" in [e.kind for e in read_events(folder / "journal.jsonl")]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_is_recorded_and_the_terminal_restored(terminal, cockpit_bin,  # noqa: F811
                                                       sig) -> None:  # type: ignore[no-untyped-def]
    script = f'"{cockpit_bin}" train --speed 1 --no-briefing; echo "cockpit exited: $?"; sleep 60'
    term = terminal(["sh", "-c", script], width=80, height=24, env={"NO_COLOR": "1"})
    term.wait_for(lambda s: "Error rate" in s and "SEV" in s)
    [folder] = incident_folders()
    shell = int(term.tmux("list-panes", "-t", term.name, "-F", "#{pane_pid}").split()[0])
    [cockpit] = [int(p) for p in
                 Path(f"/proc/{shell}/task/{shell}/children").read_text().split()]

    os.kill(cockpit, sig)
    screen = term.wait_for(lambda s: "cockpit exited:" in s, timeout=15)
    # the alternate screen is left: the shell's own screen shows, not the war room
    assert f"cockpit exited: {128 + sig}" in screen
    assert "Error rate" not in screen and "SEV" not in screen
    kinds = [event.kind for event in read_events(folder / "journal.jsonl")]
    assert kinds[-1] == "operator.disconnected"
    # the terminal is back in its own modes: what is typed is echoed again
    term.send("-l", "typed-after")
    term.wait_for(lambda s: "typed-after" in s, timeout=5)


def open_incident_left_behind() -> Path:
    session = IncidentSession.start(scenario="bad-deploy", environment="production",
                                    mode="training", title="left open", clock=WallClock())
    session.disconnect()
    [folder] = incident_folders()
    return folder


@pytest.mark.parametrize("detached", [True, False], ids=["no-sighup", "sighup"])
def test_the_resume_prompt_exits_when_its_terminal_goes(terminal, cockpit_bin, tmp_path,  # noqa: F811
                                                        detached) -> None:  # type: ignore[no-untyped-def]
    folder = open_incident_left_behind()
    if detached:
        term, pid, rc_file = start_detached(terminal, tmp_path, str(cockpit_bin))
    else:
        term = terminal([str(cockpit_bin)], width=80, height=24, env={"NO_COLOR": "1"})
        pid = int(term.tmux("list-panes", "-t", term.name, "-F", "#{pane_pid}").split()[0])
    term.wait_for(lambda s: "[r]esume it" in s and folder.name in s)

    term.kill()
    took, cpu = exits_within(pid, within_s=10)
    assert cpu < 0.6 * took + 0.5, f"{cpu:.1f}s of CPU in {took:.1f}s: it spun"
    if detached:
        assert wait_for_file(rc_file, 5) == "129"
    # nothing was chosen for the operator: the incident is still open, as it was
    kinds = [event.kind for event in read_events(folder / "journal.jsonl")]
    assert kinds[-1] == "operator.disconnected" and "incident.closed" not in kinds
    assert incident_folders() == [folder], "no new training incident was opened"


def test_the_resume_prompt_still_takes_an_answer(terminal, cockpit_bin) -> None:  # noqa: F811  # type: ignore[no-untyped-def]
    folder = open_incident_left_behind()
    term = terminal([str(cockpit_bin)], width=80, height=24, env={"NO_COLOR": "1"})
    term.wait_for(lambda s: "[r]esume it" in s)
    term.send("-l", "x")
    term.send("Enter")
    term.wait_for(lambda s: s.count("[r]esume it") == 2)  # asked again
    term.send("r", "Enter")
    term.wait_for(lambda s: "Error rate" in s and "SEV" in s)
    assert "operator.resumed" in [e.kind for e in read_events(folder / "journal.jsonl")]


def test_sigterm_waits_for_nothing_when_no_step_runs(terminal, cockpit_bin,  # noqa: F811
                                                     tmp_path) -> None:  # type: ignore[no-untyped-def]
    term, pid, rc_file = start_detached(terminal, tmp_path, str(cockpit_bin), "train",
                                        "--speed", "1", "--no-briefing")
    term.wait_for(lambda s: "Error rate" in s and "SEV" in s)
    os.kill(pid, signal.SIGTERM)
    took, _ = exits_within(pid, within_s=10)
    assert took < 5
    assert wait_for_file(rc_file, 5) == "143"


def test_waiting_for_a_running_change_step_blocks_instead_of_polling() -> None:
    """At SIGHUP the cockpit waits for a running change step (it must be recorded): the
    wait sleeps on the desk's condition and wakes when the step ends, not on a timer."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
    from test_runbook_desk import desk  # noqa: PLC0415 - the desk's own fake executor

    from cockpit.runbook.engine import Confirmation  # noqa: PLC0415

    made, _, executor = desk()
    made.open("api-undo")
    made.start("api-undo", "history", background=False)
    executor.release.clear()
    made.start("api-undo", "undo", Confirmation("api", "Dana"))  # a change, held running
    ended: list[float] = []

    def end_the_step() -> None:
        ended.append(time.monotonic())
        executor.release.set()

    timer = threading.Timer(1.5, end_the_step)
    waiter = threading.get_ident()
    wakes = 0
    original_wait, original_sleep = threading.Condition.wait, time.sleep

    def counting_wait(self: threading.Condition, timeout: float | None = None) -> bool:
        nonlocal wakes
        wakes += threading.get_ident() == waiter
        return original_wait(self, timeout)

    def counting_sleep(seconds: float) -> None:
        nonlocal wakes
        wakes += threading.get_ident() == waiter
        original_sleep(seconds)

    cpu_before = time.thread_time()
    timer.start()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(threading.Condition, "wait", counting_wait)
        patch.setattr(time, "sleep", counting_sleep)
        made.wait_idle(changes_only=True)
    returned = time.monotonic()
    assert made.idle() and ended, "the change step was waited for to its end"
    assert returned - ended[0] < 0.2, "woken by the step's end, not by a poll"
    assert wakes <= 3, f"woke {wakes} times in 1.5 s: it polled"
    assert time.thread_time() - cpu_before < 0.1
