"""Tamper detection: altered, removed and swapped lines, torn tails, and the verify CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from timeline_recorded import INCIDENT_ID, record

from cockpit.commands.timeline import timeline
from cockpit.timeline.verify import verify


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return record(tmp_path).path


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def _write(path: Path, lines: list[str]) -> None:
    path.write_text("".join(lines), encoding="utf-8")


def test_intact_journal_reports_count_and_short_head(journal_path: Path) -> None:
    report = verify(journal_path)
    last = json.loads(_lines(journal_path)[-1])
    assert report.ok
    assert report.events == len(_lines(journal_path))
    assert report.head_short == last["hash"][:12]


def test_altered_value_is_named_at_its_line(journal_path: Path) -> None:
    lines = _lines(journal_path)
    lines[16] = lines[16].replace("oncall", "intruder", 1)
    _write(journal_path, lines)
    report = verify(journal_path)
    assert not report.ok
    assert report.problems[0].describe() == "journal.jsonl:17: hash mismatch (line was altered)"


def test_altered_line_with_recomputed_hash_breaks_the_next_link(journal_path: Path) -> None:
    from cockpit.timeline.journal import canonical_json, event_hash

    lines = _lines(journal_path)
    rec = json.loads(lines[9])
    rec["data"]["note"] = "rewritten"
    rec["hash"] = event_hash(rec)
    lines[9] = canonical_json(rec) + "\n"
    _write(journal_path, lines)
    assert verify(journal_path).problems[0].describe() == (
        "journal.jsonl:11: chain broken (a line before it was removed or reordered)")


def test_deleted_line_breaks_the_chain_where_it_was(journal_path: Path) -> None:
    lines = _lines(journal_path)
    del lines[5]
    _write(journal_path, lines)
    assert verify(journal_path).problems[0].describe() == (
        "journal.jsonl:6: chain broken (a line before it was removed or reordered)")


def test_swapped_lines_are_caught_at_the_first_of_them(journal_path: Path) -> None:
    lines = _lines(journal_path)
    lines[7], lines[8] = lines[8], lines[7]
    _write(journal_path, lines)
    report = verify(journal_path)
    assert report.problems[0].line == 8
    assert "chain broken" in report.problems[0].message


def test_torn_last_line_warns_but_passes(journal_path: Path) -> None:
    count = len(_lines(journal_path))
    with open(journal_path, "a", encoding="utf-8") as handle:
        handle.write('{"seq": 1000, "kind": "no')
    report = verify(journal_path)
    assert report.ok and report.events == count
    assert report.warnings == (
        f"journal.jsonl:{count + 1}: torn last line (crash mid-write), set aside",)


def test_cli_verify_exit_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    journal_path = record(tmp_path).path
    monkeypatch.setenv("COCKPIT_STATE_DIR", str(tmp_path))
    runner = CliRunner()
    head = json.loads(_lines(journal_path)[-1])["hash"][:12]

    for ref in (INCIDENT_ID, str(journal_path), str(journal_path.parent)):
        ok = runner.invoke(timeline, ["verify", ref])
        assert ok.exit_code == 0, ok.output
        assert f"{len(_lines(journal_path))} events, head {head}" in ok.output

    unknown = runner.invoke(timeline, ["verify", "INC-20990101-000000-ffff"])
    assert unknown.exit_code == 2
    assert unknown.output.strip().count("\n") == 0
    assert "unknown incident: INC-20990101-000000-ffff" in unknown.output

    lines = _lines(journal_path)
    del lines[2]
    _write(journal_path, lines)
    bad = runner.invoke(timeline, ["verify", INCIDENT_ID])
    assert bad.exit_code == 1
    assert "journal.jsonl:3: chain broken" in bad.output
