"""The simulator's training features: migrations, backups, repairs, mitigations, events, queues."""

from __future__ import annotations

from cockpit.sim.estate import SimEstate
from cockpit.sim.scenario import find_scenario


def estate(scenario_id: str) -> SimEstate:
    return SimEstate(find_scenario(scenario_id))


def test_migration_undo_without_backup_loses_every_row_since_the_migration() -> None:
    e = estate("db-migration-failure")  # 45 rows/min, migration applied at -60 s
    e.clock.advance(240)
    e.migration_undo()
    assert e.data_lost() == 225  # 5 minutes of writes
    assert "no backup had been taken" in e.consequences[0].detail
    assert e.applied_migrations() == []


def test_backup_after_stopping_writes_means_nothing_is_lost() -> None:
    e = estate("db-migration-failure")
    e.clock.advance(240)
    e.scale("api", 0)
    e.cache_set("maintenance_mode", "true")
    e.clock.advance(60)
    e.backup("whitecross_prod")
    e.clock.advance(60)
    e.migration_undo()
    assert e.data_lost() == 0 and e.consequences == []


def test_backup_with_writes_still_on_loses_the_rows_after_it() -> None:
    e = estate("db-migration-failure")
    e.clock.advance(240)
    e.backup("whitecross_prod")
    e.clock.advance(120)
    e.migration_undo()
    assert e.data_lost() == 90
    assert "writes were still on after the last backup" in e.consequences[0].detail


def test_migration_fault_and_its_verify_problems_end_with_the_undo() -> None:
    e = estate("db-migration-failure")
    e.clock.advance(400)
    assert e.sample_values()["error_rate_pct"] > 5
    assert e.verify_problems() == {"missing_columns": 2, "orphaned_health_records": 214}
    e.migration_undo()
    assert e.verify_problems() == {}
    e.clock.advance(120)
    assert e.sample_values()["error_rate_pct"] < 1
    assert e.active_faults() == []


def test_corruption_is_repaired_only_by_both_statements() -> None:
    e = estate("database-corruption")
    e.clock.advance(100)
    assert [ev.kind for ev in e.events_until()] == ["data_corruption"]
    e.run_sql("REINDEX DATABASE whitecross_prod")
    assert e.verify_problems() == {"orphaned_health_records": 37}
    e.run_sql("VACUUM FULL ANALYZE")
    assert e.verify_problems() == {}


def test_mitigations_apply_from_when_they_were_set_and_history_is_unchanged() -> None:
    e = estate("latency-degradation")
    e.clock.advance(900)
    before = e.metrics_snapshot().latency_p95_ms
    assert before.latest is not None and before.latest > 1000
    e.cache_set("rate_limit_enabled", "true")
    e.scale("api", 20)
    e.clock.advance(10)
    after = e.metrics_snapshot().latency_p95_ms
    assert after.latest is not None and after.latest < 1000
    # the past 30 minutes did not change because of what was done now
    assert after.points[:-1] == before.points[1:]
    assert e.active_faults() == []  # a fix forward that holds resolves the scenario


def test_scaling_the_bad_version_to_zero_ends_its_fault() -> None:
    e = estate("db-connection-exhaustion")
    e.clock.advance(300)
    assert e.sample_values()["db_connection_error_pct"] > 25
    e.scale("api", 0)
    e.clock.advance(120)
    assert e.sample_values()["db_connection_error_pct"] < 1
    assert e.sample_values()["health_check_failing_pct"] == 100  # no api pods: all 503


def test_queues_fill_while_the_integration_fails_and_flush_loses_them() -> None:
    e = estate("integration-failure")
    e.clock.advance(300)
    assert e.cache_get("email_queue") == "84 queued"
    e.cache_flush()
    assert e.consequences[0].kind == "messages_lost"
    assert e.consequences[0].amount == 84 + 36
    assert e.cache_get("email_queue") is None


def test_queues_drain_without_loss_after_a_rollback() -> None:
    e = estate("integration-failure")
    e.clock.advance(300)
    e.rollout_undo("api")
    e.clock.advance(150)
    assert e.cache_get("email_queue") is None and e.consequences == []


def test_blue_green_api_tier_serves_from_either_deployment() -> None:
    e = estate("full-rollback")
    e.clock.advance(200)
    e.scale("api-v1", 10)
    e.scale("api-v2", 0)
    e.clock.advance(120)
    values = e.sample_values()
    assert values["health_check_failing_pct"] == 0
    e.scale("api-v1", 0)
    e.clock.advance(30)
    assert e.sample_values()["health_check_failing_pct"] == 100
