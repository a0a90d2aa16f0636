"""A resumed training incident gets its estate back: the steps' actions are applied again."""

from __future__ import annotations

from pathlib import Path

from cockpit.clock import SimClock
from cockpit.paths import runbooks_dir
from cockpit.runbook.loader import load_library
from cockpit.runtime.restore import replay_actions
from cockpit.sim.estate import SimEstate
from cockpit.sim.scenario import find_scenario
from cockpit.timeline.replay import replay
from cockpit.training.autopilot import Autopilot
from cockpit.training.session import TrainingSession


def played(scenario_id: str, tmp_path: Path) -> TrainingSession:
    session = TrainingSession(find_scenario(scenario_id), mode="demo", state_dir=tmp_path)
    Autopilot(session).play()
    return session


def fresh_estate_at(session: TrainingSession) -> SimEstate:
    clock = SimClock(session.scenario.start, 1)
    clock.advance(session.elapsed_s)
    return SimEstate(session.scenario, seed=session.estate.seed, clock=clock)


def test_replayed_rollback_leaves_the_estate_as_the_incident_left_it(tmp_path: Path) -> None:
    session = played("bad-deploy", tmp_path)
    library = load_library(runbooks_dir())
    before = fresh_estate_at(session)
    # without the replay the rebuilt estate is still failing: the bad version runs
    assert before.sample_values()["error_rate_pct"] > 5

    rebuilt = fresh_estate_at(session)
    replayed = replay_actions(rebuilt, replay(session.events()), library,
                              session.variables())
    assert replayed, "no estate-changing step was replayed"
    assert any("undo" in ref for ref in replayed), replayed
    assert rebuilt.sample_values() == session.estate.sample_values()
    versions = {d.name: d.version for d in rebuilt.cluster_snapshot().deployments}
    assert versions == {d.name: d.version for d in session.estate.cluster_snapshot().deployments}


def test_replay_restores_backups_and_migration_undo(tmp_path: Path) -> None:
    session = played("db-migration-failure", tmp_path)
    rebuilt = fresh_estate_at(session)
    replay_actions(rebuilt, replay(session.events()), load_library(runbooks_dir()),
                   session.variables())
    assert rebuilt.applied_migrations() == session.estate.applied_migrations()
    assert rebuilt.data_lost() == session.estate.data_lost()
    assert rebuilt.active_faults() == session.estate.active_faults() == []


def test_replay_without_the_incident_variables_skips_what_cannot_resolve(tmp_path: Path) -> None:
    # the backup file is named after the incident: without its id the backup cannot be
    # replayed, and the migration undo then loses the rows written since the migration
    session = played("db-migration-failure", tmp_path)
    rebuilt = fresh_estate_at(session)
    replayed = replay_actions(rebuilt, replay(session.events()), load_library(runbooks_dir()),
                              {})
    assert "database-migration/backup" not in replayed
    assert rebuilt.data_lost() > session.estate.data_lost()
