"""Benchmark: export a 10,000-event incident in each format; append 10,000 fsynced events.

Baselines measured in the same run: reading + JSON-parsing the journal lines (for
exports) and plain buffered writes of the same lines without fsync (for appends).
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cockpit.timeline.export import FORMATS, export_journal
from cockpit.timeline.journal import Actor, Journal
from cockpit.timeline.redact import Redactor

EVENTS = 10_000
ACTOR = Actor("oncall", "bastion-1", "203.0.113.7")


def _mix(rng: random.Random) -> Iterator[tuple[str, dict[str, Any]]]:
    """A realistic mix: mostly samples, then triggers, steps with output, notes, notifications."""
    yield "incident.opened", {"scenario": "bad-deploy", "environment": "prod", "mode": "live",
                              "title": "bench"}
    step = 0
    while True:
        roll = rng.random()
        if roll < 0.6:
            metric = rng.choice(["error_rate", "latency_p95_ms", "db_conn_errors"])
            yield "sample", {"metric": metric, "value": round(rng.uniform(0, 1500), 2)}
        elif roll < 0.7:
            yield "trigger.changed", {"trigger": rng.choice(["error_rate", "latency_p95"]),
                                      "state": rng.choice(["breaching", "ok", "fired"]),
                                      "value": rng.random(), "action": "manual decision",
                                      "decide_by": None}
        elif roll < 0.85:
            step += 1
            yield "step.started", {"runbook": "k8s-rollback", "step": f"s{step}",
                                   "title": "Step", "preview": "kubectl rollout undo "
                                   "deployment/api -n prod", "destructive": step % 3 == 0}
            yield "step.finished", {"runbook": "k8s-rollback", "step": f"s{step}",
                                    "outcome": "done", "duration_s": 1.5,
                                    "output": "pod/api-7d9 ready\n" * 20,
                                    "output_sha256": "ab" * 32}
        elif roll < 0.95:
            yield "note.added", {"text": "db at postgresql://app:pw@db.prod/wc lagging; "
                                         "see MRN 00123456 ticket"}
        else:
            yield "notification.delivered", {"channel": "slack", "summary": "update",
                                             "outcome": "ok", "head": None}


def _timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    """Print seconds per export format and append cost, each with its baseline ratio."""
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        now = [datetime(2025, 1, 21, 14, 30, tzinfo=UTC)]

        def clock() -> datetime:
            now[0] += timedelta(seconds=1)
            return now[0]

        journal = Journal.create(Path(tmp), clock=clock, actor=ACTOR, redactor=Redactor())
        events = _mix(rng)
        t_append = _timed(lambda: [journal.append(*next(events)) for _ in range(EVENTS)])
        journal.close()
        raw = journal.path.read_text(encoding="utf-8")
        lines = raw.splitlines(keepends=True)
        plain = Path(tmp) / "plain.jsonl"

        def plain_writes() -> None:
            with open(plain, "w", encoding="utf-8") as handle:
                for line in lines:
                    handle.write(line)
                    handle.flush()

        t_plain = _timed(plain_writes)
        print(f"append {EVENTS:,} events (redact + hash + fsync): {t_append:.2f} s; "
              f"{EVENTS / t_append:,.0f} events/s; "
              f"{t_append / t_plain:.1f}x the cost of plain flushed writes ({t_plain:.3f} s)")

        def parse() -> None:
            with open(journal.path, encoding="utf-8") as handle:
                for line in handle:
                    json.loads(line)

        t_parse = _timed(parse)
        for fmt in FORMATS:
            size = [0]

            def run(fmt: str = fmt, size: list[int] = size) -> None:
                size[0] = len(export_journal(journal.path, fmt, redactor=Redactor()))

            t_fmt = _timed(run)
            print(f"export {EVENTS:,} events as {fmt}: {t_fmt:.2f} s ({size[0] / 1e6:.1f} MB); "
                  f"{t_fmt / t_parse:.1f}x the cost of reading + parsing the journal "
                  f"({t_parse:.3f} s)")


if __name__ == "__main__":
    main()
