"""Files and paths: what the cockpit writes is the operator's alone, and lands where it says.

The failures this answers: state folders 0755, backups and the outbox 0644; ``export -o``
onto an existing file kept its mode and followed symlinks; a ``pg.backup`` path accepted
``../`` from a variable; a killed cockpit left a complete world-readable dump named
``…partial-PID`` and a plaintext pgpass. Now every folder the cockpit creates is 0700 and
every file 0600 whatever the umask, exports are written atomically and never through a
symlink, a path built from variables stays in its folder, and what an interrupted backup
leaves is removed on resume and recorded.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cockpit.actions.model import ActionSpec
from cockpit.actions.types import ActionError, resolve
from cockpit.config import Config, PostgresSettings, Secret
from cockpit.connectors.actions import postgres as pg_actions
from cockpit.connectors.executor import LiveExecutor
from cockpit.notify.message import Notification
from cockpit.notify.notifier import Notifier
from cockpit.notify.outbox import OUTBOX_FILE, Outbox
from cockpit.paths import UnsafePathError, confine, make_private_dir, write_private
from cockpit.timeline.journal import Journal, read_events
from cockpit.timeline.kinds import EventKind as K

BACKUP = "/backups/emergency/rollback_${incident_id}.dump"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture(autouse=True)
def loose_umask() -> Iterator[None]:
    """The umask of a careless bastion: without our own modes, files would be 0644."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def dead_pid() -> int:
    """The PID of a process that has exited (a killed cockpit)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])  # noqa: S603
    proc.wait()
    return proc.pid


# ------------------------------------------------------------------ modes of what is created


def test_every_folder_and_file_of_an_incident_is_owner_only(tmp_path: Path) -> None:
    state = tmp_path / "fresh" / "state"  # nothing exists yet: every level is ours
    journal = Journal.create(state, incident_id="INC-20250121-143000-perm")
    journal.append("note.added", {"text": "rollback started"})
    notifier = Notifier(None, {}, environment="production")
    notifier.bind(None, None, journal.folder)
    try:
        notifier.queue(Notification("slack", "Slack: started", {"text": "started"}))
    finally:
        notifier.close()
    journal.close()
    created = [state.parent, *state.parent.rglob("*")]
    folders = [p for p in created if p.is_dir()]
    files = [p for p in created if p.is_file()]
    assert {str(p.relative_to(tmp_path)): oct(mode(p)) for p in folders} == {
        str(p.relative_to(tmp_path)): "0o700" for p in folders}
    assert {p.name: oct(mode(p)) for p in files} == {p.name: "0o600" for p in files}
    assert (journal.folder / OUTBOX_FILE) in files, "the outbox is in the incident's folder"


def test_each_incident_has_its_own_outbox(tmp_path: Path) -> None:
    folders = [Journal.create(tmp_path, incident_id=f"INC-2025012{n}-143000-box")
               for n in (1, 2)]
    for number, journal in enumerate(folders, 1):
        notifier = Notifier(None, {}, environment="production")
        notifier.bind(None, None, journal.folder)
        notifier.queue(Notification("email", f"Email: incident {number}", {"body": "x"}))
        notifier.close()
        journal.close()
    summaries = [[e.notification.summary for e in Outbox(j.folder, {}).entries()]
                 for j in folders]
    assert summaries == [["Email: incident 1"], ["Email: incident 2"]]
    assert not (tmp_path / "notifications").exists(), "no outbox shared by every incident"


def test_an_older_world_readable_outbox_is_made_owner_only(tmp_path: Path) -> None:
    path = tmp_path / OUTBOX_FILE
    path.write_text("")
    path.chmod(0o644)
    Outbox(tmp_path, {})
    assert mode(path) == 0o600


@pytest.mark.parametrize("ssn", ["123-45-6789", "123 45 6789", "123.45.6789", "123456789"])
def test_the_outbox_never_stores_an_ssn(tmp_path: Path, ssn: str) -> None:
    box = Outbox(tmp_path, {})
    box.enqueue(Notification("slack", f"Slack: patient SSN {ssn} affected",
                             {"text": f"record of SSN {ssn} rolled back",
                              "attachments": [{"fields": [{"value": f"SSN {ssn}"}]}]}))
    stored = (tmp_path / OUTBOX_FILE).read_text()
    assert ssn not in stored
    assert "[REDACTED:ssn]" in stored


def test_the_outbox_is_never_written_through_a_symlink(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("not the cockpit's\n")
    folder = tmp_path / "incident"
    folder.mkdir()
    (folder / OUTBOX_FILE).symlink_to(elsewhere)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        Outbox(folder, {}).enqueue(Notification("slack", "s", {"text": "t"}))
    assert elsewhere.read_text() == "not the cockpit's\n"


# ------------------------------------------------------------------ exports


def recorded_journal(state: Path) -> Path:
    journal = Journal.create(state, incident_id="INC-20250121-143000-exp")
    journal.append("note.added", {"text": "rolled back api to v2.3.1"})
    journal.close()
    return journal.path


def export_to(output: Path, journal: Path) -> Any:
    from cockpit.commands.export import export

    return CliRunner().invoke(export, [str(journal), "--format", "md", "-o", str(output)])


def test_export_onto_an_existing_file_replaces_it_owner_only(tmp_path: Path) -> None:
    journal = recorded_journal(tmp_path / "state")
    output = tmp_path / "rca.md"
    output.write_text("an old world-readable export\n")
    output.chmod(0o644)
    inode = output.stat().st_ino
    result = export_to(output, journal)
    assert result.exit_code == 0, result.output
    assert mode(output) == 0o600
    assert "rolled back api to v2.3.1" in output.read_text()
    assert output.stat().st_ino != inode, "a new file renamed into place, not rewritten"
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []


@pytest.mark.parametrize("dangling", [False, True])
def test_export_onto_a_symlink_never_follows_it(tmp_path: Path, dangling: bool) -> None:
    journal = recorded_journal(tmp_path / "state")
    victim = tmp_path / "victim.txt"
    if not dangling:
        victim.write_text("someone else's file\n")
        victim.chmod(0o644)
    link = tmp_path / "rca.md"
    link.symlink_to(victim)
    result = export_to(link, journal)
    assert result.exit_code == 0, result.output
    assert not link.is_symlink() and mode(link) == 0o600
    assert "rolled back api to v2.3.1" in link.read_text()
    if dangling:
        assert not victim.exists(), "nothing was created where the link pointed"
    else:
        assert victim.read_text() == "someone else's file\n" and mode(victim) == 0o644


def test_export_onto_a_folder_is_one_line(tmp_path: Path) -> None:
    journal = recorded_journal(tmp_path / "state")
    folder = tmp_path / "a-folder"
    folder.mkdir()
    result = export_to(folder, journal)
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_write_private_over_a_read_only_file_and_a_link_to_a_folder(tmp_path: Path) -> None:
    locked = tmp_path / "locked.md"
    locked.write_text("old")
    locked.chmod(0o444)
    write_private(locked, "new")
    assert locked.read_text() == "new" and mode(locked) == 0o600
    target_dir = tmp_path / "dir"
    target_dir.mkdir()
    link = tmp_path / "to-dir"
    link.symlink_to(target_dir)
    write_private(link, b"bytes")
    assert link.read_bytes() == b"bytes" and list(target_dir.iterdir()) == []


def test_a_symlink_where_a_private_folder_should_be_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir(mode=0o755)
    link = tmp_path / "incidents"
    link.symlink_to(real)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        make_private_dir(link)
    assert mode(real) == 0o755


# ------------------------------------------------------------------ paths from variables


@pytest.mark.parametrize("value", [
    "../../etc/cron.d/evil", "x/../../../root/.ssh/authorized_keys", "/../../../etc/passwd",
    "INC-7/../../../tmp/x", "a/b/../../../c", "/../../emergency2/x",
])
def test_a_backup_path_cannot_climb_out_of_its_folder(value: str) -> None:
    spec = ActionSpec("pg.backup", {"database": "whitecross", "path": BACKUP})
    with pytest.raises(ActionError) as refused:
        resolve(spec, {"incident_id": value})
    reason = str(refused.value)
    assert "\n" not in reason and "incident_id" in reason and "path" in reason


@pytest.mark.parametrize("value,expected", [
    ("INC-7", "/backups/emergency/rollback_INC-7.dump"),
    ("%2e%2e", "/backups/emergency/rollback_%2e%2e.dump"),  # a name, not a climb
    ("...", "/backups/emergency/rollback_....dump"),
    ("..", "/backups/emergency/rollback_...dump"),  # a file named "rollback_..", inside
    ("a/..", "/backups/emergency/rollback_a/...dump"),
    ("2025/INC-7", "/backups/emergency/rollback_2025/INC-7.dump"),  # deeper, still inside
])
def test_a_backup_path_inside_its_folder_is_accepted(value: str, expected: str) -> None:
    spec = ActionSpec("pg.backup", {"database": "whitecross", "path": BACKUP})
    assert resolve(spec, {"incident_id": value}).params["path"] == expected


def test_a_folder_given_by_a_variable_may_not_climb_either() -> None:
    spec = ActionSpec("pg.backup", {"database": "d", "path": "${backup_dir}/x.dump"})
    assert resolve(spec, {"backup_dir": "/srv/backups"}).params["path"] == "/srv/backups/x.dump"
    with pytest.raises(ActionError, match="climbs out"):
        resolve(spec, {"backup_dir": "/srv/backups/../../etc"})


def test_confine_refuses_dotdot_and_symlinks_out(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    assert confine("a/b.dump", root) == root / "a" / "b.dump"
    for bad in ("../x", str(tmp_path / "other"), "a/../../x"):
        with pytest.raises(UnsafePathError):
            confine(bad, root)
    (root / "out").symlink_to(tmp_path)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        confine("out/x.dump", root)


# ------------------------------------------------------------------ backups


def pg_config() -> Config:
    return Config(postgres=PostgresSettings(host="127.0.0.1", port=5432, dbname="postgres",
                                            user="postgres", sslmode="disable", timeout_s=5.0,
                                            password=Secret("pg-secret-pw", "env PGPW")))


FAKE_PG_DUMP = """#!/bin/sh
# records what it saw, then writes a dump to --file
out=""
while [ $# -gt 0 ]; do
  if [ "$1" = "--file" ]; then out="$2"; fi
  shift
done
{
  echo "partial_mode=$(stat -c %a "$out")"
  echo "passfile_mode=$(stat -c %a "$PGPASSFILE")"
  echo "passdir_mode=$(stat -c %a "$(dirname "$PGPASSFILE")")"
  echo "passfile=$PGPASSFILE"
  echo "umask=$(umask)"
} > "$SEEN"
echo "PGDMP fake archive" > "$out"
"""
FAKE_PG_RESTORE = """#!/bin/sh
echo ";     dbname: whitecross"
echo "1; 2615 2200 SCHEMA - public postgres"
"""


@pytest.fixture
def fake_pg_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("pg_dump", FAKE_PG_DUMP), ("pg_restore", FAKE_PG_RESTORE)):
        tool = bin_dir / name
        tool.write_text(text)
        tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    seen = tmp_path / "seen.txt"
    monkeypatch.setenv("SEEN", str(seen))
    return seen


def run_backup(executor: LiveExecutor, path: Path) -> Any:
    import time

    from cockpit.actions.executor import RunContext

    action = resolve(ActionSpec("pg.backup", {"database": "whitecross", "path": str(path)}), {})
    return executor.run(action, RunContext(deadline=time.monotonic() + 30.0,
                                           variables={"incident_id": "INC-7"}))


def test_a_backup_is_owner_only_from_its_first_byte(tmp_path: Path, fake_pg_tools: Path) -> None:
    incident = tmp_path / "incident"
    executor = LiveExecutor(pg_config(), read_only=False, state_dir=tmp_path / "state")
    executor.bind(lambda _k, _d: None, lambda: "", incident)
    target = tmp_path / "new" / "backups" / "rollback_INC-7.dump"
    try:
        result = run_backup(executor, target)
    finally:
        executor.close()
    assert result.ok, result.detail
    seen = dict(line.split("=", 1) for line in fake_pg_tools.read_text().splitlines())
    assert seen["partial_mode"] == "600", "the partial dump was never world-readable"
    assert (seen["passfile_mode"], seen["passdir_mode"]) == ("600", "700")
    assert seen["umask"] == "0077"
    assert mode(target) == 0o600 and target.read_text() == "PGDMP fake archive\n"
    assert mode(target.parent) == 0o700 and mode(target.parent.parent) == 0o700
    assert not Path(seen["passfile"]).exists() and not Path(seen["passfile"]).parent.exists()
    assert [p.name for p in target.parent.iterdir()] == [target.name]


def test_a_backup_refuses_a_symlink_and_dotdot_at_run_time(tmp_path: Path,
                                                          fake_pg_tools: Path) -> None:
    executor = LiveExecutor(pg_config(), read_only=False, state_dir=tmp_path / "state")
    victim = tmp_path / "victim"
    link = tmp_path / "rollback.dump"
    link.symlink_to(victim)  # dangling: exists() is False, the dump would land in victim
    try:
        through_link = run_backup(executor, link)
        climbing = run_backup(executor, tmp_path / "a" / ".." / "b.dump")
    finally:
        executor.close()
    assert not through_link.ok and "symbolic link" in through_link.detail
    assert not victim.exists()
    assert not climbing.ok and "'..'" in climbing.detail
    assert not fake_pg_tools.exists(), "pg_dump never ran"


def test_a_resume_removes_an_interrupted_backup_and_records_it(tmp_path: Path) -> None:
    journal = Journal.create(tmp_path / "state", incident_id="INC-20250121-143000-bak")
    folder = journal.folder
    backups = tmp_path / "backups"
    backups.mkdir()
    pid = dead_pid()
    leftover = backups / f".rollback_INC-7.dump.partial-{pid}"
    leftover.write_bytes(b"PGDMP" + b"\0" * 2043)  # a complete dump, left by kill -9
    leftover.chmod(0o644)
    alive = backups / f".other.dump.partial-{os.getppid()}"
    alive.write_bytes(b"PGDMP still being written by a live cockpit")
    lines = [{"op": "start", "partial": str(leftover), "final": str(backups / "r.dump"),
              "pid": pid},
             {"op": "start", "partial": str(alive), "final": str(backups / "o.dump"),
              "pid": os.getppid()}]
    (folder / pg_actions.BACKUPS_FILE).write_text("".join(json.dumps(x) + "\n" for x in lines))
    executor = LiveExecutor(pg_config(), read_only=False, state_dir=tmp_path / "state")
    executor.bind(lambda kind, data: journal.append(kind, data), lambda: journal.head, folder)
    executor.close()
    journal.close()
    assert not leftover.exists()
    assert alive.exists(), "a live process's backup is not touched"
    (removed,) = [e for e in read_events(journal.path) if e.kind == K.BACKUP_LEFTOVER_REMOVED]
    assert removed.data == {"path": str(leftover), "size_bytes": 2048, "pid": pid}
    # a second resume finds nothing more to remove and records nothing
    again = LiveExecutor(pg_config(), read_only=False, state_dir=tmp_path / "state")
    calls: list[str] = []
    again.bind(lambda kind, _d: calls.append(kind), lambda: "", folder)
    again.close()
    assert calls == []


def test_a_killed_cockpits_passfile_folder_is_removed_at_start(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    stale = tmp_path / f"{pg_actions.PRIVATE_PREFIX}{dead_pid()}-abc123"
    stale.mkdir(mode=0o700)
    (stale / "pgpass").write_text("127.0.0.1:5432:*:postgres:pg-secret-pw\n")
    live = tmp_path / f"{pg_actions.PRIVATE_PREFIX}{os.getpid()}-def456"
    live.mkdir(mode=0o700)
    unrelated = tmp_path / "cockpit-pg-notapid"
    unrelated.mkdir()
    executor = LiveExecutor(pg_config(), read_only=False, state_dir=tmp_path / "state")
    executor.close()
    assert not stale.exists()
    assert live.exists() and unrelated.exists()


# ------------------------------------------------------------------ screenshots


async def test_a_war_room_screenshot_is_owner_only(tmp_path: Path) -> None:
    from cockpit.app import make_sim_app

    app = make_sim_app("bad-deploy", start_clock=False)
    app.screenshot_dir = tmp_path / "shots"
    app.screenshot_dir.mkdir()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        app.action_screenshot()
        await pilot.pause()
    (shot,) = app.screenshot_dir.iterdir()
    assert shot.suffix == ".svg" and mode(shot) == 0o600
    assert "<svg" in shot.read_text()


def test_the_outbox_redacts_what_a_message_says_not_where_it_goes(tmp_path: Path) -> None:
    from cockpit.notify.message import email_message, pagerduty_event

    mail = email_message("Patient SSN 123-45-6789 affected", "SSN 123-45-6789, MRN-0042137")
    mail.payload["to"] = ["compliance@whitecross.health"]
    box = Outbox(tmp_path, {})
    box.enqueue(mail)
    box.enqueue(pagerduty_event("INC-20250121-143000-beef", "trigger",
                                "api down for patient 123-45-6789", "rollback-cockpit"))
    email_entry, page = (e.notification.payload for e in Outbox(tmp_path, {}).entries())
    assert email_entry["to"] == ["compliance@whitecross.health"]
    assert "123-45-6789" not in email_entry["subject"] + email_entry["body"]
    assert "0042137" not in email_entry["body"]
    assert page["dedup_key"] == "INC-20250121-143000-beef"
    assert page["event_action"] == "trigger" and page["payload"]["severity"] == "critical"
    assert "123-45-6789" not in page["payload"]["summary"]


def test_a_training_screenshot_replaces_a_planted_symlink_owner_only(tmp_path: Path) -> None:
    victim = tmp_path / "victim.svg"
    shot = tmp_path / "shot.svg"
    shot.symlink_to(victim)
    cockpit = Path(sys.executable).with_name("cockpit")
    done = subprocess.run([str(cockpit), "train", "--screenshot", str(shot)],  # noqa: S603
                          capture_output=True, text=True, timeout=90, check=False,
                          env={**os.environ, "COCKPIT_STATE_DIR": str(tmp_path / "state")})
    assert done.returncode == 0, done.stderr
    assert not shot.is_symlink() and mode(shot) == 0o600 and "<svg" in shot.read_text()
    assert not victim.exists()
