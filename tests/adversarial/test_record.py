"""The record proves itself: edits, truncation, emptying, forks and foreign signatures.

The failures this answers: an export (and a replay) of a journal with a value changed in
the middle exited 0 and printed the genuine journal's head; a journal with its last lines
cut, or emptied, verified "intact"; deleting ``journal.lock`` let two writers fork the
chain. Now the cockpit signs its head (``ssh-keygen -Y sign``) at every status update,
decision, export and close, ``cockpit timeline verify`` checks those checkpoints and a
head published elsewhere, export and replay verify first, and the journal file itself is
locked.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from cockpit.clock import SimClock
from cockpit.commands.export import export
from cockpit.commands.replay import replay
from cockpit.commands.timeline import timeline
from cockpit.incident import IncidentSession
from cockpit.runtime.build import default_policy
from cockpit.runtime.notices import Notice, Said
from cockpit.runtime.runtime import IncidentRuntime
from cockpit.timeline.checkpoint import (
    CHECKPOINTS_NAME,
    KEY_DIR,
    KEY_NAME,
    Checkpointer,
    Signer,
    host_key,
    read_checkpoints,
)
from cockpit.timeline.export import export_schema
from cockpit.timeline.journal import (
    LOCK_NAME,
    OWNER_NAME,
    Journal,
    JournalCorruptError,
    JournalLockedError,
    canonical_json,
    event_hash,
)
from cockpit.timeline.verify import verify

INCIDENT = "INC-20250121-143000-beef"
T0 = datetime(2025, 1, 21, 14, 30, tzinfo=UTC)
HEAD_REF = r"^\d+:[0-9a-f]{12}$"


@pytest.fixture
def state_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    state = tmp_path / "state"
    monkeypatch.setenv("COCKPIT_STATE_DIR", str(state))
    return state


def _runtime(state_dir: Path, incident: str = INCIDENT) -> IncidentRuntime:
    clock = SimClock(T0, 1.0)
    session = IncidentSession.start(scenario=None, environment="production", mode="live",
                                    title="checkout errors", clock=clock,
                                    state_dir=state_dir, incident_id=incident)
    return IncidentRuntime(clock=clock, policy=default_policy(), session=session)


def _wait(runtime: IncidentRuntime) -> None:
    assert runtime.session is not None and runtime.session.checkpointer is not None
    assert runtime.session.checkpointer.wait(10.0), "the checkpoint was never signed"


@pytest.fixture
def recorded(state_dir: Path) -> Path:
    """A live incident with notes, a status update, a decision and more notes, left open
    (disconnected): checkpoints at the status update, the decision and the disconnect."""
    runtime = _runtime(state_dir)
    for n in range(4):
        runtime.note(f"looking at checkout pods, round {n}", by="oncall")
    runtime.status_update("Rolling back checkout 2.14 to 2.13.")
    _wait(runtime)
    runtime.decide("rollback", by="oncall")
    _wait(runtime)
    for n in range(3):
        runtime.note(f"rollback step {n} done", by="oncall")
    runtime.disconnect()
    return state_dir / "incidents" / INCIDENT / "journal.jsonl"


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def _write(path: Path, lines: list[str]) -> None:
    path.write_text("".join(lines), encoding="utf-8")


def _edit_value(path: Path, line: int, old: str, new: str) -> None:
    lines = _lines(path)
    assert old in lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    _write(path, lines)


def _rewrite_from(path: Path, line: int, old: str, new: str) -> None:
    """What a forger without the key does best: change a value and rebuild the chain."""
    records = [json.loads(x) for x in _lines(path)]
    target = records[line - 1]
    target["data"] = json.loads(json.dumps(target["data"]).replace(old, new))
    prev = records[line - 2]["hash"] if line > 1 else "0" * 64
    for record in records[line - 1:]:
        record["prev"] = prev
        record["hash"] = event_hash(record)
        prev = record["hash"]
    _write(path, [canonical_json(r) + "\n" for r in records])


_COMMANDS = {"timeline": timeline, "export": export, "replay": replay}


def _invoke(command: str, *args: str) -> tuple[int, str, str]:
    """Run ``cockpit COMMAND ARGS``: exit code, stdout, stderr."""
    result = CliRunner().invoke(_COMMANDS[command], list(args))
    return result.exit_code, result.stdout, result.stderr


def _note_line(path: Path, text: str) -> int:
    for index, line in enumerate(_lines(path), start=1):
        if text in line:
            return index
    raise AssertionError(f"no line with {text!r}")


# -- an intact record ---------------------------------------------------------------------


def test_an_intact_record_verifies_with_its_signed_checkpoints(recorded: Path) -> None:
    found = read_checkpoints(recorded.parent)
    events = len(_lines(recorded))
    assert found.checkpoints, "no checkpoint was signed"
    assert found.checkpoints[-1].count == events  # the disconnect signed the last head
    code, out, _ = _invoke("timeline", "verify", INCIDENT)
    assert code == 0, out
    assert f"intact, {events} events" in out
    assert f"the last at {events} events" in out


def test_checkpoint_files_and_the_host_key_are_owner_only(recorded: Path,
                                                          state_dir: Path) -> None:
    key = state_dir / KEY_DIR / KEY_NAME
    for path in (recorded.parent / CHECKPOINTS_NAME, key, key.with_suffix(".pub")):
        assert path.stat().st_mode & 0o777 == 0o600, path
    assert (state_dir / KEY_DIR).stat().st_mode & 0o777 == 0o700


# -- a value changed in the middle --------------------------------------------------------


@pytest.mark.parametrize("fmt", ["md", "json", "html"])
def test_export_of_an_edited_journal_is_refused_naming_the_line(recorded: Path,
                                                                fmt: str) -> None:
    line = _note_line(recorded, "round 2")
    _edit_value(recorded, line, "round 2", "round 9")
    code, out, err = _invoke("export", INCIDENT, "--format", fmt)
    assert code == 1
    assert out == ""  # nothing exported, and not the genuine head either
    assert err.count("\n") == 1
    assert f"journal.jsonl:{line}: hash mismatch" in err


def test_replay_of_an_edited_journal_is_refused(recorded: Path) -> None:
    line = _note_line(recorded, "rollback step 1")
    _edit_value(recorded, line, "step 1", "step 7")
    code, _, err = _invoke("replay", INCIDENT)
    assert code == 1
    assert err.count("\n") == 1
    assert f"journal.jsonl:{line}: hash mismatch" in err


def test_a_forced_replay_of_an_edited_journal_is_marked_unverified(recorded: Path) -> None:
    from cockpit.app import make_replay_app

    line = _note_line(recorded, "round 1")
    _edit_value(recorded, line, "round 1", "round 6")
    with pytest.raises(JournalCorruptError, match=f"journal.jsonl:{line}: hash mismatch"):
        make_replay_app(recorded, start_clock=False)
    app = make_replay_app(recorded, start_clock=False, force=True)
    assert app.runtime.estate_label == f"REPLAY {INCIDENT} UNVERIFIED"
    # put back, the genuine journal replays unmarked
    _edit_value(recorded, line, "round 6", "round 1")
    assert make_replay_app(recorded, start_clock=False).runtime.estate_label == (
        f"REPLAY {INCIDENT}")


def test_a_rebuilt_chain_is_caught_by_the_checkpoint_it_contradicts(recorded: Path) -> None:
    line = _note_line(recorded, "round 1")
    _rewrite_from(recorded, line, "round 1", "round 8")
    report = verify(recorded)
    assert not report.ok
    assert "the record was rewritten after it" in report.first_problem()
    code, _, err = _invoke("export", INCIDENT)
    assert code == 1 and "failed verification" in err


def test_a_changed_actor_and_a_changed_time_are_caught(recorded: Path) -> None:
    line = _note_line(recorded, "round 0")
    _edit_value(recorded, line, "2025-01-21T14:30", "2025-01-21T13:30")
    assert f"journal.jsonl:{line}: hash mismatch" in verify(recorded).first_problem()


@pytest.mark.parametrize("fmt", ["md", "json", "html"])
def test_a_forced_export_says_first_that_the_record_failed(recorded: Path, fmt: str) -> None:
    line = _note_line(recorded, "round 3")
    _edit_value(recorded, line, "round 3", "round 0")
    code, out, err = _invoke("export", INCIDENT, "--format", fmt, "--force")
    assert code == 0
    assert "failed verification" in err
    first = "".join(out.splitlines(keepends=True)[:2])
    assert "FAILED verification" in first
    assert f"journal.jsonl:{line}: hash mismatch" in first
    if fmt == "json":
        data = json.loads(out)
        assert next(iter(data)) == "verification"
        assert data["verification"]["ok"] is False
        assert data["verification"]["problem"] == (
            f"journal.jsonl:{line}: hash mismatch (line was altered)")
        assert data["events"]  # the record follows, whole
        jsonschema.Draft202012Validator(export_schema()).validate(data)
    if fmt == "html":
        body = out.split("<body>", 1)[1]
        assert body.startswith('<p class="verify-failed" role="alert">')


def test_a_forced_export_to_a_file_carries_the_warning(recorded: Path, tmp_path: Path) -> None:
    _edit_value(recorded, 2, '"seq":2', '"seq":2,"x":1')
    target = tmp_path / "rca.md"
    code, _, _ = _invoke("export", INCIDENT, "-o", str(target), "--force")
    assert code == 0
    assert target.read_text(encoding="utf-8").startswith("> **WARNING: this record FAILED")


def test_an_intact_export_carries_no_warning(recorded: Path) -> None:
    code, out, err = _invoke("export", INCIDENT)
    assert code == 0
    assert "FAILED" not in out and "failed verification" not in err


# -- cut, emptied ---------------------------------------------------------------------------


@pytest.mark.parametrize("cut", [1, 3, 8])
def test_cut_last_lines_are_truncation_after_a_checkpoint(recorded: Path, cut: int) -> None:
    lines = _lines(recorded)
    kept = len(lines) - cut
    # the first checkpoint the cut journal falls short of is named
    first = next(c for c in read_checkpoints(recorded.parent).checkpoints if c.count > kept)
    _write(recorded, lines[:kept])
    code, out, _ = _invoke("timeline", "verify", INCIDENT)
    assert code == 1
    assert out.startswith(f"journal.jsonl:{kept + 1}: truncated after checkpoint {first.n}: "
                          f"it signed {first.count} events")
    assert f"the journal has {kept}" in out


def test_a_cut_through_a_line_is_truncation_too(recorded: Path) -> None:
    raw = recorded.read_bytes()
    recorded.write_bytes(raw[: len(raw) - 40])  # the last line torn, as by a crash
    report = verify(recorded)
    assert not report.ok
    assert "truncated after checkpoint" in report.first_problem()


@pytest.mark.parametrize("content", [b"", b"\n", b"   "])
def test_an_emptied_journal_fails(recorded: Path, content: bytes) -> None:
    recorded.write_bytes(content)
    code, out, _ = _invoke("timeline", "verify", INCIDENT)
    assert code == 1
    assert "emptied: the journal has no events, but checkpoint" in out
    code, _, err = _invoke("export", INCIDENT)
    assert code == 1 and "emptied" in err


def test_an_empty_journal_without_checkpoints_is_no_intact_record(state_dir: Path) -> None:
    folder = state_dir / "incidents" / INCIDENT
    folder.mkdir(parents=True)
    (folder / "journal.jsonl").write_bytes(b"")
    code, out, _ = _invoke("timeline", "verify", INCIDENT)
    assert code == 1
    assert "the journal is empty" in out


# -- a head published elsewhere -------------------------------------------------------------


def test_the_head_every_message_quotes_is_signed_and_verifies(state_dir: Path) -> None:
    runtime = _runtime(state_dir)
    runtime.note("first look", by="oncall")
    assert runtime.session is not None
    quoted = runtime.session.checkpoint()  # what the notifier stamps on a message
    assert re.match(HEAD_REF, quoted)
    _wait(runtime)
    signed = read_checkpoints(runtime.session.folder).checkpoints[-1]
    assert f"{signed.count}:{signed.head[:12]}" == quoted
    runtime.note("later", by="oncall")
    runtime.disconnect()
    code, out, _ = _invoke("timeline", "verify", INCIDENT, "--head", quoted)
    assert code == 0, out


def test_a_published_head_the_journal_does_not_hold_fails(recorded: Path) -> None:
    lines = _lines(recorded)
    genuine = json.loads(lines[4])["hash"]
    assert _invoke("timeline", "verify", INCIDENT, "--head", f"5:{genuine[:12]}")[0] == 0
    assert _invoke("timeline", "verify", INCIDENT, "--head", f"5:{genuine}")[0] == 0
    forged = ("0" if genuine[0] != "0" else "1") + genuine[1:12]
    code, out, _ = _invoke("timeline", "verify", INCIDENT, "--head", f"5:{forged}")
    assert code == 1
    assert f"journal.jsonl:5: does not match the published head 5:{forged}" in out
    code, out, _ = _invoke("timeline", "verify", INCIDENT, "--head",
                           f"{len(lines) + 4}:{genuine[:12]}")
    assert code == 1
    assert f"truncated: the published head {len(lines) + 4}:" in out


def test_a_published_head_catches_a_cut_with_its_checkpoints_deleted(recorded: Path) -> None:
    lines = _lines(recorded)
    published = f"{len(lines)}:{json.loads(lines[-1])['hash'][:12]}"
    _write(recorded, lines[:-2])
    (recorded.parent / CHECKPOINTS_NAME).unlink()  # the forger removes the evidence
    code, out, err = _invoke("timeline", "verify", INCIDENT)
    assert code == 0 and "no signed checkpoint" in err  # said, not hidden
    code, out, _ = _invoke("timeline", "verify", INCIDENT, "--head", published)
    assert code == 1 and "truncated: the published head" in out


@pytest.mark.parametrize("bad", ["12", "12:", ":abcdef12", "x:abcdef12", "3:abc",
                                 "3:zzzzzzzzzzzz", "-1:abcdef12", "3:" + "a" * 65])
def test_a_malformed_head_is_a_usage_error(recorded: Path, bad: str) -> None:
    code, _, err = _invoke("timeline", "verify", INCIDENT, "--head", bad)
    assert code == 2
    assert err.startswith("error: --head: not a journal head COUNT:HASH")


# -- signatures -----------------------------------------------------------------------------


def _allowed_signers(tmp_path: Path, pub: Path, name: str) -> Path:
    allowed = tmp_path / name
    allowed.write_text(f"cockpit {pub.read_text(encoding='utf-8')}", encoding="utf-8")
    return allowed


def test_allowed_signers_accepts_the_cockpit_key_and_refuses_another(
        recorded: Path, state_dir: Path, tmp_path: Path) -> None:
    own = _allowed_signers(tmp_path, state_dir / KEY_DIR / f"{KEY_NAME}.pub", "own")
    other_key = host_key(tmp_path / "elsewhere")
    other = _allowed_signers(tmp_path, other_key.with_suffix(".pub"), "other")
    code, out, _ = _invoke("timeline", "verify", INCIDENT, "--allowed-signers", str(own))
    assert code == 0, out
    code, out, _ = _invoke("timeline", "verify", INCIDENT, "--allowed-signers", str(other))
    assert code == 1
    assert "checkpoints.jsonl:1: checkpoint 1: signed by a key not in other" in out


def test_checkpoints_re_signed_by_a_forger_fail_against_the_allowed_signers(
        recorded: Path, state_dir: Path, tmp_path: Path) -> None:
    lines = _lines(recorded)
    _write(recorded, lines[:-3])
    (recorded.parent / CHECKPOINTS_NAME).unlink()
    forger = Checkpointer(recorded.parent, INCIDENT, Signer(host_key(tmp_path / "forger")))
    forger.request(len(lines) - 3, json.loads(lines[-4])["hash"])
    assert forger.wait(10.0)
    assert _invoke("timeline", "verify", INCIDENT)[0] == 0  # self-consistent...
    own = _allowed_signers(tmp_path, state_dir / KEY_DIR / f"{KEY_NAME}.pub", "own")
    code, out, _ = _invoke("timeline", "verify", INCIDENT, "--allowed-signers", str(own))
    assert code == 1  # ...but not the cockpit's key
    assert "signed by a key not in own" in out


def test_checkpoints_appended_by_another_key_are_pointed_out(recorded: Path,
                                                             tmp_path: Path) -> None:
    lines = _lines(recorded)
    forger = Checkpointer(recorded.parent, INCIDENT, Signer(host_key(tmp_path / "forger")))
    forger.request(len(lines), json.loads(lines[-1])["hash"])
    assert forger.wait(10.0)
    code, _, err = _invoke("timeline", "verify", INCIDENT)
    assert code == 0
    assert "signed by 2 different keys: check them with --allowed-signers" in err


@pytest.mark.parametrize("field,value", [("count", 3), ("head", "f" * 64),
                                         ("incident", "INC-20250101-000000-0000")])
def test_an_edited_checkpoint_fails_its_signature(recorded: Path, field: str,
                                                  value: object) -> None:
    path = recorded.parent / CHECKPOINTS_NAME
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    record = json.loads(lines[0])
    record[field] = value
    lines[0] = json.dumps(record) + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    code, out, _ = _invoke("timeline", "verify", INCIDENT)
    assert code == 1
    assert out.startswith("checkpoints.jsonl:1: checkpoint 1")


def test_a_garbled_checkpoint_line_fails(recorded: Path) -> None:
    path = recorded.parent / CHECKPOINTS_NAME
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"n": "\x1b]52;c;aGk=\x07"}\n')
    code, out, _ = _invoke("timeline", "verify", INCIDENT)
    assert code == 1
    assert "not a valid checkpoint" in out
    assert "\x1b" not in out


# -- the single writer ----------------------------------------------------------------------


@pytest.fixture
def open_journal(state_dir: Path) -> Iterator[Journal]:
    journal = Journal.create(state_dir, incident_id=INCIDENT)
    journal.append("incident.opened", {"title": "t"})
    yield journal
    journal.close()


@pytest.mark.parametrize("delete", [(LOCK_NAME,), (LOCK_NAME, OWNER_NAME)])
def test_a_second_writer_is_refused_after_journal_lock_is_deleted(
        open_journal: Journal, state_dir: Path, delete: tuple[str, ...]) -> None:
    for name in delete:
        (open_journal.folder / name).unlink()
    with pytest.raises(JournalLockedError, match=f"incident {INCIDENT} is open in another"):
        Journal.open(INCIDENT, state_dir)
    open_journal.append("note.added", {"text": "still the only writer"})
    assert verify(open_journal.path).ok


def test_a_second_writer_process_is_refused_after_journal_lock_is_deleted(
        open_journal: Journal, state_dir: Path) -> None:
    (open_journal.folder / LOCK_NAME).unlink()
    code = (
        "import sys\n"
        "from cockpit.timeline.journal import Journal, JournalLockedError\n"
        "try:\n"
        f"    Journal.open({INCIDENT!r}, {str(state_dir)!r}).append('note.added', {{}})\n"
        "except JournalLockedError as exc:\n"
        "    print(exc); sys.exit(3)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 3, done.stderr
    assert "open in another cockpit" in done.stdout
    assert len(_lines(open_journal.path)) == 1


def test_the_lock_is_released_on_close(open_journal: Journal, state_dir: Path) -> None:
    open_journal.close()
    again = Journal.open(INCIDENT, state_dir)
    again.append("note.added", {"text": "resumed"})
    again.close()
    assert verify(again.path).ok


def _fork(path: Path, *, same_seq: bool) -> None:
    lines = _lines(path)
    rival = json.loads(lines[-1])
    rival["data"] = {"text": "written by a second cockpit"}
    if not same_seq:
        rival["seq"] += 1
    rival["hash"] = event_hash(rival)
    _write(path, [*lines, canonical_json(rival) + "\n"])


@pytest.mark.parametrize("same_seq", [True, False])
def test_a_forked_journal_is_refused_on_open_and_by_verify(open_journal: Journal,
                                                           state_dir: Path,
                                                           same_seq: bool) -> None:
    open_journal.append("note.added", {"text": "one"})
    open_journal.close()
    _fork(open_journal.path, same_seq=same_seq)
    with pytest.raises(JournalCorruptError, match="journal.jsonl:3: chain forks"):
        Journal.open(INCIDENT, state_dir)
    assert "chain forks" in verify(open_journal.path).first_problem()


@pytest.mark.parametrize("cut", [1, 4])
def test_a_journal_cut_below_its_checkpoint_is_not_resumed(recorded: Path, state_dir: Path,
                                                           cut: int) -> None:
    lines = _lines(recorded)
    _write(recorded, lines[:-cut])
    with pytest.raises(JournalCorruptError, match="truncated after checkpoint"):
        Journal.open(INCIDENT, state_dir)
    assert len(_lines(recorded)) == len(lines) - cut  # nothing appended to the forgery


def test_a_rewritten_journal_is_not_resumed(recorded: Path, state_dir: Path) -> None:
    _rewrite_from(recorded, _note_line(recorded, "round 0"), "round 0", "round 5")
    with pytest.raises(JournalCorruptError, match="the record was rewritten after it"):
        Journal.open(INCIDENT, state_dir)


# -- a checkpoint never stalls the war room -------------------------------------------------


class _BlockedSigner(Signer):
    def __init__(self, key: Path) -> None:
        super().__init__(key)
        self.release = threading.Event()

    def sign(self, data: bytes) -> str:
        self.release.wait(10.0)
        return super().sign(data)


def test_a_slow_signature_does_not_hold_up_the_status_update(state_dir: Path) -> None:
    runtime = _runtime(state_dir)
    session = runtime.session
    assert session is not None
    signer = _BlockedSigner(host_key(state_dir))
    session.checkpointer = Checkpointer(session.folder, session.incident_id, signer)
    started = time.monotonic()
    runtime.status_update("Rolling back.")
    runtime.decide("rollback", by="oncall")
    runtime.note("carrying on", by="oncall")
    assert time.monotonic() - started < 1.0
    assert not read_checkpoints(session.folder).checkpoints
    signer.release.set()
    assert session.checkpointer.wait(10.0)
    assert read_checkpoints(session.folder).checkpoints
    runtime.disconnect()
    assert verify(session.folder).ok


def _passphrase_key(tmp_path: Path) -> Path:
    key = tmp_path / "with-passphrase"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "hunter22", "-f", str(key)],
                   check=True, stdin=subprocess.DEVNULL, timeout=30)
    return key


def _garbage_key(tmp_path: Path) -> Path:
    bad = tmp_path / "not-a-key"
    bad.write_text("garbage\n", encoding="utf-8")
    return bad


MakeKey = Callable[[Path], Path]


@pytest.mark.parametrize("make_key", [_garbage_key, _passphrase_key])
def test_a_key_that_cannot_sign_is_said_and_the_record_is_kept(state_dir: Path,
                                                               tmp_path: Path,
                                                               make_key: MakeKey) -> None:
    runtime = _runtime(state_dir)
    said: list[Notice] = []
    runtime.subscribe(said.append)
    session = runtime.session
    assert session is not None
    bad = make_key(tmp_path)
    session.checkpointer = Checkpointer(session.folder, session.incident_id, Signer(bad),
                                        on_error=runtime._checkpoint_failed)
    started = time.monotonic()
    runtime.status_update("Rolling back.")
    assert session.checkpointer.wait(10.0)
    assert time.monotonic() - started < 5.0  # a passphrase prompt never waits for anyone
    warnings = [n for n in said if isinstance(n, Said) and n.severity == "warning"]
    assert warnings and "could not be signed" in warnings[0].text
    assert "without a passphrase" in warnings[0].text
    assert runtime.recording
    runtime.disconnect()
