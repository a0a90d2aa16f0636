"""What the runtime tells whoever displays it: plain frozen change notices.

The runtime publishes these to its subscribers (from whichever thread the change
happened on); the Textual app wraps each in a message, a headless driver may ignore
them or print them. None of them carries anything a display could act on: they say
what changed, the display reads the runtime's state.
"""

from __future__ import annotations

from dataclasses import dataclass

from cockpit.sources.base import SourceStatus


@dataclass(frozen=True)
class SourceChanged:
    """A data source has a new status (the panels that show it repaint)."""

    status: SourceStatus


@dataclass(frozen=True)
class Said:
    """Something the engineer should read now: a consequence, a hint, a reminder."""

    text: str
    title: str = ""
    severity: str = "information"
    """``information``, ``warning`` or ``error``."""
    timeout_s: float = 10.0


@dataclass(frozen=True)
class RecordingFailed:
    """The journal could not be written: the header says NOT RECORDING with ``reason``."""

    reason: str


@dataclass(frozen=True)
class RunbooksReady:
    """The runbook library is loaded and the runbook desk exists."""


@dataclass(frozen=True)
class RollbackHoldChanged:
    """The armed rollback changed: armed, disarmed, a hold started or ended (the header
    and the hold modal read ``runtime.armed_rollback``)."""


Notice = SourceChanged | Said | RecordingFailed | RunbooksReady | RollbackHoldChanged
