"""A small api undo runbook run end to end against the simulated estate."""

from __future__ import annotations

from pathlib import Path

from cockpit.actions.executor import RunContext
from cockpit.actions.types import effective_variables, resolve
from cockpit.runbook.engine import Confirmation, RunbookRun, StepState
from cockpit.runbook.loader import load_library
from cockpit.runbook.model import ActionSpec
from cockpit.sim.estate import SimEstate
from cockpit.sim.executor import SimExecutor
from cockpit.sim.scenario import find_scenario
from cockpit.timeline.replay import Facts

GOOD = Path(__file__).parent.parent / "fixtures" / "runbooks" / "good"
SCENARIOS = Path(__file__).parents[2] / "runbooks" / "scenarios"


def estate_and_executor() -> tuple[SimEstate, SimExecutor]:
    estate = SimEstate(find_scenario("bad-deploy", SCENARIOS))
    # tests move simulated time instead of sleeping: every poll is 10 simulated seconds
    return estate, SimExecutor(estate, sleep=lambda _s: estate.clock.advance(10))


def test_api_undo_end_to_end_recovers_the_error_rate() -> None:
    estate, executor = estate_and_executor()
    estate.clock.advance(300)
    assert estate.metrics_snapshot().latest()["error_rate_pct"] > 5
    events: list[tuple[str, dict]] = []
    run = RunbookRun(load_library(GOOD).get("api-undo"), Facts, executor,
                     lambda kind, data: events.append((kind, data)), {"incident_id": "INC-1"})
    assert "REVISION" in run.execute("history").output
    undo = run.execute("undo", Confirmation("api", "Dana"))
    assert undo.state is StepState.DONE and undo.output == "deployment.apps/api rolled back"
    status = run.execute("status")
    assert status.state is StepState.DONE
    assert status.output.endswith('deployment "api" successfully rolled out')
    assert run.execute("recover").state is StepState.DONE
    assert run.execute("health").state is StepState.DONE
    assert run.execute("announce").state is StepState.DONE
    assert run.finished
    assert estate.metrics_snapshot().latest()["error_rate_pct"] < 1
    assert estate.cluster_snapshot().deployment("api").version == "1.9.3"
    assert [d.summary for d in executor.deliveries] == ["api rolled back (INC-1)"]
    assert [k for k, _ in events].count("step.finished") == 6


def test_health_fails_while_the_bad_version_serves() -> None:
    estate, executor = estate_and_executor()
    estate.clock.advance(300)
    action = resolve(ActionSpec("http.health", {"endpoints": ["auth", "medications"]}),
                     effective_variables())
    result = executor.run(action, RunContext(deadline=float("inf")))
    assert not result.ok and result.detail == "failing: medications"


def test_maintenance_flag_backup_and_shell_are_simulated() -> None:
    estate, executor = estate_and_executor()
    variables = effective_variables({"incident_id": "INC-1"})
    ctx = RunContext(deadline=float("inf"), variables=variables)
    executor.run(resolve(ActionSpec("redis.set", {"key": "maintenance_mode", "value": "true"}),
                         variables), ctx)
    assert estate.cache_snapshot().get("maintenance_mode") == "true"
    backup = executor.run(resolve(ActionSpec("pg.backup", {
        "database": "whitecross_prod", "path": "/backups/emergency/rollback_${incident_id}.dump"}),
        variables), ctx)
    assert backup.ok and backup.facts == ("backup_taken",)
    assert executor.backups[0].name == "rollback_INC-1.dump" and executor.backups[0].size_bytes
    assert "Format: CUSTOM" in backup.output
    pitr = executor.run(resolve(ActionSpec("shell", {"argv": [
        "aws", "rds", "restore-db-instance-to-point-in-time", "--target-db-instance-identifier",
        "prod-db-recovered"]}), variables), ctx)
    assert pitr.output.startswith("DBInstanceStatus: creating")
    unknown = executor.run(resolve(ActionSpec("shell", {"argv": ["./scripts/page.sh"]}),
                                   variables), ctx)
    assert unknown.output == "simulated: no effect"


def test_pg_verify_reads_check_names_and_reports_zero_counts() -> None:
    _, executor = estate_and_executor()
    variables = effective_variables({"runbooks_dir": str(GOOD)})
    result = executor.run(resolve(ActionSpec("pg.verify", {
        "database": "whitecross_prod", "sql_file": "sql/verify.sql"}), variables),
        RunContext(deadline=float("inf"), variables=variables))
    assert result.ok
    assert "orphaned_health_records |     0" in result.output
    assert "future_timestamps" in result.output and "(2 rows)" in result.output


def test_rollout_status_gives_up_at_its_timeout_in_simulated_time() -> None:
    estate, executor = estate_and_executor()
    variables = effective_variables()
    estate.scale("api", 10)
    estate.rollout_undo("api")
    result = executor.run(resolve(ActionSpec("k8s.rollout_status", {
        "deployment": "api", "namespace": "production", "timeout": "20s"}), variables),
        RunContext(deadline=float("inf")))
    assert not result.ok and "timed out waiting for the condition" in result.detail
