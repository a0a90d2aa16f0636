"""Training: every scenario's autopilot gets full marks; wrong plays get the rubric's penalties."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.runbook.engine import Confirmation, StepRefused
from cockpit.sim.scenario import find_scenario, list_scenarios
from cockpit.timeline.journal import read_events
from cockpit.timeline.replay import replay
from cockpit.timeline.verify import verify
from cockpit.training.score import Score, score_events, score_state
from tests.unit.training_helpers import (
    SCENARIO_IDS,
    autopilot,
    declare_and_decide,
    session,
    until_fired,
)


def test_every_issue_scenario_ships() -> None:
    assert {s.id for s in list_scenarios()} >= set(SCENARIO_IDS)


@pytest.mark.parametrize("scenario_id", SCENARIO_IDS)
def test_autopilot_resolves_every_scenario_with_full_marks(scenario_id: str,
                                                           tmp_path: Path) -> None:
    s, score = autopilot(scenario_id, tmp_path)
    assert score.full_marks, score.lines()
    assert score.restored and not score.data_lost
    assert score.decision == s.spec.decision
    # the journal is a real incident: closed, intact, and its score recorded in it
    report = verify(s.incident.journal.path)
    assert report.ok, report
    kinds = [e.kind for e in read_events(s.incident.journal.path)]
    assert kinds[-2:] == ["score.recorded", "incident.closed"]
    assert "incident.declared" in kinds and "status.update" in kinds


def test_score_is_computed_from_the_journal_alone(tmp_path: Path) -> None:
    s, score = autopilot("db-migration-failure", tmp_path)
    events = read_events(s.incident.journal.path)
    recorded = next(e for e in events if e.kind == "score.recorded")
    assert Score.from_data(recorded.data) == score
    # rescoring the file (as a replay would) gives the same breakdown, from the events or
    # from the state the journal's reducer folds them into
    again = score_events(events, s.spec, s.policy, s.library)
    assert again.to_data() == score.to_data()
    assert score_state(replay(events), s.spec, s.policy, s.library).to_data() == score.to_data()


@pytest.mark.parametrize("seed", [1, 7, 1234])
def test_same_seed_and_inputs_same_score_and_record(seed: int, tmp_path: Path) -> None:
    first, score_a = autopilot("bad-deploy", tmp_path / "a", seed)
    second, score_b = autopilot("bad-deploy", tmp_path / "b", seed)
    assert score_a.to_data() == score_b.to_data()

    def shape(s):  # what happened, when, with which numbers (ids and hashes differ)
        return [(e.t, e.kind, {k: v for k, v in e.data.items()
                               if k not in ("incident_id", "head", "text", "output_sha256",
                                            "output", "summary", "preview")})
                for e in read_events(s.incident.journal.path)]

    assert shape(first) == shape(second)


def test_db_rollback_without_backup_loses_data_and_the_debrief_says_so(tmp_path: Path) -> None:
    s = session("db-migration-failure", tmp_path)
    until_fired(s)
    declare_and_decide(s)
    # the trainee skips the runbook and undoes the migration by hand, writes still on
    s.off_book(["npx", "sequelize-cli", "db:migrate:undo", "--env", "production"])
    s.run_until(lambda: bool(s.outcome()["restored"]), 900)
    score = s.finish()
    assert score.data_lost and score.data_lost_rows > 200  # 45 rows/min for ~7 minutes
    assert score.category("outcome").points == 10  # restored, but data lost
    assert score.category("guards").points == 0  # ran outside any runbook
    whys = [p.why for p in score.penalties]
    assert any("outside any runbook" in w for w in whys)
    assert any("patient-record rows" in w and "no backup" in w for w in whys)
    assert any("undoing 20250121140000-split-health-records dropped" in c
               for c in score.consequences)


def test_undo_before_backup_is_refused_and_costs_guard_points(tmp_path: Path) -> None:
    s = session("db-migration-failure", tmp_path)
    until_fired(s)
    declare_and_decide(s)
    for step in ("migration-status", "connection-activity"):
        s.execute("database-migration", step)
    with pytest.raises(StepRefused, match="not yet: step 'stop-api' comes first"):
        s.start_step("database-migration", "undo-migration", Confirmation("x", "Dana"))
    score = s.finish()
    assert score.category("guards").points == 10
    assert any(p.why.startswith("tried database-migration/undo-migration")
               for p in score.penalties)
    assert not score.data_lost


def test_the_guarded_runbook_loses_nothing(tmp_path: Path) -> None:
    s, score = autopilot("db-migration-failure", tmp_path)
    assert s.estate.applied_migrations() == []
    assert score.data_lost_rows == 0


def test_late_decision_costs_five_points_a_started_minute(tmp_path: Path) -> None:
    s = session("bad-deploy", tmp_path)
    until_fired(s)
    s.declare("critical")
    s.advance(120 + 70)  # the allowance for "immediate" is 2 minutes; 70 s late
    s.decide("rollback")
    score = s.finish()
    late = [p for p in score.penalties if p.category == "decision"]
    assert [p.points for p in late] == [10]
    assert "after the error_rate trigger fired; the matrix allows 2m00s" in late[0].why
    assert score.time_to_decision_s == 190


def test_wrong_decision_and_severity_are_penalised(tmp_path: Path) -> None:
    s = session("latency-degradation", tmp_path)
    until_fired(s)
    s.declare("critical")
    s.decide("rollback")
    score = s.finish()
    whys = [p.why for p in score.penalties if p.category == "decision"]
    assert "decided rollback; the scenario called for hot fix" in whys
    assert "severity critical; the matrix says high here" in whys
    assert score.category("decision").points == 10


def test_the_severity_in_force_is_scored_a_cleared_one_is_the_suggested_one(
        tmp_path: Path) -> None:
    s = session("latency-degradation", tmp_path)
    until_fired(s)
    s.declare("low")  # wrong, then back to what the matrix suggests (high, the expected)
    s.engine.set_severity(None, "trainee", s.clock.now())
    s.incident.record_engine_history(s.engine)
    s.answer_fix_forward(True)
    s.decide("hot_fix")
    score = s.finish()
    assert not [p for p in score.penalties if "severity" in p.why]
    assert score.category("decision").points == 30


def test_flushing_redis_in_an_integration_failure_loses_queued_messages(tmp_path: Path) -> None:
    s = session("integration-failure", tmp_path)
    until_fired(s)
    declare_and_decide(s)
    status = s.execute("scenario-performance-degradation", "rate-limit-on")
    assert status.state.value == "done"
    s.execute("scenario-performance-degradation", "rate-limit-value")
    s.execute("scenario-performance-degradation", "scale-out")
    s.execute("scenario-performance-degradation", "clear-cache",
              Confirmation("prod-cache", "Dana"))
    score = s.finish()
    assert score.data_lost and score.messages_lost > 50
    whys = [p.why for p in score.penalties]
    assert any("ran destructive step scenario-performance-degradation/clear-cache" in w
               for w in whys)
    assert any("FLUSHDB deleted queued messages" in w for w in whys)


def test_no_status_updates_and_no_declaration_cost_communication(tmp_path: Path) -> None:
    s = session("bad-deploy", tmp_path)
    until_fired(s)
    s.decide("rollback")
    s.advance(40 * 60)
    score = s.finish()
    comm = [p.why for p in score.penalties if p.category == "communication"]
    assert "the incident was never declared" in comm
    assert any("status update(s) missed" in w for w in comm)
    assert score.category("communication").points == 0


def test_scenario_without_training_block_is_one_line_error(tmp_path: Path) -> None:
    from cockpit.training.spec import parse_training
    from cockpit.yamlfile import DataFileError

    text = (Path(find_scenario("bad-deploy").path).read_text()
            .replace("  decision: rollback\n", "  decision: retreat\n"))
    path = tmp_path / "s.yaml"
    path.write_text(text)
    from cockpit.sim.scenario import load_scenario

    with pytest.raises(DataFileError, match=r"s\.yaml:\d+: training: decision must be one of"):
        parse_training(load_scenario(path))


def test_an_undo_from_the_apis_history_is_the_plans_rollback_not_an_off_plan_step(
        tmp_path: Path) -> None:
    """The trainee rolls the api back from its revision history (a one-step deployment
    action) instead of the container rollback runbook: no 'destructive step the incident
    did not call for' penalty; an undo of a deployment the plan leaves alone still costs."""
    from cockpit.runbook.deployment_actions import DeploymentAction

    s = session("bad-deploy", tmp_path)
    until_fired(s)
    declare_and_decide(s)
    undo = DeploymentAction("undo", "production", "api", 7)
    s.open(undo.runbook_id)
    s.execute(undo.runbook_id, undo.step_id, Confirmation("api", "Dana"))
    other = DeploymentAction("undo", "production", "frontend", 11)
    s.open(other.runbook_id)
    s.execute(other.runbook_id, other.step_id, Confirmation("frontend", "Dana"))
    score = s.finish()
    off_plan = [p.why for p in score.penalties if "did not call for" in p.why]
    assert off_plan == [f"ran destructive step {other.runbook_id}/undo, which this incident "
                        "did not call for"], off_plan
