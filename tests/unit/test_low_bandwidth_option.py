"""``cockpit --low-bandwidth`` and ``[ui] low_bandwidth``: every war room of the process
is told (through COCKPIT_LOW_BANDWIDTH, which the app reads)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cockpit.cli import main
from cockpit.config import ConfigError, load_config


@pytest.fixture
def clean_env(monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    monkeypatch.delenv("COCKPIT_LOW_BANDWIDTH", raising=False)
    monkeypatch.setenv("COCKPIT_CONFIG_FILE", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("COCKPIT_STATE_DIR", str(tmp_path / "state"))
    return monkeypatch


def test_the_flag_reaches_the_war_room(clean_env, capsys) -> None:  # type: ignore[no-untyped-def]
    main(["--low-bandwidth", "scenarios", "list"])
    assert os.environ.get("COCKPIT_LOW_BANDWIDTH") == "1"
    assert "bad-deploy" in capsys.readouterr().out


def test_without_it_nothing_changes(clean_env) -> None:  # type: ignore[no-untyped-def]
    main(["scenarios", "list"])
    assert "COCKPIT_LOW_BANDWIDTH" not in os.environ


def test_the_config_says_it_too(clean_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "cockpit.toml"
    config.write_text("[ui]\nlow_bandwidth = true\n")
    clean_env.setenv("COCKPIT_CONFIG_FILE", str(config))
    assert load_config(config).ui.low_bandwidth
    main(["scenarios", "list"])
    assert os.environ.get("COCKPIT_LOW_BANDWIDTH") == "1"


def test_a_wrong_value_names_the_file_and_line(tmp_path: Path) -> None:
    config = tmp_path / "cockpit.toml"
    config.write_text("[ui]\nlow_bandwidth = \"fast\"\n")
    with pytest.raises(ConfigError) as error:
        load_config(config)
    assert "cockpit.toml:2" in str(error.value) and "low_bandwidth" in str(error.value)
