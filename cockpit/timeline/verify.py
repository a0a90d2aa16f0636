"""Verification of a journal's hash chain: was anything altered, removed or reordered?

Each line's ``hash`` must be the SHA-256 of its own canonical JSON (else the line
was altered), its ``prev`` must be the previous line's ``hash`` (else a line
before it was removed or reordered) and ``seq`` must count up by one. A torn
last line (crash mid-write) is a warning, not a failure. Removing lines from
the *end* cannot be seen from the chain alone: compare the event count and head
hash that every export prints.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit.timeline.journal import GENESIS, JOURNAL_NAME, event_hash


@dataclass(frozen=True)
class Problem:
    """One bad line: 1-based line number and what is wrong with it."""

    line: int
    message: str

    def describe(self, name: str = JOURNAL_NAME) -> str:
        """Return ``journal.jsonl:LINE: message``."""
        return f"{name}:{self.line}: {self.message}"


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of :func:`verify`."""

    path: Path
    events: int
    head: str
    problems: tuple[Problem, ...]
    warnings: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when no line was altered, removed or reordered."""
        return not self.problems

    @property
    def head_short(self) -> str:
        """The first 12 hex characters of the head hash."""
        return self.head[:12]

    def lines(self) -> list[str]:
        """Human-readable report lines (first problem first)."""
        out = list(self.warnings)
        if self.ok:
            out.append(f"{self.path}: intact, {self.events} events, head {self.head_short}")
        else:
            first = self.problems[0]
            out.append(first.describe(self.path.name))
            if len(self.problems) > 1:
                out.append(f"({len(self.problems) - 1} more bad lines after it)")
        return out


def _check_line(index: int, record: dict[str, Any], prev: str, seq: int) -> Problem | None:
    if record.get("hash") != event_hash(record):
        return Problem(index, "hash mismatch (line was altered)")
    if record.get("prev") != prev:
        return Problem(index, "chain broken (a line before it was removed or reordered)")
    if record.get("seq") != seq:
        return Problem(index, f"seq gap (expected {seq}, found {record.get('seq')})")
    return None


def _check_all(records: Sequence[dict[str, Any]]) -> list[Problem]:
    problems: list[Problem] = []
    prev = GENESIS
    for index, record in enumerate(records, start=1):
        problem = _check_line(index, record, prev, index)
        if problem is not None:
            problems.append(problem)
        prev = str(record.get("hash"))
    return problems


def check_records(records: Sequence[dict[str, Any]]) -> Problem | None:
    """Return the first bad line among parsed journal records, or None if the chain holds."""
    problems = _check_all(records)
    return problems[0] if problems else None


def verify(path: Path) -> VerifyReport:
    """Verify a journal file (or an incident folder holding ``journal.jsonl``). Read-only."""
    path = Path(path)
    if path.is_dir():
        path = path / JOURNAL_NAME
    raw = path.read_bytes()
    chunks = raw.split(b"\n")
    tail = chunks.pop()
    records: list[dict[str, Any]] = []
    problems: list[Problem] = []
    warnings: list[str] = []
    torn: int | None = None
    for index, chunk in enumerate(chunks, start=1):
        try:
            record = json.loads(chunk.decode("utf-8"))
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
        except ValueError:
            if index == len(chunks) and not tail:
                torn = index
                break
            problems.append(Problem(index, "not a valid JSON event (line was altered)"))
            record = {}
        records.append(record)
    if tail:
        torn = len(chunks) + 1
    problems.extend(_check_all(records))
    problems.sort(key=lambda p: p.line)
    unique: dict[int, Problem] = {}
    for problem in problems:
        unique.setdefault(problem.line, problem)
    if torn is not None:
        warnings.append(
            f"{path.name}:{torn}: torn last line (crash mid-write), set aside"
        )
    for aside in sorted(path.parent.glob("journal.torn-*")):
        warnings.append(f"{aside.name}: a torn line from an earlier crash was set aside here")
    head = str(records[-1].get("hash", GENESIS)) if records else GENESIS
    return VerifyReport(path, len(records), head, tuple(unique.values()), tuple(warnings))
