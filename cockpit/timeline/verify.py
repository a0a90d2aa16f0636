"""Verification of a journal's hash chain: was anything altered, removed or reordered?

Each line's ``hash`` must be the SHA-256 of its own canonical JSON (else the line
was altered), its ``prev`` must be the previous line's ``hash`` (else a line
before it was removed or reordered) and ``seq`` must count up by one. A torn
last line (crash mid-write) is a warning, not a failure; two lines with the same
``seq`` (or the same ``prev``) are a fork: two writers appended to one journal.

Removing lines from the *end*, or emptying the file, cannot be seen from the chain
alone: the signed checkpoints beside the journal (:mod:`cockpit.timeline.checkpoint`)
say how long it was and what its head was when each was signed, and a head published
elsewhere (``COUNT:HASH``, quoted in every message the cockpit sends) can be given too.
Checkpoints are read before the journal, so a cockpit still writing it is no false alarm.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit.timeline.checkpoint import (
    CHECKPOINTS_NAME,
    CheckpointError,
    CheckpointFile,
    check_signature,
    head_ref,
    parse_head_ref,
    read_checkpoints,
)
from cockpit.timeline.journal import GENESIS, JOURNAL_NAME, event_hash


@dataclass(frozen=True)
class Problem:
    """One bad line: 1-based line number and what is wrong with it."""

    line: int
    message: str
    file: str = ""
    """The file the line is in, when not the journal (``checkpoints.jsonl``)."""

    def describe(self, name: str = JOURNAL_NAME) -> str:
        """Return ``journal.jsonl:LINE: message``."""
        return f"{self.file or name}:{self.line}: {self.message}"


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of :func:`verify`."""

    path: Path
    events: int
    head: str
    problems: tuple[Problem, ...]
    warnings: tuple[str, ...]
    checkpoints: int = 0
    """How many signed checkpoints were checked."""
    signed_events: int = 0
    """The event count of the last checkpoint (0: none)."""

    @property
    def ok(self) -> bool:
        """True when no line was altered, removed or reordered."""
        return not self.problems

    @property
    def head_short(self) -> str:
        """The first 12 hex characters of the head hash."""
        return self.head[:12]

    @property
    def head_ref(self) -> str:
        """The head as messages quote it: ``COUNT:HASH12``."""
        return head_ref(self.events, self.head)

    def first_problem(self) -> str:
        """The first problem in one line (``journal.jsonl:LINE: ...``), or ``""``."""
        return self.problems[0].describe(self.path.name) if self.problems else ""

    def summary(self) -> str:
        """The one-line verdict: ``PATH: intact, N events, head H (...)`` or the first problem."""
        if not self.ok:
            return self.first_problem()
        signed = (f", {self.checkpoints} signed checkpoints, the last at {self.signed_events}"
                  " events" if self.checkpoints else ", no signed checkpoint")
        return f"{self.path}: intact, {self.events} events, head {self.head_short}{signed}"

    def lines(self) -> list[str]:
        """Human-readable report lines (first problem first)."""
        out = list(self.warnings)
        out.append(self.summary())
        if len(self.problems) > 1:
            out.append(f"({len(self.problems) - 1} more problems after it)")
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
    seqs: dict[object, int] = {}
    prevs: dict[object, int] = {}
    for index, record in enumerate(records, start=1):
        seq, before = record.get("seq"), record.get("prev")
        if isinstance(seq, int) and seq in seqs:
            problems.append(Problem(index, f"chain forks: seq {seq} again (first at line "
                                    f"{seqs[seq]}): two writers appended to this journal"))
        elif isinstance(before, str) and before in prevs:
            problems.append(Problem(index, f"chain forks: it follows the same event as line "
                                    f"{prevs[before]}: two writers appended to this journal"))
        else:
            problem = _check_line(index, record, prev, index)
            if problem is not None:
                problems.append(problem)
        if isinstance(seq, int):
            seqs.setdefault(seq, index)
        if isinstance(before, str):
            prevs.setdefault(before, index)
        prev = str(record.get("hash"))
    return problems


def check_records(records: Sequence[dict[str, Any]]) -> Problem | None:
    """Return the first bad line among parsed journal records, or None if the chain holds."""
    problems = _check_all(records)
    return problems[0] if problems else None


def check_checkpoints(folder: Path, records: Sequence[dict[str, Any]]) -> Problem | None:
    """The first checkpoint beside a journal that its records contradict (shorter than it
    signed, or another event at its count), signatures not checked; None if none."""
    folder = Path(folder)
    problems = _check_checkpoints(read_checkpoints(folder), records, folder.name, None, [],
                                  signatures=False)
    journal = [p for p in problems if not p.file]
    return journal[0] if journal else None


