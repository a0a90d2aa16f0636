"""The simulated estate: deterministic, shaped like the default scenario, reactive to actions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cockpit.clock import SimClock
from cockpit.sim.estate import EstateError, SimEstate
from cockpit.sim.scenario import find_scenario


def make_estate(seed: int | None = None, at: float = 0.0) -> SimEstate:
    scenario = find_scenario("bad-deploy")
    estate = SimEstate(scenario, seed=seed, clock=SimClock(scenario.start, 10))
    estate.clock.advance(at)
    return estate


def error_rate(estate: SimEstate) -> float:
    value = estate.metrics_snapshot().error_rate_pct.latest
    assert value is not None
    return value


def test_same_seed_same_series_and_pods() -> None:
    a, b = make_estate(seed=3, at=400), make_estate(seed=3, at=400)
    assert a.metrics_snapshot() == b.metrics_snapshot()
    assert a.cluster_snapshot() == b.cluster_snapshot()
    assert a.database_snapshot() == b.database_snapshot()
    assert a.cache_snapshot() == b.cache_snapshot()


def test_different_seed_different_noise() -> None:
    a, b = make_estate(seed=3, at=400), make_estate(seed=4, at=400)
    assert a.metrics_snapshot().error_rate_pct != b.metrics_snapshot().error_rate_pct


def test_reading_in_small_or_large_steps_gives_the_same_numbers() -> None:
    stepped = make_estate(seed=5)
    for _ in range(40):
        stepped.clock.advance(10)
        stepped.metrics_snapshot()
    jumped = make_estate(seed=5, at=400)
    assert stepped.metrics_snapshot() == jumped.metrics_snapshot()


def test_series_covers_thirty_minutes_at_ten_second_resolution() -> None:
    series = make_estate(at=300).metrics_snapshot().latency_p95_ms
    assert len(series.points) == 180
    first, last = series.points[0][0], series.points[-1][0]
    assert (last - first).total_seconds() == 179 * 10
    assert all(p[0].tzinfo is not None for p in series.points)


def test_bad_deploy_error_rate_passes_five_percent_two_minutes_after_deploy_and_stays() -> None:
    # api v2.0.0 went live at T-60 s.
    assert error_rate(make_estate(at=0)) < 5  # one minute after the deploy
    for at in range(90, 1800, 30):  # from 2.5 minutes after the deploy, for half an hour
        assert error_rate(make_estate(at=at)) > 5, at


def test_latency_drifts_up_under_the_bad_version() -> None:
    values = [make_estate(at=at).metrics_snapshot().latency_p95_ms.latest for at in (0, 600, 1500)]
    assert values[0] < values[1] < values[2]


def test_rollout_undo_restores_previous_version_and_metrics_recover_in_two_minutes() -> None:
    estate = make_estate(at=600)
    assert error_rate(estate) > 5
    assert estate.rollout_undo("api") == "deployment.apps/api rolled back"
    cluster = estate.cluster_snapshot()
    api = cluster.deployment("api")
    assert api is not None and api.version == "1.9.3"
    # like kubectl: the restored template becomes a new revision and leaves the history
    assert [(r.revision, r.version) for r in api.history] == [(6, "1.9.2"), (8, "2.0.0"),
                                                               (9, "1.9.3")]
    estate.clock.advance(130)
    assert error_rate(estate) < 1.0
    done, message = estate.rollout_status("api")
    assert done and "successfully rolled out" in message
    assert estate.health_snapshot().failing_pct == 0


def test_rollout_status_waits_while_new_pods_come_up() -> None:
    estate = make_estate(at=600)
    estate.rollout_undo("api")
    estate.clock.advance(20)
    done, message = estate.rollout_status("api")
    assert not done and "of 10 updated replicas are available" in message


def test_undo_to_unknown_revision_is_refused_with_kubectl_wording() -> None:
    estate = make_estate()
    with pytest.raises(EstateError, match="unable to find specified revision 99"):
        estate.rollout_undo("api", to_revision=99)
    with pytest.raises(EstateError, match='deployments.apps "nope" not found'):
        estate.scale("nope", 1)


def test_scale_changes_replicas_and_pods() -> None:
    estate = make_estate(at=300)
    estate.scale("api", 20)
    estate.clock.advance(60)
    api = estate.cluster_snapshot().deployment("api")
    assert api is not None and (api.desired, api.ready) == (20, 20)
    estate.scale("api", 0)
    snapshot = estate.cluster_snapshot()
    assert [p for p in snapshot.pods if p.deployment == "api"] == []
    assert estate.health_snapshot().failing_pct == 100


def test_setting_a_cache_key_shows_in_the_cache_snapshot() -> None:
    estate = make_estate()
    assert estate.cache_snapshot().get("maintenance_mode") == "false"
    estate.cache_set("maintenance_mode", "true")
    assert estate.cache_snapshot().get("maintenance_mode") == "true"
    assert estate.cache_delete("maintenance_mode") == 1
    assert estate.cache_snapshot().get("maintenance_mode") is None


def test_restart_pods_recreates_them_under_new_names() -> None:
    estate = make_estate(at=300)
    before = {p.name for p in estate.cluster_snapshot().pods if p.deployment == "workers"}
    output = estate.restart_pods("workers")
    assert output.count("deleted") == 4
    after = {p.name for p in estate.cluster_snapshot().pods if p.deployment == "workers"}
    assert before.isdisjoint(after)


def test_clock_speed_is_bounded_and_ticks_scale_real_time() -> None:
    clock = SimClock(datetime(2025, 1, 1, tzinfo=UTC), speed=10)
    clock.tick(0.5)
    assert clock.elapsed().total_seconds() == 5
    clock.paused = True
    clock.tick(10)
    assert clock.elapsed().total_seconds() == 5
    with pytest.raises(ValueError, match="between 1 and 60"):
        clock.speed = 61
