"""``cockpit resume [ID] [--list] [--speed X]``: take an open incident back after a drop.

Without an ID, the most recently active open incident is resumed. The incident's
lock is taken, steps cut short are recorded as interrupted, and the war room opens
on it through ``cockpit.app.open_incident_app(session)``. Exit codes: 2 for an
unknown ID, no open incident, a closed incident or an incident open in another
cockpit; 0 otherwise (the app's own exit code if it has one).
"""

from __future__ import annotations

import sys
from typing import NoReturn

import click


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
    from cockpit.incident import (
        IncidentSession,
        NoOpenIncidentError,
        UnknownIncidentError,
        inspect_incident,
        resume_clock,
    )
    from cockpit.paths import state_dir
    from cockpit.timeline.journal import JournalError
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

    # Check the app can open a resumed incident before recording that we resumed it.
    try:
        from cockpit.app import open_incident_app
    except ImportError:
        _fail("this build cannot open a resumed incident (cockpit.app.open_incident_app"
              " is missing)")

    try:
        session = IncidentSession.resume(str(info.path), clock=clock)
    except JournalError as exc:  # locked by another cockpit, closed meanwhile, corrupt
        _fail(str(exc))
    for step in session.interrupted:
        click.echo(f"interrupted: {step.runbook}/{step.step} - check before retrying", err=True)
    try:
        app = open_incident_app(session)
        app.run()
    finally:
        # the app disconnects on quit; this only matters if it never got that far
        session.disconnect()
    code = getattr(app, "return_code", 0)
    if code:
        sys.exit(code)
