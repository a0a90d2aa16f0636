"""``cockpit export ID --format md|json|html [-o FILE] [--force]``: the incident record for
the RCA.

The record is verified first (chain, signed checkpoints: ``cockpit timeline verify``): one
that fails is refused (exit 1, one line naming where) unless ``--force``, and a forced
export then says in its first lines that the record failed verification, and where."""

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
@click.option("--force", is_flag=True,
              help="Export a record that fails verification, saying so at the top.")
def export(ref: str, fmt: str, output: Path | None, force: bool) -> None:
    """Export an incident (ID, folder or journal path), redacted, with its journal head hash;
    verified first: a record that fails is refused unless --force."""
    from cockpit.timeline.export import export_journal
    from cockpit.timeline.verify import verify

    path = journal_or_exit(ref)
    try:
        report = verify(path)
        problem = report.first_problem()
        if problem and not force:
            click.echo(f"error: {path}: the record failed verification: {problem} "
                       "(nothing exported; --force exports it marked as failed)", err=True)
            raise SystemExit(1)
        text = export_journal(path, fmt)
    except (OSError, ValueError) as exc:
        click.echo(f"error: {path}: {exc}", err=True)
        raise SystemExit(2) from None
    if problem:
        click.echo(f"warning: {path}: the record failed verification: {problem}; "
                   "exported marked as failed (--force)", err=True)
        text = mark_failed(text, fmt, problem)
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


FAILED_HEADLINE = "WARNING: this record FAILED verification"


def mark_failed(text: str, fmt: str, problem: str) -> str:
    """Put "this record failed verification, and where" in the first lines of an export."""
    import html
    import json

    advice = ("Do not rely on it as evidence; `cockpit timeline verify` names every "
              "problem.")
    if fmt == "json":
        # the first key, on the second line: {"ok": false, "problem": ..., "warning": ...}
        verdict = json.dumps({"ok": False, "problem": problem,
                              "warning": f"{FAILED_HEADLINE}. {advice}"}, ensure_ascii=False)
        rest = text.lstrip()[1:].lstrip() if text.lstrip().startswith("{") else text
        return "{\n" + f'  "verification": {verdict},\n  ' + rest
    if fmt == "html":
        banner = (f'<p class="verify-failed" role="alert"><strong>{FAILED_HEADLINE}</strong>: '
                  f"{html.escape(problem)}. {html.escape(advice)}</p>")
        comment = f"<!-- {FAILED_HEADLINE}: {html.escape(problem).replace('-', '&#45;')} -->"
        doctype, newline, rest = text.partition("\n")
        if not doctype.lower().startswith("<!doctype"):
            doctype, newline, rest = "", "", text
        head, sep, body = rest.partition("<body>")
        if not sep:
            return f"{doctype}{newline}{comment}\n{banner}\n{rest}"
        return f"{doctype}{newline}{comment}\n{head}{sep}{banner}{body}"
    safe = html.escape(problem).replace("`", "'").replace("*", "\\*").replace("_", "\\_")
    return f"> **{FAILED_HEADLINE}**: {safe}. {advice}\n\n{text}"
