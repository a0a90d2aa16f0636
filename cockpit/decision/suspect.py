"""Which deployment's change most likely caused a breach (no Textual, no I/O).

The procedures' first question after a metric breach is "what changed?". The cockpit sees
the cluster over time (:class:`~cockpit.domain.ClusterSnapshot`, one per poll):
:class:`RevisionWatch` remembers when it saw each deployment's revision change, and
:func:`find_suspect` names the deployment whose revision changed last before the breach::

    watch = RevisionWatch()
    watch.observe(snapshot)            # at every cluster poll (or the simulator's)
    suspect = find_suspect(watch.changes(), breach_at=trigger.window_start,
                           fired_at=trigger.fired_at, trigger="error_rate")
    suspect.reason          # 'error_rate fired 8m after api went to r8'
    suspect.change.undo_to  # 7: the revision `rollout undo` returns to

The first snapshot may already show the new revision (it went out before the cockpit
started): then the oldest pod of that revision says when its rollout began. Without
such a pod the time is unknown, and the change is described as having happened before
the cockpit started (never a suspect by itself: nothing dates it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

# The cluster is read by shape (cockpit.domain's ClusterSnapshot, DeploymentInfo, PodInfo):
# importing the domain module would reach the timeline's redactor, which the decision
# layer may not import.


class _Revision(Protocol):
    @property
    def revision(self) -> int: ...


class _Pod(Protocol):
    @property
    def deployment(self) -> str: ...
    @property
    def revision(self) -> int: ...
    @property
    def age_s(self) -> float: ...


class DeploymentInfo(Protocol):
    """What is read of a deployment (:class:`cockpit.domain.DeploymentInfo`)."""

    @property
    def name(self) -> str: ...
    @property
    def namespace(self) -> str: ...
    @property
    def revision(self) -> int: ...
    @property
    def version(self) -> str: ...
    @property
    def previous(self) -> _Revision | None: ...


class ClusterSnapshot(Protocol):
    """What is read of a cluster snapshot (:class:`cockpit.domain.ClusterSnapshot`)."""

    @property
    def at(self) -> datetime: ...
    @property
    def namespace(self) -> str: ...
    @property
    def deployments(self) -> tuple[DeploymentInfo, ...]: ...
    @property
    def pods(self) -> tuple[_Pod, ...]: ...

#: A change older than this before the breach is no suspect (a day-old deployment is not
#: what broke in the last few minutes).
SUSPECT_WITHIN = timedelta(hours=2)


@dataclass(frozen=True)
class RevisionChange:
    """The latest revision change of one deployment, as far as the cockpit knows."""

    deployment: str
    namespace: str
    revision: int
    """The revision it went to (its current one when last seen)."""
    version: str
    at: datetime | None
    """When it changed; ``None``: before the cockpit started, and nothing dates it."""
    how: str
    """``seen`` (the cockpit saw the revision change), ``pods`` (dated by the oldest pod
    of the revision, on the first snapshot) or ``unknown``."""
    undo_to: int | None
    """The revision a rollback returns to: the one it changed from (seen), else the
    previous one in its history; ``None`` when it has no other revision."""

    def describe(self) -> str:
        """``api went to r8 at 14:24:00Z (2.0.0)`` or ``... before the cockpit started``."""
        when = (f"at {self.at:%H:%M:%S}Z" if self.at is not None
                else "before the cockpit started")
        return f"{self.deployment} went to r{self.revision} {when} ({self.version})"


@dataclass(frozen=True)
class Suspect:
    """The deployment whose revision changed last before a breach."""

    change: RevisionChange
    trigger: str
    fired_at: datetime

    @property
    def lead(self) -> timedelta:
        """From the change to the trigger firing."""
        assert self.change.at is not None
        return self.fired_at - self.change.at

    @property
    def reason(self) -> str:
        """A few words: ``error_rate fired 8m after api went to r8``."""
        return (f"{self.trigger} fired {short_duration(self.lead)} after "
                f"{self.change.deployment} went to r{self.change.revision}")


def short_duration(delta: timedelta) -> str:
    """``45s``, ``8m``, ``2h10m``: the screen's short form (never negative)."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes}m" if minutes else f"{hours}h"


def _first_seen(snapshot: ClusterSnapshot, dep: DeploymentInfo) -> RevisionChange:
    ages = [pod.age_s for pod in snapshot.pods
            if pod.deployment == dep.name and pod.revision == dep.revision]
    previous = dep.previous
    undo_to = previous.revision if previous is not None else None
    if not ages:
        return RevisionChange(dep.name, dep.namespace or snapshot.namespace, dep.revision,
                              dep.version, None, "unknown", undo_to)
    at = snapshot.at - timedelta(seconds=max(ages))
    return RevisionChange(dep.name, dep.namespace or snapshot.namespace, dep.revision,
                          dep.version, at, "pods", undo_to)


class RevisionWatch:
    """When each deployment's revision changed, from the cluster snapshots seen in order.

    Not thread-safe: call :meth:`observe` from the thread that drives the runtime.
    """

    def __init__(self) -> None:
        self._changes: dict[tuple[str, str], RevisionChange] = {}
        self._last_at: datetime | None = None

    def observe(self, snapshot: ClusterSnapshot) -> bool:
        """Take one snapshot in; returns whether any deployment's known change moved.

        An older snapshot than the last one taken is ignored (a slow poll's answer)."""
        if self._last_at is not None and snapshot.at < self._last_at:
            return False
        self._last_at = snapshot.at
        moved = False
        for dep in snapshot.deployments:
            key = (dep.namespace or snapshot.namespace, dep.name)
            known = self._changes.get(key)
            if known is None:
                self._changes[key] = _first_seen(snapshot, dep)
                moved = True
            elif known.revision != dep.revision:
                self._changes[key] = RevisionChange(dep.name, key[0], dep.revision, dep.version,
                                                    snapshot.at, "seen", known.revision)
                moved = True
            elif known.version != dep.version:
                self._changes[key] = replace(known, version=dep.version)
        return moved

    def changes(self) -> tuple[RevisionChange, ...]:
        """Every deployment's latest known change, newest first (undated ones last)."""
        dated = sorted((c for c in self._changes.values() if c.at is not None),
                       key=lambda c: (c.at, c.deployment), reverse=True)
        undated = sorted((c for c in self._changes.values() if c.at is None),
                         key=lambda c: c.deployment)
        return (*dated, *undated)


def find_suspect(changes: Iterable[RevisionChange], *, breach_at: datetime | None,
                 fired_at: datetime, trigger: str,
                 within: timedelta = SUSPECT_WITHIN) -> Suspect | None:
    """The deployment whose revision changed last before the breach began (``breach_at``,
    the breach window's start; else ``fired_at``), at most ``within`` before it, and that
    has a revision to return to; ``None`` when no dated change qualifies."""
    start = breach_at or fired_at
    best: RevisionChange | None = None
    for change in changes:
        if change.at is None or change.undo_to is None:
            continue
        if not start - within <= change.at <= start:
            continue
        if best is None or best.at is None or change.at > best.at:
            best = change
    return Suspect(best, trigger, fired_at) if best is not None else None
