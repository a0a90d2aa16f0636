"""``cockpit resume [ID] [--list] [--speed X]``: take an open incident back after a drop.

Without an ID, the most recently active open incident is resumed. The incident's
lock is taken, steps cut short are recorded as interrupted, and the war room opens
on it through ``cockpit.app.open_incident_app(session)``. Exit codes: 2 for an
unknown ID, no open incident, a closed incident or an incident open in another
cockpit; 0 otherwise (the app's own exit code if it has one).
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

if TYPE_CHECKING:
    from cockpit.timeline.store import IncidentSummary


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    raise SystemExit(2)


@click.command("resume")
@click.argument("ref", metavar="[ID]", required=False)
@click.option("--list", "list_only", is_flag=True,
              help="List the open incidents that can be resumed, newest first.")
@click.option("--speed", type=click.FloatRange(1, 60), default=None,
              help="Training only: simulated seconds per real second (default: the scenario's).")
def resume(ref: str | None, list_only: bool, speed: float | None) -> None:
    """Resume an open incident (ID, folder or journal path; default: the latest open one)."""
    from cockpit.paths import state_dir
    from cockpit.timeline.store import list_incidents

    if list_only:
        open_ones = [s for s in list_incidents(state_dir()) if s.state == "open"]
        if not open_ones:
            click.echo(f"no open incident in {state_dir() / 'incidents'}")
        for item in open_ones:
            last = item.last_event.strftime("%Y-%m-%d %H:%M:%SZ") if item.last_event else "-"
            click.echo(f"{item.id}  {item.scenario or 'live':<16} last event {last}"
                       f"  {item.events} events")
        return

    resume_incident(ref, speed)


def resume_incident(ref: str | None, speed: float | None = None,
                    operator: str | None = None) -> None:
    """Take incident ``ref`` back and open the war room on it (exit 2 when it cannot).

    Who takes it back (the author of ``operator.resumed`` and of everything after): a live
    incident's config's ``[cockpit] operator``, else ``operator`` (the default config's),
    else ``$COCKPIT_OPERATOR``, else ``user@host``.
    """
    from cockpit.cli import default_keymap, default_operator
    from cockpit.incident import (
        IncidentSession,
        NoOpenIncidentError,
        UnknownIncidentError,
        inspect_incident,
    )
    from cockpit.incident_actor import operator_identity
    from cockpit.runtime.build import resume_clock
    from cockpit.timeline.journal import JournalError

    try:
        info = inspect_incident(ref)
    except (UnknownIncidentError, NoOpenIncidentError) as exc:
        _fail(str(exc.args[0] if exc.args else exc))
    if not info.is_open:
        _fail(f"incident {info.id} was closed; export it with `cockpit export {info.id}`")
    try:
        clock = resume_clock(info, speed)
    except KeyError as exc:
        _fail(f"incident {info.id}: {exc.args[0] if exc.args else exc}")

    operator = operator or default_operator()
    config = None
    keymap = default_keymap()
    if info.config and not info.scenario:  # a live incident: its own config, read once
        from cockpit.config import ConfigError, load_config

        try:
            config = load_config(info.config)
            if config.keys.entries:  # its config's keys, as `cockpit run` had them
                from cockpit.app import keymap_from

                keymap = keymap_from(config.keys)
        except ConfigError as exc:
            _fail(f"incident {info.id}: cannot reopen it: {exc}")
        operator = config.cockpit.operator or operator
    who = operator_identity(operator or "")

    # Check the app can open a resumed incident before recording that we resumed it.
    try:
        from cockpit.app import open_incident_app
    except ImportError:
        _fail("this build cannot open a resumed incident (cockpit.app.open_incident_app"
              " is missing)")

    try:
        session = IncidentSession.resume(str(info.path), clock=clock, actor=who.actor())
    except JournalError as exc:  # locked by another cockpit, closed meanwhile, corrupt
        _fail(str(exc))
    given = {"operator": operator or None, "config": config}
    for step in session.interrupted:
        click.echo(f"interrupted: {step.runbook}/{step.step} - check before retrying", err=True)
    try:
        try:
            app = open_incident_app(session, **{k: v for k, v in given.items() if v})
        except Exception as exc:  # noqa: BLE001 - a config gone or broken since: one line
            _fail(f"incident {info.id}: cannot reopen it: {exc}")
        if keymap:
            app.set_keymap(keymap)
        app.run()
    finally:
        # the app disconnects on quit; this only matters if it never got that far
        session.disconnect()
    code = getattr(app, "return_code", 0)
    if code:
        sys.exit(code)


def _is_locked(folder: Path) -> bool:
    """Whether another cockpit holds the incident's single-writer lock right now."""
    from filelock import FileLock, Timeout

    from cockpit.timeline.journal import LOCK_NAME

    lock = FileLock(str(folder / LOCK_NAME), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        return True
    except OSError:
        return False
    lock.release()
    return False


def latest_resumable(state: Path) -> IncidentSummary | None:
    """The newest open incident under ``state`` that no cockpit holds, or ``None``.

    The same choice as the first open, unheld entry of ``list_incidents`` (newest
    first), made without folding every journal on every start: the walk stops at the
    first one found, and a journal whose last event is ``incident.closed`` (the event
    that closes an incident for the reducer, and the last one a session writes) is
    passed over from its tail alone. With forty closed training incidents this was
    2.5 s of every bare ``cockpit`` before the war room opened.
    """
    from cockpit.timeline.journal import JOURNAL_NAME, incidents_dir, last_event
    from cockpit.timeline.kinds import EventKind as K
    from cockpit.timeline.store import summarise

    root = incidents_dir(state)
    if not root.is_dir():
        return None
    for folder in sorted(root.iterdir(), reverse=True):  # list_incidents' order
        journal = folder / JOURNAL_NAME
        try:
            if not journal.is_file():
                continue
            last = last_event(journal)
            if last is not None and last.kind == K.INCIDENT_CLOSED:
                continue
            summary = summarise(folder)
        except (OSError, ValueError):  # unreadable: skipped, as list_incidents skips it
            continue
        if summary.state == "open" and not _is_locked(folder):
            return summary
    return None


def offer_resume(operator: str | None = None) -> bool:
    """On a bare ``cockpit``: offer to take back the latest open incident nobody holds.

    Asks only on a terminal. Returns True when an incident was resumed (the war room
    ran); False to go on with a new training incident. ``c`` closes the abandoned
    incident first (recorded as closed, still exportable). ``operator``: the default
    config's ``[cockpit] operator``, who resumes or closes it.
    """
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return False
    from cockpit.paths import state_dir

    latest = latest_resumable(state_dir())
    if latest is None:
        return False
    last = latest.last_event.strftime("%Y-%m-%d %H:%M:%SZ") if latest.last_event else "-"
    click.echo(f"Open incident {latest.id} ({latest.scenario or 'live'}, "
               f"severity {latest.severity or 'not set'}, last event {last}, "
               f"{latest.events} events).")
    answer = ask_on_terminal("[r]esume it, [n]ew training incident, [c]lose it and start new",
                             ("r", "n", "c"), default="r")
    if answer == "r":
        resume_incident(latest.id, operator=operator)
        return True
    if answer == "c":
        _close_abandoned(latest.id, operator or "")
    return False


#: Seconds between checks, while the prompt waits, that its terminal is still there.
PROMPT_WATCH_S = 1.0
#: Exit code when the terminal goes under a prompt (a hangup: 128 + SIGHUP).
EXIT_TERMINAL_GONE = 129


def _terminal_gone() -> NoReturn:
    """The terminal went while we asked: nothing was chosen, nothing is done."""
    with contextlib.suppress(OSError):
        click.echo("\ncockpit: the terminal is gone; nothing chosen", err=True)
    sys.exit(EXIT_TERMINAL_GONE)


def _read_line(fd: int) -> str:
    """One line from the terminal ``fd``, blocking in ``select`` (never spinning), checking
    every :data:`PROMPT_WATCH_S` that it is still a terminal; EOF, EIO or a vanished
    terminal (hung up without a SIGHUP reaching us) exits with 129."""
    import select

    data = b""
    while b"\n" not in data:
        try:
            ready, _, _ = select.select([fd], [], [], PROMPT_WATCH_S)
            if not os.isatty(fd):
                _terminal_gone()
            if not ready:
                continue
            chunk = os.read(fd, 1024)
        except InterruptedError:
            continue
        except OSError:  # EIO: the terminal is gone
            _terminal_gone()
        if not chunk:  # EOF
            _terminal_gone()
        data += chunk
    return data.split(b"\n", 1)[0].decode("utf-8", "replace")


def ask_on_terminal(question: str, choices: tuple[str, ...], default: str) -> str:
    """Ask until one of ``choices`` is typed (Enter alone is ``default``), watching the
    terminal: a prompt left on a terminal that is gone exits instead of living on."""
    import signal

    previous = signal.signal(signal.SIGHUP, lambda *_: _terminal_gone())
    try:
        fd = sys.stdin.fileno()
        while True:
            click.echo(f"{question} [{default}]: ", nl=False)
            answer = _read_line(fd).strip().lower() or default
            if answer in choices:
                return answer
            click.echo(f"Answer {', '.join(choices[:-1])} or {choices[-1]}.")
    finally:
        signal.signal(signal.SIGHUP, previous)


def _close_abandoned(ref: str, operator: str) -> None:
    from cockpit.incident import IncidentSession, inspect_incident
    from cockpit.incident_actor import operator_identity
    from cockpit.runtime.build import resume_clock
    from cockpit.timeline.journal import JournalError

    try:
        info = inspect_incident(ref)
        session = IncidentSession.resume(str(info.path), clock=resume_clock(info),
                                         actor=operator_identity(operator).actor())
        session.close()
    except (JournalError, KeyError, LookupError) as exc:
        click.echo(f"cockpit: could not close {ref}: {exc}", err=True)
        return
    click.echo(f"closed {ref}; `cockpit export {ref}` writes its record")
