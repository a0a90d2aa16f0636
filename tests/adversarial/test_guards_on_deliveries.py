"""A guard rests on what happened: "notified" means a channel accepted the message.

The failure this answers: "compliance officer notified" was satisfied while SMTP was
down and only ``notification.failed`` events existed. Now a notify step whose message is
still in the outbox leaves the guard blocked, saying why; only a recorded delivery (or
the operator's own attestation, a labelled fact of its own) opens it.
"""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cockpit.config import load_config
from cockpit.connectors.executor import build_executor
from cockpit.runbook.desk import RunbookDesk
from cockpit.runbook.engine import StepRefused, StepState
from cockpit.runbook.loader import load_library
from cockpit.timeline.journal import Event
from cockpit.timeline.kinds import EventKind as K
from cockpit.timeline.replay import Facts, Reducer, replay

FIXTURES = Path(__file__).parents[1] / "fixtures" / "runbooks" / "good"
T0 = datetime(2025, 1, 21, 14, 30, tzinfo=UTC)
GUARD = "needs the Compliance Officer notified (compliance)"


class Journal:
    """Records events and folds each with the real reducer (what the session does)."""

    def __init__(self) -> None:
        self.reducer = Reducer("INC-20250121-143000-test")
        self.kinds: list[str] = []

    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        self.reducer.apply(Event(len(self.kinds), T0.isoformat(), str(kind), {}, dict(data),
                                 "", ""))
        self.kinds.append(str(kind))

    def facts(self) -> Facts:
        return self.reducer.state.facts


def event(seq: int, kind: str, **data: Any) -> Event:
    return Event(seq, T0.isoformat(), kind, {}, data, "", "")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def undo_blockers(desk: RunbookDesk) -> list[str]:
    run = desk.run("db-migration")
    return list(run.guard_problems(run.runbook.step("undo-migration")))


@pytest.fixture
def desk_with_smtp_down(tmp_path: Path):  # type: ignore[no-untyped-def]
    config_file = tmp_path / "cockpit.toml"
    config_file.write_text(f'[email]\nhost = "127.0.0.1"\nport = {free_port()}\n'
                           'from = "cockpit@whitecross.health"\nto = ["oncall@whitecross.health"]\n'
                           'starttls = false\ntimeout_s = 1\n')
    journal = Journal()
    executor = build_executor(load_config(config_file), read_only=False,
                              state_dir=tmp_path / "state")
    executor.bind(journal, lambda: "1:abc")
    desk = RunbookDesk(load_library(FIXTURES), executor, journal, journal.facts,
                       now=lambda: T0, operator=lambda: "oncall@bastion",
                       variables={"incident_id": "INC-1", "environment": "production",
                                  "database": "whitecross_prod"})
    desk.open("db-migration")
    run = desk.run("db-migration")
    for step in run.runbook.steps:  # what comes before the notification, skipped
        if step.id == "notify-compliance":
            break
        desk.skip("db-migration", step.id, "not under test")
    yield desk, journal
    executor.close()


def test_a_message_smtp_could_not_take_leaves_the_guard_blocked_saying_why(
        desk_with_smtp_down) -> None:  # type: ignore[no-untyped-def]
    desk, journal = desk_with_smtp_down
    status = desk.start("db-migration", "notify-compliance", background=False)
    # the step is done (the message waits in the outbox, retried in the background)...
    assert status.state is StepState.DONE, status.reason
    assert "delivery pending" in status.reason or "queued" in status.output
    # ...but nobody was told: the database rollback stays blocked, and says why
    assert "compliance" not in journal.facts().notified
    [blocker] = [b for b in undo_blockers(desk) if GUARD in b]
    assert "not delivered" in blocker or "queued" in blocker
    # the pump's next failed attempt does not open it either
    deadline = time.monotonic() + 10
    while K.NOTIFICATION_FAILED not in journal.kinds and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "compliance" not in journal.facts().notified


def test_the_operators_attestation_opens_the_guard_as_a_labelled_fact(
        desk_with_smtp_down) -> None:  # type: ignore[no-untyped-def]
    desk, journal = desk_with_smtp_down
    desk.start("db-migration", "notify-compliance", background=False)
    with pytest.raises(StepRefused, match="say how"):
        desk.attest("db-migration", "undo-migration", "   ")
    assert desk.attest("db-migration", "undo-migration",
                       "phoned Pat Lee (compliance) at 14:40") == ["compliance"]
    facts = journal.facts()
    assert "compliance" in facts.notified
    assert facts.attested["compliance"].startswith("oncall@bastion: phoned Pat Lee")
    assert not any(GUARD in b for b in undo_blockers(desk))
    assert K.NOTIFICATION_DELIVERED not in journal.kinds  # an attestation is no delivery


@pytest.mark.parametrize("delivered_first", [True, False])
def test_a_recorded_delivery_opens_the_guard_whichever_is_recorded_first(
        delivered_first: bool) -> None:
    done = event(1, K.STEP_FINISHED, runbook="db", step="notify", outcome="done",
                 notifying={"id": "e1", "targets": ["compliance"]})
    delivered = event(2, K.NOTIFICATION_DELIVERED, channel="email", id="e1",
                      outcome="delivered")
    events = [delivered, done] if delivered_first else [done, delivered]
    assert "compliance" in replay(events).facts.notified
    assert "compliance" not in replay([done]).facts.notified


@pytest.mark.parametrize("noise", [
    # a delivery of another message, a failure, a queued event: none is this delivery
    [event(2, K.NOTIFICATION_DELIVERED, channel="email", id="other", outcome="delivered")],
    [event(2, K.NOTIFICATION_FAILED, channel="email", id="e1", outcome="failed",
           reason="550 mailbox unavailable")],
    [event(2, K.NOTIFICATION_QUEUED, channel="email", summary="DB rollback",
           targets=["compliance"])],
    [event(2, K.NOTIFICATION_ATTESTED, target="legal", how="told Legal", by="x")],
])
def test_nothing_but_this_messages_delivery_counts(noise: list[Event]) -> None:
    done = event(1, K.STEP_FINISHED, runbook="db", step="notify", outcome="done",
                 notifying={"id": "e1", "targets": ["compliance"]})
    facts = replay([done, *noise]).facts
    assert "compliance" not in facts.notified
    assert "compliance" in facts.undelivered
    if noise[0].kind == K.NOTIFICATION_FAILED:
        assert "550 mailbox unavailable" in facts.undelivered["compliance"]
