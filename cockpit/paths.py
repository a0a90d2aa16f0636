"""Where the cockpit keeps and finds things: XDG paths in one place.

Every location can be overridden by an environment variable so tests and
operators never depend on the developer's own home directory.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "rollback-cockpit"


def runbooks_dir() -> Path:
    """Return the folder of shipped runbooks, policy and scenarios.

    ``$COCKPIT_RUNBOOKS_DIR`` wins; an installed wheel carries the data as
    ``cockpit/_runbooks``; a source checkout has it beside the package.
    """
    override = os.environ.get("COCKPIT_RUNBOOKS_DIR")
    if override:
        return Path(override)
    here = Path(__file__).resolve().parent
    packaged = here / "_runbooks"
    if packaged.is_dir():
        return packaged
    return here.parent / "runbooks"


def scenarios_dir() -> Path:
    """Return the folder of training scenario files."""
    return runbooks_dir() / "scenarios"


def state_dir() -> Path:
    """Return the folder holding incident journals (``$COCKPIT_STATE_DIR`` or XDG state home)."""
    override = os.environ.get("COCKPIT_STATE_DIR")
    if override:
        return Path(override)
    from platformdirs import user_state_path

    return user_state_path(APP_NAME)


def config_file() -> Path | None:
    """Return the config file to read: ``$COCKPIT_CONFIG_FILE``, else the XDG one if it exists."""
    override = os.environ.get("COCKPIT_CONFIG_FILE")
    if override:
        return Path(override)
    from platformdirs import user_config_path

    candidate = user_config_path(APP_NAME) / "config.toml"
    return candidate if candidate.is_file() else None
