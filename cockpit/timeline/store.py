"""Finding incidents on disk: listing, resolving an ID or path, the latest open one."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cockpit.timeline.journal import JOURNAL_NAME, incidents_dir, read_events
from cockpit.timeline.replay import replay

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
INCIDENT_ID = re.compile(r"^INC-\d{8}-\d{6}-[0-9a-f]{4}$")


class UnknownIncidentError(LookupError):
    """No incident matches the given ID or path."""


@dataclass(frozen=True)
class IncidentSummary:
    """One line of ``cockpit incidents``."""

    id: str
    scenario: str | None
    state: str
    opened: datetime | None
    last_event: datetime | None
    severity: str | None
    events: int
    path: Path

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-friendly dict."""
        return {
            "id": self.id,
            "scenario": self.scenario,
            "state": self.state,
            "opened": self.opened.isoformat() if self.opened else None,
            "last_event": self.last_event.isoformat() if self.last_event else None,
            "severity": self.severity,
            "events": self.events,
            "path": str(self.path),
        }


def summarise(folder: Path) -> IncidentSummary:
    """Summarise the incident in ``folder`` (reads its journal; a torn tail is ignored)."""
    events = read_events(folder / JOURNAL_NAME)
    state = replay(events, folder.name)
    return IncidentSummary(
        id=folder.name,
        scenario=state.scenario,
        state="open" if state.is_open else "closed",
        opened=state.opened_at or (events[0].time if events else None),
        last_event=state.last_event_at,
        severity=state.severity,
        events=state.events,
        path=folder,
    )


def list_incidents(state_dir: Path) -> list[IncidentSummary]:
    """Every incident under ``state_dir``, newest first; unreadable journals are skipped."""
    root = incidents_dir(state_dir)
    if not root.is_dir():
        return []
    found: list[IncidentSummary] = []
    for folder in sorted(root.iterdir(), reverse=True):
        if not (folder / JOURNAL_NAME).is_file():
            continue
        try:
            found.append(summarise(folder))
        except (OSError, ValueError):
            continue
    return found


def latest_open_incident(state_dir: Path) -> IncidentSummary | None:
    """The most recently active incident that is still open (for ``cockpit resume``)."""
    open_ones = [s for s in list_incidents(state_dir) if s.state == "open"]
    if not open_ones:
        return None
    return max(open_ones, key=lambda s: s.last_event or s.opened or _EPOCH)


#: The end of an incident id that a narrow header shows (``0-3971``): letters, digits, dashes.
SUFFIX = re.compile(r"^[A-Za-z0-9-]{4,40}$")


def resolve_journal(ref: str | Path, state_dir: Path | None = None) -> Path:
    """Turn a journal path, an incident folder or an incident ID into a journal path.

    Raises :class:`UnknownIncidentError` with a one-line message when nothing matches.
    """
    path = Path(ref)
    if path.is_file():
        return path
    if path.is_dir() and (path / JOURNAL_NAME).is_file():
        return path / JOURNAL_NAME
    text = str(ref)
    if "/" not in text and state_dir is None:
        from cockpit.paths import state_dir as default_state_dir

        state_dir = default_state_dir()
    if "/" not in text and state_dir is not None:
        candidate = incidents_dir(state_dir) / text / JOURNAL_NAME
        if candidate.is_file():
            return candidate
        if INCIDENT_ID.match(text):
            where = incidents_dir(state_dir)
            raise UnknownIncidentError(f"unknown incident: {text} (not in {where})")
        ending = text.lstrip("…")
        if SUFFIX.match(ending):  # the end of an id, as a narrow header shows it
            where = incidents_dir(state_dir)
            found = sorted(folder for folder in (where.iterdir() if where.is_dir() else ())
                           if folder.name.endswith(ending)
                           and (folder / JOURNAL_NAME).is_file())
            if len(found) == 1:
                return found[0] / JOURNAL_NAME
            if found:
                names = ", ".join(folder.name for folder in found[:5])
                raise UnknownIncidentError(f"{len(found)} incidents end with {ending}: "
                                           f"{names}; give more of the id")
    raise UnknownIncidentError(f"unknown incident or journal: {text}")
