"""``cockpit timeline``: commands about incident journals (``verify``)."""

from __future__ import annotations

import click

from cockpit.commands._incident_ref import journal_or_exit


@click.group("timeline")
def timeline() -> None:
    """Inspect incident journals."""


@timeline.command("verify")
@click.argument("ref", metavar="PATH|ID")
def verify(ref: str) -> None:
    """Check a journal's hash chain: exit 0 intact, 1 altered/removed/reordered, 2 unknown."""
    from cockpit.timeline.verify import verify as run_verify

    path = journal_or_exit(ref)
    try:
        report = run_verify(path)
    except OSError as exc:
        click.echo(f"error: {path}: {exc.strerror or exc}", err=True)
        raise SystemExit(2) from None
    for line in report.warnings:
        click.echo(f"warning: {line}", err=True)
    if report.ok:
        click.echo(f"{path}: intact, {report.events} events, head {report.head_short}")
        return
    first = report.problems[0]
    click.echo(first.describe(path.name))
    if len(report.problems) > 1:
        click.echo(f"({len(report.problems) - 1} more bad lines after it)")
    raise SystemExit(1)
