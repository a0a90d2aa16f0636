"""The simulator's pods: names unique at any scale, and the per-pod work kept between polls
without ever showing a stale pod."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from cockpit.clock import SimClock
from cockpit.sim.estate import _SUFFIX_SPACE, SimEstate, _PodNames, _PodPlan
from cockpit.sim.scenario import Scenario, find_scenario


def scenario_with(replicas: dict[str, int], name: str = "bad-deploy") -> Scenario:
    scenario = find_scenario(name)
    deployments = tuple(dataclasses.replace(dep, replicas=replicas.get(dep.name, dep.replicas))
                        for dep in scenario.deployments)
    return dataclasses.replace(scenario, deployments=deployments)


def make_estate(scenario: Scenario, seed: int = 7, at: float = 0.0) -> SimEstate:
    estate = SimEstate(scenario, seed=seed, clock=SimClock(scenario.start, 10))
    estate.clock.advance(at)
    return estate


def test_pod_names_are_unique_at_20000_replicas_in_one_deployment() -> None:
    estate = make_estate(scenario_with({"api": 20_000}), at=30)
    pods = estate.cluster_snapshot().pods
    names = [pod.name for pod in pods]
    assert len(names) >= 20_000
    assert len(set(names)) == len(names)
    # every name has the Kubernetes shape: deployment, template hash, 5-character suffix
    api = [name for name, pod in zip(names, pods, strict=True) if pod.deployment == "api"]
    assert all(len(name.rsplit("-", 1)[1]) == 5 for name in api)


def test_names_stay_unique_through_a_rollout_and_a_restart() -> None:
    estate = make_estate(scenario_with({"api": 20_000}), at=300)
    estate.rollout_undo("api")
    estate.clock.advance(20)  # half rolled: old and new pods side by side
    pods = estate.cluster_snapshot().pods
    revisions = {pod.revision for pod in pods if pod.deployment == "api"}
    assert len(revisions) == 2
    assert len({pod.name for pod in pods}) == len(pods)
    before = {pod.name for pod in pods if pod.deployment == "api"}
    estate.restart_pods("api")
    estate.clock.advance(5)
    pods = estate.cluster_snapshot().pods
    assert len({pod.name for pod in pods}) == len(pods)
    assert before.isdisjoint(pod.name for pod in pods if pod.deployment == "api")


def test_suffixes_are_a_bijection_of_the_index_even_past_27_to_the_5() -> None:
    names = _PodNames(3, "api", 9, 0)
    low = [names.name(i) for i in range(60_000)]
    high = [names.name(_SUFFIX_SPACE * k + i) for k in (1, 2, 27) for i in range(200)]
    assert len(set(low + high)) == len(low) + len(high)
    # deterministic: the same ReplicaSet names its pods the same way every time
    assert _PodNames(3, "api", 9, 0).name(12_345) == low[12_345]
    # another seed names them differently; restarted pods continue the numbering
    assert _PodNames(4, "api", 9, 0).name(0) != low[0]
    assert _PodNames(3, "api", 9, 100).name(0) == low[100]


def test_a_poll_at_the_same_instant_is_the_same_snapshot() -> None:
    estate = make_estate(scenario_with({}), at=120)
    first = estate.cluster_snapshot()
    assert estate.cluster_snapshot() is first
    estate.scale("workers", 6)  # an action changes the answer at once, same instant or not
    scaled = estate.cluster_snapshot()
    assert scaled is not first
    workers = scaled.deployment("workers")
    assert workers is not None and workers.desired == 6
    assert sum(1 for pod in scaled.pods if pod.deployment == "workers") == 6


def test_kept_pods_are_what_a_fresh_estate_computes_at_every_poll() -> None:
    """The pods an estate polled every few seconds shows (state kept between polls) are
    the pods an estate reading that instant for the first time computes: readiness
    during a rollout, restart counts crossing their boundaries, ages, scale-ups."""
    scenario = scenario_with({})  # bad-deploy: api 2.0.0 restarts every 420 s

    def replay(estate: SimEstate, at: float) -> None:
        # the same actions at the same simulated times on both estates
        rel = estate._rel()
        for when, act in ((200.0, lambda: estate.scale("workers", 9)),
                          (1300.0, lambda: estate.rollout_undo("api")),
                          (1330.0, lambda: estate.restart_pods("frontend"))):
            if rel < when <= at:
                estate.clock.advance(when - estate._rel())
                act()
        estate.clock.advance(at - estate._rel())

    polled = make_estate(scenario)
    times = [t * 7.0 for t in range(1, 230)]  # every 7 s over ~27 minutes
    restarts_seen = set()
    for at in times:
        replay(polled, at)
        fresh = make_estate(scenario)
        replay(fresh, at)
        kept, computed = polled.cluster_snapshot(), fresh.cluster_snapshot()
        assert kept == computed, at
        restarts_seen.update(pod.restarts for pod in kept.pods)
    assert max(restarts_seen) >= 2  # the restart boundaries were crossed while polled


def test_the_previous_revisions_pods_keep_their_names_while_a_rollout_replaces_them() -> None:
    estate = make_estate(scenario_with({}), at=300)
    estate.restart_pods("api")
    estate.clock.advance(120)
    serving = {pod.name for pod in estate.cluster_snapshot().pods if pod.deployment == "api"}
    estate.rollout_undo("api")
    estate.clock.advance(20)
    api = [pod for pod in estate.cluster_snapshot().pods if pod.deployment == "api"]
    old = {pod.name for pod in api if pod.revision != max(p.revision for p in api)}
    assert old and old <= serving


def test_ready_counts_are_the_ready_pods_shown_through_a_rollout_and_a_scale() -> None:
    estate = make_estate(scenario_with({"api": 300}), at=300)
    estate.rollout_undo("api")
    seen = set()
    for step in range(40):
        if step == 20:
            estate.scale("api", 450)
        estate.clock.advance(3)
        snapshot = estate.cluster_snapshot()
        api = snapshot.deployment("api")
        assert api is not None
        shown = [pod for pod in snapshot.pods if pod.deployment == "api"]
        assert api.ready == sum(pod.ready for pod in shown)
        seen.add((api.ready, sum(pod.ready for pod in shown if pod.revision == api.revision)))
    assert len(seen) > 10  # the counts moved while the new pods came up


def test_reading_the_estate_does_not_wait_while_a_snapshots_pods_are_made(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A 20,000-pod snapshot takes a tenth of a second to make, in the poller's thread;
    the event loop reads the estate (sample_values every 10 s) meanwhile and must not
    queue behind it."""
    estate = make_estate(scenario_with({"api": 500}), at=120)
    making, release = threading.Event(), threading.Event()
    original = _PodPlan._pods_locked

    def held(self: _PodPlan, rel: float) -> tuple[object, ...]:
        making.set()
        release.wait(30)
        return original(self, rel)

    monkeypatch.setattr(_PodPlan, "_pods_locked", held)
    snapshots: list[object] = []
    maker = threading.Thread(target=lambda: snapshots.append(estate.cluster_snapshot()))
    maker.start()
    try:
        assert making.wait(30)
        reads: dict[str, object] = {}
        reader = threading.Thread(target=lambda: reads.update(
            values=estate.sample_values(), health=estate.health_snapshot(),
            cache=estate.cache_snapshot(), database=estate.database_snapshot()))
        reader.start()
        reader.join(30)
        answered_meanwhile = not reader.is_alive()
    finally:
        release.set()
        maker.join(30)
    assert answered_meanwhile, "the estate's readers waited for the pods being made"
    assert set(reads) == {"values", "health", "cache", "database"}
    assert snapshots and snapshots[0] == make_estate(scenario_with({"api": 500}),
                                                     at=120).cluster_snapshot()


def test_restarts_worked_out_pod_by_pod_are_what_a_fresh_estate_computes_at_scale() -> None:
    """2,000 api pods restarting on their own phases (bad-deploy: every 420 s): an estate
    polled every 3 s works out only the pods whose moment came; it shows what an estate
    reading that instant for the first time computes, restart boundaries crossed."""
    scenario = scenario_with({"api": 2_000})
    polled = make_estate(scenario, at=60)
    restarted = 0
    for step in range(1, 301):
        polled.clock.advance(3)
        kept = polled.cluster_snapshot()
        if step % 25 == 0:
            fresh = make_estate(scenario, at=polled._rel())
            assert kept == fresh.cluster_snapshot(), step
            restarted = max(restarted, sum(pod.restarts > 0 for pod in kept.pods))
    assert restarted > 1_000  # most pods crossed a restart boundary while polled
    # asked for an earlier instant: worked out from scratch, not stepped back
    plan = polled._plans["api"]
    earlier = make_estate(scenario, at=400)
    api = tuple(pod for pod in earlier.cluster_snapshot().pods if pod.deployment == "api")
    assert plan.pods(earlier._rel()) == api
