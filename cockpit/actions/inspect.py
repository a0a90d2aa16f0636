"""What an executor reads for the engineer at the keyboard: revision history, describe,
events and logs of a deployment or a pod (no Textual).

An executor that can answer declares ``Capabilities.inspect`` and implements
:meth:`cockpit.actions.executor.Executor.read_history` and
:meth:`cockpit.actions.executor.Executor.read_text`; the simulator answers from its
estate, the live executor from the Kubernetes API. Every call is blocking (the UI calls
it in a thread worker) and bounded by its ``timeout_s``; an expected failure raises
:class:`InspectError` with one line to show, never a traceback.

Everything here is untrusted text (a server, a container or a person wrote it):
:func:`clean_lines` strips control sequences, redacts secrets and patient identifiers
(logs are redacted like step output) and bounds the number and width of lines before
anything reaches the screen.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cockpit.domain import show_version
from cockpit.timeline.redact import default_redactor

#: The reading views of a deployment or a pod.
VIEWS: tuple[str, ...] = ("describe", "events", "logs")
#: What a reading view may be about.
KINDS: tuple[str, ...] = ("deployment", "pod")
#: Lines a reading view asks for by default (``kubectl logs --tail``).
DEFAULT_TAIL = 200
#: The most lines a reading view keeps, whatever was asked.
MAX_LINES = 5000
#: The widest line kept (a longer one is cut, with a marker).
MAX_WIDTH = 400
#: How long a read may take before it gives up.
READ_TIMEOUT_S = 8.0


class InspectError(Exception):
    """A read that failed: the message is one line, fit for the screen."""


@dataclass(frozen=True)
class RevisionRow:
    """One revision of a deployment, as the history view lists it."""

    revision: int
    version: str
    image: str
    change_cause: str = ""
    age_s: float | None = None
    """Seconds since the revision's ReplicaSet was created (``None``: unknown)."""
    replica_set: str = ""
    running: bool = False
    """The revision the deployment's template is now (what its pods run)."""
    template: tuple[str, ...] = ()
    """The pod template as lines (YAML-like, ``pod-template-hash`` stripped): what the
    diff against the running revision compares."""

    @property
    def shown_version(self) -> str:
        """The version as the screen writes it (``v2.0.0``, a SHA as it is)."""
        return show_version(self.version) if self.version else "?"


@dataclass(frozen=True)
class DeploymentHistory:
    """A deployment's revisions, oldest first, and what the actions on it need."""

    deployment: str
    namespace: str
    revisions: tuple[RevisionRow, ...]
    replicas: int = 0
    """The desired replicas now (what a scale starts from)."""
    selector: str = ""
    """The label selector of its pods (``app=api``): what a runbook's pod checks match."""
    note: str = ""
    """One line said above the list (``paused``, ``3 revisions kept``)."""

    @property
    def running(self) -> RevisionRow | None:
        """The revision the pods run now."""
        return next((row for row in self.revisions if row.running), None)

    def row(self, revision: int) -> RevisionRow | None:
        """The row of ``revision``, if kept."""
        return next((row for row in self.revisions if row.revision == revision), None)

    def diff(self, revision: int) -> list[str]:
        """The unified diff from the running template to ``revision``'s (``[]`` when they
        are the same or either is unknown)."""
        running, row = self.running, self.row(revision)
        if running is None or row is None or row.running:
            return []
        return template_diff(running, row)


@dataclass(frozen=True)
class ReadText:
    """What a reading view shows: cleaned lines and a note (``12 of 480 lines``)."""

    lines: tuple[str, ...]
    note: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def template_diff(running: RevisionRow, selected: RevisionRow) -> list[str]:
    """``diff -u`` from the running revision's template to the selected one's."""
    old = list(running.template) or [f"image: {running.image}"]
    new = list(selected.template) or [f"image: {selected.image}"]
    lines = list(difflib.unified_diff(old, new, f"revision {running.revision} (running)",
                                      f"revision {selected.revision}", n=2, lineterm=""))
    return clean_lines(lines)


def template_lines(value: object, indent: int = 0) -> list[str]:
    """A pod template (the API's JSON) as sorted YAML-like lines, for a readable diff."""
    pad = "  " * indent
    out: list[str] = []
    if isinstance(value, dict):
        for key in sorted(value):
            item = value[key]
            if isinstance(item, dict | list) and item:
                out.append(f"{pad}{key}:")
                out.extend(template_lines(item, indent + 1))
            else:
                out.append(f"{pad}{key}: {_scalar(item)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict | list) and item:
                inner = template_lines(item, indent + 1)
                first = inner[0].lstrip() if inner else ""
                out.append(f"{pad}- {first}")
                out.extend(inner[1:])
            else:
                out.append(f"{pad}- {_scalar(item)}")
    else:
        out.append(f"{pad}{_scalar(value)}")
    return out


def _scalar(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return str(value)


def clean_lines(lines: Iterable[str], *, limit: int = MAX_LINES,
                width: int = MAX_WIDTH) -> list[str]:
    """Untrusted lines made safe to show: controls stripped, secrets and patient
    identifiers redacted, each cut to ``width`` characters, the last ``limit`` kept."""
    redactor = default_redactor()
    out: list[str] = []
    for raw in lines:
        for line in redactor.redact_text(str(raw).expandtabs(4)).split("\n"):
            if len(line) > width:
                line = line[: width - 1] + "…"
            out.append(line)
    return out[-limit:] if len(out) > limit else out


def clean_text(text: str, **bounds: int) -> list[str]:
    """:func:`clean_lines` of ``text``'s lines."""
    return clean_lines(text.splitlines(), **bounds)


def age(seconds: float | None) -> str:
    """``45s``, ``12m``, ``3h``, ``9d`` (kubectl's AGE), ``?`` when unknown."""
    if seconds is None:
        return "?"
    s = max(0, int(seconds))
    if s < 120:
        return f"{s}s"
    if s < 7200:
        return f"{s // 60}m"
    if s < 172800:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


def search(lines: Sequence[str], needle: str) -> list[int]:
    """Indices of the lines holding ``needle`` (case-insensitive)."""
    if not needle:
        return []
    low = needle.lower()
    return [i for i, line in enumerate(lines) if low in line.lower()]
