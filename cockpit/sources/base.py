"""The data-source interface shared by real connectors and the simulator."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Literal, Protocol

from cockpit.domain import Snapshot

SourceState = Literal["waiting", "ok", "stale", "not_configured"]


class SourceError(Exception):
    """A source could not produce a snapshot; the message is shown to the engineer.

    Connectors must raise this with a short, credential-free reason
    (``"401 Unauthorized from Datadog"``, not the request URL with its key).
    """


class Source(Protocol):
    """One kind of data, polled on its own interval off the event loop.

    ``fetch`` is blocking and runs in a worker thread with a hard timeout;
    it must set explicit timeouts on its own client calls too, because a
    thread cannot be killed.
    """

    kind: str
    """One of :data:`cockpit.domain.SOURCE_KINDS`."""
    label: str
    """Where the data comes from, e.g. ``simulated`` or ``datadog``."""
    interval_s: float
    """Real seconds to wait after one poll finishes before the next starts."""
    timeout_s: float
    """Real seconds after which a poll is declared failed (STALE)."""

    def fetch(self) -> Snapshot:
        """Read the source once and return its snapshot, or raise."""
        ...

    def revision(self) -> Hashable | None:
        """A cheap token that changes whenever :meth:`fetch` could answer something new,
        or ``None`` when the source cannot tell (a live system: it is always fetched).
        The poller skips a fetch (and reports nothing) while the token is the one of its
        last good answer: a paused simulation costs no polling."""
        ...

    def close(self) -> None:
        """Release connections; called once when the cockpit stops."""
        ...


@dataclass(frozen=True)
class SourceStatus:
    """What the war room knows about one source right now."""

    kind: str
    label: str
    state: SourceState
    snapshot: Snapshot | None = None
    """The last good snapshot (kept while STALE so panels still show it, marked)."""
    reason: str = ""
    """Why the source is STALE or not configured."""
    last_ok: float | None = None
    """Monotonic time of the last good poll."""
    checked: float = 0.0
    """Monotonic time this status was produced."""

    def age(self, now: float) -> float | None:
        """Seconds since the last good poll, or None if there never was one."""
        return None if self.last_ok is None else max(0.0, now - self.last_ok)
