"""The journal: line format, permissions, single writer, torn lines, write failures."""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from pathlib import Path

import pytest
from timeline_recorded import ACTOR, INCIDENT_ID, StepClock, record

from cockpit.timeline import journal as journal_mod
from cockpit.timeline.journal import (
    GENESIS,
    Journal,
    JournalLockedError,
    JournalWriteError,
    current_actor,
    event_hash,
    new_incident_id,
    read_events,
)
from cockpit.timeline.redact import Redactor
from cockpit.timeline.verify import verify


def _open(tmp_path: Path, **kw) -> Journal:
    return Journal.create(tmp_path, clock=StepClock(), actor=ACTOR, redactor=Redactor(), **kw)


def test_incident_id_has_utc_time_and_random_suffix() -> None:
    ident = new_incident_id()
    assert re.fullmatch(r"INC-\d{8}-\d{6}-[0-9a-f]{4}", ident)


def test_each_line_is_a_chained_canonical_event(tmp_path: Path) -> None:
    journal = record(tmp_path)
    lines = journal.path.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert records[0]["prev"] == GENESIS
    assert records[0]["seq"] == 1 and records[0]["kind"] == "incident.opened"
    assert records[0]["t"] == "2025-01-21T14:30:00.000Z"
    assert records[0]["actor"] == {"user": "oncall", "host": "bastion-1",
                                   "ssh_client": "203.0.113.7"}
    for before, after in zip(records, records[1:], strict=False):
        assert after["prev"] == before["hash"]
        assert after["seq"] == before["seq"] + 1
    for rec in records:
        assert rec["hash"] == event_hash(rec)
    # redactions appear only on events that had something redacted
    assert "redactions" not in records[0]
    assert any("redactions" in r for r in records)


def test_folder_and_files_are_owner_only(tmp_path: Path) -> None:
    journal = record(tmp_path)
    assert stat.S_IMODE(os.stat(journal.folder).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(journal.path).st_mode) == 0o600
    assert journal.folder == tmp_path / "incidents" / INCIDENT_ID


def test_second_writer_is_told_who_holds_the_incident(tmp_path: Path) -> None:
    first = _open(tmp_path)
    first.append("incident.opened", {"scenario": "s"})
    with pytest.raises(JournalLockedError) as caught:
        Journal.open(first.incident_id, tmp_path)
    message = str(caught.value)
    assert f"incident {first.incident_id} is open in another cockpit" in message
    assert f"pid {os.getpid()}" in message
    first.close()
    # once released, the incident can be resumed and continues the chain
    with Journal.open(first.incident_id, tmp_path, actor=ACTOR, redactor=Redactor()) as again:
        event = again.append("operator.resumed", {})
    assert event.seq == 2 and event.prev == first.head


def test_actor_reads_ssh_client_address() -> None:
    actor = current_actor({"SSH_CLIENT": "198.51.100.4 51234 22"})
    assert actor.ssh_client == "198.51.100.4"
    assert current_actor({"SSH_CONNECTION": "198.51.100.9 1 10.0.0.1 22"}).ssh_client == (
        "198.51.100.9")
    assert current_actor({}).ssh_client is None


def test_torn_last_line_is_set_aside_on_reopen(tmp_path: Path) -> None:
    journal = record(tmp_path)
    whole = journal.path.read_bytes()
    count = whole.count(b"\n")
    with open(journal.path, "ab") as handle:
        handle.write(b'{"seq": 99, "t": "2025-01-21T15:')
    with Journal.open(INCIDENT_ID, tmp_path, actor=ACTOR, redactor=Redactor()) as reopened:
        assert reopened.torn is not None
        assert reopened.torn.describe() == (
            f"journal.jsonl:{count + 1}: torn last line (crash mid-write), set aside to "
            "journal.torn-1")
        assert reopened.seq == count
        reopened.append("operator.resumed", {})
    aside = journal.folder / "journal.torn-1"
    assert aside.read_bytes() == b'{"seq": 99, "t": "2025-01-21T15:'
    assert stat.S_IMODE(os.stat(aside).st_mode) == 0o600
    report = verify(journal.path)
    assert report.ok and report.events == count + 1


def test_unparsable_last_line_with_newline_is_torn_too(tmp_path: Path) -> None:
    journal = record(tmp_path)
    with open(journal.path, "ab") as handle:
        handle.write(b'{"seq": 1\n')
    with Journal.open(INCIDENT_ID, tmp_path, actor=ACTOR, redactor=Redactor()) as reopened:
        assert reopened.torn is not None
        assert reopened.path.read_bytes().endswith(b"}\n")


def test_failed_write_raises_and_leaves_the_journal_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = _open(tmp_path)
    journal.append("incident.opened", {"scenario": "s"})
    real_write = os.write

    def half_then_full(fd: int, data: bytes) -> int:
        real_write(fd, bytes(data[:10]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(journal_mod.os, "write", half_then_full)
    with pytest.raises(JournalWriteError, match="No space left on device"):
        journal.append("step.started", {"runbook": "r", "step": "undo"})
    monkeypatch.setattr(journal_mod.os, "write", real_write)
    assert journal.seq == 1
    assert verify(journal.path).ok and verify(journal.path).warnings == ()
    event = journal.append("note.added", {"text": "disk freed"})
    assert event.seq == 2
    journal.close()
    assert [e.kind for e in read_events(journal.path)] == ["incident.opened", "note.added"]


def test_unserialisable_data_is_refused_without_writing(tmp_path: Path) -> None:
    journal = _open(tmp_path)
    with pytest.raises(JournalWriteError, match="not JSON-serialisable"):
        journal.append("note.added", {"text": object()})
    journal.close()
    assert journal.path.read_bytes() == b""


def test_samples_are_throttled_to_one_per_metric_per_10s(tmp_path: Path) -> None:
    clock = StepClock()
    journal = Journal.create(tmp_path, clock=clock, actor=ACTOR, redactor=Redactor())
    assert journal.record_sample("error_rate", 1.0) is not None
    clock.advance(5)
    assert journal.record_sample("error_rate", 2.0) is None
    assert journal.record_sample("latency_p95_ms", 300) is not None
    clock.advance(5)
    assert journal.record_sample("error_rate", 3.0) is not None
    journal.close()
    assert [e.data["value"] for e in read_events(journal.path)] == [1.0, 300, 3.0]


def test_state_dir_defaults_to_cockpit_state_dir_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COCKPIT_STATE_DIR", str(tmp_path))
    with Journal.create(actor=ACTOR, redactor=Redactor()) as journal:
        journal.append("incident.opened", {})
    assert journal.path.parent.parent == tmp_path / "incidents"
