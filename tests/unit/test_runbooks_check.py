"""``cockpit runbooks check``: one parse per file, same verdicts as check_paths."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from cockpit.commands.runbooks import runbooks
from cockpit.paths import runbooks_dir
from cockpit.runbook import loader

FIXTURES = Path(__file__).parents[1] / "fixtures" / "runbooks"


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts how often each runbook file is read and parsed."""
    counts: Counter[str] = Counter()
    real = loader._parse

    def counting(path):  # type: ignore[no-untyped-def]
        counts[Path(path).name] += 1
        return real(path)

    monkeypatch.setattr(loader, "_parse", counting)
    return counts


def test_checking_the_shipped_folder_reads_each_file_once(parses: Counter[str]) -> None:
    result = CliRunner().invoke(runbooks, ["check"])
    files = loader.runbook_files([runbooks_dir()])
    steps = sum(len(loader.load_runbook(f).steps) for f in files)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"{len(files)} runbooks, {steps} steps: OK"
    assert len(files) > 5
    # load_runbook above parsed each file a second time: the command did it only once
    assert set(parses.values()) == {2} and set(parses) == {f.name for f in files}


def test_files_named_one_by_one_are_each_read_once(parses: Counter[str]) -> None:
    files = loader.runbook_files([FIXTURES / "good"])
    steps = sum(len(loader.load_runbook(f).steps) for f in files)
    parses.clear()
    result = CliRunner().invoke(runbooks, ["check", *map(str, files)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"{len(files)} runbooks, {steps} steps: OK"
    assert parses == Counter({f.name: 1 for f in files})


def test_errors_are_the_same_as_check_paths(parses: Counter[str]) -> None:
    bad = FIXTURES / "bad"
    result = CliRunner().invoke(runbooks, ["check", str(bad)])
    expected = loader.check_paths([bad])
    assert result.exit_code == 1
    assert expected and result.stdout.splitlines() == expected
    assert f"{len(expected)} errors" in result.stderr
