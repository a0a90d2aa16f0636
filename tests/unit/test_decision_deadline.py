"""One deadline per open decision: the earlier of the fired triggers' decide-by and the
severity's maximum decision time, which one binds, and whether a decision was in time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cockpit.decision import DecisionDeadline, DecisionEngine, load_policy

POLICY = load_policy()
T0 = datetime(2025, 1, 21, 14, 20, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def latency_fired() -> DecisionEngine:
    """Latency p95 over 1 s for 10 minutes: fires at 600 s, decide within 15 minutes."""
    engine = DecisionEngine(POLICY)
    for s in range(0, 601, 10):
        engine.observe("latency_p95_ms", at(s), 1500.0)
    return engine


def test_the_trigger_binds_when_its_decide_by_is_earlier_and_the_severity_is_named() -> None:
    engine = latency_fired()
    engine.set_severity("medium", "alice", at(590))  # 30 minutes from 590 s
    deadline = engine.state(at(610)).deadline
    assert deadline == DecisionDeadline(
        at(1500), "Response time p95 trigger", at(590) + timedelta(minutes=30), "severity Medium"
    )
    assert engine.state(at(610)).decision_deadline == at(1500)


def test_the_severity_binds_when_its_maximum_decision_time_is_earlier() -> None:
    engine = latency_fired()
    engine.set_severity("critical", "alice", at(605))  # 5 minutes
    deadline = engine.state(at(610)).deadline
    assert deadline is not None
    assert (deadline.at, deadline.source) == (at(905), "severity Critical")
    assert (deadline.other_at, deadline.other_source) == (at(1500), "Response time p95 trigger")


def test_a_decision_closes_the_deadline_and_keeps_the_one_it_was_taken_against() -> None:
    engine = latency_fired()
    engine.record_decision("rollback", "alice@bastion", at(1380))
    state = engine.state(at(4000))
    assert state.deadline is None and not state.decision_open
    assert state.decision is not None
    assert state.decision.deadline is not None and state.decision.deadline.at == at(1500)
    assert state.decision.margin == timedelta(minutes=2)
    assert state.decision.in_time is True


def test_a_decision_after_the_deadline_is_late() -> None:
    engine = latency_fired()
    engine.record_decision("rollback", "alice", at(1680))
    decision = engine.state(at(1700)).decision
    assert decision is not None
    assert decision.in_time is False and decision.margin == -timedelta(minutes=3)


def test_a_trigger_that_fires_after_the_decision_opens_a_new_one() -> None:
    engine = latency_fired()
    engine.record_decision("hot_fix", "alice", at(700))
    assert engine.state(at(800)).deadline is None
    engine.observe_event("security_breach", at(900))
    state = engine.state(at(910))
    assert state.deadline is not None
    assert (state.deadline.at, state.deadline.source) == (at(900), "Security breach trigger")
    counting = [t.id for t in state.triggers if state.counts_down(t)]
    assert counting == ["security_breach"]  # the latency trigger was decided on


def test_the_recorded_deadline_survives_the_journal() -> None:
    engine = latency_fired()
    engine.set_severity("high", "alice", at(600))
    engine.record_decision("rollback", "alice", at(700))
    recorded = [h for h in engine.history if h.kind == "decision.recorded"][-1]
    data = recorded.to_event()["data"]
    assert DecisionDeadline.from_data(data["deadline"]) == engine.state(at(700)).decision.deadline  # type: ignore[union-attr]
    assert DecisionDeadline.from_data(None) is None
    assert DecisionDeadline.from_data({"at": "not a time", "source": "x"}) is None
