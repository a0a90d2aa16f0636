"""Exports (md/json/html) of one recorded incident, the export and incidents CLIs."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from timeline_recorded import ACTOR, INCIDENT_ID, StepClock, record

from cockpit.commands.export import export
from cockpit.commands.incidents import incidents
from cockpit.timeline.export import export_journal, export_schema
from cockpit.timeline.journal import Journal, read_events
from cockpit.timeline.redact import Redactor
from cockpit.timeline.store import latest_open_incident, list_incidents

EXPECTED_MD = Path(__file__).parents[1] / "fixtures" / "timeline" / "rca_expected.md"


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return record(tmp_path).path


def _head_short(path: Path) -> str:
    return read_events(path)[-1].hash[:12]


def test_markdown_matches_the_stored_rca(journal_path: Path) -> None:
    text = export_journal(journal_path, "md", redactor=Redactor())
    if os.environ.get("COCKPIT_UPDATE_EXPECTED"):
        EXPECTED_MD.write_text(text, encoding="utf-8")
    assert text == EXPECTED_MD.read_text(encoding="utf-8")


def test_markdown_follows_the_rca_template(journal_path: Path) -> None:
    text = export_journal(journal_path, "md", redactor=Redactor())
    headings = re.findall(r"^## (.+)$", text, flags=re.MULTILINE)
    for wanted in ["Incident Summary", "Timeline", "Root Cause", "Contributing Factors",
                   "Impact Assessment", "What Went Well", "What Needs Improvement",
                   "Action Items", "Lessons Learned", "Event Log"]:
        assert wanted in headings
    assert f"43 events, head `{_head_short(journal_path)}`" in text
    assert "- **Data Loss:** No - data-consistency checks found no anomalies" in text
    assert "- **2025-01-21 14:32:28 UTC** - Rollback initiated" in text


def _incident_with_check(tmp_path: Path, output: str | None) -> Path:
    with Journal.create(tmp_path, clock=StepClock(), actor=ACTOR,
                        redactor=Redactor()) as journal:
        journal.append("incident.opened", {"scenario": "db"})
        if output is not None:
            journal.append("step.started", {"runbook": "db", "step": "verify-integrity",
                                            "title": "Data integrity verification"})
            journal.append("step.finished", {"runbook": "db", "step": "verify-integrity",
                                             "outcome": "done", "output": output})
    return journal.path


@pytest.mark.parametrize(
    ("output", "verdict"),
    [
        (None, "Unknown - data-consistency checks not run"),
        ("Orphaned health records | 3\nMissing medications | 0", "Yes - see checks"),
        ("Orphaned health records | 0\nMissing medications | 0",
         "No - data-consistency checks found no anomalies"),
    ],
)
def test_data_loss_comes_from_the_consistency_checks(
    tmp_path: Path, output: str | None, verdict: str
) -> None:
    text = export_journal(_incident_with_check(tmp_path, output), "md", redactor=Redactor())
    assert f"- **Data Loss:** {verdict}" in text


def test_json_export_is_valid_against_the_shipped_schema(journal_path: Path) -> None:
    doc = json.loads(export_journal(journal_path, "json", redactor=Redactor()))
    jsonschema.Draft202012Validator.check_schema(export_schema())
    jsonschema.validate(doc, export_schema(), cls=jsonschema.Draft202012Validator)
    assert doc["journal"]["events"] == 43
    assert doc["journal"]["head_short"] == _head_short(journal_path)
    assert doc["milestones"]["rollback_completed"] == "2025-01-21T14:33:58.000Z"
    assert [e["seq"] for e in doc["events"]] == list(range(1, 44))
    broken = dict(doc, journal={"events": -1})
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, export_schema())


def test_html_is_one_self_contained_file_with_svg_charts(journal_path: Path) -> None:
    text = export_journal(journal_path, "html", redactor=Redactor())
    assert text.startswith("<!DOCTYPE html>")
    assert not re.search(r"\b(?:src|href)\s*=", text, flags=re.IGNORECASE)
    assert "<script" not in text.lower() and "@import" not in text and "url(" not in text
    assert text.count("<svg") == 2
    assert "error_rate" in text and "latency_p95_ms" in text
    assert "<polyline" in text
    assert f"head <code>{_head_short(journal_path)}</code>" in text


def test_cli_export_to_stdout_and_to_a_file(
    journal_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COCKPIT_STATE_DIR", str(tmp_path))
    runner = CliRunner()
    out = runner.invoke(export, [INCIDENT_ID, "--format", "md"])
    assert out.exit_code == 0
    assert out.output.startswith(f"# Rollback Post-Incident Review - {INCIDENT_ID}")

    target = tmp_path / "rca.html"
    written = runner.invoke(export, [INCIDENT_ID, "--format", "html", "-o", str(target)])
    assert written.exit_code == 0
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600

    unknown = runner.invoke(export, ["INC-20990101-000000-ffff", "--format", "json"])
    assert unknown.exit_code == 2
    assert "unknown incident: INC-20990101-000000-ffff" in unknown.output


def test_incidents_listing_and_latest_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    record(tmp_path)
    clock = StepClock()
    clock.advance(3600)
    with Journal.create(tmp_path, incident_id="INC-20250121-153000-beef", clock=clock,
                        actor=ACTOR, redactor=Redactor()) as journal:
        journal.append("incident.opened", {"scenario": "db-migration"})
        journal.append("severity.set", {"severity": "high", "by": "oncall"})

    found = list_incidents(tmp_path)
    assert [(s.id, s.state, s.scenario, s.severity, s.events) for s in found] == [
        ("INC-20250121-153000-beef", "open", "db-migration", "high", 2),
        (INCIDENT_ID, "closed", "bad-deploy", "critical", 43),
    ]
    latest = latest_open_incident(tmp_path)
    assert latest is not None and latest.id == "INC-20250121-153000-beef"

    monkeypatch.setenv("COCKPIT_STATE_DIR", str(tmp_path))
    runner = CliRunner()
    table = runner.invoke(incidents, [])
    assert table.exit_code == 0
    lines = table.output.splitlines()
    assert lines[0].split()[:3] == ["ID", "SCENARIO", "STATE"]
    assert lines[1].split()[:3] == ["INC-20250121-153000-beef", "db-migration", "open"]
    as_json = json.loads(runner.invoke(incidents, ["--json"]).output)
    assert [row["id"] for row in as_json] == ["INC-20250121-153000-beef", INCIDENT_ID]


def test_incidents_listing_of_an_empty_state_dir(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COCKPIT_STATE_DIR", str(tmp_path))
    result = CliRunner().invoke(incidents, [])
    assert result.exit_code == 0 and "no incidents" in result.output
    assert list_incidents(tmp_path) == [] and latest_open_incident(tmp_path) is None
