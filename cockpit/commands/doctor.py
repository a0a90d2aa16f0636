"""``cockpit doctor --config FILE``: is every configured connector reachable,
authenticated and allowed to do what the runbooks need?

Prints one row per connector (``OK``, ``FAIL`` or ``SKIP`` as text, so it
reads in 16 colours and in a log) with one line of detail. Exit 0 when every
configured connector is OK, 1 when any fails, 2 on a bad config. Nothing is
sent to Slack, PagerDuty or mail, and no secret is ever printed: every detail
passes through a scrub of the configuration's resolved secrets.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import click

from cockpit.config import Config, ConfigError, Secret, load_config

CONNECTORS = ("datadog", "kubernetes", "postgres", "redis", "http", "slack", "pagerduty",
              "email")


@dataclass(frozen=True)
class CheckResult:
    """One row of the doctor's table."""

    connector: str
    status: str
    """``OK``, ``FAIL`` or ``SKIP``."""
    detail: str


class CheckFailed(Exception):
    """A check found a problem; the message is the row's detail."""


def _check_datadog(config: Config) -> str:
    from cockpit.connectors.datadog import DatadogSource
    from cockpit.sources.base import SourceError

    assert config.datadog is not None
    source = DatadogSource(config.datadog)
    try:
        source.validate_api_key()
        end = int(time.time())
        series = source.query(config.datadog.error_rate_query, "error_rate_pct", end - 300, end)
    except SourceError as exc:
        raise CheckFailed(str(exc)) from None
    finally:
        source.close()
    return f"API key valid; application key can query metrics ({len(series.points)} points)"


def _check_kubernetes(config: Config) -> str:
    from cockpit.connectors.kubernetes import KubernetesSource
    from cockpit.sources.base import SourceError

    assert config.kubernetes is not None
    try:
        source = KubernetesSource(config.kubernetes, config.cockpit.namespace)
    except SourceError as exc:
        raise CheckFailed(str(exc)) from None
    try:
        snapshot = source.fetch()
        patch, _ = source.can_i("patch", "deployments")
        scale, _ = source.can_i("update", "deployments", "scale")
    except SourceError as exc:
        raise CheckFailed(str(exc)) from None
    finally:
        source.close()
    ns = source.namespace
    missing = [what for what, ok in (("patch deployments", patch),
                                     ("update deployments/scale", scale)) if not ok]
    if missing:
        raise CheckFailed(f"namespace {ns}: not allowed to {' or '.join(missing)}")
    wanted = set(config.kubernetes.deployments)
    found = {d.name for d in snapshot.deployments}
    absent = sorted(wanted - found)
    if absent:
        raise CheckFailed(f"namespace {ns}: deployment(s) not found: {', '.join(absent)}")
    return (f"namespace {ns}: {len(found)} deployment(s), {len(snapshot.pods)} pod(s); "
            "may patch deployments and update deployments/scale")


def _check_postgres(config: Config) -> str:
    from cockpit.connectors.postgres import PostgresSource
    from cockpit.sources.base import SourceError

    assert config.postgres is not None
    try:
        return PostgresSource(config.postgres).check_role()
    except SourceError as exc:
        raise CheckFailed(str(exc)) from None


def _check_redis(config: Config) -> str:
    from cockpit.connectors.redis import RedisSource
    from cockpit.sources.base import SourceError

    assert config.redis is not None
    source = RedisSource(config.redis)
    try:
        ping = source.ping_ms()
        accepted = source.auth_accepted()
    except SourceError as exc:
        raise CheckFailed(str(exc)) from None
    finally:
        source.close()
    if config.redis.password is not None and not accepted:
        raise CheckFailed(f"PING answered ({ping:.1f} ms) but Redis did not accept AUTH with the "
                          "configured password (the server may have no password set): "
                          "not authenticated")
    auth = "authenticated, " if accepted else "no password configured, "
    return f"PING answered ({auth}{ping:.1f} ms)"


