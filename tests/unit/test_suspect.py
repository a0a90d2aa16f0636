"""The suspect deployment: whose revision changed last before the breach, and when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cockpit.decision.suspect import RevisionWatch, find_suspect
from cockpit.domain import ClusterSnapshot, DeploymentInfo, PodInfo, Revision

T0 = datetime(2025, 1, 21, 14, 25, tzinfo=UTC)


def dep(name: str, revision: int, *older: int) -> DeploymentInfo:
    history = tuple(Revision(r, f"1.{r}.0", f"img:1.{r}.0") for r in (*older, revision))
    return DeploymentInfo(name, "production", revision, f"1.{revision}.0", "img", 2, 2, 2,
                          history)


def pod(deployment: str, revision: int, age_s: float) -> PodInfo:
    return PodInfo(f"{deployment}-{revision}-{int(age_s)}", deployment, revision, "?", True, 0,
                   "Running", age_s)


def snap(at: datetime, deployments: tuple[DeploymentInfo, ...],
         pods: tuple[PodInfo, ...] = ()) -> ClusterSnapshot:
    return ClusterSnapshot(at, "production", deployments, pods)


def test_a_revision_change_the_cockpit_sees_is_dated_and_undone_to_the_one_before() -> None:
    watch = RevisionWatch()
    watch.observe(snap(T0, (dep("api", 7, 6), dep("frontend", 12, 11))))
    watch.observe(snap(T0 + timedelta(minutes=3), (dep("api", 8, 6, 7), dep("frontend", 12, 11))))
    suspect = find_suspect(watch.changes(), breach_at=T0 + timedelta(minutes=5),
                           fired_at=T0 + timedelta(minutes=10), trigger="error_rate")
    assert suspect is not None
    assert (suspect.change.deployment, suspect.change.revision, suspect.change.undo_to,
            suspect.change.how) == ("api", 8, 7, "seen")
    assert suspect.reason == "error_rate fired 7m after api went to r8"


def test_a_revision_out_before_the_cockpit_started_is_dated_by_its_oldest_pod() -> None:
    watch = RevisionWatch()
    watch.observe(snap(T0, (dep("api", 8, 6, 7), dep("frontend", 12, 11)),
                       (pod("api", 8, 60), pod("api", 8, 40), pod("frontend", 12, 86400))))
    first = watch.changes()[0]
    assert (first.deployment, first.at, first.how, first.undo_to) == (
        "api", T0 - timedelta(seconds=60), "pods", 7)
    suspect = find_suspect(watch.changes(), breach_at=T0 + timedelta(minutes=2),
                           fired_at=T0 + timedelta(minutes=7), trigger="error_rate")
    assert suspect is not None and suspect.change.deployment == "api"
    assert suspect.reason == "error_rate fired 8m after api went to r8"


def test_no_pods_no_date_no_suspect_and_it_says_so() -> None:
    watch = RevisionWatch()
    watch.observe(snap(T0, (dep("api", 8, 7),)))
    change = watch.changes()[0]
    assert change.at is None and change.how == "unknown"
    assert change.describe() == "api went to r8 before the cockpit started (1.8.0)"
    assert find_suspect(watch.changes(), breach_at=T0, fired_at=T0, trigger="error_rate") is None


def test_a_change_after_the_breach_or_long_before_it_is_no_suspect() -> None:
    watch = RevisionWatch()
    # a day-old frontend, and an api rollback made after the breach began
    watch.observe(snap(T0, (dep("api", 8, 7), dep("frontend", 12, 11)),
                       (pod("api", 8, 60), pod("frontend", 12, 86400))))
    watch.observe(snap(T0 + timedelta(minutes=9), (dep("api", 9, 7, 8), dep("frontend", 12, 11))))
    assert find_suspect(watch.changes(), breach_at=T0 + timedelta(minutes=2),
                        fired_at=T0 + timedelta(minutes=7), trigger="error_rate") is None
    # a deployment with no other revision has nothing to return to
    lone = RevisionWatch()
    lone.observe(snap(T0, (dep("jobs", 1),), (pod("jobs", 1, 30),)))
    assert find_suspect(lone.changes(), breach_at=T0, fired_at=T0, trigger="error_rate") is None


def test_the_latest_change_before_the_breach_wins_and_a_stale_snapshot_is_ignored() -> None:
    watch = RevisionWatch()
    watch.observe(snap(T0, (dep("api", 7, 6), dep("workers", 4, 3))))
    watch.observe(snap(T0 + timedelta(minutes=1), (dep("api", 8, 6, 7), dep("workers", 4, 3))))
    watch.observe(snap(T0 + timedelta(minutes=2), (dep("api", 8, 6, 7), dep("workers", 5, 3, 4))))
    assert not watch.observe(snap(T0, (dep("api", 7, 6), dep("workers", 4, 3))))
    suspect = find_suspect(watch.changes(), breach_at=T0 + timedelta(minutes=4),
                           fired_at=T0 + timedelta(minutes=9), trigger="health_checks")
    assert suspect is not None and suspect.change.deployment == "workers"
    assert suspect.reason == "health_checks fired 7m after workers went to r5"
