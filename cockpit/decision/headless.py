"""Headless evaluation of a samples file, for scripts and audits (``cockpit evaluate``).

Input: JSON lines ``{"t": "<ISO 8601 with zone>", "metric": "<name>", "value": <number>}``
in any order; ``metric`` is a metric of the policy or an event kind (``security_breach``,
``data_corruption``) with value 1.  Blank lines are skipped.  Samples are evaluated in
time order (ties in file order); a second sample of a metric at the same instant is
ignored, as the live engine ignores older or duplicate samples.

Output: one record per trigger state change, then a summary.  There is no engineer, so:

* "Can fix forward?" is never answered: when the tree reaches it, the recommendation is
  ``rollback`` (unanswered counts as "no", the conservative choice for patient data);
* "User impact > 5%?" without error-rate or health-check data is unanswered too; both of
  its branches roll back, so the recommendation is ``rollback``;
* ``no_action`` means nothing to decide at the end of the data: no trigger fired, none is
  breaching, and user impact (max of the latest error rate and failing health checks) is
  at most 5%.  A breach that ended before its window filled is reported in the changes but
  does not by itself call for action: sustained windows exist so blips do not.

Everything is parsed and evaluated before anything is returned, so a caller can print
all-or-nothing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, BinaryIO

from cockpit.decision.engine import DecisionEngine, TriggerChange, iso
from cockpit.decision.policy import Policy

__all__ = ["MAX_LINE_BYTES", "MAX_SAMPLES", "MAX_SAMPLES_BYTES", "Evaluation", "Sample",
           "SampleError", "evaluate_samples", "parse_samples", "read_lines"]

_KEYS = frozenset({"t", "metric", "value"})
#: The longest input line read (a sample line is under 120 bytes): a longer one is an
#: error found after reading at most this much of it.
MAX_LINE_BYTES = 4096
#: The most samples one evaluation holds (they are sorted by time, so they are all kept):
#: four times the benchmark's 24 h of 1-second samples of six metrics, a few hundred MB.
MAX_SAMPLES = 2_000_000
#: The largest samples file evaluated (about 10 million samples).
MAX_SAMPLES_BYTES = 1024 * 1024 * 1024
#: Sample times the engine can do arithmetic on (windows, decide-by deadlines).
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(9000, 1, 1, tzinfo=UTC)
#: The largest magnitude a value may have (metrics are percentages and milliseconds).
_MAX_VALUE = 1e15


class SampleError(ValueError):
    """A samples file line is invalid; the message is ``FILE:LINE: message``."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One validated input line: a metric sample or an event."""

    line: int
    t: datetime
    metric: str
    value: float
    is_event: bool = False


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The result of a headless run: the change records and the summary record."""

    changes: tuple[dict[str, Any], ...]
    summary: dict[str, Any]

    def json_lines(self) -> str:
        """Every output line (changes, then the summary), each ending in a newline."""
        records = [*self.changes, {"summary": self.summary}]
        return "".join(json.dumps(r, separators=(", ", ": ")) + "\n" for r in records)


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number")


def _shown(value: object) -> str:
    """``repr(value)`` cut to 40 characters: an error never echoes a whole input back
    (``repr`` escapes control characters, so nothing reaches the terminal raw)."""
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**30 else \
        "an integer of more than 30 digits"
    return text if len(text) <= 40 else text[:37] + "..."


def read_lines(handle: BinaryIO, source: str,
               limit: int = MAX_LINE_BYTES) -> Iterator[bytes]:
    """The lines of ``handle``, each read with at most ``limit + 1`` bytes in memory.

    A line longer than ``limit`` raises ``SampleError`` at its line number, so a 1 GB
    line costs 4 KB, not gigabytes.
    """
    number = 0
    while True:
        line = handle.readline(limit + 1)
        if not line:
            return
        number += 1
        if len(line) > limit and not (len(line) == limit + 1 and line.endswith(b"\n")):
            raise SampleError(f"{source}:{number}: line longer than {limit:,} bytes")
        yield line


def _parse_line(text: str, number: int, source: str, policy: Policy) -> Sample:
    where = f"{source}:{number}"
    try:
        record = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise SampleError(f"{where}: malformed JSON: nested too deeply") from None
    except ValueError as exc:
        raise SampleError(f"{where}: malformed JSON: {str(exc)[:80]}") from None
    if not isinstance(record, dict):
        raise SampleError(f"{where}: expected a JSON object with t, metric and value")
    unknown = sorted(set(record) - _KEYS)
    if unknown:
        raise SampleError(f"{where}: unknown key {_shown(unknown[0])} (expected t, metric, "
                          "value)")
    missing = sorted(_KEYS - set(record))
    if missing:
        raise SampleError(f"{where}: missing {', '.join(repr(k) for k in missing)}")
    metric = record["metric"]
    if not isinstance(metric, str):
        raise SampleError(f"{where}: metric must be a string")
    is_event = metric in policy.events
    if not is_event and metric not in policy.metrics:
        known = ", ".join(sorted(policy.metrics | policy.events))
        raise SampleError(f"{where}: unknown metric {_shown(metric)} (known: {known})")
    stamp = record["t"]
    if not isinstance(stamp, str):
        raise SampleError(f"{where}: bad timestamp {_shown(stamp)}: expected an ISO 8601 "
                          "string")
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        raise SampleError(f"{where}: bad timestamp {_shown(stamp)}: not ISO 8601") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise SampleError(
            f"{where}: bad timestamp {_shown(stamp)}: no time zone (add 'Z' or '+00:00')"
        )
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        moment = _LATEST  # out of range whichever way it overflowed: refused below
    if not _EARLIEST <= moment < _LATEST:
        raise SampleError(f"{where}: bad timestamp {_shown(stamp)}: out of range (1970 to "
                          "8999)")
    value = record["value"]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SampleError(f"{where}: value must be a number, not {_shown(value)}")
    if isinstance(value, int) and abs(value) > _MAX_VALUE:
        raise SampleError(f"{where}: value {_shown(value)} is out of range")
    if not math.isfinite(value):
        raise SampleError(f"{where}: value must be finite")
    if abs(value) > _MAX_VALUE:
        raise SampleError(f"{where}: value {_shown(value)} is out of range")
    if is_event and value != 1:
        raise SampleError(f"{where}: event {metric!r} must have value 1, not {_shown(value)}")
    return Sample(number, moment, metric, float(value), is_event)


def parse_samples(lines: Iterable[bytes | str], policy: Policy, source: str) -> list[Sample]:
    """Validate every line (1-based numbers); raise ``SampleError`` at the first bad one."""
    samples: list[Sample] = []
    for number, raw in enumerate(lines, start=1):
        if isinstance(raw, bytes):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise SampleError(f"{source}:{number}: not UTF-8 text") from None
        else:
            text = raw
        if not text.strip():
            continue
        if len(samples) >= MAX_SAMPLES:
            raise SampleError(f"{source}:{number}: more than {MAX_SAMPLES:,} samples: split "
                              "the file (memory stays bounded)")
        samples.append(_parse_line(text, number, source, policy))
    return samples


def _change_record(change: TriggerChange) -> dict[str, Any]:
    return {
        "t": iso(change.at),
        "trigger": change.trigger,
        "state": change.state.value,
        "action": change.action.value,
        "decide_by": iso(change.decide_by) if change.decide_by else None,
    }


def evaluate_samples(samples: Iterable[Sample], policy: Policy) -> Evaluation:
    """Run the engine over ``samples`` in time order; see the module docstring for the rules."""
    ordered = sorted(samples, key=lambda s: (s.t, s.line))
    engine = DecisionEngine(policy)
    changes: list[TriggerChange] = []
    for sample in ordered:
        changes.extend(engine.tick(sample.t))
        if sample.is_event:
            changes.extend(engine.observe_event(sample.metric, sample.t))
        else:
            changes.extend(engine.observe(sample.metric, sample.t, sample.value))
    changes.sort(key=lambda c: c.at)
    end = ordered[-1].t if ordered else datetime.now(UTC)
    state = engine.state(end)
    fired = [
        {
            "trigger": trig.id,
            "at": iso(trig.fired_at),
            "action": trig.action.value,
            "decide_by": iso(trig.decide_by) if trig.decide_by else None,
        }
        for trig in state.fired
        if trig.fired_at is not None
    ]
    summary = {
        "fired": fired,
        "recommendation": state.recommendation.kind.headless.value,
    }
    return Evaluation(tuple(_change_record(c) for c in changes), summary)
