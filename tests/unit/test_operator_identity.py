"""Who is at the keyboard: the config's operator, else $COCKPIT_OPERATOR, else user@host,
with where an SSH session came from; clean, bounded, and the author of every event."""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cockpit.app import make_app, make_sim_app
from cockpit.clock import WallClock
from cockpit.commands.resume import resume as resume_command
from cockpit.incident import IncidentSession
from cockpit.incident_actor import (
    MAX_OPERATOR,
    operator_identity,
    operator_name,
    resolve_operator,
)
from cockpit.timeline.journal import Event, read_events
from cockpit.timeline.kinds import EventKind as K

SSH = {"SSH_CONNECTION": "198.51.100.9 51234 10.0.0.1 22"}


@pytest.fixture(autouse=True)
def _fresh_identity(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test resolves its own operator (the process keeps the first one it resolved)."""
    monkeypatch.delenv("COCKPIT_OPERATOR", raising=False)
    operator_identity.cache_clear()
    yield
    operator_identity.cache_clear()


def events(session: IncidentSession | None) -> list[Event]:
    assert session is not None
    return list(read_events(session.journal.path))


# -- the rule ---------------------------------------------------------------------------


def test_the_config_wins_over_the_environment_which_wins_over_user_at_host() -> None:
    env = {"COCKPIT_OPERATOR": "alice"}
    assert resolve_operator("Dana Scully", env, user="root", host="bastion-1").label == (
        "Dana Scully")
    assert resolve_operator("", env, user="root", host="bastion-1").label == "alice"
    assert resolve_operator(None, {}, user="root", host="bastion-1").label == "root@bastion-1"
    # a name of blanks is no name: the next source answers
    assert resolve_operator("   ", {"COCKPIT_OPERATOR": "\t"}, user="root",
                            host="bastion-1").label == "root@bastion-1"


def test_an_ssh_session_says_where_it_came_from() -> None:
    assert resolve_operator("Dana", SSH, user="root", host="b").label == (
        "Dana (ssh from 198.51.100.9)")
    assert resolve_operator(None, {"SSH_CLIENT": "203.0.113.7 40000 22"}, user="root",
                            host="bastion-1").label == "root@bastion-1 (ssh from 203.0.113.7)"
    # SSH_CONNECTION first: both name the client, it is the one sshd always sets
    both = {**SSH, "SSH_CLIENT": "203.0.113.7 40000 22"}
    assert resolve_operator("x", both, user="u", host="h").ssh_from == "198.51.100.9"
    assert resolve_operator("x", {"SSH_CONNECTION": "  "}, user="u", host="h").label == "x"


def test_control_sequences_are_stripped_and_the_label_is_bounded() -> None:
    hostile = "\x1b]52;c;ZWNobyBoaQ==\x07eve\x1b[2J\r\nmallory\x00\u202e"
    label = resolve_operator(hostile, {}, user="root", host="h").label
    assert "\x1b" not in label and "\x00" not in label and "\n" not in label
    assert "\u202e" not in label and "<U+202E>" in label  # made visible, not hidden
    assert label.startswith("eve mallory")
    long = resolve_operator("x" * 500, {"SSH_CONNECTION": "2001:db8::" + "f" * 300 + " 1 2 3"},
                            user="root", host="h").label
    assert len(long) <= MAX_OPERATOR and long.endswith(")") and "(ssh from 2001:db8::" in long
    assert "…" in long
    login = resolve_operator(None, {"COCKPIT_OPERATOR": "\x1b[31mred\x1b[0m"}, user="u",
                             host="h")
    assert login.label == "red"


def test_resolved_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COCKPIT_OPERATOR", "first")
    assert operator_name() == "first"
    monkeypatch.setenv("COCKPIT_OPERATOR", "second")
    assert operator_name() == "first", "every event of one cockpit names the same person"
    assert operator_identity("Dana").label == "Dana"


# -- recorded on every event ------------------------------------------------------------


def test_the_verbs_record_the_configured_operator_as_author(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COCKPIT_OPERATOR", "not-me")
    monkeypatch.setenv("SSH_CONNECTION", SSH["SSH_CONNECTION"])
    app = make_app([], clock=WallClock(), operator="Dana Scully")
    runtime = app.runtime
    try:
        assert runtime.header().operator == "Dana Scully (ssh from 198.51.100.9)"
        runtime.note("paged the DBA")
        runtime.set_severity("high")
        runtime.answer_fix_forward(False)
        runtime.decide("rollback")
        recorded = events(runtime.session)
    finally:
        runtime.shutdown()
    by = {e.kind: e.data.get("by") for e in recorded if "by" in e.data}
    for kind in (K.NOTE_ADDED, K.INCIDENT_DECLARED, K.SEVERITY_SET, K.TREE_ANSWERED,
                 K.DECISION_RECORDED):
        assert by.get(kind) == "Dana Scully (ssh from 198.51.100.9)", (kind, by)
    # and the journal's author of every event, so the RCA's timeline names her too
    assert {e.actor["user"] for e in recorded} == {"Dana Scully"}
    assert {e.actor["ssh_client"] for e in recorded} == {"198.51.100.9"}


def test_training_without_a_config_records_the_environments_operator(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COCKPIT_OPERATOR", "trainee-7")
    app = make_sim_app(start_clock=False)
    runtime = app.runtime
    try:
        assert runtime.header().operator == "trainee-7"
        runtime.note("watching the error rate")
        recorded = events(runtime.session)
    finally:
        runtime.shutdown()
    [note] = [e for e in recorded if e.kind == K.NOTE_ADDED]
    assert note.data["by"] == "trainee-7" and note.actor["user"] == "trainee-7"


async def test_a_note_typed_in_the_war_room_carries_the_operator() -> None:
    app = make_sim_app(start_clock=False, operator="Dana Scully")
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("n")
        await pilot.pause()
        assert type(app.screen).__name__ == "NoteScreen"
        await pilot.press(*"rolled back api", "enter")
        await pilot.pause()
        session = app.runtime.session
        notes = [e for e in events(session) if e.kind == K.NOTE_ADDED]
    assert [(e.data["text"], e.data["by"], e.actor["user"]) for e in notes] == [
        ("rolled back api", "Dana Scully", "Dana Scully")]


# -- the config the cockpit opens on --------------------------------------------------------


def test_the_default_config_file_names_the_operator_and_a_broken_one_is_a_usage_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cockpit.cli import _default_config

    config = tmp_path / "config.toml"
    config.write_text("[cockpit]\noperator = 'Dana Scully'\n")
    monkeypatch.setenv("COCKPIT_CONFIG_FILE", str(config))
    monkeypatch.setenv("COCKPIT_OPERATOR", "alice")
    assert _default_config() == (False, "Dana Scully", {}), "the file wins over the variable"
    config.write_text("[cockpit]\noperator = \n")
    with pytest.raises(click.UsageError, match=r"config.toml:2: TOML syntax error"):
        _default_config()
    monkeypatch.delenv("COCKPIT_CONFIG_FILE")
    assert _default_config() == (False, "", {})  # no file at the default place: nothing read


def test_resuming_a_live_incident_is_recorded_as_its_configs_operator(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "cockpit.toml"
    config.write_text("[cockpit]\noperator = 'Dana Scully'\n")
    first = make_app([], clock=WallClock(), config_path=str(config))
    first.runtime.shutdown()  # left open, as a dropped SSH session leaves it
    ident = first.runtime.incident_id
    monkeypatch.setenv("COCKPIT_OPERATOR", "alice")
    opened: list[tuple[IncidentSession, dict[str, object]]] = []

    class FakeApp:
        return_code = 0

        def run(self) -> None:
            pass

    def open_incident_app(session: IncidentSession, **given: object) -> FakeApp:
        opened.append((session, given))
        return FakeApp()

    fake = types.ModuleType("cockpit.app")
    fake.open_incident_app = open_incident_app  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "cockpit.app", fake)
    result = CliRunner().invoke(resume_command, [ident])
    assert result.exit_code == 0, result.output
    [(session, given)] = opened
    assert given["operator"] == "Dana Scully"
    [resumed] = [e for e in events(session) if e.kind == K.OPERATOR_RESUMED]
    assert resumed.actor["user"] == "Dana Scully"
    assert os.environ["COCKPIT_OPERATOR"] == "alice"  # the variable lost to the file
