"""The shipped policy matches the procedures; bad policy files are reported at their line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from cockpit.decision import Action, PolicyError, default_policy_path, load_policy, parse_policy

SHIPPED = default_policy_path().read_text(encoding="utf-8")


def test_shipped_policy_is_the_procedures_table() -> None:
    policy = load_policy()
    rows = {
        t.id: (t.metrics or (t.event,), t.above, t.sustained, t.action, t.decide_within)
        for t in policy.triggers
    }
    m = timedelta(minutes=1)
    zero = timedelta(0)
    assert rows == {
        "error_rate": (("error_rate_pct",), 5, 5 * m, Action.AUTOMATIC_ROLLBACK, zero),
        "latency_p95": (("latency_p95_ms",), 1000, 10 * m, Action.ALERT_MANUAL_DECISION, 15 * m),
        "health_checks": (("health_check_failing_pct",), 50, zero, Action.AUTOMATIC_ROLLBACK,
                          zero),
        "security_breach": (("security_breach",), 0, zero, Action.IMMEDIATE_ROLLBACK, zero),
        "data_corruption": (("data_corruption",), 0, zero, Action.IMMEDIATE_ROLLBACK, zero),
        "db_connections": (("db_connection_error_pct",), 25, zero, Action.AUTOMATIC_ROLLBACK,
                           5 * m),
        "resources": (("cpu_pct", "memory_pct"), 95, 10 * m, Action.MANUAL_DECISION, 15 * m),
    }
    assert [(s.severity, s.authority, s.max_decision) for s in policy.severities] == [
        ("critical", "CTO or VP Engineering", 5 * m),
        ("high", "Engineering Manager", 15 * m),
        ("medium", "Tech Lead", 30 * m),
        ("low", "Team consensus", 60 * m),
    ]
    assert (policy.max_gap, policy.stale_after) == (timedelta(seconds=60), timedelta(seconds=120))


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        ("    above: 1000\n", "    above: 1000\n    treshold: 3\n", "treshold",
         "unknown key 'treshold' in trigger 'latency_p95'"),
        ("    above: 25\n", "    above: 25\n    above: 30\n", "above: 30",
         "duplicate key 'above'"),
        ("action: manual_decision", "action: panic", "action: panic", "unknown action 'panic'"),
        ("sustained: 5m", "sustained: five minutes", "five minutes", "sustained must be"),
        ("above: 50", "above: -1", "above: -1", "must not be negative"),
        ("max_decision: 1h", "max_decision: soon", "soon", "max_decision must be"),
        ("  max_gap: 60s", "  max_gap: [60", "max_gap", "YAML syntax error"),
        ("version: 1", "version: 2", "version: 2", "unsupported policy version"),
    ],
)
def test_errors_name_the_line(old: str, new: str, needle: str, message: str) -> None:
    assert old in SHIPPED
    text = SHIPPED.replace(old, new, 1)
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "custom.yaml")
    where, _, rest = str(caught.value).partition(": ")
    assert message in rest
    assert where.startswith("custom.yaml:")
    line = int(where.split(":")[1])
    if "YAML syntax error" not in message:
        assert line == line_of(text, needle)


def test_missing_severity_is_reported() -> None:
    text = SHIPPED.split("  low:")[0]
    with pytest.raises(PolicyError, match=r"custom.yaml:\d+: severities is missing 'low'"):
        parse_policy(text, "custom.yaml")


def test_stale_after_must_cover_the_gap() -> None:
    text = SHIPPED.replace("stale_after: 120s", "stale_after: 30s")
    with pytest.raises(PolicyError, match="stale_after must be at least max_gap"):
        parse_policy(text)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"nope.yaml:0: cannot read policy"):
        load_policy(tmp_path / "nope.yaml")


def test_override_file_changes_the_threshold(tmp_path: Path) -> None:
    custom = tmp_path / "policy.yaml"
    custom.write_text(SHIPPED.replace("    above: 5\n", "    above: 2\n", 1), encoding="utf-8")
    assert load_policy(custom).trigger("error_rate").above == 2
