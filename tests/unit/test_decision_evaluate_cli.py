"""``cockpit evaluate``: output contract, headless recommendation rule, all-or-nothing errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cockpit.commands.evaluate import evaluate
from cockpit.decision import default_policy_path

FIXTURES = Path(__file__).parent.parent / "fixtures" / "decision"
REPO = Path(__file__).resolve().parents[2]


def run(tmp_path: Path, lines: list[str | dict[str, object]], *extra: str):
    path = tmp_path / "samples.jsonl"
    path.write_text(
        "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines),
        encoding="utf-8",
    )
    return CliRunner().invoke(evaluate, ["--samples", str(path), *extra]), path


def s(minute: float, metric: str, value: float) -> dict[str, object]:
    seconds = int(minute * 60)
    return {"t": f"2025-01-21T14:{seconds // 60:02d}:{seconds % 60:02d}Z", "metric": metric,
            "value": value}


def summary(result) -> dict[str, object]:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.splitlines()[-1])["summary"]


def test_recorded_bad_deploy_matches_expected_output() -> None:
    result = CliRunner().invoke(
        evaluate, ["--samples", str(FIXTURES / "bad_deploy.jsonl")]
    )
    assert result.exit_code == 0, result.output
    expected = (FIXTURES / "bad_deploy.expected.jsonl").read_text(encoding="utf-8")
    assert result.stdout == expected


def test_output_shape(tmp_path: Path) -> None:
    result, _ = run(tmp_path, [s(0, "health_check_failing_pct", 60), s(1, "cpu_pct", 20)])
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0] == {
        "t": "2025-01-21T14:00:00Z", "trigger": "health_checks", "state": "fired",
        "action": "automatic_rollback", "decide_by": "2025-01-21T14:00:00Z",
    }
    assert lines[-1] == {"summary": {
        "fired": [{"trigger": "health_checks", "at": "2025-01-21T14:00:00Z",
                   "action": "automatic_rollback", "decide_by": "2025-01-21T14:00:00Z"}],
        "recommendation": "immediate_rollback",
    }}


@pytest.mark.parametrize(
    ("samples", "recommendation"),
    [
        ([s(0, "error_rate_pct", 1), s(1, "latency_p95_ms", 300)], "no_action"),
        # a blip that never filled its window is not by itself a reason to act
        ([s(0, "error_rate_pct", 9), s(1, "error_rate_pct", 1)], "no_action"),
        # impact > 5 % from failing health checks, nothing critical fired
        ([s(0, "health_check_failing_pct", 8)], "rollback_within_30m"),
        # latency breaching, impact low: "can fix forward?" unanswered counts as no
        ([s(0, "error_rate_pct", 1), s(0, "latency_p95_ms", 1500)], "rollback"),
        # latency fired (manual decision), no impact data at all: still rollback
        ([s(m, "latency_p95_ms", 1500) for m in range(0, 11)], "rollback"),
        ([s(0, "data_corruption", 1)], "immediate_rollback"),
        ([], "no_action"),
    ],
)
def test_headless_recommendation_rule(
    tmp_path: Path, samples: list[dict[str, object]], recommendation: str
) -> None:
    result, _ = run(tmp_path, samples)
    assert summary(result)["recommendation"] == recommendation


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "malformed JSON"),
        ('["t", "metric"]', "expected a JSON object"),
        ('{"t": "2025-01-21T14:00:00Z", "metric": "errors", "value": 1}',
         "unknown metric 'errors'"),
        ('{"t": "2025-01-21T14:00:00", "metric": "cpu_pct", "value": 1}', "no time zone"),
        ('{"t": "yesterday", "metric": "cpu_pct", "value": 1}', "bad timestamp 'yesterday'"),
        ('{"t": "2025-01-21T14:00:00Z", "metric": "cpu_pct"}', "missing 'value'"),
        ('{"t": "2025-01-21T14:00:00Z", "metric": "cpu_pct", "value": "high"}',
         "value must be a number"),
        ('{"t": "2025-01-21T14:00:00Z", "metric": "cpu_pct", "value": NaN}', "malformed JSON"),
        ('{"t": "2025-01-21T14:00:00Z", "metric": "security_breach", "value": 0}',
         "must have value 1"),
        ('{"t": "2025-01-21T14:00:00Z", "metric": "cpu_pct", "value": 1, "host": "a"}',
         "unknown key 'host'"),
    ],
)
def test_bad_line_exits_2_naming_the_line_and_prints_nothing(
    tmp_path: Path, line: str, message: str
) -> None:
    # the good lines before it would produce output: none of it may be printed
    result, path = run(tmp_path, [s(0, "health_check_failing_pct", 90), "", line])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"{path}:3: ")
    assert message in result.stderr


def test_policy_override(tmp_path: Path) -> None:
    policy = tmp_path / "strict.yaml"
    text = default_policy_path().read_text(encoding="utf-8")
    policy.write_text(text.replace("    above: 1000\n", "    above: 200\n"), encoding="utf-8")
    samples = [s(0, "latency_p95_ms", 300)]
    assert run(tmp_path, samples)[0].stdout.count("breaching") == 0
    assert run(tmp_path, samples, "--policy", str(policy))[0].stdout.count("breaching") == 1


def test_bad_policy_exits_2(tmp_path: Path) -> None:
    policy = tmp_path / "bad.yaml"
    policy.write_text("version: 1\nversion: 1\n", encoding="utf-8")
    result, _ = run(tmp_path, [], "--policy", str(policy))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"{policy}:2: duplicate key 'version'" in result.stderr


def test_missing_samples_option_is_usage_error() -> None:
    assert CliRunner().invoke(evaluate, []).exit_code == 2


def test_help_documents_the_headless_rule() -> None:
    text = CliRunner().invoke(evaluate, ["--help"]).output
    assert "unanswered counts as no" in text
    assert "--policy FILE" in text


def test_python_dash_m_cockpit_evaluate() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cockpit", "evaluate", "--samples",
         str(FIXTURES / "bad_deploy.jsonl")],
        capture_output=True, text=True, cwd=REPO, check=False, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == (FIXTURES / "bad_deploy.expected.jsonl").read_text(encoding="utf-8")
