"""The incident timeline: a durable, tamper-evident journal, its replay, verification,
redaction and exports. No Textual here; the app feeds :class:`Reducer` with the events
:meth:`Journal.append` returns."""

from cockpit.timeline.journal import (
    Actor,
    Event,
    Journal,
    JournalCorruptError,
    JournalError,
    JournalLockedError,
    JournalWriteError,
    new_incident_id,
)
from cockpit.timeline.redact import Redactor, default_redactor, register_secret
from cockpit.timeline.replay import IncidentState, Reducer, replay, resume

__all__ = [
    "Actor",
    "Event",
    "IncidentState",
    "Journal",
    "JournalCorruptError",
    "JournalError",
    "JournalLockedError",
    "JournalWriteError",
    "Reducer",
    "Redactor",
    "default_redactor",
    "new_incident_id",
    "register_secret",
    "replay",
    "resume",
]
