"""The Decision panel renders the engine's state in words, compact at 80x24."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from textual.app import App, ComposeResult

from cockpit.decision import DecisionEngine, load_policy
from widgets.decision_panel import DecisionPanel, countdown, format_duration

T0 = datetime(2025, 1, 21, 14, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


class PanelApp(App[None]):
    CSS = "DecisionPanel { height: 10; }"

    def compose(self) -> ComposeResult:
        yield DecisionPanel(id="decision")


def breaching_engine() -> DecisionEngine:
    engine = DecisionEngine(load_policy())
    for s in range(0, 191, 10):
        engine.observe("error_rate_pct", at(s), 3.0)
        engine.observe("latency_p95_ms", at(s), 1400.0)
    return engine


def text(panel: DecisionPanel) -> str:
    return str(panel.render())


async def test_compact_breach_rows_tree_and_authority() -> None:
    app = PanelApp()
    async with app.run_test(size=(80, 24)) as pilot:
        panel = app.query_one(DecisionPanel)
        engine = breaching_engine()
        panel.show(engine.state(at(190)), at(190))
        await pilot.pause()
        shown = text(panel)
        assert panel.compact
        assert panel.border_title == "Decision"
        assert "BREACH 3m10s/10m" in shown
        assert "AWAITING ANSWER: CAN WE FIX FORWARD?" in shown
        assert "Critical? no -> Impact>5%? no -> Can fix forward? unanswered -> [?]" in shown
        assert "Sev MEDIUM (suggested) · Tech Lead · max 30m" in shown
        assert "OK: Errors, Health chk, Security, Data corrupt, DB conns, CPU/Mem" in shown
        assert max(len(line) for line in shown.splitlines()) <= 76
        assert len(shown.splitlines()) <= 8


async def test_fired_trigger_counts_down_and_goes_overdue() -> None:
    app = PanelApp()
    async with app.run_test(size=(80, 24)) as pilot:
        panel = app.query_one(DecisionPanel)
        engine = DecisionEngine(load_policy())
        engine.observe("db_connection_error_pct", at(0), 40.0)
        panel.show(engine.state(at(48)), at(48))
        await pilot.pause()
        shown = text(panel)
        assert "FIRED 14:00:00" in shown
        assert "decide in 4m12s" in shown
        assert "IMMEDIATE ROLLBACK" in shown
        assert "Critical? yes -> [IMMEDIATE ROLLBACK]" in shown
        assert "CTO or VP Engineering" in shown
        panel.show(engine.state(at(360)), at(360))
        await pilot.pause()
        assert "OVERDUE 1m" in text(panel)
        assert panel.has_class("-rollback")


async def test_recovered_and_answered_by_name() -> None:
    app = PanelApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one(DecisionPanel).styles.height = 20
        panel = app.query_one(DecisionPanel)
        engine = DecisionEngine(load_policy())
        for s in range(0, 601, 10):
            engine.observe("cpu_pct", at(s), 97.0)
        engine.observe("cpu_pct", at(610), 40.0)
        engine.observe("error_rate_pct", at(610), 0.5)
        engine.answer_fix_forward(True, "alice", at(615))
        panel.show(engine.state(at(620)), at(620))
        await pilot.pause()
        shown = text(panel)
        assert not panel.compact
        assert "RECOVERED (fired 14:10)" in shown
        assert "Can fix forward? yes (alice)" in shown
        assert "HOT FIX" in shown
        # with room, every trigger has its own row
        assert all(name in shown for name in ("Security", "Data corrupt", "DB conns"))


def test_formats() -> None:
    assert format_duration(timedelta(seconds=190)) == "3m10s"
    assert format_duration(timedelta(minutes=5)) == "5m"
    assert format_duration(timedelta(seconds=42)) == "42s"
    assert format_duration(timedelta(hours=1, minutes=2)) == "1h02m"
    assert countdown(at(60), at(0)) == "decide in 1m"
    assert countdown(at(0), at(0)) == "decide NOW"
    assert countdown(at(0), at(61)) == "OVERDUE 1m01s"
