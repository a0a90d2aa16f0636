"""``cockpit evaluate --samples FILE [--policy FILE]``: the decision engine, headless."""

from __future__ import annotations

from pathlib import Path

import click

_EPILOG = """\b
Input: JSON lines, in any order:
  {"t": "2025-01-21T14:30:00Z", "metric": "error_rate_pct", "value": 7.5}
metric: error_rate_pct, latency_p95_ms, health_check_failing_pct,
db_connection_error_pct, cpu_pct, memory_pct (percentages 0-100), or an
event: security_breach, data_corruption (value 1).

\b
Output: one JSON line per trigger state change, in time order:
  {"t", "trigger", "state", "action", "decide_by"}
state: ok | breaching | fired | recovered | stale (no sample of a metric
in the file for more than 120 s); then a summary line:
  {"summary": {"fired": [{"trigger", "at", "action", "decide_by"}],
               "recommendation": "..."}}

\b
Recommendation (the procedures' decision tree, with no engineer to ask):
  immediate_rollback   an automatic/immediate-rollback trigger fired
  rollback_within_30m  user impact (max of latest error rate and failing
                       health checks) > 5%
  rollback             an issue remains and "can we fix forward?" has no
                       answer: unanswered counts as no (the conservative
                       choice for patient data); hot_fix never appears here
  no_action            nothing fired, nothing breaching, impact <= 5%

Exit status: 0 evaluated; 2 bad usage or bad input (FILE:LINE: message on
stderr, nothing on stdout).
"""


@click.command("evaluate", epilog=_EPILOG)
@click.option(
    "--samples",
    "samples_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="FILE",
    help="JSON lines of samples and events ('-' is not accepted: audits need a file).",
)
@click.option(
    "--policy",
    "policy_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Policy YAML to use instead of the shipped runbooks/policy.yaml.",
)
def evaluate(samples_path: Path, policy_path: Path | None) -> None:
    """Evaluate rollback triggers and the decision tree over a samples file.

    Validates and evaluates the whole file before printing anything, so a
    partial output is never mistaken for a result.
    """
    from cockpit.decision.headless import SampleError, evaluate_samples, parse_samples
    from cockpit.decision.policy import PolicyError, load_policy

    try:
        policy = load_policy(policy_path)
    except PolicyError as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(2) from None
    import os

    from cockpit.decision.headless import MAX_SAMPLES_BYTES, read_lines
    from cockpit.yamlfile import DataFileError, open_regular

    source = str(samples_path)
    try:
        # a regular file under the limit (a FIFO or /dev/zero is refused), read a bounded
        # line at a time
        fd = open_regular(samples_path, limit=MAX_SAMPLES_BYTES)
        with os.fdopen(fd, "rb") as handle:
            samples = parse_samples(read_lines(handle, source), policy, source)
    except DataFileError as exc:
        click.echo(f"{samples_path}:0: {exc.message}", err=True)
        raise SystemExit(2) from None
    except SampleError as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(2) from None
    except OSError as exc:
        click.echo(f"{samples_path}:0: cannot read: {exc.strerror or exc}", err=True)
        raise SystemExit(2) from None
    result = evaluate_samples(samples, policy)
    click.echo(result.json_lines(), nl=False)
