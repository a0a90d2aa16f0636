"""The war room, the help and the decision panel say the policy's thresholds: an
overridden policy (error rate 3% for 2 minutes) is what the screen says."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from textual.app import App, ComposeResult
from textual.widgets import Static

from cockpit.app import make_sim_app
from cockpit.decision import DecisionEngine, default_policy_path, parse_policy
from cockpit.decision.policy import PolicyView, policy_view
from screens.help import HelpScreen
from widgets.decision_panel import DecisionPanel, short_question
from widgets.health_panel import HealthPanel, summary_line
from widgets.lines import Lines

SHIPPED = default_policy_path().read_text(encoding="utf-8")


def ours() -> PolicyView:
    """Error rate 3% for 2m, health checks 10%, connection errors 1%, errors renamed."""
    text = (SHIPPED.replace("    above: 5\n    sustained: 5m\n",
                            "    above: 3\n    sustained: 2m\n", 1)
            .replace("    above: 50\n", "    above: 10\n", 1)
            .replace("    above: 25\n", "    above: 1\n", 1)
            .replace("title: Error rate", "title: HTTP errors", 1))
    assert text.count("above: 3\n") == 1 and "above: 50" not in text and "above: 25" not in text
    return policy_view(parse_policy(text, "ours.yaml"))


async def wait_for(pilot: Any, check: Any, within_s: float = 30.0) -> bool:
    deadline = time.monotonic() + within_s
    while not check():
        if time.monotonic() > deadline:
            return bool(check())
        await pilot.pause(0.05)
    return True


def shown(app: Any, selector: str) -> str:
    return "\n".join(lines.plain for lines in app.screen.query_one(selector).query(Lines))


async def test_the_shipped_policy_reads_5_percent_for_5m_then_an_override_3_for_2m() -> None:
    app = make_sim_app("bad-deploy", seed=7, start_clock=False, advance_s=420)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_for(pilot, lambda: "%" in shown(app, "#error-rate"))
        errors = shown(app, "#error-rate")
        assert "OVER 5.00%" in errors and "rollback if > 5% for 5m" in errors, errors
        assert "decide if > 1000ms for 10m" in shown(app, "#latency")
        await pilot.press("3")
        assert await wait_for(pilot, lambda: "conn errors" in shown(app, "#database"))
        assert "(limit 25%)" in shown(app, "#database")

        # the runtime's policy handed to the war room: every panel says it, at once
        app.screen.apply_policy(ours())  # type: ignore[attr-defined]
        await pilot.pause()
        errors = shown(app, "#error-rate")
        assert "OVER 3.00%" in errors and "rollback if > 3% for 2m" in errors, errors
        assert "5%" not in errors and "5m" not in errors
        assert "decide if > 1000ms for 10m" in shown(app, "#latency")  # unchanged trigger
        database = shown(app, "#database")
        assert "OVER 1%" in database and "25%" not in database, database
        health = app.screen.query_one("#health", HealthPanel)
        # 1 of 5 endpoints failing is over the policy's 10%: a breach
        assert health.rule == "rollback at > 10%" and health.has_class("-breach")


def test_the_endpoints_line_says_the_policy_rule() -> None:
    text, _head = summary_line(1, 5, 20.0, (), 80, rule="rollback at > 10%")
    assert text == "1/5 failing (20%; rollback at > 10%)"


async def test_a_policy_without_the_trigger_shows_no_limit_and_never_over() -> None:
    app = make_sim_app("bad-deploy", seed=7, start_clock=False, advance_s=420)
    no_errors = PolicyView(tuple(v for v in ours().thresholds if v.trigger_id != "error_rate"))
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_for(pilot, lambda: "OVER" in shown(app, "#error-rate"))
        app.screen.apply_policy(no_errors)  # type: ignore[attr-defined]
        await pilot.pause()
        errors = shown(app, "#error-rate")
        assert "OVER" not in errors and "no limit" in errors and "no trigger" in errors, errors


def help_shown(screen: HelpScreen) -> str:
    return str(screen.query_one("#help-text", Static).render())


async def test_help_says_the_shipped_thresholds_by_default() -> None:
    app = make_sim_app("bad-deploy", seed=7, start_clock=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        assert await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = help_shown(app.screen)  # type: ignore[arg-type]
        assert "Error rate > 5% for 5m: automatic rollback" in text
        assert "Response time p95 > 1000ms for 10m: alert + manual decision" in text
        assert "Failed health checks > 50%: automatic rollback" in text
        assert "DB connection failures > 25%: automatic rollback" in text
        assert "Security breach (any event): immediate rollback" in text


class HelpApp(App[None]):
    def __init__(self, view: PolicyView) -> None:
        super().__init__()
        self.view = view

    def on_mount(self) -> None:
        self.push_screen(HelpScreen(self.view))


async def test_help_says_an_overridden_policy() -> None:
    app = HelpApp(ours())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = help_shown(app.screen)
        assert "HTTP errors > 3% for 2m: automatic rollback" in text
        assert "Failed health checks > 10%" in text and "> 50%" not in text
        assert "DB connection failures > 1%" in text and "> 25%" not in text
        assert "5m" not in text.split("The thresholds")[1]


async def test_help_escapes_a_title_from_the_policy_file() -> None:
    text = SHIPPED.replace("title: Error rate", "title: \"Errors [b]loud[/b]\"", 1)
    app = HelpApp(policy_view(parse_policy(text)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "Errors [b]loud[/b] > 5% for 5m" in help_shown(app.screen)  # type: ignore[arg-type]


T0 = datetime(2025, 1, 21, 14, 0, tzinfo=UTC)


class PanelApp(App[None]):
    CSS = "DecisionPanel { height: 10; }"

    def compose(self) -> ComposeResult:
        yield DecisionPanel(id="decision")


async def test_decision_rows_are_named_by_the_policy() -> None:
    text = SHIPPED.replace("title: Error rate", "title: HTTP 5xx", 1).replace(
        "    above: 5\n", "    above: 3\n", 1)
    engine = DecisionEngine(parse_policy(text))
    for s in range(0, 61, 10):
        engine.observe("error_rate_pct", T0 + timedelta(seconds=s), 4.0)
    app = PanelApp()
    async with app.run_test(size=(80, 24)) as pilot:
        panel = app.query_one(DecisionPanel)
        now = T0 + timedelta(seconds=60)
        panel.show(engine.state(now), now)
        await pilot.pause()
        rows = str(panel.render())
        # 4% breaches the policy's 3% (the shipped 5% would not), under the policy's title
        assert "HTTP 5xx" in rows and "BREACH 1m/5m" in rows, rows
        assert "Errors" not in rows
        # the shipped titles keep their short names
        assert "OK: Latency p95, Health chk, Security, Data corrupt, DB conns, CPU/Mem" in rows


def test_the_tree_question_keeps_its_threshold_when_shortened() -> None:
    assert short_question("User impact > 5%?") == "Impact>5%?"
    assert short_question("User impact > 3%?") == "Impact>3%?"
    assert short_question("Critical issue?") == "Critical?"
