"""``cockpit timeline``: commands about incident journals (``verify``)."""

from __future__ import annotations

from pathlib import Path

import click

from cockpit.commands._incident_ref import journal_or_exit

NO_CHECKPOINT = ("no signed checkpoint: lines cut off the end cannot be seen; "
                 "compare with a published head (--head COUNT:HASH)")


@click.group("timeline")
def timeline() -> None:
    """Inspect incident journals."""


@timeline.command("verify")
@click.argument("ref", metavar="PATH|ID")
@click.option("--head", "published", metavar="COUNT:HASH",
              help="A journal head published elsewhere (a status update, a notification): "
                   "the journal must hold it.")
@click.option("--allowed-signers", type=click.Path(exists=True, dir_okay=False,
                                                   path_type=Path),
              help="An ssh allowed_signers file: every checkpoint must be signed by a key "
                   "listed in it.")
def verify(ref: str, published: str | None, allowed_signers: Path | None) -> None:
    """Check a journal's hash chain, its signed checkpoints and, with --head, a published
    head: exit 0 intact, 1 altered/truncated/emptied/forked (the first problem named),
    2 unknown."""
    from cockpit.timeline.checkpoint import parse_head_ref
    from cockpit.timeline.verify import verify as run_verify

    if published is not None:
        try:
            parse_head_ref(published)
        except ValueError as exc:
            click.echo(f"error: --head: {exc}", err=True)
            raise SystemExit(2) from None
    path = journal_or_exit(ref)
    try:
        report = run_verify(path, head=published, allowed_signers=allowed_signers)
    except OSError as exc:
        click.echo(f"error: {path}: {exc.strerror or exc}", err=True)
        raise SystemExit(2) from None
    for line in report.warnings:
        click.echo(f"warning: {line}", err=True)
    if report.ok:
        if not report.checkpoints and published is None:
            click.echo(f"warning: {NO_CHECKPOINT}", err=True)
        click.echo(report.summary())
        return
    click.echo(report.first_problem())
    if len(report.problems) > 1:
        click.echo(f"({len(report.problems) - 1} more problems after it)")
    raise SystemExit(1)
