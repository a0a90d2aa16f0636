"""Resume restores what the engine recorded: ``DecisionEngine.restore`` from the journal's events.

Each test runs an engine, turns its journaled history (JSON, as the journal stores it)
into a ``RecordedDecisionState`` the way the journal's reducer does, restores a fresh
engine from it, and checks that the two say the same thing now and after the same
next inputs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cockpit.decision import DecisionEngine, TriggerStatus, load_policy
from cockpit.decision.engine import (
    Q_PATIENT_SAFETY,
    DecisionDeadline,
    DecisionRecord,
    RecordedDecisionState,
    RecordedTrigger,
)
from cockpit.decision.tree import Q_FIX_FORWARD, Q_IMPACT, Answer

POLICY = load_policy()
T0 = datetime(2025, 1, 21, 14, 26, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def recorded_state(
    events: Iterable[dict[str, Any]], last_samples: dict[str, tuple[datetime, float]]
) -> RecordedDecisionState:
    """What the journal's reducer builds: the last record of each kind, from JSON events."""
    triggers: dict[str, RecordedTrigger] = {}
    answers: dict[str, Answer] = {}
    severity: tuple[str, str, datetime] | None = None
    decision: DecisionRecord | None = None
    recommendation_since = severity_since = None
    for event in json.loads(json.dumps(list(events))):  # only what survives the journal
        d, t = event["data"], when(event["t"])
        assert t is not None
        kind = event["kind"]
        if kind == "trigger.changed":
            triggers[d["trigger"]] = RecordedTrigger(
                trigger=d["trigger"], state=d["state"], at=t, fired_at=when(d["fired_at"]),
                decide_by=when(d["decide_by"]), window_start=when(d["window_start"]),
                metric=d["metric"], value=d["value"], fired_value=d["fired_value"],
                windows={m: when(s) for m, s in d["windows"].items()},
            )
        elif kind in ("severity.set", "severity.suggested"):
            if kind == "severity.set":
                severity = (d["severity"], d["by"], t) if d["severity"] else None
            severity_since = when(d["effective_since"])
        elif kind == "tree.answered":
            answers[d["question"]] = Answer(d["answer"] == "yes", d["by"], t)
        elif kind == "decision.recorded":
            decision = DecisionRecord(d["decision"], d["by"], t, tuple(d["reasons"]),
                                      DecisionDeadline.from_data(d["deadline"]))
        elif kind == "recommendation.changed":
            recommendation_since = t
    return RecordedDecisionState(
        triggers=tuple(triggers.values()),
        last_samples=last_samples,
        severity=severity,
        patient_safety=answers.get(Q_PATIENT_SAFETY),
        fix_forward=answers.get(Q_FIX_FORWARD),
        impact_answer=answers.get(Q_IMPACT),
        decision=decision,
        recommendation_since=recommendation_since,
        severity_since=severity_since,
    )


class Run:
    """An engine and the latest sample of each metric it was fed."""

    def __init__(self) -> None:
        self.engine = DecisionEngine(POLICY, started_at=T0)
        self.last: dict[str, tuple[datetime, float]] = {}

    def sample(self, metric: str, s: float, value: float) -> list[Any]:
        self.last[metric] = (at(s), value)
        changes = list(self.engine.tick(at(s)))
        return changes + self.engine.observe(metric, at(s), value)

    def restored(self) -> DecisionEngine:
        fresh = DecisionEngine(POLICY, started_at=T0)
        fresh.restore(recorded_state((h.to_event() for h in self.engine.history), self.last))
        assert fresh.history == ()  # nothing to journal again
        return fresh


def feed(run: Run, engines: list[DecisionEngine], rows: Iterable[tuple[float, str, float]]) -> None:
    """The same next samples to the original and the restored: the same changes."""
    for s, metric, value in rows:
        original = run.sample(metric, s, value)
        for other in engines:
            again = list(other.tick(at(s))) + other.observe(metric, at(s), value)
            assert again == original


