"""Trigger windows, table-driven: every row of the procedures' trigger table and its edges."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from cockpit.decision import (
    DecisionEngine,
    TriggerStatus,
    UnknownInputError,
    load_policy,
)

T0 = datetime(2025, 1, 21, 14, 0, tzinfo=UTC)
POLICY = load_policy()


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def every(start: int, end: int, step: int, value: float) -> list[tuple[int, float]]:
    """Samples from start to end inclusive."""
    return [(s, value) for s in range(start, end + 1, step)]


@dataclass
class Case:
    name: str
    trigger: str
    samples: dict[str, list[tuple[int, float]]]
    fired_at: int | None
    final: TriggerStatus
    decide_after_fire: int | None = None
    extra: dict[str, object] = field(default_factory=dict)


def feed(engine: DecisionEngine, samples: dict[str, list[tuple[int, float]]]) -> None:
    merged = sorted((s, metric, v) for metric, rows in samples.items() for s, v in rows)
    for s, metric, v in merged:
        engine.observe(metric, at(s), v)


CASES = [
    # error_rate: > 5 % for 5 minutes, automatic rollback, decide immediately
    Case("error just under", "error_rate", {"error_rate_pct": every(0, 900, 10, 4.99)},
         None, TriggerStatus.OK),
    Case("error exactly at", "error_rate", {"error_rate_pct": every(0, 900, 10, 5.0)},
         None, TriggerStatus.OK),
    Case("error just over", "error_rate", {"error_rate_pct": every(0, 300, 10, 5.01)},
         300, TriggerStatus.FIRED, 0),
    Case("error one sample short", "error_rate", {"error_rate_pct": every(0, 290, 10, 9.0)},
         None, TriggerStatus.BREACHING),
    Case("error gap of 61 s restarts the window", "error_rate",
         {"error_rate_pct": every(0, 120, 10, 9.0) + every(181, 600, 10, 9.0)},
         481, TriggerStatus.FIRED, 0),
    Case("error gap of exactly 60 s keeps the window", "error_rate",
         {"error_rate_pct": every(0, 120, 10, 9.0) + every(180, 600, 10, 9.0)},
         300, TriggerStatus.FIRED, 0),
    Case("error dip restarts the window", "error_rate",
         {"error_rate_pct": every(0, 150, 10, 9.0) + [(160, 5.0)] + every(170, 600, 10, 9.0)},
         470, TriggerStatus.FIRED, 0),
    Case("error fires at first sample at or after start + 5 min", "error_rate",
         {"error_rate_pct": every(0, 280, 40, 9.0) + [(310, 9.0)]},
         310, TriggerStatus.FIRED, 0),
    Case("error recovered stays on record", "error_rate",
         {"error_rate_pct": every(0, 300, 10, 9.0) + [(310, 1.0)]},
         300, TriggerStatus.RECOVERED, 0),
    # latency_p95: > 1000 ms for 10 minutes, alert + manual decision within 15 minutes
    Case("latency just under", "latency_p95", {"latency_p95_ms": every(0, 900, 10, 999.9)},
         None, TriggerStatus.OK),
    Case("latency exactly at", "latency_p95", {"latency_p95_ms": every(0, 900, 10, 1000)},
         None, TriggerStatus.OK),
    Case("latency just over", "latency_p95", {"latency_p95_ms": every(0, 600, 10, 1000.1)},
         600, TriggerStatus.FIRED, 900),
    Case("latency one sample short", "latency_p95",
         {"latency_p95_ms": every(0, 590, 10, 1500)}, None, TriggerStatus.BREACHING),
    Case("latency gap of 61 s", "latency_p95",
         {"latency_p95_ms": every(0, 300, 10, 1500) + every(361, 700, 10, 1500)},
         None, TriggerStatus.BREACHING),
    Case("latency dip", "latency_p95",
         {"latency_p95_ms": every(0, 300, 10, 1500) + [(310, 800)] + every(320, 920, 10, 1500)},
         920, TriggerStatus.FIRED, 900),
    # health_checks: > 50 % failing, automatic rollback on the first sample
    Case("health just under", "health_checks",
         {"health_check_failing_pct": every(0, 300, 10, 49.99)}, None, TriggerStatus.OK),
    Case("health exactly at", "health_checks",
         {"health_check_failing_pct": every(0, 300, 10, 50)}, None, TriggerStatus.OK),
    Case("health just over fires on first sample", "health_checks",
         {"health_check_failing_pct": [(0, 10), (30, 50.01)]}, 30, TriggerStatus.FIRED, 0),
    # db_connections: > 25 % errors, automatic rollback, decide within 5 minutes
    Case("db just under", "db_connections",
         {"db_connection_error_pct": every(0, 300, 10, 24.99)}, None, TriggerStatus.OK),
    Case("db exactly at", "db_connections",
         {"db_connection_error_pct": every(0, 300, 10, 25)}, None, TriggerStatus.OK),
    Case("db just over", "db_connections",
         {"db_connection_error_pct": [(0, 1), (40, 25.01)]}, 40, TriggerStatus.FIRED, 300),
    # resources: CPU or memory > 95 % for 10 minutes, manual decision within 15 minutes
    Case("cpu just under", "resources", {"cpu_pct": every(0, 900, 10, 94.99)},
         None, TriggerStatus.OK),
    Case("cpu exactly at", "resources", {"cpu_pct": every(0, 900, 10, 95)},
         None, TriggerStatus.OK),
    Case("cpu just over", "resources", {"cpu_pct": every(0, 600, 10, 95.01)},
         600, TriggerStatus.FIRED, 900),
    Case("memory alone fires", "resources", {"memory_pct": every(0, 600, 10, 99)},
         600, TriggerStatus.FIRED, 900),
    Case("memory one sample short", "resources", {"memory_pct": every(0, 590, 10, 99)},
         None, TriggerStatus.BREACHING),
    Case("cpu gap of 61 s", "resources",
         {"cpu_pct": every(0, 300, 10, 99) + every(361, 900, 10, 99)},
         None, TriggerStatus.BREACHING),
    Case("cpu and memory windows are independent (hand-off does not fire)", "resources",
         {"cpu_pct": every(0, 300, 10, 99) + every(310, 900, 10, 50),
          "memory_pct": every(0, 290, 10, 50) + every(300, 890, 10, 99)},
         None, TriggerStatus.BREACHING),
    Case("cpu and memory: the memory window fires on its own time", "resources",
         {"cpu_pct": every(0, 590, 10, 99) + every(600, 800, 10, 10),
          "memory_pct": every(0, 90, 10, 10) + every(100, 800, 10, 99)},
         700, TriggerStatus.FIRED, 900),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_trigger_table(case: Case) -> None:
    engine = DecisionEngine(POLICY)
    feed(engine, case.samples)
    last = max(s for rows in case.samples.values() for s, _ in rows)
    state = {t.id: t for t in engine.state(at(last)).triggers}[case.trigger]
    assert state.state is case.final
    if case.fired_at is None:
        assert state.fired_at is None
        assert state.decide_by is None
    else:
        assert state.fired_at == at(case.fired_at)
        assert state.decide_by == at(case.fired_at + (case.decide_after_fire or 0))
    others = [t for t in engine.state(at(last)).triggers if t.id != case.trigger]
    assert all(t.fired_at is None for t in others)


def test_breaching_progress_is_evidence_based() -> None:
    engine = DecisionEngine(POLICY)
    for s in range(0, 191, 10):
        engine.observe("error_rate_pct", at(s), 8.0)
    state = {t.id: t for t in engine.state(at(250)).triggers}["error_rate"]
    assert state.state is TriggerStatus.BREACHING
    assert state.window_start == at(0)
    assert state.elapsed == timedelta(seconds=190)  # the last sample, not the wall clock
    assert state.needed == timedelta(minutes=5)


@pytest.mark.parametrize("event", ["security_breach", "data_corruption"])
def test_event_triggers_fire_on_first_event_and_stay_fired(event: str) -> None:
    engine = DecisionEngine(POLICY)
    changes = engine.observe_event(event, at(42))
    assert [(c.trigger, c.state, c.decide_by) for c in changes] == [
        (event, TriggerStatus.FIRED, at(42))
    ]
    assert engine.observe_event(event, at(50)) == []
    state = {t.id: t for t in engine.state(at(60)).triggers}[event]
    assert (state.state, state.fired_at) == (TriggerStatus.FIRED, at(42))


def test_changes_report_each_transition_once() -> None:
    engine = DecisionEngine(POLICY)
    seen = []
    for s, v in [(0, 9.0), (10, 9.0), (20, 1.0), (30, 9.0)] + every(40, 330, 10, 9.0):
        seen += [(c.at, c.state) for c in engine.observe("error_rate_pct", at(s), v)]
    seen += [(c.at, c.state) for c in engine.observe("error_rate_pct", at(340), 1.0)]
    seen += [(c.at, c.state) for c in engine.observe("error_rate_pct", at(350), 9.0)]
    assert seen == [
        (at(0), TriggerStatus.BREACHING),
        (at(20), TriggerStatus.OK),
        (at(30), TriggerStatus.BREACHING),
        (at(330), TriggerStatus.FIRED),
        (at(340), TriggerStatus.RECOVERED),
        (at(350), TriggerStatus.FIRED),
    ]
    fired = [t for t in engine.state(at(350)).triggers if t.id == "error_rate"][0]
    assert fired.fired_at == at(330)  # the record is never rewritten


def test_older_and_duplicate_samples_are_ignored() -> None:
    engine = DecisionEngine(POLICY)
    engine.observe("error_rate_pct", at(100), 1.0)
    assert engine.observe("error_rate_pct", at(50), 99.0) == []
    assert engine.observe("error_rate_pct", at(100), 99.0) == []
    state = {t.id: t for t in engine.state(at(100)).triggers}["error_rate"]
    assert (state.state, state.value) == (TriggerStatus.OK, 1.0)


def test_stale_after_two_minutes_without_samples_and_back() -> None:
    engine = DecisionEngine(POLICY)
    engine.observe("error_rate_pct", at(0), 9.0)
    assert engine.tick(at(120)) == []  # exactly 120 s is not "more than"
    changes = engine.tick(at(125))
    assert [(c.trigger, c.state, c.at) for c in changes] == [
        ("error_rate", TriggerStatus.STALE, at(120))
    ]
    back = engine.observe("error_rate_pct", at(130), 9.0)
    # staleness broke the window: the breach starts again from the fresh sample
    assert [(c.state, c.window_start) for c in back] == [(TriggerStatus.BREACHING, at(130))]


def test_metric_that_never_reports_goes_stale_from_the_incident_start() -> None:
    engine = DecisionEngine(POLICY, started_at=at(0))
    changes = engine.tick(at(121))
    assert {c.trigger for c in changes} == {
        "error_rate", "latency_p95", "health_checks", "db_connections", "resources"
    }
    assert all(c.state is TriggerStatus.STALE for c in changes)


def test_fired_trigger_keeps_its_record_when_stale() -> None:
    engine = DecisionEngine(POLICY)
    engine.observe("health_check_failing_pct", at(0), 80.0)
    engine.tick(at(500))
    state = {t.id: t for t in engine.state(at(500)).triggers}["health_checks"]
    assert state.state is TriggerStatus.STALE
    assert state.fired_at == at(0)
    assert engine.state(at(500)).recommendation.kind.value == "immediate_rollback"


def test_unknown_metric_and_naive_time_are_rejected() -> None:
    engine = DecisionEngine(POLICY)
    with pytest.raises(UnknownInputError, match="unknown metric 'errors'"):
        engine.observe("errors", at(0), 1.0)
    with pytest.raises(UnknownInputError, match="unknown event"):
        engine.observe_event("meteor", at(0))
    with pytest.raises(ValueError, match="timezone-aware"):
        engine.observe("cpu_pct", datetime(2025, 1, 1), 1.0)


def test_history_is_json_safe_timeline_events() -> None:
    import json

    engine = DecisionEngine(POLICY)
    engine.observe("error_rate_pct", at(0), 9.0)
    engine.answer_fix_forward(False, "alice", at(5))
    engine.set_severity("high", "bob", at(6))
    engine.record_decision("rollback", "carol", at(7), ["error rate rising"])
    events = [h.to_event() for h in engine.history]
    json.dumps(events)
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "trigger.changed"
    assert {"tree.answered", "severity.set", "decision.recorded",
            "recommendation.changed"} <= set(kinds)
    answered = next(e for e in events if e["kind"] == "tree.answered")
    assert answered["data"] == {"question": "Can fix forward?", "answer": "no", "by": "alice"}
    assert answered["t"] == "2025-01-21T14:00:05Z"
