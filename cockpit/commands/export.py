"""``cockpit export ID --format md|json|html [-o FILE]``: the incident record for the RCA."""

from __future__ import annotations

from pathlib import Path

import click

from cockpit.commands._incident_ref import journal_or_exit


@click.command("export")
@click.argument("ref", metavar="ID")
@click.option(
    "--format", "fmt", type=click.Choice(["md", "json", "html"]), default="md",
    show_default=True, help="Markdown RCA, the whole record as JSON, or one HTML file.",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to FILE (owner-only permissions) instead of stdout.")
def export(ref: str, fmt: str, output: Path | None) -> None:
    """Export an incident (ID, folder or journal path), redacted, with its journal head hash."""
    from cockpit.timeline.export import export_journal

    path = journal_or_exit(ref)
    try:
        text = export_journal(path, fmt)
    except (OSError, ValueError) as exc:
        click.echo(f"error: {path}: {exc}", err=True)
        raise SystemExit(2) from None
    if output is None:
        click.echo(text, nl=False)
        return
    from cockpit.paths import write_private

    try:
        # atomic and 0600: a temporary name beside FILE, fsync, rename; a symlink at FILE is
        # replaced, never followed, and an existing file's old mode is not kept
        write_private(output, text)
    except OSError as exc:
        click.echo(f"error: {output}: {exc.strerror or exc}", err=True)
        raise SystemExit(2) from None
    click.echo(f"wrote {output}", err=True)
