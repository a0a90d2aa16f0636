"""The war room on real sources: a config naming the local PostgreSQL and Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from cockpit.app import make_app
from cockpit.clock import WallClock
from cockpit.config import load_config
from cockpit.connectors import build_sources
from widgets.source_panel import SourcePanel

PG = (os.environ.get("COCKPIT_TEST_PG_HOST", "127.0.0.1"),
      int(os.environ.get("COCKPIT_TEST_PG_PORT", "5432")))
REDIS = (os.environ.get("COCKPIT_TEST_REDIS_HOST", "127.0.0.1"),
         int(os.environ.get("COCKPIT_TEST_REDIS_PORT", "6379")))


async def test_live_panels_show_real_database_and_cache(
        tmp_path: Path, postgres_server: tuple[str, int], redis_server: tuple[str, int]) -> None:
    config_file = tmp_path / "cockpit.toml"
    config_file.write_text(
        f'[cockpit]\nenvironment = "staging"\n\n'
        f'[postgres]\nhost = "{PG[0]}"\nport = {PG[1]}\ndbname = "postgres"\nuser = "postgres"\n'
        f'interval_s = 0.2\n\n'
        f'[redis]\nhost = "{REDIS[0]}"\nport = {REDIS[1]}\ninterval_s = 0.2\n'
    )
    config = load_config(config_file)
    from cockpit.connectors.executor import build_executor

    executor = build_executor(config, read_only=True, state_dir=tmp_path / "state")
    app = make_app(build_sources(config), clock=WallClock(), environment="staging",
                   executor=executor, read_only=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await drawn(pilot, "#database", "#cache")
        database = app.screen.query_one("#database", SourcePanel)
        cache = app.screen.query_one("#cache", SourcePanel)
        assert str(database.border_subtitle).startswith("postgres")
        assert str(cache.border_subtitle).startswith("redis")
        db_status, cache_status = app.statuses["database"], app.statuses["cache"]
        assert db_status.state == "ok" and db_status.snapshot.connections_max > 0
        assert cache_status.state == "ok" and cache_status.snapshot.ping_ms >= 0
        for panel in ("#error-rate", "#pods", "#health"):
            assert app.screen.query_one(panel, SourcePanel).border_subtitle == "not configured"


async def drawn(pilot, *panels: str, ok: Callable[[], bool] | None = None,  # type: ignore[no-untyped-def]
                within_s: float = 30.0) -> None:
    """Until the war room shows these panels (sources may answer before they exist), every
    source has answered once and ``ok()`` holds; fails after ``within_s`` seconds."""
    app = pilot.app
    deadline = time.monotonic() + within_s
    while not (app.has_first_data() and all(app.screen.query(p) for p in panels)
               and (ok is None or ok())):
        assert time.monotonic() < deadline, f"waited {within_s:.0f}s for {panels}"
        await pilot.pause(0.05)
    await pilot.pause()


def test_run_with_a_bad_config_is_one_line_exit_2(tmp_path: Path) -> None:
    config_file = tmp_path / "bad.toml"
    config_file.write_text('[redis]\nhost = "127.0.0.1"\nintervall_s = 1\n')
    cockpit = Path(sys.executable).with_name("cockpit")
    result = subprocess.run([str(cockpit), "run", "--config", str(config_file)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "intervall_s" in result.stderr and "bad.toml" in result.stderr


async def test_every_panel_fed_by_real_clients_and_one_source_going_stale(
        kmock, fake_datadog, loopback, tmp_path: Path, postgres_server: tuple[str, int],
        redis_server: tuple[str, int]) -> None:
    """Datadog (loopback), Kubernetes (kmock), HTTP health (loopback), PostgreSQL and Redis
    (real): every panel shows their data; the metrics server going away turns only the
    metrics panel STALE, with its reason, while the others keep updating."""
    from conftest import DD_API_KEY, DD_APP_KEY, Reply
    from test_connector_kubernetes import NS, load_estate

    from cockpit.connectors.executor import build_executor

    load_estate(kmock)
    health = loopback()
    for name in ("auth", "health", "users", "students"):
        health.script("GET", f"/v1/{name}/health", Reply(200, {"status": "ok"}))
    health.script("GET", "/v1/medications/health", Reply(503, "down"))
    config_file = tmp_path / "cockpit.toml"
    config_file.write_text(
        f'[cockpit]\nenvironment = "staging"\nnamespace = "{NS}"\n\n'
        f'[datadog]\nhost = "{fake_datadog.url}"\napi_key_env = "T_DD_API"\n'
        f'app_key_env = "T_DD_APP"\ninterval_s = 0.2\ntimeout_s = 1\n\n'
        f'[kubernetes]\nhost = "{str(kmock.url).rstrip("/")}"\nnamespace = "{NS}"\n'
        f'deployments = ["frontend", "api"]\ninterval_s = 0.2\ntimeout_s = 2\n\n'
        f'[http]\nbase_url = "{health.url}"\ninterval_s = 0.2\ntimeout_s = 1\n\n'
        f'[postgres]\nhost = "{PG[0]}"\nport = {PG[1]}\ndbname = "postgres"\nuser = "postgres"\n'
        f'sslmode = "disable"\ninterval_s = 0.2\n\n'
        f'[redis]\nhost = "{REDIS[0]}"\nport = {REDIS[1]}\ninterval_s = 0.2\n'
    )
    config = load_config(config_file, {"T_DD_API": DD_API_KEY, "T_DD_APP": DD_APP_KEY})
    executor = build_executor(config, read_only=True, state_dir=tmp_path / "state")
    app = make_app(build_sources(config, read_only=True), clock=WallClock(),
                   environment="staging", executor=executor, read_only=True)
    kinds = ("metrics", "cluster", "health", "database", "cache")
    async with app.run_test(size=(160, 48)) as pilot:
        await drawn(pilot, "#error-rate", "#pods", "#health", "#database", "#cache",
                    ok=lambda: all(getattr(app.statuses.get(k), "state", "") == "ok"
                                   for k in kinds))
        statuses = {k: app.statuses[k] for k in kinds}
        assert {k: s.state for k, s in statuses.items()} == dict.fromkeys(kinds, "ok")
        assert statuses["metrics"].snapshot.error_rate_pct.values[-1] == 6.8
        assert statuses["cluster"].snapshot.deployment("api").version == "2.1.0"
        assert [e.ok for e in statuses["health"].snapshot.endpoints] == [True] * 4 + [False]
        assert statuses["database"].snapshot.connections_max > 0
        assert statuses["cache"].snapshot.ping_ms >= 0
        for panel, label in (("#error-rate", "datadog"), ("#pods", "kubernetes"),
                             ("#health", "http"), ("#database", "postgres"),
                             ("#cache", "redis")):
            subtitle = str(app.screen.query_one(panel, SourcePanel).border_subtitle)
            assert subtitle.startswith(label), (panel, subtitle)

        # Datadog goes away: open keep-alive connections get 503, new ones are refused
        fake_datadog.server.route("GET", "/api/v1/query",
                                  lambda req: Reply(503, {"errors": ["unavailable"]}))
        fake_datadog.server.close()
        for _ in range(400):
            if app.statuses["metrics"].state == "stale":
                break
            await pilot.pause(0.05)
        before = {k: app.statuses[k].last_ok for k in kinds if k != "metrics"}
        for _ in range(400):
            if all(app.statuses[k].last_ok > before[k] for k in before):
                break
            await pilot.pause(0.05)
        metrics = app.statuses["metrics"]
        gone = ("cannot reach Datadog", "Datadog error 503")
        assert metrics.state == "stale" and metrics.reason.startswith(gone), metrics.reason
        assert metrics.snapshot is not None  # the last values stay on screen, marked
        subtitle = str(app.screen.query_one("#error-rate", SourcePanel).border_subtitle)
        assert subtitle.startswith("STALE") and metrics.reason in subtitle
        assert {k: app.statuses[k].state for k in before} == dict.fromkeys(before, "ok")
        assert all(app.statuses[k].last_ok > before[k] for k in before), "others kept updating"
    assert DD_API_KEY not in str(metrics.reason)


def test_a_live_incident_opened_read_only_resumes_read_only(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from cockpit.app import make_app, open_incident_app
    from cockpit.clock import WallClock
    from cockpit.incident import IncidentSession

    config_file = tmp_path / "cockpit.toml"
    config_file.write_text('[cockpit]\nenvironment = "production"\n\n'
                           '[http]\nbase_url = "http://127.0.0.1:9"\n')
    # `cockpit run --read-only`: the flag, not the config, makes this observer read-only
    first = make_app([], clock=WallClock(), read_only=True, config_path=str(config_file))
    assert first.session is not None
    ident = first.session.incident_id
    first.session.disconnect()

    resumed = open_incident_app(IncidentSession.resume(ident, clock=WallClock()))
    try:
        assert resumed.runtime.read_only is True
        assert resumed.runtime.estate_label == "LIVE READ-ONLY"
    finally:
        assert resumed.session is not None
        resumed.session.disconnect()
        for closable in [*resumed.sources, resumed.executor]:
            closable.close()  # type: ignore[union-attr]
