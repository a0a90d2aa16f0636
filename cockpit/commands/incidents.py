"""``cockpit incidents [--json]``: list the incidents in the state directory."""

from __future__ import annotations

import json

import click


def _when(value: object) -> str:
    from datetime import datetime

    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return "-"


@click.command("incidents")
@click.option("--json", "as_json", is_flag=True, help="One JSON array instead of a table.")
def incidents(as_json: bool) -> None:
    """List incidents, newest first (id, scenario, state, opened, last event, severity, events)."""
    from cockpit.paths import state_dir
    from cockpit.timeline.store import list_incidents

    found = list_incidents(state_dir())
    if as_json:
        click.echo(json.dumps([s.to_dict() for s in found], indent=2))
        return
    if not found:
        click.echo(f"no incidents in {state_dir()}")
        return
    rows = [("ID", "SCENARIO", "STATE", "OPENED (UTC)", "LAST EVENT (UTC)", "SEVERITY", "EVENTS")]
    for s in found:
        rows.append((s.id, s.scenario or "-", s.state, _when(s.opened), _when(s.last_event),
                     s.severity or "-", str(s.events)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