def _check_http(config: Config) -> str:
    from cockpit.connectors.http import HttpHealthSource
    from cockpit.sources.base import SourceError

    assert config.http is not None
    try:
        source = HttpHealthSource(config.http)
    except SourceError as exc:
        raise CheckFailed(str(exc)) from None
    try:
        snapshot = source.fetch()
    finally:
        source.close()
    failing = [f"{e.name}: {e.detail}" for e in snapshot.endpoints if not e.ok]
    total = len(snapshot.endpoints)
    if failing:
        raise CheckFailed(f"{len(failing)}/{total} failing - " + "; ".join(failing))
    return f"{total}/{total} endpoints healthy"


def _origin(secret: Secret | None) -> str:
    return secret.origin if secret is not None else "none"


def _check_slack(config: Config) -> str:
    assert config.slack is not None
    return f"webhook URL from {_origin(config.slack.webhook_url)} (nothing sent)"


def _check_pagerduty(config: Config) -> str:
    assert config.pagerduty is not None
    return f"routing key from {_origin(config.pagerduty.routing_key)} (nothing sent)"


def _check_email(config: Config) -> str:
    email = config.email
    assert email is not None
    if email.username and email.password is None:
        raise CheckFailed(f"username {email.username} set but no password_env/password_file")
    return (f"{email.host}:{email.port}, {len(email.to)} recipient(s)"
            f"{', STARTTLS' if email.starttls else ''} (nothing sent)")


CHECKS: dict[str, Callable[[Config], str]] = {
    "datadog": _check_datadog, "kubernetes": _check_kubernetes, "postgres": _check_postgres,
    "redis": _check_redis, "http": _check_http, "slack": _check_slack,
    "pagerduty": _check_pagerduty, "email": _check_email,
}


def scrub(text: str, secrets: list[str]) -> str:
    """Replace any secret value (and its longer-first overlaps) in ``text``."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, "[REDACTED]")
    return " ".join(text.split())


def run_checks(config: Config) -> list[CheckResult]:
    """Check every connector; unconfigured ones are SKIP."""
    secrets = config.secrets()
    results = []
    for name in CONNECTORS:
        if getattr(config, name) is None:
            results.append(CheckResult(name, "SKIP", "not configured"))
            continue
        try:
            detail, status = CHECKS[name](config), "OK"
        except CheckFailed as exc:
            detail, status = str(exc), "FAIL"
        except Exception as exc:  # noqa: BLE001 - one broken connector must not hide the others
            detail, status = f"unexpected error ({type(exc).__name__})", "FAIL"
        results.append(CheckResult(name, status, scrub(detail, secrets)))
    return results


def format_table(results: list[CheckResult]) -> str:
    """A plain-text table: CONNECTOR, STATUS, DETAIL."""
    width = max(len("CONNECTOR"), *(len(r.connector) for r in results))
    lines = [f"{'CONNECTOR':<{width}}  STATUS  DETAIL"]
    lines += [f"{r.connector:<{width}}  {r.status:<6}  {r.detail}" for r in results]
    return "\n".join(lines)


@click.command("doctor")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Config file (default: $COCKPIT_CONFIG_FILE or the XDG config).")
def doctor(config_path: str | None) -> None:
    """Check that every configured connector is reachable, authenticated and allowed."""
    from cockpit.paths import config_file

    path = config_path or config_file()
    if path is None:
        click.echo("doctor: no config file (use --config FILE or $COCKPIT_CONFIG_FILE)", err=True)
        raise SystemExit(2)
    try:
        config = load_config(path)
        if config.keys.entries:  # [keys] is checked against the war room's bindings too
            from cockpit.app import keymap_from

            keymap_from(config.keys)
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(2) from None
    started = datetime.now(UTC)
    results = run_checks(config)
    click.echo(format_table(results))
    failed = [r.connector for r in results if r.status == "FAIL"]
    took = (datetime.now(UTC) - started).total_seconds()
    if failed:
        click.echo(f"\n{len(failed)} connector(s) failed: {', '.join(failed)} ({took:.1f}s)")
        raise SystemExit(1)
    click.echo(f"\nall configured connectors OK ({took:.1f}s)")
