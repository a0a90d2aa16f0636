"""Redaction: each kind of secret and patient identifier, and no harm to operational text."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from timeline_recorded import CANARIES, HTTPX_ERROR, INCIDENT_ID, PSYCOPG_ERROR, record

from cockpit.commands.export import export
from cockpit.timeline.export import export_journal
from cockpit.timeline.journal import Journal, JournalWriteError
from cockpit.timeline.redact import Redactor


@pytest.mark.parametrize(
    ("text", "kind", "leak"),
    [
        ("dsn postgresql://app:hunter2pw@db.prod:5432/wc", "password", "hunter2pw"),
        ("connect password=Tr0ub4dor&3 host=db", "password", "Tr0ub4dor"),
        ("DD_API_KEY 0123456789abcdef0123456789abcdef", "api_key",
         "0123456789abcdef0123456789abcdef"),
        ("slack xoxb-1234567890-abcdefghij", "slack_token", "xoxb-1234567890"),
        ("aws AKIAIOSFODNN7EXAMPLE used", "aws_key", "AKIAIOSFODNN7EXAMPLE"),
        ("hook https://hooks.slack.com/services/T1/B2/xyzXYZ", "webhook", "xyzXYZ"),
        ("posting to https://example.org/api/webhooks/99/tok3n", "webhook", "tok3n"),
        ("Authorization: Bearer eyJhbGciOi.J9abc.def", "bearer", "eyJhbGciOi"),
        ("routing_key=R01234567890123456789012345678AB", "routing_key",
         "R01234567890123456789012345678AB"),
        ("github_token: ghp_abcdefghijklmnop", "token", "ghp_abcdefghijklmnop"),
        ("patient ssn 078-05-1120", "ssn", "078-05-1120"),
        ("DOB: 1984-03-02", "dob", "1984-03-02"),
        ("date of birth 03/02/1984", "dob", "03/02/1984"),
        ("call (555) 867-5309 now", "phone", "867-5309"),
        ("call +44 20 7946 0958 now", "phone", "7946 0958"),
        ("mail jane.doe@example.org", "email", "jane.doe"),
        ("chart MRN 00123456 opened", "mrn", "00123456"),
        ("DETAIL: Key (name)=(Jane Roe) already exists.", "db_value", "Jane Roe"),
    ],
)
def test_each_kind_is_replaced_and_counted(text: str, kind: str, leak: str) -> None:
    result = Redactor().redact({"text": text})
    assert leak not in result.value["text"]
    assert f"[REDACTED:{kind}]" in result.value["text"]
    assert result.counts == {kind: 1}


@pytest.mark.parametrize(
    "text",
    [
        "rolled back at 2025-01-21T14:30:00Z to v2.0.0 (was v2.1.0-rc.1)",
        "window 2025-01-21 14:30 - 2025-01-21 15:00 UTC",
        "ssh from 10.0.0.1 port 22 to 192.168.10.254",
        "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "commit 2fd4e1c67a2d28fced849ee1bb76e7391b93eb12",
        "error rate 6.3% p95 1180 ms, 1234567890 requests, revision 42",
        "postgresql://app@db.prod:5432/wc (no password)",
        "kubectl rollout undo deployment/api -n prod --to-revision=41",
    ],
)
def test_operational_text_is_left_alone(text: str) -> None:
    result = Redactor().redact({"text": text})
    assert result.value["text"] == text
    assert result.counts == {}


def test_sensitive_keys_lose_their_whole_value() -> None:
    result = Redactor().redact({"password": "x", "nested": [{"ssn": "unformatted 078051120"}]})
    assert result.value == {"password": "[REDACTED:password]",
                            "nested": [{"ssn": "[REDACTED:ssn]"}]}


def test_redaction_is_idempotent() -> None:
    red = Redactor()
    once = red.redact({"t": f"{HTTPX_ERROR} {PSYCOPG_ERROR} password=abc token=def"}).value
    twice = red.redact(once)
    assert twice.value == once
    assert twice.counts == {}


def test_registered_literal_secrets_are_always_replaced() -> None:
    red = Redactor()
    red.add_secret("pl41n-w0rd-no-pattern")
    result = red.redact({"output": "login with pl41n-w0rd-no-pattern ok"})
    assert result.value["output"] == "login with [REDACTED:secret] ok"
    assert result.counts == {"secret": 1}
    with pytest.raises(ValueError):
        red.add_secret("ab")


def _assert_no_canary(text: str) -> None:
    for name, value in CANARIES.items():
        assert value not in text, f"canary {name} leaked"


def test_canaries_never_reach_journal_or_any_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    red = Redactor([CANARIES["secret"]])
    journal = record(tmp_path, redactor=red)
    with Journal.open(journal.folder, redactor=red) as again:
        again.append("note.added", {"text": f"env had {CANARIES['secret']}",
                                    "extra": [CANARIES["webhook"], {"k": CANARIES["ssn"]}]})
    _assert_no_canary(journal.path.read_text(encoding="utf-8"))
    for fmt in ("md", "json", "html"):
        _assert_no_canary(export_journal(journal.path, fmt, redactor=red))
    monkeypatch.setenv("COCKPIT_STATE_DIR", str(tmp_path))
    out = CliRunner().invoke(export, [INCIDENT_ID, "--format", "md"])
    assert out.exit_code == 0
    _assert_no_canary(out.output)


def test_canaries_do_not_leak_through_write_errors(tmp_path: Path) -> None:
    journal = Journal.create(tmp_path, redactor=Redactor())
    with pytest.raises(JournalWriteError) as caught:
        journal.append(f"note.{CANARIES['ssn']}", {"bad": {1, 2}, "text": CANARIES["webhook"]})
    journal.close()
    _assert_no_canary(str(caught.value))
    _assert_no_canary(journal.path.read_text(encoding="utf-8"))


def test_export_redacts_again_what_an_old_journal_holds(tmp_path: Path) -> None:
    # a journal written before a secret was known: the export still hides it
    with Journal.create(tmp_path, redactor=Redactor()) as journal:
        journal.append("note.added", {"text": "vault said pl41n-w0rd-no-pattern"})
    red = Redactor(["pl41n-w0rd-no-pattern"])
    for fmt in ("md", "json", "html"):
        assert "pl41n-w0rd-no-pattern" not in export_journal(journal.path, fmt, redactor=red)


@pytest.mark.parametrize(
    ("text", "kind", "leak"),
    [
        ("chart MRN-00123456 opened", "mrn", "00123456"),
        ("chart MRN#00123456 opened", "mrn", "00123456"),
        ("chart MRN: A0012345 opened", "mrn", "A0012345"),
        ("ssn 078 05 1120", "ssn", "078 05 1120"),
        ("ssn 078.05.1120", "ssn", "078.05.1120"),
        ("SSN=078051120", "ssn", "078051120"),
        ("DOB March 3, 1961", "dob", "March 3, 1961"),
        ("born 3 March 1961", "dob", "3 March 1961"),
        ("tel 5558675309", "phone", "5558675309"),
        ("sms to +15558675309", "phone", "+15558675309"),
        ("patient: Jane Roe", "patient", "Jane Roe"),
    ],
)
def test_more_forms_of_patient_identifiers_are_replaced(text: str, kind: str, leak: str) -> None:
    result = Redactor().redact({"text": text})
    assert leak not in result.value["text"]
    assert result.counts == {kind: 1}


def test_redacted_strings_are_neutralised_and_counted_as_control() -> None:
    result = Redactor().redact({"output": "ok \x1b]52;c;ZXZpbA==\x07\x1b[2J done \u202e"})
    assert result.value["output"] == "ok  done <U+202E>"
    assert result.counts == {"control": 1}


def test_mapping_keys_are_caller_text_too() -> None:
    result = Redactor().redact({"counts": {"rows\x1b[2J": 1, "MRN-1234567": 2, "ok_key": 3}})
    assert result.value["counts"] == {"rows": 1, "MRN-[REDACTED:mrn]": 2, "ok_key": 3}


def test_an_identifier_split_by_an_invisible_character_is_still_redacted() -> None:
    text = Redactor().redact_text("MRN-123\u200b4567 and ssn 078-05\u2060-1120")
    assert "4567" not in text and "1120" not in text


def test_operator_patterns_and_terms_are_redacted_and_bad_ones_refused() -> None:
    red = Redactor()
    red.add_pattern("mrn", r"\bH\d{8}\b")
    assert red.add_terms("patient", ["# comment", "", "Zebulon  Quixote"]) == 1
    assert red.redact_text("H12345678 for ZEBULON QUIXOTE") == (
        "[REDACTED:mrn] for [REDACTED:patient]")
    with pytest.raises(ValueError, match="matches empty text"):
        red.add_pattern("mrn", r"\d*")
    with pytest.raises(ValueError, match="not a valid regex"):
        red.add_pattern("mrn", r"(")
    with pytest.raises(ValueError, match="shorter than 3"):
        red.add_terms("patient", ["Al"])
