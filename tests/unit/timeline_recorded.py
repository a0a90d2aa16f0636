"""A recorded incident with fixed times, actor and ID, shared by the timeline tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cockpit.timeline.journal import Actor, Journal
from cockpit.timeline.redact import Redactor

INCIDENT_ID = "INC-20250121-143000-a1b2"
START = datetime(2025, 1, 21, 14, 30, 0, tzinfo=UTC)
ACTOR = Actor(user="oncall", host="bastion-1", ssh_client="203.0.113.7")

CANARIES = {
    "ssn": "078-05-1120",
    "mrn": "MRN 00123456",
    "mrn_digits": "00123456",
    "webhook": "https://hooks.slack.com/services/T000/B000/CANARYcanary",
    "webhook_tail": "CANARYcanary",
    "secret": "canary-S3cr3t-value",
}
HTTPX_ERROR = (
    "Client error '404 Not Found' for url "
    "'https://hooks.slack.com/services/T000/B000/CANARYcanary'\n"
    "For more information check: https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/404"
)
PSYCOPG_ERROR = (
    'duplicate key value violates unique constraint "patients_ssn_key"\n'
    "DETAIL: Key (ssn)=(078-05-1120) already exists."
)


class StepClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def script() -> Iterator[tuple[float, str, dict[str, Any]]]:
    """(seconds after the previous event, kind, data) of a bad-deploy rollback."""
    yield 0, "incident.opened", {"scenario": "bad-deploy", "environment": "prod",
                                 "mode": "live", "title": "API v2.1.0 error spike"}
    for i, (err, p95) in enumerate([(0.4, 310), (2.1, 640), (6.3, 1180), (8.9, 1420)]):
        yield 10, "sample", {"metric": "error_rate", "value": err}
        yield 0, "sample", {"metric": "latency_p95_ms", "value": p95}
        if i == 2:
            yield 0, "trigger.changed", {"trigger": "error_rate", "state": "breaching",
                                         "value": err, "action": "automatic rollback",
                                         "decide_by": "2025-01-21T14:35:30Z"}
    yield 20, "incident.declared", {"severity": "critical"}
    yield 5, "trigger.changed", {"trigger": "latency_p95", "state": "fired", "value": 1420,
                                 "action": "alert + manual decision", "decide_by": None}
    yield 30, "tree.answered", {"question": "Critical issue?", "answer": "yes", "by": "oncall"}
    yield 15, "decision.recorded", {"decision": "rollback", "reasons": ["error rate >5%",
                                    "patient-facing API"], "by": "oncall"}
    yield 5, "runbook.opened", {"runbook": "k8s-rollback"}
    yield 5, "step.started", {"runbook": "k8s-rollback", "step": "history", "title":
                              "Check rollout history", "preview": "kubectl rollout history "
                              "deployment/api -n prod", "destructive": False}
    yield 3, "step.finished", {"runbook": "k8s-rollback", "step": "history", "outcome": "done",
                               "duration_s": 2.9, "output": "REVISION 41\nREVISION 42",
                               "output_sha256": "ab" * 32}
    yield 20, "approval.recorded", {"role": "VP Engineering", "approver": "d.chen",
                                    "step": "undo"}
    yield 5, "step.started", {"runbook": "k8s-rollback", "step": "undo", "title":
                              "Roll back to the previous revision", "preview":
                              "kubectl rollout undo deployment/api -n prod",
                              "destructive": True}
    yield 90, "step.finished", {"runbook": "k8s-rollback", "step": "undo", "outcome": "done",
                                "duration_s": 89.5, "output": "deployment.apps/api rolled back",
                                "output_sha256": "cd" * 32}
    yield 5, "notification.queued", {"channel": "slack", "summary": "Rollback done",
                                     "outcome": None, "head": None}
    yield 1, "notification.failed", {"channel": "slack", "summary": "Rollback done",
                                     "outcome": HTTPX_ERROR, "head": None}
    yield 10, "step.started", {"runbook": "k8s-rollback", "step": "data-consistency",
                               "title": "Verify data consistency", "preview":
                               "psql -f post-rollback-data-check.sql", "destructive": False}
    yield 12, "step.finished", {"runbook": "k8s-rollback", "step": "data-consistency",
                                "outcome": "done", "duration_s": 11.8, "output":
                                "Orphaned health records | 0\nMissing medications | 0\n"
                                "Unencrypted PHI | 0\nFuture timestamps | 0",
                                "output_sha256": "ef" * 32}
    yield 5, "note.added", {"text": f"Insert failed: {PSYCOPG_ERROR} for {CANARIES['mrn']}"}
    yield 1, "status.update", {"text": "Rolled back API to v2.0.0; watching.",
                               "channel": "#incident-20250121-1430", "head": None}
    yield 4, "trigger.changed", {"trigger": "error_rate", "state": "recovered", "value": 0.5,
                                 "action": None, "decide_by": None}
    yield 0, "trigger.changed", {"trigger": "latency_p95", "state": "ok", "value": 330,
                                 "action": None, "decide_by": None}
    for value in (0.5, 0.4, 0.3, 0.3, 0.2, 0.2, 0.2):
        yield 60, "sample", {"metric": "error_rate", "value": value}
        yield 0, "sample", {"metric": "latency_p95_ms", "value": 300 + value * 10}
    yield 5, "incident.closed", {}


def record(
    state_dir: Path,
    *,
    redactor: Redactor | None = None,
    on_event: Callable[[Any], None] | None = None,
) -> Journal:
    """Write the scripted incident into ``state_dir`` and return the (closed) journal."""
    clock = StepClock()
    journal = Journal.create(state_dir, incident_id=INCIDENT_ID, clock=clock, actor=ACTOR,
                             redactor=redactor or Redactor())
    with journal:
        for delay, kind, data in script():
            clock.advance(delay)
            event = journal.append(kind, data)
            if on_event is not None:
                on_event(event)
    return journal
