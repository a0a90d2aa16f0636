"""kill -9 in the middle of writing: the journal stays valid up to the last whole event."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from cockpit.timeline.journal import Journal
from cockpit.timeline.redact import Redactor
from cockpit.timeline.verify import verify

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from cockpit.timeline.journal import Journal
    journal = Journal.create(Path(sys.argv[1]), incident_id="INC-20250121-143000-dead")
    journal.append("incident.opened", {"scenario": "crash"})
    i = 0
    while True:
        i += 1
        journal.append("note.added", {"text": "line %d " % i + "x" * 3000})
    """
)


def test_kill_9_mid_write_leaves_a_valid_resumable_journal(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], env=env)
    journal_path = tmp_path / "incidents" / "INC-20250121-143000-dead" / "journal.jsonl"
    try:
        for _ in range(2000):
            if journal_path.exists() and journal_path.stat().st_size > 200_000:
                break
            time.sleep(0.01)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    seen = journal_path.read_bytes().count(b"\n")
    assert seen > 10

    report = verify(journal_path)
    assert report.ok, report.lines()
    assert report.events == seen
    assert all("torn last line" in w for w in report.warnings)

    # the stale lock of the killed process does not block the resume
    with Journal.open(journal_path, redactor=Redactor()) as resumed:
        event = resumed.append("operator.resumed", {})
    assert event.seq == seen + 1
    assert verify(journal_path).ok
