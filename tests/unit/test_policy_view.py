"""What the screen says of the policy comes from the policy; versions are normalised once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cockpit.connectors.http import screen_versions
from cockpit.connectors.kubernetes import kept_version
from cockpit.decision import default_policy_path, parse_policy
from cockpit.decision.policy import Action, format_span, policy_view
from cockpit.domain import normalize_version, show_version

SHIPPED = default_policy_path().read_text(encoding="utf-8")


def overridden(text: str = SHIPPED) -> str:
    """The shipped policy with the error-rate trigger at 3% for 2 minutes."""
    body = text.replace("    above: 5\n    sustained: 5m\n", "    above: 3\n    sustained: 2m\n", 1)
    assert body != text
    return body


def test_the_shipped_policy_reads_as_the_procedures_say() -> None:
    view = policy_view(parse_policy(SHIPPED))
    errors = view.trigger("error_rate")
    assert errors is not None
    assert (errors.metric, errors.limit, errors.window, errors.action) == (
        "error_rate_pct", "5%", "5m", Action.AUTOMATIC_ROLLBACK)
    assert errors.rule == "rollback if > 5% for 5m"
    latency = view.for_metric("latency_p95_ms")
    assert latency is not None and latency.rule == "decide if > 1000ms for 10m"
    health = view.for_metric("health_check_failing_pct")
    assert health is not None and health.rule == "rollback at > 50%"
    db = view.for_metric("db_connection_error_pct")
    assert db is not None and (db.above, db.unit, db.window) == (25.0, "%", "")
    # both of the resources trigger's metrics name it; events have no metric
    assert view.for_metric("memory_pct") is view.for_metric("cpu_pct") is view.trigger("resources")
    breach = view.trigger("security_breach")
    assert breach is not None and breach.metric is None
    assert breach.condition == "on any security_breach"
    assert [v.trigger_id for v in view.event_thresholds] == ["security_breach",
                                                             "data_corruption"]
    assert view.for_metric("no_such_metric") is None and view.trigger("nope") is None


def test_an_overridden_policy_is_what_the_view_says() -> None:
    view = policy_view(parse_policy(overridden(), "ours.yaml"))
    errors = view.for_metric("error_rate_pct")
    assert errors is not None
    assert (errors.above, errors.sustained) == (3.0, timedelta(minutes=2))
    assert errors.rule == "rollback if > 3% for 2m"
    assert view.source == "ours.yaml"


def test_a_manual_trigger_says_decide_and_a_renamed_one_its_new_title() -> None:
    text = overridden().replace("action: automatic_rollback\n    decide_within: immediately\n"
                                "  latency_p95", "action: manual_decision\n    decide_within: 5m\n"
                                "  latency_p95", 1).replace("title: Error rate",
                                                            "title: HTTP 5xx", 1)
    errors = policy_view(parse_policy(text)).trigger("error_rate")
    assert errors is not None
    assert errors.title == "HTTP 5xx" and errors.rule == "decide if > 3% for 2m"


@pytest.mark.parametrize(("seconds", "shown"), [
    (0, "0s"), (42, "42s"), (90, "1m30s"), (300, "5m"), (3600, "1h"), (5400, "1h30m")])
def test_policy_durations_are_compact(seconds: int, shown: str) -> None:
    assert format_span(timedelta(seconds=seconds)) == shown


@pytest.mark.parametrize("raw", ["v2.0.0", "2.0.0", "V2.0.0", " v2.0.0 "])
def test_a_version_is_shown_with_exactly_one_v(raw: str) -> None:
    assert normalize_version(raw) == "2.0.0"
    assert show_version(raw) == "v2.0.0"
    # normalising again changes nothing: what is kept is shown the same
    assert show_version(normalize_version(raw)) == "v2.0.0"
    assert normalize_version(normalize_version(raw)) == "2.0.0"


@pytest.mark.parametrize("raw", ["0123456789ab", "latest", "1234", "v1", "?",
                                 "sha256:0123456789ab", ""])
def test_what_is_no_dotted_version_is_kept_as_the_server_gave_it(raw: str) -> None:
    assert normalize_version(raw) == raw
    assert show_version(raw) == raw


def test_the_cluster_and_the_version_endpoints_keep_the_same_form() -> None:
    # an image tag v2.1.0, a version endpoint's "v2.1.0" and the simulator's 2.1.0 agree
    assert kept_version("reg.example:5000/api:v2.1.0") == "2.1.0"
    assert kept_version("reg.example/api:2.1.0") == "2.1.0"
    assert kept_version("reg.example/api") == "latest"
    assert kept_version("") == ""
    assert dict(screen_versions({"api": "v2.1.0", "web": "5.0.1", "gone": "? HTTP 404",
                                 "html": "<html>"})) == {
        "api": "2.1.0", "web": "5.0.1", "gone": "?", "html": "?"}
