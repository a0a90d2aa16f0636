"""Scenario files: the shipped ones load; malformed ones are reported as FILE:LINE."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.sim.scenario import find_scenario, list_scenarios, load_scenario
from cockpit.yamlfile import DataFileError

GOOD = (Path(__file__).parents[2] / "runbooks" / "scenarios" / "bad-deploy.yaml").read_text()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return path


def test_shipped_scenarios_load_and_default_is_there() -> None:
    ids = [s.id for s in list_scenarios()]
    assert "bad-deploy" in ids
    scenario = find_scenario("bad-deploy")
    assert {d.name for d in scenario.deployments} == {"frontend", "api", "workers"}


def test_unknown_scenario_names_the_valid_ones() -> None:
    with pytest.raises(KeyError, match=r"unknown scenario 'nope' \(valid: .*bad-deploy"):
        find_scenario("nope")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("speed: 10", "speed: 100", r":24: speed must be between 1 and 60"),
        ("  - deployment: api\n", "  - deployment: apx\n", r":\d+: unknown deployment 'apx'"),
        ("seed: 7", "seed: 7\nseed: 8", r":26: duplicate key 'seed'"),
        ("baseline:", "baseline:\n  bogus: 1", r":\d+: unknown key 'bogus' in baseline"),
        ('start: "2025-01-21T14:25:00Z"', 'start: "2025-01-21 14:25"', r"start time needs a zone"),
        ("[[0, 0], [60, 0.8]", "[[60, 0], [0, 0.8]", r"times must increase"),
        ("id: bad-deploy", "id: [bad", r":\d+: YAML syntax error"),
    ],
)
def test_malformed_scenarios_name_file_and_line(tmp_path: Path, old: str, new: str,
                                                expected: str) -> None:
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(DataFileError, match=expected) as info:
        load_scenario(path)
    assert str(info.value).startswith(str(path))
