"""Property-based tests of the window rules against a direct reading of the issue's text."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from cockpit.decision import DecisionEngine, TriggerStatus, load_policy
from cockpit.decision.headless import Sample, evaluate_samples

POLICY = load_policy()
T0 = datetime(2025, 1, 21, tzinfo=UTC)
SPEC = POLICY.trigger("error_rate")

# (seconds since the previous sample, value): gaps around the 60 s limit, values around 5 %
steps = st.lists(
    st.tuples(
        st.sampled_from([1, 10, 30, 59, 60, 61, 90]) | st.integers(1, 200),
        st.sampled_from([4.99, 5.0, 5.01, 9.0]) | st.floats(0, 20, allow_nan=False),
    ),
    max_size=80,
)


def oracle_fire_time(samples: list[tuple[int, float]]) -> int | None:
    """The first sample i ending a run of breaching samples, gaps <= 60 s, lasting >= 300 s."""
    for i, (t_i, v_i) in enumerate(samples):
        if not v_i > SPEC.above:
            continue
        j = i
        while j > 0 and samples[j - 1][1] > SPEC.above and samples[j][0] - samples[j - 1][0] <= 60:
            j -= 1
        if t_i - samples[j][0] >= SPEC.sustained.total_seconds():
            return t_i
    return None


def timeline(raw: list[tuple[int, float]]) -> list[tuple[int, float]]:
    out, t = [], 0
    for gap, value in raw:
        t += gap
        out.append((t, value))
    return out


@settings(max_examples=300, deadline=None)
@given(steps)
def test_fire_time_matches_the_rule(raw: list[tuple[int, float]]) -> None:
    samples = timeline(raw)
    engine = DecisionEngine(POLICY)
    for t, v in samples:
        engine.observe("error_rate_pct", T0 + timedelta(seconds=t), v)
    expected = oracle_fire_time(samples)
    state = engine.state(T0).triggers[0]
    assert state.id == "error_rate"
    if expected is None:
        assert state.fired_at is None
        assert state.state in (TriggerStatus.OK, TriggerStatus.BREACHING)
        assert (state.state is TriggerStatus.BREACHING) == bool(samples and samples[-1][1] > 5)
    else:
        assert state.fired_at == T0 + timedelta(seconds=expected)
        assert state.decide_by == state.fired_at  # "immediately"
        last_breaching = samples[-1][1] > 5
        assert state.state is (TriggerStatus.FIRED if last_breaching else TriggerStatus.RECOVERED)


@settings(max_examples=200, deadline=None)
@given(steps)
def test_once_fired_the_record_never_changes(raw: list[tuple[int, float]]) -> None:
    engine = DecisionEngine(POLICY)
    first: datetime | None = None
    for t, v in timeline(raw):
        engine.observe("error_rate_pct", T0 + timedelta(seconds=t), v)
        engine.tick(T0 + timedelta(seconds=t))
        fired_at = engine.state(T0).triggers[0].fired_at
        if first is not None:
            assert fired_at == first
        first = fired_at
    if first is not None:
        changes = [h for h in engine.history if getattr(h, "trigger", None) == "error_rate"]
        after = changes[[c.state for c in changes].index(TriggerStatus.FIRED) + 1:]
        assert all(c.state is not TriggerStatus.BREACHING for c in after)
        assert all(c.state is not TriggerStatus.OK for c in after)


@settings(max_examples=100, deadline=None)
@given(steps, st.randoms(use_true_random=False))
def test_headless_output_does_not_depend_on_input_order(
    raw: list[tuple[int, float]], rnd: random.Random
) -> None:
    rows = [(t, metric, v) for t, v in timeline(raw) for metric in ("error_rate_pct", "cpu_pct")]
    samples = [
        Sample(n, T0 + timedelta(seconds=t), metric, v)
        for n, (t, metric, v) in enumerate(rows, start=1)
    ]
    shuffled = samples[:]
    rnd.shuffle(shuffled)
    assert evaluate_samples(shuffled, POLICY) == evaluate_samples(samples, POLICY)


@settings(max_examples=100, deadline=None)
@given(steps, steps)
def test_cpu_and_memory_windows_are_independent(
    cpu_raw: list[tuple[int, float]], mem_raw: list[tuple[int, float]]
) -> None:
    """Resources fires at the earlier of the two fire times each metric would give alone."""

    def scaled(raw: list[tuple[int, float]]) -> list[tuple[int, float]]:
        return [(t, 95 + (v - 5)) for t, v in timeline(raw)]  # 5 % -> 95 %, same edges

    def fire(metrics: dict[str, list[tuple[int, float]]]) -> datetime | None:
        engine = DecisionEngine(POLICY)
        merged = sorted((t, m, v) for m, rows in metrics.items() for t, v in rows)
        for t, m, v in merged:
            engine.observe(m, T0 + timedelta(seconds=t), v)
        return {s.id: s for s in engine.state(T0).triggers}["resources"].fired_at

    cpu, mem = scaled(cpu_raw), scaled(mem_raw)
    alone = [x for x in (fire({"cpu_pct": cpu}), fire({"memory_pct": mem})) if x is not None]
    assert fire({"cpu_pct": cpu, "memory_pct": mem}) == (min(alone) if alone else None)
