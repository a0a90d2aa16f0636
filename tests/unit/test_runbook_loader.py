"""Loader and checker: every malformed file gives the expected FILE:LINE: errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cockpit.commands.runbooks import runbooks
from cockpit.runbook.loader import RunbookLoadError, check_paths, load_library, load_runbook
from cockpit.runbook.model import parse_duration
from cockpit.runbook.recommend import recommend

FIX = Path(__file__).parent.parent / "fixtures" / "runbooks"
GOOD, BAD = FIX / "good", FIX / "bad"


def errors_of(name: str) -> list[str]:
    return check_paths([BAD / name])


def test_good_fixtures_load_and_policy_yaml_is_skipped() -> None:
    assert check_paths([GOOD]) == []
    library = load_library(GOOD)
    assert sorted(library.runbooks) == ["api-undo", "db-migration"]
    undo = library.get("api-undo").step("undo")
    assert undo.destructive and undo.timeout_s == 300
    assert library.get("db-migration").step("undo-migration").database_rollback


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("unknown-action.yaml",
         ["unknown-action.yaml:11: unknown action type 'k8s.rollback_undo'"]),
        ("params.yaml", [
            "params.yaml:12: missing parameter 'namespace' for k8s.scale",
            "params.yaml:12: missing parameter 'replicas' for k8s.scale",
            "params.yaml:14: unknown parameter 'replica' for k8s.scale",
            "params.yaml:23: parameter 'replicas': 'many' is not an integer",
        ]),
        ("guards.yaml", [
            "guards.yaml:13: unknown step 'nowhere' in requires.steps",
            "guards.yaml:14: unknown role 'janitor'",
            "guards.yaml:15: fact 'moon_is_full' is established by no step",
            "guards.yaml:16: unknown target 'everyone'",
        ]),
        ("duplicate-step.yaml",
         ["duplicate-step.yaml:12: duplicate step id 'one' (first at line 7)"]),
        ("duration-kind.yaml", ["duration-kind.yaml:10: bad kind 'fix'",
                                "duration-kind.yaml:11: bad duration '5 minutes'"]),
        ("variable.yaml", ["variable.yaml:11: undefined variable 'service'"]),
        ("syntax.yaml", ["syntax.yaml:6: YAML syntax error"]),
        ("db-guards.yaml", ["db-guards.yaml:12: step 'kill' rolls back a database",
                            "missing: facts no_data_loss_confirmed, approvals dba, "
                            "notified compliance"]),
    ],
)
def test_each_error_kind_is_reported_with_file_and_line(name: str, expected: list[str]) -> None:
    errors = errors_of(name)
    assert len(errors) == len(expected) or name == "db-guards.yaml"
    for want, got in zip(expected, errors, strict=False):
        if want.startswith(name):
            file_line, _, message = want.partition(": ")
            assert got.startswith(f"{BAD / file_line}: ")
            assert message in got
        else:
            assert want in got


def test_duplicate_runbook_ids_name_both_files() -> None:
    errors = check_paths([BAD / "dup-a.yaml", BAD / "dup-b.yaml"])
    assert errors == [f"{BAD / 'dup-b.yaml'}:1: duplicate runbook id 'same-id' "
                      f"(also in {BAD / 'dup-a.yaml'}:1)"]


def test_wrong_types_and_injection_in_literal_values(tmp_path: Path) -> None:
    path = tmp_path / "types.yaml"
    path.write_text(
        "id: types\ntitle: T\nsummary: S\nphases:\n  - name: P\n    steps:\n"
        "      - id: one\n        title: One\n        why: W\n        kind: check\n"
        "        destructive: yes please\n"
        "        action: {type: http.health, endpoints: auth}\n"
        "      - id: two\n        title: Two\n        why: W\n        kind: action\n"
        "        action: {type: k8s.scale, deployment: 'x; rm -rf /', namespace: p, replicas: 1}\n"
        "      - id: three\n        title: Three\n        why: W\n        kind: action\n"
        "        action: {type: shell, argv: [ls, '|', grep]}\n"
        "      - id: four\n        title: Four\n        why: W\n        kind: action\n"
        "        action: {type: pg.sql, database: whitecross_prod, statement: DROP TABLE x}\n",
        encoding="utf-8",
    )
    errors = check_paths([path])
    assert f"{path}:11: 'destructive' must be true or false" in errors
    assert f"{path}:12: parameter 'endpoints' must be a list" in errors
    assert any(e.startswith(f"{path}:17:") and "is not a valid Kubernetes name" in e
               for e in errors)
    assert any(e.startswith(f"{path}:22:") and "shell syntax" in e for e in errors)
    assert any(e.startswith(f"{path}:27:") and "'DROP' is not allowed" in e for e in errors)


def test_load_runbook_raises_with_every_error() -> None:
    with pytest.raises(RunbookLoadError) as info:
        load_runbook(BAD / "params.yaml")
    assert len(info.value.errors) == 4


def test_durations() -> None:
    assert parse_duration("30s") == 30
    assert parse_duration("1h30m") == 5400
    with pytest.raises(ValueError, match="bad duration '5 mins'"):
        parse_duration("5 mins")


def test_recommend_orders_by_trigger_then_scenario_then_id() -> None:
    library = load_library(GOOD)
    assert [rb.id for rb in recommend(library, ["data_corruption"])] == ["db-migration",
                                                                        "api-undo"]
    assert [rb.id for rb in recommend(library, [], "bad-deploy")] == ["api-undo", "db-migration"]
    assert [rb.id for rb in recommend(library, [])] == ["api-undo", "db-migration"]


def test_cli_check_and_list() -> None:
    cli = CliRunner()
    ok = cli.invoke(runbooks, ["check", str(GOOD)])
    assert ok.exit_code == 0, ok.output
    assert ok.output.strip() == "2 runbooks, 13 steps: OK"
    bad = cli.invoke(runbooks, ["check", str(BAD / "params.yaml")])
    assert bad.exit_code == 1
    assert f"{BAD / 'params.yaml'}:23:" in bad.output
    listing = cli.invoke(runbooks, ["list", str(GOOD)])
    assert listing.exit_code == 0
    assert "api-undo" in listing.output and "Database migration rollback" in listing.output
    missing = cli.invoke(runbooks, ["check", "/nonexistent/runbooks"])
    assert missing.exit_code == 2
