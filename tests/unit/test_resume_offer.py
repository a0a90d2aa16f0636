"""A bare ``cockpit`` finds the incident to offer for resume from the journals' tails."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest

from cockpit.clock import SimClock
from cockpit.commands.resume import latest_resumable
from cockpit.incident import IncidentSession
from cockpit.timeline import journal as journal_mod
from cockpit.timeline.journal import JOURNAL_NAME, last_event, read_events
from cockpit.timeline.kinds import EventKind as K
from cockpit.timeline.store import list_incidents

T0 = datetime(2025, 1, 21, 14, 0, tzinfo=UTC)


def incident(state: Path, stamp: str, *, close: bool = False, hold: bool = False,
             notes: int = 0) -> IncidentSession:
    session = IncidentSession.start(scenario="bad-deploy", environment="production",
                                    mode="training", title="resume offer", clock=SimClock(T0),
                                    state_dir=state, incident_id=f"INC-20250121-{stamp}-0a0a")
    for n in range(notes):
        session.record(K.NOTE_ADDED, {"text": f"note {n}"})
    if close:
        session.close()
    elif not hold:
        session.disconnect()
    return session


def first_open_unheld(state: Path, held: set[str]) -> str | None:
    """What the offer chose before: the first open, unheld entry of list_incidents."""
    for summary in list_incidents(state):
        if summary.state == "open" and summary.id not in held:
            return summary.id
    return None


def test_the_newest_open_unheld_incident_is_offered_past_newer_closed_and_held_ones(
        tmp_path: Path) -> None:
    incident(tmp_path, "140000")                      # open, older
    wanted = incident(tmp_path, "141000", notes=3)    # open: the one to offer
    incident(tmp_path, "142000", close=True)          # closed, newer
    held = incident(tmp_path, "143000", hold=True)    # open but held by a cockpit
    incident(tmp_path, "144000", close=True)          # closed, newest
    try:
        found = latest_resumable(tmp_path)
        assert found is not None
        assert found.id == wanted.incident_id
        assert found.id == first_open_unheld(tmp_path, {held.incident_id})
        assert found.state == "open" and found.events == len(read_events(wanted.journal.path))
    finally:
        held.disconnect()


def test_nothing_is_offered_when_every_incident_is_closed(tmp_path: Path) -> None:
    for stamp in ("140000", "141000", "142000"):
        incident(tmp_path, stamp, close=True)
    assert latest_resumable(tmp_path) is None
    assert latest_resumable(tmp_path / "nowhere") is None


def test_last_event_is_the_last_whole_line_and_a_torn_tail_is_skipped(tmp_path: Path) -> None:
    session = incident(tmp_path, "140000", close=True)
    path = session.journal.path
    events = read_events(path)
    last = last_event(path)
    assert last == events[-1] and last.kind == K.INCIDENT_CLOSED
    with path.open("ab") as handle:  # a crash mid-write: no newline
        handle.write(b'{"seq": 99, "kind": "note.ad')
    assert last_event(path) == events[-1]
    assert read_events(path)[-1] == events[-1]
    with path.open("ab") as handle:  # the torn line ended by a newline: still torn
        handle.write(b"\n")
    assert last_event(path) == events[-1]


def test_a_tail_that_cannot_be_read_falls_back_to_the_whole_journal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    open_one = incident(tmp_path, "140000")
    closed = incident(tmp_path, "141000", close=True)
    # a last line longer than the window: the tail says nothing, the whole journal is read
    assert last_event(closed.journal.path, window=64) is None
    assert last_event(closed.journal.path) is not None
    monkeypatch.setattr(journal_mod, "last_event", partial(journal_mod.last_event, window=64))
    found = latest_resumable(tmp_path)
    assert found is not None and found.id == open_one.incident_id


def test_a_closed_event_inside_a_note_does_not_close_the_incident(tmp_path: Path) -> None:
    session = incident(tmp_path, "140000")
    again = IncidentSession.resume(str(session.journal.path), clock=SimClock(T0),
                                   state_dir=tmp_path)
    again.record(K.NOTE_ADDED, {"text": json.dumps({"kind": K.INCIDENT_CLOSED.value})})
    again.disconnect()
    found = latest_resumable(tmp_path)
    assert found is not None and found.id == session.incident_id
    assert (tmp_path / "incidents" / session.incident_id / JOURNAL_NAME).is_file()
