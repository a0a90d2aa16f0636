"""Test-wide rules.

- Isolation: no test reads the developer's config, state or cloud credentials.
- Markers by folder: every test under ``tests/integration/`` is ``integration`` and every test
  under ``tests/terminal/`` is ``terminal`` (``pytest -m "not terminal"`` and friends work
  without each file remembering to say so).
- A missing tmux, PostgreSQL or Redis skips its tests on a developer's machine and fails them
  under ``CI=true``: a green CI run means every test ran (``service_missing``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import pytest

TESTS = Path(__file__).resolve().parent

#: folder under tests/ -> the marker each of its tests carries
FOLDER_MARKERS = {"integration": "integration", "terminal": "terminal"}

_LEAKY_ENV = (
    "COCKPIT_CONFIG_FILE", "COCKPIT_READ_ONLY", "COCKPIT_RUNBOOKS_DIR",
    "DD_SITE", "DD_API_KEY", "DD_APP_KEY", "KUBECONFIG", "SSH_CLIENT", "SSH_CONNECTION",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        try:
            folder = item.path.resolve().relative_to(TESTS).parts[0]
        except ValueError:  # a test outside tests/ (a plugin's own, say)
            continue
        marker = FOLDER_MARKERS.get(folder)
        if marker is not None:
            item.add_marker(marker)


def in_ci() -> bool:
    """CI sets ``CI=true`` (.ci/run runs there)."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def missing(reason: str) -> NoReturn:
    """What a test does when a service it needs is not there: skip, or fail under CI=true."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: .ci/run installs it and make test starts it)",
                    pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def service_missing() -> Callable[[str], NoReturn]:
    """:func:`missing`, for fixtures and tests that find tmux, PostgreSQL or Redis absent."""
    return missing


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path_factory: pytest.TempPathFactory,
                          monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _LEAKY_ENV:
        monkeypatch.delenv(name, raising=False)
    state = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("COCKPIT_STATE_DIR", str(state))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg-config")))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("xdg-state")))