def breach(start: float, end: float, step: float, metric: str = "error_rate_pct",
           value: float = 9.0) -> list[tuple[float, str, float]]:
    rows = []
    s = start
    while s <= end:
        rows.append((s, metric, value))
        s += step
    return rows


@pytest.mark.parametrize("step", [1, 10, 60])
def test_a_whole_incident_restores_field_by_field(step: int) -> None:
    run = Run()
    # error rate over 5 % for 5 minutes at this spacing; latency breaching, not fired
    feed(run, [], breach(0, 330, step))
    feed(run, [], breach(0, 330, 30, "latency_p95_ms", 1500.0))
    run.engine.observe_event("security_breach", at(335))
    run.engine.set_severity("high", "alice@bastion", at(340))
    run.engine.answer_fix_forward(False, "bob@bastion", at(345))
    run.engine.flag_patient_safety("dr-oncall", at(346))
    run.engine.record_decision("rollback", "alice@bastion", at(350), ["error rate over 5%"])
    before = run.engine.state(at(355))
    error = {t.id: t for t in before.triggers}["error_rate"]
    assert error.state is TriggerStatus.FIRED and error.fired_at == at(300)
    assert {t.id: t for t in before.triggers}["latency_p95"].state is TriggerStatus.BREACHING

    restored = run.restored()
    after = restored.state(at(355))
    for name in before.__dataclass_fields__:
        assert getattr(after, name) == getattr(before, name), name
    assert after.decision is not None and after.decision.deadline == before.decision.deadline  # type: ignore[union-attr]

    # the same next samples: latency fires at its own time in both, error rate recovers
    feed(run, [restored], breach(330 + step, 700, step, "latency_p95_ms", 1500.0)
         + [(701, "error_rate_pct", 1.0)])
    assert restored.state(at(800)) == run.engine.state(at(800))
    latency = {t.id: t for t in restored.state(at(800)).triggers}["latency_p95"]
    assert latency.fired_at is not None and latency.fired_at >= at(600)


@pytest.mark.parametrize("step", [1, 10, 60])
def test_a_breach_window_continues_across_the_restore_and_fires_on_time(step: int) -> None:
    run = Run()
    feed(run, [], breach(0, 180, step))  # two or three minutes into the five
    restored = run.restored()
    state = {t.id: t for t in restored.state(at(180)).triggers}["error_rate"]
    assert (state.state, state.window_start) == (TriggerStatus.BREACHING, at(0))
    assert state.elapsed == timedelta(seconds=180)
    assert restored.state(at(180)) == run.engine.state(at(180))
    feed(run, [restored], breach(180 + step, 360, step))
    fired = {t.id: t for t in restored.state(at(360)).triggers}["error_rate"]
    assert fired.fired_at == at(300)  # not moved to the first sample after the resume
    assert restored.state(at(360)).recommendation.kind.value == "immediate_rollback"


def test_a_gap_of_more_than_max_gap_after_the_last_recorded_sample_restarts_the_window() -> None:
    run = Run()
    feed(run, [], breach(0, 120, 10))
    restored = run.restored()
    feed(run, [restored], [(181, "error_rate_pct", 9.0)])
    state = {t.id: t for t in restored.state(at(181)).triggers}["error_rate"]
    assert state.window_start == at(181)


def test_a_fired_trigger_stays_fired_and_stale_counts_from_the_last_sample() -> None:
    run = Run()
    feed(run, [], breach(0, 300, 60))  # fires at 300 s with one sample a minute
    restored = run.restored()
    assert restored.state(at(300)) == run.engine.state(at(300))
    # no sample after 300 s: stale 120 s after it, in both, dated alike
    changes = restored.tick(at(421))
    assert [(c.trigger, c.state, c.at) for c in changes if c.trigger == "error_rate"] == [
        ("error_rate", TriggerStatus.STALE, at(420))
    ]
    assert changes == run.engine.tick(at(421))
    state = {t.id: t for t in restored.state(at(421)).triggers}["error_rate"]
    assert state.fired_at == at(300) and state.decide_by == at(300)


