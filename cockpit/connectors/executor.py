"""Running runbook actions against the real estate (the live twin of the simulator).

:class:`LiveExecutor` is the :class:`cockpit.actions.executor.Executor` of the real
connectors, with the result semantics of :class:`~cockpit.sim.executor.SimExecutor`
(kubectl / redis-cli / pg_dump / psql / curl-like output, ``ok=False`` with a
one-line detail for an expected failure, never an exception). It is thin: the
handlers live beside their system in :mod:`cockpit.connectors.actions`
(Kubernetes, PostgreSQL, Redis, HTTP, metrics, shell, notifications); this class
builds them, owns the dispatch table (:attr:`LiveExecutor.handlers`), refuses
mutations in read-only mode, and turns expected failures into results.

Notifications go through the :class:`~cockpit.notify.notifier.Notifier` (the
persistent outbox and its pump thread); :meth:`LiveExecutor.bind` attaches the
incident's journal to it.

Every call has an explicit timeout bounded by the step's remaining time. In
read-only mode every mutating action is refused before anything is built, and
every client is built with its read-only guard as well (see
:mod:`cockpit.connectors.readonly`). Output passes through a redactor holding
the configuration's secrets, so no credential reaches the screen or the journal.

Client libraries are imported on first use: building the executor is cheap.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from cockpit.actions.executor import (
    ActionResult,
    Capabilities,
    Executor,
    Record,
    RunContext,
)
from cockpit.actions.inspect import (
    DEFAULT_TAIL,
    KINDS,
    READ_TIMEOUT_S,
    VIEWS,
    DeploymentHistory,
    InspectError,
    ReadText,
    clean_lines,
)
from cockpit.actions.types import MANUAL_TYPES, ResolvedAction
from cockpit.config import Config
from cockpit.connectors.actions.base import Call, Fail, Handler, Setup
from cockpit.connectors.actions.http import HttpActions
from cockpit.connectors.actions.kubernetes import DRY_RUN_TYPES, RESTARTED_AT, KubernetesActions
from cockpit.connectors.actions.metrics import MetricActions
from cockpit.connectors.actions.notify import NotifyActions
from cockpit.connectors.actions.postgres import PostgresActions, passfile_line
from cockpit.connectors.actions.redis import RedisActions
from cockpit.connectors.actions.shell import ProcessRunner, ShellActions
from cockpit.notify.message import Channel
from cockpit.notify.notifier import build_notifier
from cockpit.sources.base import SourceError
from cockpit.timeline.kinds import EventKind as K
from cockpit.timeline.redact import Redactor

_T = TypeVar("_T")

__all__ = ["DRY_RUN_TYPES", "RESTARTED_AT", "LiveExecutor", "build_executor", "passfile_line"]


class LiveExecutor(Executor):
    """Runs resolved actions against the systems named in the config.

    Build it with :func:`build_executor`; call :meth:`bind` once the incident
    journal exists and :meth:`close` when the cockpit stops. Its
    :attr:`capabilities`: a server-side dry run always (Kubernetes mutations;
    other actions answer with their equivalent command), status updates when a
    Slack channel is configured and the cockpit is not read-only.
    """

    def __init__(self, config: Config, *, read_only: bool, state_dir: Path | None = None,
                 channels: Mapping[str, Channel] | None = None, poll_s: float = 2.0,
                 notify_wait_s: float = 3.0, now: Callable[[], datetime] | None = None) -> None:
        self.config = config
        self.read_only = read_only
        self._redactor = Redactor(config.secrets())
        self.setup = Setup(config, read_only, now or (lambda: datetime.now(UTC)), poll_s)
        if state_dir is None:
            from cockpit.paths import state_dir as default_state_dir

            state_dir = default_state_dir()
        self.state_dir = Path(state_dir)
        self.notifier = build_notifier(config, read_only=read_only, clean=self.clean,
                                       wait_s=notify_wait_s, channels=channels)
        runner = ProcessRunner(self.setup)
        self.kubernetes = KubernetesActions(self.setup)
        self.postgres = PostgresActions(self.setup, runner)
        self.redis = RedisActions(self.setup)
        self.http = HttpActions(self.setup)
        self.metrics = MetricActions(self.setup)
        self.shell = ShellActions(runner)
        self.notify = NotifyActions(self.notifier)
        self._runner = runner
        self._handlers: dict[str, Handler] = {
            "k8s.rollout_history": self.kubernetes.rollout_history,
            "k8s.rollout_undo": self.kubernetes.rollout_undo,
            "k8s.rollout_status": self.kubernetes.rollout_status,
            "k8s.scale": self.kubernetes.scale,
            "k8s.restart_pods": self.kubernetes.restart_pods,
            "k8s.rollout_restart": self.kubernetes.rollout_restart,
            "k8s.pod_health": self.kubernetes.pod_health,
            "k8s.logs": self.kubernetes.logs,
            "k8s.traffic_weights": self.kubernetes.traffic_weights,
            "k8s.set_env": self.kubernetes.set_env,
            "redis.get": self.redis.get,
            "redis.set": self.redis.set,
            "redis.delete": self.redis.delete,
            "redis.flushdb": self.redis.flushdb,
            "pg.backup": self.postgres.backup,
            "pg.verify": self.postgres.verify,
            "pg.terminate_connections": self.postgres.terminate_connections,
            "pg.sql": self.postgres.sql,
            "http.health": self.http.health,
            "http.version": self.http.version,
            "metrics.query": self.metrics.query,
            "metrics.wait_below": self.metrics.wait_below,
            "notify.slack": self.notify.send,
            "notify.pagerduty": self.notify.send,
            "notify.email": self.notify.send,
            "shell": self.shell.shell,
            "wait": self.shell.wait,
        }
        self.capabilities = Capabilities(dry_run=True,
                                         status_updates=self.status_channel() is not None,
                                         inspect=config.kubernetes is not None)

    # ------------------------------------------------------------ the interface

    @property
    def handlers(self) -> Mapping[str, Handler]:
        """Action type -> the system handler that runs it."""
        return self._handlers

    def run(self, action: ResolvedAction, ctx: RunContext) -> ActionResult:
        """Run ``action`` against the real estate (refused when read-only and mutating)."""
        if self.read_only and action.mutates:
            detail = (f"read-only mode: {action.type} would change production; refused "
                      "(nothing was sent)")
            ctx.emit(detail)
            return ActionResult(False, detail, (), detail)
        return self._dispatch(action, ctx, dry=False)

    def dry_run(self, action: ResolvedAction, ctx: RunContext) -> ActionResult:
        """Preview ``action`` with a server-side dry run where the API offers one.

        Kubernetes mutations are sent with ``dryRun=All`` (admission and
        validation run, nothing is stored) and report what would change; other
        actions return their equivalent command without running anything.
        Allowed in read-only mode (the read-only REST layer lets dry runs through).
        """
        if action.type not in DRY_RUN_TYPES:
            text = f"no server-side dry run for {action.type}; would run: {action.preview()}"
            ctx.emit(text)
            return ActionResult(True, text, (), "preview only")
        return self._dispatch(action, ctx, dry=True)

    def read_history(self, deployment: str, namespace: str, *,
                     timeout_s: float = READ_TIMEOUT_S) -> DeploymentHistory:
        """The deployment's revisions from the Kubernetes API (its ReplicaSets), each with
        its pod template; reads only (allowed in read-only mode). One line on failure."""
        return self._read(timeout_s, lambda call: self.kubernetes.read_history(
            call, deployment, namespace))

    def read_text(self, kind: str, name: str, namespace: str, view: str, *,
                  tail: int = DEFAULT_TAIL, timeout_s: float = READ_TIMEOUT_S) -> ReadText:
        """Describe, events or logs (``tailLines``) from the Kubernetes API, sanitised and
        redacted like step output (the config's secrets too) and bounded."""
        if kind not in KINDS or view not in VIEWS:
            raise InspectError(f"cannot read {view} of a {kind}")
        lines = self._read(timeout_s, lambda call: self.kubernetes.read_text(
            call, kind, name, namespace, view, tail))
        cleaned = clean_lines(self.clean(line) for line in lines)
        return ReadText(tuple(cleaned), f"{kind}/{name} · {view} · {namespace}")

    def _read(self, timeout_s: float, read: Callable[[Call], _T]) -> _T:
        import time

        from cockpit.connectors.readonly import ReadOnlyError

        ctx = RunContext(deadline=time.monotonic() + timeout_s)
        call = Call(ctx, False, self.clean, [])
        try:
            return read(call)
        except Fail as exc:
            raise InspectError(self.clean(exc.detail)) from None
        except (ReadOnlyError, SourceError) as exc:
            raise InspectError(self.clean(str(exc))) from None

    def status_channel(self) -> str | None:
        """``"slack"`` when a Slack channel is configured and the cockpit is not read-only
        (observers do not post), else None."""
        return "slack" if self.notifier.configured("slack") and not self.read_only else None

    def post_status_update(self, text: str) -> str:
        """Queue a status update to Slack (the pump delivers it); returns ``"slack"``."""
        if not self.capabilities.status_updates:
            raise NotImplementedError("status updates are not posted: no Slack channel is "
                                      "configured, or the cockpit is read-only")
        return self.notifier.post_status_update(text)

    def bind(self, record: Record, head: Callable[[], str], folder: Path | None = None) -> None:
        """Journal notification deliveries through ``record`` (from the pump's thread),
        quote ``head()`` in every message, keep the outbox in the incident's ``folder``
        (without one, a private ``notifications`` folder in the state folder)."""
        self.notifier.bind(record, head,
                           folder if folder is not None else self.state_dir / "notifications")
        self.postgres.folder = folder
        # an interrupted backup's partial dump (the cockpit was killed mid-step): removed,
        # and the record says so
        for leftover in self.postgres.remove_leftovers():
            with contextlib.suppress(Exception):
                record(K.BACKUP_LEFTOVER_REMOVED, leftover)

    def close(self) -> None:
        """Stop the outbox pump, kill running commands, close every client (idempotent)."""
        self.notifier.close()
        self._runner.close()
        for system in (self.kubernetes, self.redis, self.http, self.metrics):
            system.close()

    def clean(self, text: str) -> str:
        """``text`` with secrets and patient identifiers redacted."""
        return self._redactor.redact_text(text)

    # ------------------------------------------------------------ dispatch

    def _dispatch(self, action: ResolvedAction, ctx: RunContext, dry: bool) -> ActionResult:
        if action.type in MANUAL_TYPES:
            return ActionResult(False, "", (), f"{action.type} is recorded by the runbook engine")
        handler = self._handlers.get(action.type)
        if handler is None:
            return ActionResult(False, "", (), f"the live executor cannot run {action.type}")
        call = Call(ctx, dry, self.clean, [])
        from cockpit.connectors.readonly import ReadOnlyError

        try:
            return handler(action, call)
        except Fail as exc:
            if exc.output:
                call.say(exc.output)
            detail = self.clean(exc.detail)
            call.say(f"error: {detail}")
            return ActionResult(False, call.output(), (), detail)
        except ReadOnlyError as exc:
            detail = self.clean(str(exc))
            call.say(detail)
            return ActionResult(False, call.output(), (), detail)
        except SourceError as exc:
            detail = self.clean(str(exc))
            call.say(f"error: {detail}")
            return ActionResult(False, call.output(), (), detail)


def build_executor(config: Config, *, read_only: bool,
                   state_dir: Path | None = None) -> LiveExecutor:
    """The live executor for ``config``; ``read_only`` refuses every mutating action and
    builds every client with its read-only guard. ``state_dir`` holds the notification
    outbox (default: the cockpit's state folder)."""
    return LiveExecutor(config, read_only=read_only, state_dir=state_dir)
