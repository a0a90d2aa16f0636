"""The war room on real sources: a config naming the local PostgreSQL and Redis."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cockpit.app import make_app
from cockpit.clock import WallClock
from cockpit.config import load_config
from cockpit.connectors import build_sources
from widgets.source_panel import SourcePanel

PG = (os.environ.get("COCKPIT_TEST_PG_HOST", "127.0.0.1"),
      int(os.environ.get("COCKPIT_TEST_PG_PORT", "5432")))
REDIS = (os.environ.get("COCKPIT_TEST_REDIS_HOST", "127.0.0.1"),
         int(os.environ.get("COCKPIT_TEST_REDIS_PORT", "6379")))


def reachable(host: str, port: int) -> bool:
    import socket

    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


async def test_live_panels_show_real_database_and_cache(tmp_path: Path) -> None:
    if not (reachable(*PG) and reachable(*REDIS)):
        pytest.skip("local PostgreSQL/Redis not running (make test starts them)")
    config_file = tmp_path / "cockpit.toml"
    config_file.write_text(
        f'[cockpit]\nenvironment = "staging"\n\n'
        f'[postgres]\nhost = "{PG[0]}"\nport = {PG[1]}\ndbname = "postgres"\nuser = "postgres"\n'
        f'interval_s = 0.2\n\n'
        f'[redis]\nhost = "{REDIS[0]}"\nport = {REDIS[1]}\ninterval_s = 0.2\n'
    )
    config = load_config(config_file)
    app = make_app(build_sources(config), clock=WallClock(), environment="staging")
    async with app.run_test(size=(160, 48)) as pilot:
        for _ in range(200):
            if app.has_first_data():
                break
            await pilot.pause(0.05)
        database = app.screen.query_one("#database", SourcePanel)
        cache = app.screen.query_one("#cache", SourcePanel)
        assert str(database.border_subtitle).startswith("postgres")
        assert str(cache.border_subtitle).startswith("redis")
        db_status, cache_status = app.statuses["database"], app.statuses["cache"]
        assert db_status.state == "ok" and db_status.snapshot.connections_max > 0
        assert cache_status.state == "ok" and cache_status.snapshot.ping_ms >= 0
        for panel in ("#error-rate", "#pods", "#health"):
            assert app.screen.query_one(panel, SourcePanel).border_subtitle == "not configured"


def test_run_with_a_bad_config_is_one_line_exit_2(tmp_path: Path) -> None:
    config_file = tmp_path / "bad.toml"
    config_file.write_text('[redis]\nhost = "127.0.0.1"\nintervall_s = 1\n')
    cockpit = Path(sys.executable).with_name("cockpit")
    result = subprocess.run([str(cockpit), "run", "--config", str(config_file)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "intervall_s" in result.stderr and "bad.toml" in result.stderr