def test_a_stale_recovered_and_security_record_come_back_as_recorded() -> None:
    run = Run()
    feed(run, [], breach(0, 300, 10) + [(310, "error_rate_pct", 1.0)])
    feed(run, [], [(0, "cpu_pct", 40.0)])  # then silent: stale
    run.engine.tick(at(400))
    run.engine.observe_event("data_corruption", at(405))
    restored = run.restored()
    before, after = run.engine.state(at(410)), restored.state(at(410))
    assert after == before
    states = {t.id: t.state for t in after.triggers}
    assert states["error_rate"] is TriggerStatus.RECOVERED
    assert states["resources"] is TriggerStatus.STALE
    assert states["data_corruption"] is TriggerStatus.FIRED


def test_cpu_and_memory_windows_both_come_back() -> None:
    run = Run()
    rows = sorted(breach(0, 400, 10, "cpu_pct", 99.0) + breach(100, 400, 10, "memory_pct", 99.0))
    feed(run, [], rows)
    restored = run.restored()
    assert restored.state(at(400)) == run.engine.state(at(400))
    # cpu drops: the memory window, open since 100 s, carries on and fires at 700 s
    rest = sorted(breach(410, 700, 10, "cpu_pct", 10.0) + breach(410, 700, 10, "memory_pct", 99.0))
    feed(run, [restored], rest)
    resources = {t.id: t for t in restored.state(at(700)).triggers}["resources"]
    assert resources.fired_at == at(700)


def test_restore_refuses_an_engine_that_was_already_fed() -> None:
    run = Run()
    feed(run, [], breach(0, 20, 10))
    with pytest.raises(RuntimeError, match="fresh engine"):
        run.engine.restore(recorded_state([], {}))


def test_a_severity_set_by_hand_keeps_its_clock() -> None:
    run = Run()
    feed(run, [], breach(0, 60, 10))
    run.engine.set_severity("critical", "alice", at(70))
    run.engine.set_severity("critical", "bob", at(90))  # same severity: its clock runs on
    restored = run.restored()
    assert restored.state(at(95)).severity_deadline == at(70) + timedelta(minutes=5)
    assert restored.state(at(95)) == run.engine.state(at(95))


METRICS = ("error_rate_pct", "latency_p95_ms", "cpu_pct", "memory_pct")
THRESHOLD = {"error_rate_pct": 5.0, "latency_p95_ms": 1000.0, "cpu_pct": 95.0, "memory_pct": 95.0}
rows = st.lists(
    st.tuples(st.sampled_from([1, 10, 30, 59, 60, 61, 130]), st.sampled_from(METRICS),
              st.sampled_from([0.5, 1.0, 2.0])),
    min_size=1, max_size=120,
)


@settings(max_examples=150, deadline=None)
@given(rows, st.integers(0, 119), st.booleans())
def test_restoring_at_any_point_gives_the_same_state_and_the_same_future(
    raw: list[tuple[int, str, float]], cut: int, answers: bool
) -> None:
    samples, s = [], 0
    for gap, metric, factor in raw:
        s += gap
        samples.append((float(s), metric, THRESHOLD[metric] * factor))
    cut = min(cut, len(samples))
    run = Run()
    feed(run, [], samples[:cut])
    if answers:
        run.engine.answer_fix_forward(True, "alice", at(s / 2))
        run.engine.set_severity("medium", "alice", at(s / 2))
    now = samples[cut - 1][0] if cut else 0.0
    restored = run.restored()
    assert restored.state(at(now)) == run.engine.state(at(now))
    feed(run, [restored], samples[cut:])
    assert restored.state(at(s + 500)) == run.engine.state(at(s + 500))


def test_a_stale_error_rate_gives_no_user_impact_after_the_restore() -> None:
    run = Run()
    feed(run, [], breach(0, 100, 10, value=30.0))  # 30 % of requests failing, then silence
    run.engine.tick(at(230))
    restored = run.restored()
    state = restored.state(at(230))
    assert {t.id: t.state for t in state.triggers}["error_rate"] is TriggerStatus.STALE
    assert state.user_impact_pct is None  # stale data is not evidence of impact
    assert state == run.engine.state(at(230))