def _check_checkpoints(found: CheckpointFile, records: Sequence[dict[str, Any]],
                       incident_id: str, allowed_signers: Path | None,
                       warnings: list[str], *, signatures: bool) -> list[Problem]:
    problems: list[Problem] = []
    for line in found.bad_lines:
        problems.append(Problem(line, "not a valid checkpoint (line was altered)",
                                CHECKPOINTS_NAME))
    if found.torn:
        warnings.append(f"{CHECKPOINTS_NAME}: torn last line (crash mid-write), ignored")
    keys = {c.key for c in found.checkpoints}
    if len(keys) > 1 and allowed_signers is None:
        warnings.append(f"the checkpoints are signed by {len(keys)} different keys: check "
                        "them with --allowed-signers")
    truncated = False
    for checkpoint in found.checkpoints:
        where = f"checkpoint {checkpoint.n}"
        if checkpoint.incident != incident_id:
            problems.append(Problem(checkpoint.n, f"{where} is of incident "
                                    f"{checkpoint.incident[:80]!r}, not "
                                    f"{incident_id}",
                                    CHECKPOINTS_NAME))
            continue
        if signatures:
            try:
                bad = check_signature(checkpoint, allowed_signers)
            except CheckpointError as exc:
                warnings.append(f"signatures not checked: {exc}")
                signatures = False
                bad = None
            if bad is not None:
                problems.append(Problem(checkpoint.n, f"{where}: {bad}", CHECKPOINTS_NAME))
                continue
        signed = head_ref(checkpoint.count, checkpoint.head)
        if checkpoint.count > len(records):
            if truncated:
                continue
            truncated = True
            if not records:
                message = (f"emptied: the journal has no events, but {where} signed "
                           f"{checkpoint.count} (head {signed})")
            else:
                message = (f"truncated after {where}: it signed {checkpoint.count} events "
                           f"(head {signed}), the journal has {len(records)}")
            problems.append(Problem(len(records) + 1, message))
        elif records[checkpoint.count - 1].get("hash") != checkpoint.head:
            problems.append(Problem(checkpoint.count, f"not the event {where} signed "
                                    f"(head {signed}): the record was rewritten after it"))
    return problems


def _check_head(published: str, records: Sequence[dict[str, Any]]) -> Problem | None:
    try:
        count, digest = parse_head_ref(published)
    except ValueError as exc:
        return Problem(0, str(exc), "--head")
    if count > len(records):
        return Problem(len(records) + 1, f"truncated: the published head {published} counts "
                       f"{count} events, the journal has {len(records)}")
    if count == 0:
        ok = digest == GENESIS[:len(digest)]
    else:
        ok = str(records[count - 1].get("hash", "")).startswith(digest)
    if ok:
        return None
    return Problem(max(count, 1), f"does not match the published head {published}: "
                   "the record was rewritten")


def verify(path: Path, *, head: str | None = None, allowed_signers: Path | None = None,
           signatures: bool = True) -> VerifyReport:
    """Verify a journal file (or an incident folder holding ``journal.jsonl``). Read-only.

    Checks the hash chain, the signed checkpoints beside it (``signatures=False`` skips
    checking their signatures, not their counts and heads) and, when given, a head
    ``COUNT:HASH`` published elsewhere. ``allowed_signers``: an ssh ``allowed_signers``
    file the checkpoints' key must be listed in."""
    path = Path(path)
    if path.is_dir():
        path = path / JOURNAL_NAME
    found = read_checkpoints(path.parent)  # before the journal: a writer may be appending
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
    problems.extend(_check_checkpoints(found, records, path.parent.name, allowed_signers,
                                       warnings, signatures=signatures))
    if not records and not found.checkpoints:
        problems.append(Problem(1, "the journal is empty (no events): emptied, or never "
                                "recorded"))
    if head is not None:
        published = _check_head(head, records)
        if published is not None:
            problems.append(published)
    order = {"": 0, CHECKPOINTS_NAME: 1}
    problems.sort(key=lambda p: (order.get(p.file, 2), p.line))
    unique: dict[tuple[str, int], Problem] = {}
    for problem in problems:
        unique.setdefault((problem.file, problem.line), problem)
    if torn is not None:
        warnings.append(
            f"{path.name}:{torn}: torn last line (crash mid-write), set aside"
        )
    for aside in sorted(path.parent.glob("journal.torn-*")):
        warnings.append(f"{aside.name}: a torn line from an earlier crash was set aside here")
    head_hash = str(records[-1].get("hash", GENESIS)) if records else GENESIS
    signed = max((c.count for c in found.checkpoints), default=0)
    return VerifyReport(path, len(records), head_hash, tuple(unique.values()),
                        tuple(warnings), len(found.checkpoints), signed)
