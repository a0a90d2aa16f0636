"""Data sources backed by the simulated estate, behind the same interface as the real ones."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable

from cockpit.domain import SOURCE_KINDS, Snapshot
from cockpit.sim.estate import SimEstate
from cockpit.sources.base import Source, SourceError

#: Real seconds between polls of each simulated source. The cluster every 2 s, as a
#: cockpit watching thousands of pods would poll it (issue 13's "refreshed every 2 s"):
#: its snapshot is the one that grows with the estate (20,000 pods: ~0.1 s of CPU each).
SIM_INTERVALS: dict[str, float] = {
    "metrics": 1.0, "health": 1.0, "cluster": 2.0, "database": 1.5, "cache": 1.0,
}


class SimSource:
    """One kind of data read from a :class:`SimEstate`.

    Scenario outages make it fail like a real source would: ``error`` raises,
    ``hang`` blocks until the outage is over (the poller's timeout turns both
    into STALE).
    """

    label = "simulated"

    def __init__(self, kind: str, estate: SimEstate, interval_s: float | None = None,
                 timeout_s: float = 3.0) -> None:
        if kind not in SOURCE_KINDS:
            raise ValueError(f"unknown source kind '{kind}'")
        self.kind = kind
        self.estate = estate
        self.interval_s = SIM_INTERVALS[kind] if interval_s is None else interval_s
        self.timeout_s = timeout_s
        self._read: Callable[[], Snapshot] = getattr(estate, f"{kind}_snapshot")
        self.closed = False

    def revision(self) -> Hashable:
        """The estate's time and how many changes were made to it: what every snapshot is
        a function of (a paused simulation that nobody acts on answers the same)."""
        return (self.estate.now(), len(self.estate.actions))

    def fetch(self) -> Snapshot:
        """Read the estate, unless the scenario says this source is down."""
        outage = self.estate.outage(self.kind)
        if outage is not None and outage.mode == "error":
            raise SourceError(outage.reason)
        while outage is not None and outage.mode == "hang" and not self.closed:
            time.sleep(0.05)
            outage = self.estate.outage(self.kind)
        return self._read()

    def close(self) -> None:
        """Release a hung fetch."""
        self.closed = True


def sim_sources(estate: SimEstate) -> list[Source]:
    """One simulated source per kind, in panel order."""
    return [SimSource(kind, estate) for kind in SOURCE_KINDS]
