"""Shared helper of the timeline CLI commands: turn PATH|ID into a journal or exit 2."""

from __future__ import annotations

from pathlib import Path

import click


def journal_or_exit(ref: str) -> Path:
    """Resolve an incident ID, folder or journal path; print one line and exit 2 if unknown."""
    from cockpit.timeline.store import UnknownIncidentError, resolve_journal

    try:
        return resolve_journal(ref)
    except UnknownIncidentError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
