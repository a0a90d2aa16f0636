"""``cockpit runbooks list|check``: show and check runbook files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from cockpit.paths import runbooks_dir

if TYPE_CHECKING:
    pass


@click.group("runbooks")
def runbooks() -> None:
    """List and check runbooks."""


@runbooks.command("list")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
def list_runbooks(path: Path | None) -> None:
    """List the runbooks in PATH (default: the shipped ones): id, title, steps."""
    from cockpit.runbook.loader import RunbookLoadError, load_library

    try:
        library = load_library(path or runbooks_dir())
    except RunbookLoadError as exc:
        for line in exc.errors:
            click.echo(line, err=True)
        raise SystemExit(2) from None
    rows = [(rb.id, rb.title, str(len(rb.steps))) for rb in library]
    id_w = max([len("ID"), *(len(r[0]) for r in rows)])
    title_w = max([len("TITLE"), *(len(r[1]) for r in rows)])
    click.echo(f"{'ID':<{id_w}}  {'TITLE':<{title_w}}  STEPS")
    for rb_id, title, steps in rows:
        click.echo(f"{rb_id:<{id_w}}  {title:<{title_w}}  {steps:>5}")


@runbooks.command("check")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
def check(paths: tuple[Path, ...]) -> None:
    """Check runbook files or folders (default: the shipped ones); exit 1 on any error."""
    # Each file is parsed once: the same parse gives the errors and the step count.
    targets = list(paths) or [runbooks_dir()]
    from cockpit.runbook.loader import check_runbooks

    errors, runbooks_found = check_runbooks(targets)
    for line in errors:
        click.echo(line)
    if errors:
        click.echo(f"{len(errors)} error{'s' if len(errors) != 1 else ''}", err=True)
        raise SystemExit(1)
    steps = sum(len(rb.steps) for rb in runbooks_found)
    click.echo(f"{len(runbooks_found)} runbooks, {steps} steps: OK")
