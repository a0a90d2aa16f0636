"""Scenario briefings and expected side effects as data: every shipped scenario has a
briefing whose keys are the war room's bindings; a malformed one is FILE:LINE."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.decision import default_policy_path, load_policy
from cockpit.paths import runbooks_dir
from cockpit.runbook.loader import load_library
from cockpit.sim.scenario import DEFAULT_BRIEFING_KEYS, list_scenarios, load_scenario
from cockpit.training.spec import check_against, parse_training
from cockpit.yamlfile import DataFileError
from tests.unit.training_helpers import SCENARIO_IDS

SHIPPED = Path(__file__).parents[2] / "runbooks" / "scenarios"
GOOD = (SHIPPED / "db-migration-failure.yaml").read_text()


def binding_ids() -> set[str]:
    """Every binding id the war room declares (the app's, the war room's, its panels')."""
    import importlib
    import inspect

    from textual.binding import Binding

    ids: set[str] = set()
    for name in ("cockpit.app", "screens.war_room", "widgets.runbook_panel",
                 "widgets.pods_panel"):
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            for binding in getattr(cls, "BINDINGS", []):
                if isinstance(binding, Binding) and binding.id:
                    ids.add(binding.id)
    return ids


def test_every_scenario_briefs_with_a_goal_and_keys_the_war_room_binds() -> None:
    scenarios = list_scenarios()
    assert sorted(s.id for s in scenarios) == sorted(SCENARIO_IDS)
    known = binding_ids()
    for scenario in scenarios:
        briefing = scenario.briefing
        assert scenario.briefing_spec is not None, f"{scenario.id} has no briefing"
        assert briefing.goal and briefing.narrative == scenario.narrative
        unknown = {k for k, _ in briefing.keys} - known
        assert not unknown, f"{scenario.id}: unknown binding ids {unknown}"


def test_a_scenario_without_a_briefing_is_briefed_from_its_narrative_and_summary(
        tmp_path: Path) -> None:
    start, end = GOOD.index("briefing:"), GOOD.index("environment:")
    path = tmp_path / "s.yaml"
    path.write_text(GOOD[:start] + GOOD[end:])
    scenario = load_scenario(path)
    assert scenario.briefing.narrative == scenario.narrative
    assert scenario.briefing.goal == scenario.summary
    assert scenario.briefing.keys == DEFAULT_BRIEFING_KEYS


def test_expected_side_effects_name_the_policy_s_triggers_and_the_library_s_steps() -> None:
    library = load_library(runbooks_dir())
    policy = load_policy(default_policy_path())
    runbooks = {runbook.id for runbook in library}
    steps = {runbook.id: {step.id for step in runbook.steps} for runbook in library}
    triggers = {trigger.id for trigger in policy.triggers}
    for scenario in list_scenarios():
        spec = parse_training(scenario)
        assert check_against(spec, scenario, runbooks, steps, triggers) == []
    migration = parse_training(next(s for s in list_scenarios()
                                    if s.id == "db-migration-failure"))
    assert [(e.trigger, e.runbook, e.step, e.until) for e in migration.expected] == [
        ("health_checks", "database-migration", "stop-api", "api-ready")]


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ("briefing: read the runbook\n", r":11: briefing must be a mapping"),
        ("briefing:\n  goal: ''\n", r":12: briefing: 'goal' must be a non-empty text"),
        ("briefing:\n  narrative: x\n", r":11: briefing: missing key 'goal'"),
        ("briefing:\n  goal: g\n  keys: [s, d]\n", r":13: briefing: 'keys' \(binding id: "
         r"what it is for\) must be a mapping"),
        ("briefing:\n  goal: g\n  keys: {}\n", r":13: briefing: 'keys' is empty"),
    ],
)
def test_a_bad_briefing_block_is_one_line_with_its_line(tmp_path: Path, block: str,
                                                        expected: str) -> None:
    start, end = GOOD.index("briefing:"), GOOD.index("environment:")
    assert GOOD[:start].count("\n") == 10  # the block starts on line 11
    path = tmp_path / "s.yaml"
    path.write_text(GOOD[:start] + block + GOOD[end:])
    with pytest.raises(DataFileError, match=expected) as info:
        load_scenario(path)
    assert str(info.value).startswith(f"{path}:")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("  goal: >-", "  gaol: >-", r":\d+: unknown key 'gaol' in briefing"),
        ("  goal: >-\n", "  goal: ''\n  was: >-\n",
         r":\d+: unknown key 'was' in briefing"),
        ("    decision.severity: ", "    Severity: ", r":\d+: briefing: 'Severity' is not a "
         r"binding id \(like decision.severity\)"),
        ('    decision.decide: "record the decision once the trigger fires"',
         "    decision.decide: ''", r":\d+: briefing: key 'decision.decide' must be a non-empty"),
        ("    - trigger: health_checks\n      after: database-migration/stop-api",
         "    - trigger: health_checks\n      after: stop-api",
         r":\d+: training: after 'stop-api' must name runbook/step"),
        ("      until: api-ready\n", "      untill: api-ready\n",
         r":\d+: training: unknown key 'untill' in an expected side effect"),
    ],
)
def test_a_bad_briefing_or_side_effect_is_one_line_with_file_and_line(
        tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in GOOD
    path = tmp_path / "s.yaml"
    path.write_text(GOOD.replace(old, new, 1))
    with pytest.raises(DataFileError, match=expected) as info:
        parse_training(load_scenario(path))
    message = str(info.value)
    assert message.startswith(f"{path}:") and "\n" not in message


@pytest.mark.parametrize("args", [("train", "--no-briefing"), ("train", "--headless"),
                                  ("scenarios", "list")])
def test_the_cli_reports_a_bad_scenario_file_in_one_line_and_exits_2(
        tmp_path: Path, args: tuple[str, ...]) -> None:
    import os
    import shutil
    import subprocess
    import sys

    folder = tmp_path / "runbooks"
    shutil.copytree(SHIPPED.parent, folder)
    bad = folder / "scenarios" / "bad-deploy.yaml"
    bad.write_text(bad.read_text().replace("  goal: >-", "  gaol: >-", 1))
    env = {**os.environ, "COCKPIT_RUNBOOKS_DIR": str(folder),
           "COCKPIT_STATE_DIR": str(tmp_path / "state")}
    done = subprocess.run([sys.executable, "-m", "cockpit", *args], capture_output=True,
                          text=True, env=env, timeout=120, check=False)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (f"cockpit: error: {bad}:12: unknown key 'gaol' in briefing "
                                   "(allowed: goal, keys, narrative)")
    assert not (tmp_path / "state").exists() or not any((tmp_path / "state").rglob("*.jsonl"))
