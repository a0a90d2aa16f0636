"""The decision tree and the severity/authority table, through the engine and directly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cockpit.decision import DecisionEngine, RecommendationKind, load_policy
from cockpit.decision.tree import Answer, TreeInputs, evaluate_tree, suggest_severity

T0 = datetime(2025, 1, 21, 14, 0, tzinfo=UTC)
POLICY = load_policy()
R = RecommendationKind


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


YES = Answer(True, "alice", T0)
NO = Answer(False, "alice", T0)


@pytest.mark.parametrize(
    ("inputs", "outcome", "path"),
    [
        (TreeInputs(critical=("x",), issue=("x",), user_impact_pct=0), R.IMMEDIATE_ROLLBACK,
         ["yes"]),
        (TreeInputs(issue=("x",), user_impact_pct=5.01), R.ROLLBACK_WITHIN_30M, ["no", "yes"]),
        (TreeInputs(issue=("x",), user_impact_pct=5.0), R.AWAITING_ANSWER,
         ["no", "no", "unanswered"]),
        (TreeInputs(issue=("x",), user_impact_pct=1, fix_forward=YES), R.HOT_FIX,
         ["no", "no", "yes"]),
        (TreeInputs(issue=("x",), user_impact_pct=1, fix_forward=NO), R.ROLLBACK,
         ["no", "no", "no"]),
        (TreeInputs(user_impact_pct=1), R.NO_ACTION, ["no", "no"]),
        (TreeInputs(user_impact_pct=7), R.ROLLBACK_WITHIN_30M, ["no", "yes"]),
        (TreeInputs(issue=("x",)), R.AWAITING_ANSWER, ["no", "unanswered"]),
        (TreeInputs(issue=("x",), impact_answer=YES), R.ROLLBACK_WITHIN_30M, ["no", "yes"]),
        (TreeInputs(issue=("x",), impact_answer=NO, fix_forward=YES), R.HOT_FIX,
         ["no", "no", "yes"]),
        (TreeInputs(), R.NO_ACTION, ["no"]),
    ],
)
def test_tree_paths(inputs: TreeInputs, outcome: RecommendationKind, path: list[str]) -> None:
    result = evaluate_tree(inputs)
    assert result.outcome is outcome
    assert [step.answer for step in result.path] == path


def test_unanswered_means_rollback_headless_only() -> None:
    assert R.AWAITING_ANSWER.headless is R.ROLLBACK
    assert R.HOT_FIX.headless is R.HOT_FIX


def test_data_answer_beats_engineer_answer_for_impact() -> None:
    result = evaluate_tree(TreeInputs(issue=("x",), user_impact_pct=2, impact_answer=YES))
    assert result.path[1].by == "data"
    assert result.outcome is R.AWAITING_ANSWER


def test_engine_asks_fix_forward_then_records_who_answered() -> None:
    engine = DecisionEngine(POLICY)
    engine.observe("error_rate_pct", at(0), 1.0)
    engine.observe("latency_p95_ms", at(0), 1500)  # an issue that is not critical
    state = engine.state(at(1))
    assert state.recommendation.kind is R.AWAITING_ANSWER
    assert state.recommendation.text == "awaiting answer: can we fix forward?"
    engine.answer_fix_forward(True, "alice", at(2))
    state = engine.state(at(3))
    assert state.recommendation.kind is R.HOT_FIX
    assert state.fix_forward == Answer(True, "alice", at(2))
    assert state.tree[-1].by == "alice"
    assert "fix forward: yes (alice)" in state.recommendation.reasons


def test_patient_safety_flag_is_critical() -> None:
    engine = DecisionEngine(POLICY)
    engine.observe("error_rate_pct", at(0), 0.5)
    engine.flag_patient_safety("dr-oncall", at(10))
    state = engine.state(at(11))
    assert state.recommendation.kind is R.IMMEDIATE_ROLLBACK
    assert "patient-safety risk flagged by dr-oncall" in state.recommendation.reasons
    assert state.suggested_severity == "critical"
    engine.flag_patient_safety("dr-oncall", at(20), flagged=False)
    assert engine.state(at(21)).recommendation.kind is R.NO_ACTION


def test_user_impact_is_max_of_error_rate_and_failing_health_checks() -> None:
    engine = DecisionEngine(POLICY)
    engine.observe("error_rate_pct", at(0), 2.0)
    engine.observe("health_check_failing_pct", at(0), 6.0)
    state = engine.state(at(1))
    assert state.user_impact_pct == 6.0
    assert state.recommendation.kind is R.ROLLBACK_WITHIN_30M
    assert state.recommendation.deadline == at(0) + timedelta(minutes=30)


@pytest.mark.parametrize(
    ("severity", "authority", "minutes"),
    [
        ("critical", "CTO or VP Engineering", 5),
        ("high", "Engineering Manager", 15),
        ("medium", "Tech Lead", 30),
        ("low", "Team consensus", 60),
    ],
)
def test_severity_table(severity: str, authority: str, minutes: int) -> None:
    engine = DecisionEngine(POLICY)
    engine.set_severity(severity.capitalize(), "ic-bob", at(100))
    state = engine.state(at(101))
    assert state.severity == severity
    assert state.severity_set_by == "ic-bob"
    assert state.authority == authority
    assert state.max_decision == timedelta(minutes=minutes)
    assert state.severity_deadline == at(100) + timedelta(minutes=minutes)


def test_unknown_severity_is_refused() -> None:
    with pytest.raises(KeyError):
        DecisionEngine(POLICY).set_severity("apocalyptic", "bob", T0)


def test_suggested_severity_critical_when_an_immediate_trigger_fired() -> None:
    engine = DecisionEngine(POLICY)
    engine.observe_event("data_corruption", at(5))
    state = engine.state(at(6))
    assert state.suggested_severity == "critical"
    assert state.severity == "critical" and state.severity_set_by is None
    assert state.authority == "CTO or VP Engineering"
    assert state.decision_deadline == at(5)  # "immediately" beats the 5-minute maximum


def test_engineer_severity_overrides_the_suggestion() -> None:
    engine = DecisionEngine(POLICY)
    engine.observe_event("security_breach", at(0))
    engine.set_severity("high", "ic", at(30))
    state = engine.state(at(31))
    assert (state.suggested_severity, state.severity) == ("critical", "high")
    # the trigger still fired: the tree still says immediate rollback
    assert state.recommendation.kind is R.IMMEDIATE_ROLLBACK


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"critical": True}, "critical"),
        ({"user_impact_pct": 21.0}, "high"),
        ({"manual_trigger_fired": True}, "high"),
        ({"user_impact_pct": 5.5}, "medium"),
        ({"breaching": True}, "medium"),
        ({"issue": True}, "low"),
        ({}, None),
    ],
)
def test_suggest_severity(kwargs: dict[str, object], expected: str | None) -> None:
    args = {"critical": False, "user_impact_pct": None, "manual_trigger_fired": False,
            "breaching": False, "issue": False} | kwargs
    assert suggest_severity(**args) == expected  # type: ignore[arg-type]


def test_the_impact_question_states_the_policys_threshold() -> None:
    """A policy that rolls back above 3% of users asks about 3%, not the shipped 5%."""
    result = evaluate_tree(TreeInputs(issue=("x",), user_impact_above=3.0))
    assert result.path[1].question == "User impact > 3%?"
    assert "awaiting answer: is user impact > 3%?" in result.reasons
    assert evaluate_tree(TreeInputs(issue=("x",))).path[1].question == "User impact > 5%?"
