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


# -- heads, checkpoints and forks ------------------------------------------------------------


@pytest.mark.parametrize("text,expected", [
    ("42:abcdef012345", (42, "abcdef012345")),
    (" 7:ABCDEF01 ", (7, "abcdef01")),
    ("0:" + "0" * 64, (0, "0" * 64)),
])
def test_head_refs_parse(text: str, expected: tuple[int, str]) -> None:
    from cockpit.timeline.checkpoint import parse_head_ref

    assert parse_head_ref(text) == expected


@pytest.mark.parametrize("text", ["", "42", "42:", "42:abc", "4x:abcdef01", "42:ghijklmn",
                                  "42:abcdef01:00", "+4:abcdef01", "4:" + "a" * 65,
                                  "4:abcd\x1bef01"])
def test_malformed_head_refs_are_refused(text: str) -> None:
    from cockpit.timeline.checkpoint import parse_head_ref

    with pytest.raises(ValueError, match="not a journal head COUNT:HASH"):
        parse_head_ref(text)


def test_a_published_head_is_checked_against_the_event_it_counts(journal_path: Path) -> None:
    third = json.loads(_lines(journal_path)[2])["hash"]
    assert verify(journal_path, head=f"3:{third[:12]}").ok
    wrong = verify(journal_path, head=f"4:{third[:12]}")
    assert wrong.first_problem().startswith("journal.jsonl:4: does not match the published")


def _checkpoint_line(path: Path, **fields: object) -> None:
    record = {"n": 1, "count": 1, "head": "0" * 64, "incident": INCIDENT_ID,
              "t": "2025-01-21T14:30:00.000Z", "key": "ssh-ed25519 AAAA", "sig": "none"}
    record.update(fields)
    with open(path.parent / "checkpoints.jsonl", "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


def test_a_checkpoint_of_another_incident_is_a_problem(journal_path: Path) -> None:
    _checkpoint_line(journal_path, incident="INC-20250101-000000-\x1b[2Jx")
    report = verify(journal_path, signatures=False)
    assert report.first_problem().startswith(
        "checkpoints.jsonl:1: checkpoint 1 is of incident 'INC-20250101-000000-\\x1b[2Jx'")


def test_a_checkpoint_beyond_the_journal_is_truncation(journal_path: Path) -> None:
    count = len(_lines(journal_path))
    _checkpoint_line(journal_path, count=count + 5, head="a" * 64)
    report = verify(journal_path, signatures=False)
    assert report.first_problem() == (
        f"journal.jsonl:{count + 1}: truncated after checkpoint 1: it signed {count + 5} "
        f"events (head {count + 5}:aaaaaaaaaaaa), the journal has {count}")


def test_a_checkpoint_with_an_unsigned_signature_fails(journal_path: Path) -> None:
    last = json.loads(_lines(journal_path)[-1])
    _checkpoint_line(journal_path, count=last["seq"], head=last["hash"])
    assert verify(journal_path, signatures=False).ok  # count and head agree...
    report = verify(journal_path)
    assert report.first_problem().startswith("checkpoints.jsonl:1: checkpoint 1: bad signature")


def test_a_torn_checkpoint_line_is_a_warning(journal_path: Path) -> None:
    (journal_path.parent / "checkpoints.jsonl").write_text('{"n": 1, "cou', encoding="utf-8")
    report = verify(journal_path)
    assert report.ok
    assert "checkpoints.jsonl: torn last line (crash mid-write), ignored" in report.warnings


def test_two_lines_with_one_seq_are_a_fork(journal_path: Path) -> None:
    from cockpit.timeline.journal import canonical_json, event_hash

    lines = _lines(journal_path)
    rival = json.loads(lines[-1])
    rival["kind"] = "note.added"
    rival["hash"] = event_hash(rival)
    _write(journal_path, [*lines, canonical_json(rival) + "\n"])
    assert verify(journal_path).first_problem() == (
        f"journal.jsonl:{len(lines) + 1}: chain forks: seq {len(lines)} again (first at line "
        f"{len(lines)}): two writers appended to this journal")


def test_a_corrupt_journal_is_refused_naming_the_line(journal_path: Path) -> None:
    from cockpit.timeline.journal import Journal, JournalCorruptError

    lines = _lines(journal_path)
    del lines[4]
    _write(journal_path, lines)
    with pytest.raises(JournalCorruptError) as caught:
        Journal.open(journal_path)
    assert f"{INCIDENT_ID}/journal.jsonl:5: chain broken" in str(caught.value)
    assert "Problem(" not in str(caught.value)


def test_cli_verify_says_when_no_checkpoint_can_rule_out_a_cut(
        journal_path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("COCKPIT_STATE_DIR", str(tmp_path))
    result = CliRunner().invoke(timeline, ["verify", INCIDENT_ID])
    assert result.exit_code == 0
    assert "warning: no signed checkpoint: lines cut off the end cannot be seen" in (
        result.stderr)
    assert "no signed checkpoint" in result.stdout
