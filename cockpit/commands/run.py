"""``cockpit run --config FILE``: the war room on the real estate."""

from __future__ import annotations

import os
import sys

import click


@click.command()
@click.option("--config", "config_path", required=True,
              type=click.Path(exists=True, dir_okay=False),
              help="TOML config naming the connectors (see examples/cockpit.example.toml).")
@click.option("--read-only", is_flag=True, default=False,
              help="Observe only: show everything, change nothing.")
def run(config_path: str, read_only: bool) -> None:
    """Open the war room on the real systems named in the config.

    A source left out of the config shows "not configured". Secrets are read
    from the environment variables or files the config names, never from it.
    """
    from cockpit.config import ConfigError, load_config

    try:
        # [cockpit] operator is who is at the keyboard; $COCKPIT_OPERATOR only when it is unset
        config = load_config(config_path)
        from cockpit.app import keymap_from

        keymap = keymap_from(config.keys)  # this config's [keys], checked before anything opens
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    if config.ui.low_bandwidth:
        os.environ["COCKPIT_LOW_BANDWIDTH"] = "1"
    from cockpit.clock import WallClock
    from cockpit.connectors import build_sources
    from cockpit.timeline.redact import configure_identifiers, register_secret

    for secret in config.secrets():
        register_secret(secret)
    configure_identifiers(patient_name_patterns=config.redaction.patient_name_patterns,
                          mrn_patterns=config.redaction.mrn_patterns,
                          terms=config.redaction.terms)
    ro = read_only or config.cockpit.read_only
    sources = build_sources(config, read_only=ro)
    if not sources:
        raise click.UsageError(f"{config_path}: no connector is configured")
    from cockpit.app import make_app
    from cockpit.connectors.executor import build_executor

    executor = build_executor(config, read_only=ro)
    label = "LIVE READ-ONLY" if ro else "LIVE"
    try:
        app = make_app(sources, clock=WallClock(), environment=config.cockpit.environment,
                       estate_label=label, executor=executor, read_only=ro,
                       config_path=str(config_path), variables=config.runbook_variables(),
                       signing_key=config.signing_key(), operator=config.cockpit.operator,
                       rollback=config.rollback)
        app.set_keymap(keymap)
        app.run()
    finally:
        executor.close()  # idempotent: the app closes it too when it unmounts
    if app.return_code:
        sys.exit(app.return_code)
