"""Both executors run every action a runbook can name, and say what else they can do.

A runbook step whose type an executor's dispatch table lacks would fail only at
the moment an engineer runs it, mid-incident; a capability the UI offers but the
executor lacks would silently do nothing. Both are checked here, without any
server: the live executor is built (its clients are made on first use) and closed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.actions.executor import (
    NO_EXECUTOR_DETAIL,
    Capabilities,
    NoExecutor,
    RunContext,
)
from cockpit.actions.model import ActionSpec
from cockpit.actions.types import ACTION_TYPES, MANUAL_TYPES, resolve
from cockpit.config import Config, Secret, SlackSettings
from cockpit.connectors.executor import LiveExecutor
from cockpit.sim.estate import SimEstate
from cockpit.sim.executor import SimExecutor
from cockpit.sim.scenario import find_scenario

RUNNABLE = frozenset(ACTION_TYPES) - frozenset(MANUAL_TYPES)
SLACK = Config(slack=SlackSettings(webhook_url=Secret("http://127.0.0.1:9/hook", "env SLACK")))


def sim() -> SimExecutor:
    return SimExecutor(SimEstate(find_scenario("bad-deploy")), sleep=lambda _s: None)


def live(tmp_path: Path, config: Config | None = None, read_only: bool = False) -> LiveExecutor:
    return LiveExecutor(config or Config(), read_only=read_only, state_dir=tmp_path / "state")


def ctx() -> RunContext:
    return RunContext(deadline=float("inf"), variables={"incident_id": "INC-1"})


def test_the_manual_types_are_types_and_the_rest_is_not_empty() -> None:
    assert set(MANUAL_TYPES) <= set(ACTION_TYPES)
    assert {"k8s.rollout_undo", "pg.backup", "notify.slack", "shell", "wait"} <= RUNNABLE


def test_the_simulator_dispatches_every_non_manual_action_type() -> None:
    assert set(sim().handlers) == RUNNABLE


def test_the_live_executor_dispatches_every_non_manual_action_type(tmp_path: Path) -> None:
    executor = live(tmp_path)
    try:
        assert set(executor.handlers) == RUNNABLE
    finally:
        executor.close()


@pytest.mark.parametrize("manual", MANUAL_TYPES)
def test_a_manual_step_is_left_to_the_engine_by_both(manual: str, tmp_path: Path) -> None:
    spec = {"approval": ActionSpec("approval", {"role": "incident-commander"}),
            "checklist": ActionSpec("checklist", {"items": ["paged the DBA"]}),
            "confirm": ActionSpec("confirm", {"fact": "no_data_loss_confirmed"})}[manual]
    action = resolve(spec, {"incident_id": "INC-1"})
    executor = live(tmp_path)
    try:
        for each in (sim(), executor):
            result = each.run(action, ctx())
            assert not result.ok and "recorded by the runbook engine" in result.detail
    finally:
        executor.close()


def test_the_simulator_declares_nothing_and_its_undeclared_capabilities_raise() -> None:
    executor = sim()
    assert executor.capabilities == Capabilities(dry_run=False, status_updates=False,
                                                 inspect=True)
    assert executor.status_channel() is None
    action = resolve(ActionSpec("k8s.scale", {"deployment": "api", "namespace": "production",
                                              "replicas": 0}), {})
    with pytest.raises(NotImplementedError):
        executor.dry_run(action, ctx())
    with pytest.raises(NotImplementedError):
        executor.post_status_update("Status: rolling back")
    assert executor.commands == []  # a refused dry run ran nothing


def test_no_executor_runs_nothing_and_says_how_to_configure_one() -> None:
    executor = NoExecutor()
    action = resolve(ActionSpec("redis.get", {"key": "maintenance_mode"}), {})
    result = executor.run(action, ctx())
    assert not result.ok and result.detail == NO_EXECUTOR_DETAIL
    assert "cockpit run --config FILE" in result.detail
    assert executor.capabilities == Capabilities()
    with pytest.raises(NotImplementedError):
        executor.post_status_update("x")


def test_the_live_executor_posts_status_updates_only_with_slack(tmp_path: Path) -> None:
    with_slack = live(tmp_path / "slack", SLACK)
    without = live(tmp_path / "bare")
    observer = live(tmp_path / "observer", SLACK, read_only=True)
    try:
        assert with_slack.capabilities == Capabilities(dry_run=True, status_updates=True)
        assert with_slack.status_channel() == "slack"
        for executor in (without, observer):
            assert executor.capabilities == Capabilities(dry_run=True, status_updates=False)
            assert executor.status_channel() is None
            with pytest.raises(NotImplementedError):
                executor.post_status_update("Status: rolling back")
    finally:
        for executor in (with_slack, without, observer):
            executor.close()
    # nothing was queued by the refusals
    assert not (tmp_path / "bare" / "state" / "notifications" / "outbox.jsonl").exists()


def test_a_status_update_is_queued_with_the_bound_journal_head(tmp_path: Path) -> None:
    executor = live(tmp_path, SLACK)
    executor.bind(lambda _kind, _data: None, lambda: "9f2c" * 4)
    try:
        assert executor.post_status_update("Status: rollback 50% done") == "slack"
        (entry,) = executor.notifier.outbox.entries()
    finally:
        executor.close()
    assert entry.notification.channel == "slack"
    assert entry.notification.payload["text"] == ("Status: rollback 50% done\n"
                                                  f"Journal head: {'9f2c' * 4}")

