"""Test-wide isolation: no test reads the developer's config, state or cloud credentials."""

from __future__ import annotations

import pytest

_LEAKY_ENV = (
    "COCKPIT_CONFIG_FILE", "COCKPIT_READ_ONLY", "COCKPIT_RUNBOOKS_DIR",
    "DD_SITE", "DD_API_KEY", "DD_APP_KEY", "KUBECONFIG", "SSH_CLIENT", "SSH_CONNECTION",
)


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path_factory: pytest.TempPathFactory,
                          monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _LEAKY_ENV:
        monkeypatch.delenv(name, raising=False)
    state = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("COCKPIT_STATE_DIR", str(state))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg-config")))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("xdg-state")))
