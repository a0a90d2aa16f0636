"""``cockpit outbox ID [--all] [--drop ENTRY --reason TEXT] [--retry ENTRY]``.

An incident's notification outbox: what has not reached its channel, and the operator's
two explicit answers to a message the cockpit gave up on. A message stays in the outbox
until it is delivered or dropped here; a drop is journaled (``notification.abandoned``,
outcome ``dropped``, with the reason and who), so the record never loses a message
quietly. ``--retry`` makes it due again: the cockpit that resumes the incident sends it.
Changing the outbox takes the incident's lock (not while a cockpit has it open).
"""

from __future__ import annotations

from pathlib import Path

import click

from cockpit.commands._incident_ref import journal_or_exit


@click.command("outbox")
@click.argument("ref", metavar="ID")
@click.option("--all", "show_all", is_flag=True, help="Every message, delivered ones too.")
@click.option("--drop", "drop_id", metavar="ENTRY", help="Stop delivering this message.")
@click.option("--reason", default="", help="Why it is dropped (recorded; required).")
@click.option("--retry", "retry_id", metavar="ENTRY",
              help="Deliver a refused or abandoned message again when the incident resumes.")
def outbox(ref: str, show_all: bool, drop_id: str | None, reason: str,
           retry_id: str | None) -> None:
    """List an incident's undelivered notifications, or drop or retry one."""
    from cockpit.notify.outbox import Outbox

    folder = journal_or_exit(ref).parent
    try:
        box = Outbox(folder, {})
    except OSError as exc:
        raise click.ClickException(f"{folder}: cannot read the outbox ({exc})") from None
    if drop_id or retry_id:
        if drop_id and retry_id:
            raise click.UsageError("--drop and --retry: one at a time")
        if drop_id and not reason.strip():
            raise click.UsageError("--drop needs --reason (it is recorded)")
        _change(folder, drop_id, retry_id, reason.strip())
        return
    entries = box.entries() if show_all else box.undelivered()
    if not entries:
        click.echo("nothing undelivered" if not show_all else "the outbox is empty")
        return
    for e in entries:
        click.echo(f"{e.id}  {e.notification.channel:<9} {e.state:<9} "
                   f"{e.attempts:>2} attempt(s)  {e.notification.summary[:60]}")
        if e.detail:
            click.echo(f"{'':14}{e.detail[:160]}")


def _change(folder: Path, drop_id: str | None, retry_id: str | None, reason: str) -> None:
    """Drop or retry one message with the incident's lock held; a drop is journaled."""
    from cockpit.notify.outbox import Outbox
    from cockpit.timeline.journal import Journal, JournalError, current_actor
    from cockpit.timeline.kinds import EventKind as K

    try:
        journal = Journal.open(folder)
    except JournalError as exc:
        click.echo(f"error: {exc}; change the outbox once it has left", err=True)
        raise SystemExit(2) from None
    try:
        box = Outbox(folder, {})  # read again under the lock
        if drop_id:
            try:
                entry = box.drop(drop_id, reason)
            except (KeyError, ValueError) as exc:
                click.echo(f"error: {str(exc).strip(chr(39))}", err=True)
                raise SystemExit(2) from None
            journal.append(K.NOTIFICATION_ABANDONED, {
                "channel": entry.notification.channel, "id": entry.id, "outcome": "dropped",
                "reason": f"dropped by the operator: {reason}", "attempts": entry.attempts,
                "by": current_actor().user})
            click.echo(f"dropped {entry.id} ({entry.notification.channel}); recorded")
        elif retry_id:
            try:
                entry = box.retry(retry_id)
            except (KeyError, ValueError) as exc:
                click.echo(f"error: {str(exc).strip(chr(39))}", err=True)
                raise SystemExit(2) from None
            click.echo(f"{entry.id} will be sent again when the incident is resumed")
    finally:
        journal.close()
