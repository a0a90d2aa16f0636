"""Recommendations: what fired and what the estate shows, each with a reason in a few words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import MappingProxyType

from cockpit.actions.model import ActionSpec
from cockpit.decision.suspect import RevisionChange, Suspect
from cockpit.paths import runbooks_dir
from cockpit.runbook.loader import load_library
from cockpit.runbook.model import Library, Phase, Runbook, Step
from cockpit.runbook.recommend import RESERVED, recommendations

T0 = datetime(2025, 1, 21, 14, 25, tzinfo=UTC)
SUSPECT = Suspect(RevisionChange("api", "production", 8, "2.0.0", T0 - timedelta(minutes=1),
                                 "pods", 7), "error_rate", T0 + timedelta(minutes=6))


def shipped() -> Library:
    return load_library(runbooks_dir())


def container_rollback() -> Runbook:
    """The generic container rollback another change ships (deployment, namespace,
    to_revision): recommended with the suspect filled in when the library has it."""
    undo = Step("undo", "Roll back", "why", "action", ActionSpec("k8s.rollout_undo", {
        "deployment": "${deployment}", "namespace": "${namespace}",
        "to_revision": "${to_revision}"}), destructive=True)
    return Runbook("container-rollback", "Container rollback (Kubernetes)", "summary",
                   (Phase("Roll back", (undo,)),), triggers=("error_rate", "health_checks"),
                   variables=MappingProxyType({"deployment": "", "to_revision": ""}))


def recommended(picks: list) -> list[str]:  # type: ignore[type-arg]
    return [p.runbook.id for p in picks if p.recommended]


def test_a_metric_breach_never_recommends_a_runbook_reserved_for_another_failure() -> None:
    picks = recommendations(shipped(), ["error_rate"], "bad-deploy")
    marked = recommended(picks)
    for reserved in RESERVED:
        assert reserved not in marked
    assert "database-migration" not in marked and marked[:2] == ["incident-declaration",
                                                                  "initial-assessment"]
    why = {p.runbook.id: p.why for p in picks}
    assert why["incident-declaration"] == "declare first: error_rate fired"
    assert why["database-migration"] == "reserved for data_corruption"
    # its own trigger fired: then it is; a scenario's own runbook on its scenario
    assert "database-migration" in recommended(recommendations(shipped(), ["data_corruption"]))
    assert "scenario-integration-failure" in recommended(
        recommendations(shipped(), ["error_rate"], "integration-failure"))


def test_every_reserved_runbook_is_in_the_library() -> None:
    assert set(RESERVED) <= set(shipped().runbooks)


def test_the_suspects_container_rollback_comes_first_after_declare_and_assess() -> None:
    library = Library(MappingProxyType({**shipped().runbooks,
                                        "container-rollback": container_rollback()}))
    picks = recommendations(library, ["error_rate"], "bad-deploy", suspect=SUSPECT)
    assert recommended(picks) == ["incident-declaration", "initial-assessment",
                                  "container-rollback"]
    first = picks[2]
    assert first.why == "error_rate fired 7m after api went to r8"
    assert dict(first.variables) == {"deployment": "api", "to_revision": "7"}
    assert first.target == "api"
    # the frontend did not change: its rollback is listed, not marked, and says why
    frontend = next(p for p in picks if p.runbook.id == "frontend-kubernetes")
    assert not frontend.recommended and frontend.why == "acts on frontend; api changed"
    ids = [p.runbook.id for p in picks]
    assert ids.index("post-rollback-verification") < ids.index("frontend-kubernetes")


def test_without_the_generic_runbook_the_frontend_one_is_offered_for_the_suspect() -> None:
    without = {k: v for k, v in shipped().runbooks.items() if k != "container-rollback"}
    picks = recommendations(Library(MappingProxyType(without)), ["error_rate"],
                            suspect=SUSPECT)
    offered = next(p for p in picks if p.runbook.id == "frontend-kubernetes")
    assert offered.recommended and offered.target == "api"
    assert dict(offered.variables) == {"deployment": "api", "selector": "app=api"}


def test_nothing_fired_the_scenario_recommends_and_the_automatic_rollback_is_hidden() -> None:
    from cockpit.runbook.automatic import with_automatic

    picks = recommendations(with_automatic(shipped()), [], "bad-deploy")
    assert "automatic-rollback" not in [p.runbook.id for p in picks]
    assert all(p.why == "scenario bad-deploy" for p in picks if p.recommended)
    assert "database-migration" not in recommended(picks)
