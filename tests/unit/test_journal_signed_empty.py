"""A journal emptied or deleted under its signed checkpoints is refused, also when a new
incident is created on the same folder (a new journal skips the checkpoint check only when
there is no checkpoint beside it)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from cockpit.clock import SimClock
from cockpit.incident import IncidentSession
from cockpit.runtime.build import default_policy
from cockpit.runtime.runtime import IncidentRuntime
from cockpit.timeline.checkpoint import CHECKPOINTS_NAME
from cockpit.timeline.journal import (
    _CHECKPOINTS_NAME,
    JOURNAL_NAME,
    Journal,
    JournalCorruptError,
    read_events,
)

INCIDENT = "INC-20250121-143000-c0de"
T0 = datetime(2025, 1, 21, 14, 30, tzinfo=UTC)


def test_the_journal_names_the_checkpoint_file_as_the_checkpointer_does() -> None:
    assert _CHECKPOINTS_NAME == CHECKPOINTS_NAME


@pytest.fixture
def signed(tmp_path: Path) -> Path:
    """An incident whose head was signed (a status update), then left."""
    clock = SimClock(T0, 1.0)
    session = IncidentSession.start(scenario=None, environment="production", mode="live",
                                    title="checkout errors", clock=clock, state_dir=tmp_path,
                                    incident_id=INCIDENT)
    runtime = IncidentRuntime(clock=clock, policy=default_policy(), session=session)
    runtime.status_update("Rolling back checkout 2.14 to 2.13.")
    assert session.checkpointer is not None and session.checkpointer.wait(10.0)
    runtime.disconnect()
    folder = tmp_path / "incidents" / INCIDENT
    assert (folder / CHECKPOINTS_NAME).stat().st_size > 0
    return folder


def test_an_emptied_journal_under_its_checkpoints_is_refused(signed: Path,
                                                             tmp_path: Path) -> None:
    (signed / JOURNAL_NAME).write_bytes(b"")
    with pytest.raises(JournalCorruptError, match="emptied: the journal has no events"):
        Journal.open(INCIDENT, tmp_path)
    assert (signed / JOURNAL_NAME).read_bytes() == b""  # nothing appended to it


def test_a_new_journal_in_place_of_a_deleted_signed_one_is_refused(signed: Path,
                                                                   tmp_path: Path) -> None:
    (signed / JOURNAL_NAME).unlink()
    with pytest.raises(JournalCorruptError, match="emptied: the journal has no events"):
        Journal.create(tmp_path, incident_id=INCIDENT)


def test_a_new_incident_opens_and_records(tmp_path: Path) -> None:
    journal = Journal.create(tmp_path, incident_id=INCIDENT)
    try:
        journal.append("incident.opened", {"title": "t"})
    finally:
        journal.close()
    assert [e.kind for e in read_events(journal.path)] == ["incident.opened"]
