"""``cockpit train --headless`` and ``cockpit scenarios list`` through the real entry point."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.training_helpers import SCENARIO_IDS


def cockpit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cockpit", *args], capture_output=True,
                          text=True, timeout=120, check=False)


def test_headless_demo_prints_score_and_id_and_leaves_a_verifiable_journal(tmp_path: Path
                                                                          ) -> None:
    done = cockpit("train", "--scenario", "integration-failure", "--mode", "demo",
                   "--headless", "--seed", "5")
    assert done.returncode == 0, done.stderr
    assert "Score: 100/100  (full marks)" in done.stdout
    assert "Outcome: RESTORED; data lost: no" in done.stdout
    assert "why:" in done.stdout  # the autopilot narrates the procedure's reasons
    incident = re.search(r"^incident: (INC-\S+)$", done.stdout, re.M)
    assert incident is not None
    verified = cockpit("timeline", "verify", incident.group(1))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "intact" in verified.stdout
    out = tmp_path / "rca.json"
    exported = cockpit("export", incident.group(1), "--format", "json", "-o", str(out))
    assert exported.returncode == 0
    assert "score.recorded" in out.read_text()


def test_headless_quiet_prints_only_the_score() -> None:
    done = cockpit("train", "--scenario", "bad-deploy", "--headless", "--quiet")
    assert done.returncode == 0
    assert "why:" not in done.stdout and done.stdout.lstrip().startswith("Score: 100/100")


@pytest.mark.parametrize(("args", "message"), [
    (["--mode", "exam", "--headless"], "--headless plays the autopilot; --mode exam needs"),
    (["--scenario", "nope", "--headless"], "unknown scenario 'nope' (valid: bad-deploy"),
    (["--mode", "coached"], "Invalid value for '--mode'"),
])
def test_bad_usage_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    done = cockpit("train", *args)
    assert done.returncode == 2
    assert message in done.stderr and done.stderr.count("\n") == 1
    assert done.stdout == ""


def test_scenarios_list_shows_every_id_with_a_summary() -> None:
    done = cockpit("scenarios", "list")
    assert done.returncode == 0
    rows = dict(line.split(None, 1) for line in done.stdout.splitlines())
    assert set(SCENARIO_IDS) <= set(rows)
    assert all(len(summary) > 20 for summary in rows.values())


def test_export_of_a_training_incident_has_the_score_section(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from cockpit.sim.scenario import find_scenario
    from cockpit.timeline.export import export_journal
    from cockpit.training.autopilot import Autopilot
    from cockpit.training.session import TrainingSession

    session = TrainingSession(find_scenario("bad-deploy"), mode="demo", state_dir=tmp_path)
    Autopilot(session).play()
    path = session.incident.journal.path
    md = export_journal(path, "md")
    assert "## Training Score" in md and "**100/100**" in md and "No penalties." in md
    import json

    data = json.loads(export_journal(path, "json"))
    assert data["training_score"]["total"] == 100
    assert "Training score" in export_journal(path, "html")
