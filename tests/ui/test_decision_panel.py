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


def error_rate_fired(severity_at: float | None = None) -> DecisionEngine:
    """Error rate over 5 % from 0 s: fires at 300 s (14:05Z), decide immediately."""
    engine = DecisionEngine(load_policy())
    for s in range(0, 301, 10):
        engine.observe("error_rate_pct", at(s), 9.0)
    if severity_at is not None:
        engine.set_severity("high", "alice@bastion", at(severity_at))
    return engine


def latency_fired() -> DecisionEngine:
    """Latency p95 over 1 s for 10 minutes: fires at 600 s (14:10Z), decide by 14:25Z."""
    engine = DecisionEngine(load_policy())
    for s in range(0, 601, 10):
        engine.observe("latency_p95_ms", at(s), 1500.0)
    return engine


async def test_the_one_deadline_names_what_binds_and_what_else_allows() -> None:
    app = PanelApp()
    async with app.run_test(size=(80, 24)) as pilot:
        panel = app.query_one(DecisionPanel)
        engine = latency_fired()
        engine.set_severity("medium", "alice@bastion", at(590))
        panel.show(engine.state(at(720)), at(720))
        await pilot.pause()
        shown = text(panel)
        # at 80 columns the other limit is said in short
        assert "decide by 14:25Z (Response time p95 trigger; severity Medium: 14:39:50Z)" in shown
        assert "decide in 13m" in shown
        assert panel.border_subtitle == "decide in 13m"
        # the severity line has no countdown of its own: one deadline, not two
        assert "Sev MEDIUM (set by alice@bastion) · Tech Lead · max 30m" in shown
        assert shown.count("decide in") == 2  # the headline and the trigger's own row


async def test_a_decision_in_time_stops_every_countdown() -> None:
    app = PanelApp()
    async with app.run_test(size=(80, 24)) as pilot:
        panel = app.query_one(DecisionPanel)
        engine = latency_fired()
        engine.record_decision("rollback", "alice@bastion", at(1380))  # 14:23Z, 2m early
        panel.show(engine.state(at(3720)), at(3720))  # 37 minutes later
        await pilot.pause()
        shown = text(panel)
        assert "DECIDED  rollback by alice@bastion at 14:23Z, in time (2m before 14:25Z)" in shown
        assert "OVERDUE" not in shown and "decide in" not in shown and "NOW" not in shown
        assert panel.border_subtitle == "DECIDED in time"
        assert not panel.has_class("-overdue")


async def test_a_late_decision_says_how_late() -> None:
    app = PanelApp()
    async with app.run_test(size=(80, 24)) as pilot:
        panel = app.query_one(DecisionPanel)
        engine = latency_fired()
        engine.record_decision("rollback", "alice@bastion", at(1680))  # 14:28Z
        panel.show(engine.state(at(1700)), at(1700))
        await pilot.pause()
        shown = text(panel)
        assert "DECIDED  rollback by alice@bastion at 14:28Z, 3m late (due 14:25Z)" in shown
        assert panel.border_subtitle == "DECIDED 3m late"
        assert "OVERDUE" not in shown


async def test_a_trigger_recovered_after_the_decision_reads_recovered() -> None:
    app = PanelApp()
    async with app.run_test(size=(80, 24)) as pilot:
        panel = app.query_one(DecisionPanel)
        engine = error_rate_fired(severity_at=300)
        engine.record_decision("rollback", "alice@bastion", at(320))
        engine.observe("error_rate_pct", at(900), 0.4)
        panel.show(engine.state(at(2520)), at(2520))
        await pilot.pause()
        shown = text(panel)
        row = next(line for line in shown.splitlines() if line.startswith("Errors"))
        assert "RECOVERED" in row and "OVERDUE" not in row
        assert "20s late (due 14:05Z)" in shown  # decide "immediately" means at 14:05Z
        assert "OVERDUE" not in shown


async def test_a_trigger_fired_after_the_decision_counts_down_again() -> None:
    app = PanelApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one(DecisionPanel).styles.height = 20
        panel = app.query_one(DecisionPanel)
        engine = latency_fired()
        engine.record_decision("hot_fix", "bob@bastion", at(700))
        engine.observe_event("security_breach", at(900))
        panel.show(engine.state(at(960)), at(960))
        await pilot.pause()
        shown = text(panel)
        assert shown.startswith(" IMMEDIATE ROLLBACK   OVERDUE 1m")
        assert ("decide by 14:15Z (Security breach trigger; severity Critical allows until"
                " 14:20Z)") in shown
        assert "Decided before: hot_fix by bob@bastion at 14:11:40Z, in time" in shown
        latency = next(line for line in shown.splitlines() if line.startswith("Latency"))
        assert "OVERDUE" not in latency and "decide in" not in latency


async def test_the_panel_repaints_only_when_what_it_shows_changes() -> None:
    app = PanelApp()
    async with app.run_test(size=(80, 24)) as pilot:
        panel = app.query_one(DecisionPanel)
        engine = latency_fired()
        engine.record_decision("rollback", "alice@bastion", at(1380))
        for s in range(1400, 1460):  # a decided incident: nothing on screen moves
            panel.show(engine.state(at(s)), at(s))
        await pilot.pause()
        first = panel.refreshes
        for s in range(1460, 1520):
            panel.show(engine.state(at(s)), at(s))
        assert panel.refreshes == first  # a minute of the same state: no repaint at all
        engine2 = latency_fired()
        panel.show(engine2.state(at(700)), at(700))
        await pilot.pause()
        regions: list[object] = []
        refresh = panel.refresh
        panel.refresh = lambda *r, **kw: (regions.extend(r), refresh(*r, **kw))[1]  # type: ignore[method-assign]
        panel.show(engine2.state(at(701)), at(701))  # a countdown second: repainted
        assert panel.refreshes == first + 2
        # ... but only the cells that changed: the countdown's digits, not the panel
        assert regions and sum(r.area for r in regions) <= 12  # type: ignore[attr-defined]
