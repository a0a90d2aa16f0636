"""``cockpit replay ID [--speed X]``: play a recorded incident back in the war room.

For post-incident review and for training on real history: the metric panels draw the
recorded samples, the decision panel re-evaluates them and shows the recorded severity,
answers and decisions when they happened, and every note, step, notification and status
update is announced at its time. Read-only: nothing is written, no lock is taken, so an
incident still open in another cockpit can be watched too.

The record is verified first (``cockpit timeline verify``): one that fails is refused
(exit 1, one line naming where) unless ``--force``; the header then says UNVERIFIED.
"""

from __future__ import annotations

import sys

import click

from cockpit.commands._incident_ref import journal_or_exit


@click.command("replay")
@click.argument("ref", metavar="ID|PATH")
@click.option("--speed", type=click.FloatRange(1, 60), default=10.0, show_default=True,
              help="Recorded seconds per real second (+ and - change it in the app).")
@click.option("--from", "start", type=click.FloatRange(0), default=0.0, metavar="SECONDS",
              help="Start this many seconds into the record.")
@click.option("--force", is_flag=True,
              help="Play a record that fails verification (the header says UNVERIFIED).")
def replay(ref: str, speed: float, start: float, force: bool) -> None:
    """Play incident ID (or a journal path) back in the war room, read-only; verified
    first: a record that fails is refused unless --force."""
    path = journal_or_exit(ref)
    from cockpit.app import make_replay_app
    from cockpit.cli import default_keymap
    from cockpit.timeline.journal import JournalCorruptError, JournalError

    try:
        app = make_replay_app(path, speed=speed, advance_s=start, force=force)
    except JournalCorruptError as exc:
        click.echo(f"error: {path}: {exc} (--force plays it marked UNVERIFIED)", err=True)
        raise SystemExit(1) from None
    except (JournalError, OSError, ValueError) as exc:
        click.echo(f"error: {path}: {exc}", err=True)
        raise SystemExit(2) from None
    app.set_keymap(default_keymap())
    app.run()
    if app.return_code:
        sys.exit(app.return_code)
