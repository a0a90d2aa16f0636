"""The war room: every panel of the incident on one screen, or in groups on a small terminal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.screen import Screen
from textual.widgets import Tab, Tabs

from cockpit.actions.executor import Executor
from cockpit.decision.policy import PolicyView, default_policy_view
from cockpit.runbook.desk import AskApprover, ConfirmDestructive, RunbookDesk, Verb
from cockpit.runbook.engine import Confirmation, StepRefused
from cockpit.runbook.model import NOTIFY_TARGETS
from cockpit.sources.base import SourceStatus
from screens.reason_prompt import ReasonPrompt
from screens.resource_view import ResourceView
from screens.revision_history import RevisionHistory
from screens.runbook_picker import RunbookPicker
from screens.runbook_variables import RunbookVariables
from screens.step_confirm import StepConfirm
from widgets.cache_panel import CachePanel
from widgets.database_panel import DatabasePanel
from widgets.health_panel import HealthPanel
from widgets.incident_header import IncidentHeader
from widgets.key_bar import KeyBar
from widgets.metric_panel import MetricPanel
from widgets.pods_panel import PodsPanel
from widgets.runbook_panel import RunbookPanel
from widgets.source_panel import SourcePanel
from widgets.status_bar import CockpitMessage, MessageLog, StatusBar
from widgets.timeline_panel import TimelinePanel

#: Panel groups shown one at a time on a small terminal: (id, tab label).
GROUPS: tuple[tuple[str, str], ...] = (
    ("metrics", "1 Metrics"),
    ("pods", "2 Pods"),
    ("database", "3 Database"),
    ("cache", "4 Cache"),
    ("decision", "5 Decision"),
    ("runbook", "6 Runbook"),
    ("timeline", "7 Timeline"),
)

#: The threshold of a panel whose metric no trigger of the policy watches: never OVER.
NO_LIMIT = float("inf")

#: Below this size the board collapses into tabbed groups.
WIDE_MIN = (120, 40)


class RunbookDeskScreen(Screen[None]):
    """A screen holding a :class:`RunbookPanel`: it answers the pane's requests.

    The pane posts what the operator asked; this asks the desk what must be asked first,
    opens the modal (confirmation, reason, approver, variables, picker) and calls the
    desk with the answer. A refusal is one line, shown as a warning.
    """

    desk: RunbookDesk | None = None
    _picker_waiting: RunbookPanel | None = None
    """A pane whose picker was asked for before the desk existed: it opens on attach."""
    hands_off = ""
    """Why every acting key is refused ("" = the operator drives): the demo's autopilot."""

    def attach_desk(self, desk: RunbookDesk, hands_off: str = "") -> None:
        """Show ``desk`` in the runbook pane and answer its keys with it; with
        ``hands_off``, every key that would act says that instead."""
        self.desk = desk
        self.hands_off = hands_off
        self.query_one(RunbookPanel).attach(desk, follow=bool(hands_off))
        waiting, self._picker_waiting = self._picker_waiting, None
        if waiting is not None and not hands_off:
            self._open_picker(desk, waiting)

    def say(self, message: str, *, severity: str = "information", title: str = "",
            timeout: float | None = None) -> None:
        """Tell the engineer something. A screen with no status bar (the runbook pane
        alone) has it toasted; the war room says it on its status bar."""
        # markup off: step titles, reasons and commands may hold brackets
        self.app.notify(message, title=title, severity=severity,  # type: ignore[arg-type]
                        timeout=timeout, markup=False)

    def _say(self, message: str, *, severity: str = "information",
             timeout: float | None = None) -> None:
        self.say(message, severity=severity, timeout=timeout)

    def _refuse(self, message: str) -> None:
        self._say(message, severity="warning", timeout=6)

    def _attempt(self, what: str, act: Callable[[], object]) -> bool:
        """Ask the desk; a refusal is said as a warning, a journal that refused as an error
        (nothing changed either way). True when it went through."""
        try:
            act()
        except StepRefused as exc:
            self._refuse(str(exc))
            return False
        except Exception as exc:  # noqa: BLE001 - the journal refused: nothing changed
            self._say(f"{what} not recorded: {exc}", severity="error")
            return False
        return True

    def _desk_for(self, request: RunbookPanel.Request, *, needs_run: bool = True,
                  ) -> RunbookDesk | None:
        """The desk, when the request may go to it; else says why not."""
        request.stop()
        if self.hands_off:
            self._refuse(self.hands_off)
            return None
        if self.desk is None:
            self._say("Runbooks are not available yet (the incident is starting).",
                      severity="warning")
            return None
        if needs_run and request.runbook_id is None:
            from screens.commands import key_for  # (it reads this module's bindings)

            self._refuse(f"No runbook open: press {key_for(self.app, 'runbook.picker', 'p')} "
                         f"(or {key_for(self.app, 'runbook.open', 'o')}) to pick one.")
            return None
        return self.desk

    def _back_to(self, pane: RunbookPanel) -> None:
        pane.focus()

    @on(RunbookPanel.PickerRequested)
    def _picker(self, request: RunbookPanel.PickerRequested) -> None:
        if self.desk is None and not self.hands_off:
            # the library is still being read (a worker): open the picker when it is in
            request.stop()
            self._picker_waiting = request.control
            self._say("Reading the runbook library: the picker opens when it is ready.")
            return
        desk = self._desk_for(request, needs_run=False)
        if desk is None:
            return
        self._open_picker(desk, request.control)

    def _open_picker(self, desk: RunbookDesk, pane: RunbookPanel) -> None:

        def picked(runbook_id: str | None) -> None:
            if runbook_id:
                try:
                    desk.open(runbook_id)
                except Exception as exc:  # noqa: BLE001 - a journal error: say it, open nothing
                    self._say(f"Could not open {runbook_id}: {exc}", severity="error")
            self._back_to(pane)

        self.app.push_screen(RunbookPicker(desk.picker_entries(), desk.current), picked)

    @on(RunbookPanel.RunRequested)
    def _run(self, request: RunbookPanel.RunRequested) -> None:
        desk = self._desk_for(request)
        if desk is None or request.runbook_id is None or request.step_id is None:
            return
        runbook_id, step_id, pane = request.runbook_id, request.step_id, request.control
        try:
            ask = desk.request(runbook_id, step_id)
        except StepRefused as exc:
            self._refuse(str(exc))
            return
        if isinstance(ask, ConfirmDestructive):
            modal = StepConfirm(ask.title, ask.preview, ask.target, ask.authority,
                                runbook=ask.runbook, dry_run=ask.dry_run,
                                dry_run_timeout_s=ask.dry_run_timeout_s)

            def confirmed(confirmation: Confirmation | None) -> None:
                self._back_to(pane)
                if confirmation is not None:
                    # what the server said before the engineer confirmed belongs to the record
                    line = modal.dry_run_line if ask.dry_run is not None else None
                    self._start(pane, runbook_id, step_id, confirmation, line)

            self.app.push_screen(modal, confirmed)
        elif isinstance(ask, AskApprover):
            def named(name: str | None) -> None:
                self._back_to(pane)
                if name:
                    self._start(pane, runbook_id, step_id, Confirmation(approver=name))

            self.app.push_screen(ReasonPrompt(ask.title, ask.why, label=f"Name of the {ask.role} "
                                              "approving",
                                              placeholder="recorded in the incident timeline"),
                                 named)
        else:
            self._start(pane, runbook_id, step_id, None)

    def _start(self, pane: RunbookPanel, runbook_id: str, step_id: str,
               confirmation: Confirmation | None, dry_run_line: str | None = None) -> None:
        assert self.desk is not None
        try:
            self.desk.start(runbook_id, step_id, confirmation, dry_run_line=dry_run_line,
                            on_finish=lambda status: pane.post_message(
                                RunbookPanel.StepEnded(runbook_id, status)))
        except StepRefused as exc:
            self._refuse(str(exc))

    @on(RunbookPanel.CancelRequested)
    def _cancel(self, request: RunbookPanel.CancelRequested) -> None:
        desk = self._desk_for(request)
        if desk is None or request.runbook_id is None:
            return
        try:
            step_id = desk.cancel(request.runbook_id)
        except StepRefused as exc:
            self._refuse(str(exc))
            return
        self._say(f"Cancelling {step_id}…")

    @on(RunbookPanel.RetryRequested)
    def _retry(self, request: RunbookPanel.RetryRequested) -> None:
        desk = self._desk_for(request)
        if desk is None or request.runbook_id is None:
            return
        try:
            status = desk.retry(request.runbook_id, request.step_id)
        except StepRefused as exc:
            self._refuse(str(exc))
            return
        request.control.select_step(request.runbook_id, status.id)
        from screens.commands import key_for

        self._say(f"{status.id} is {status.state.value} again: "
                  f"{key_for(self.app, 'runbook.run', 'enter')} runs it.")

    @on(RunbookPanel.SkipRequested)
    def _skip(self, request: RunbookPanel.SkipRequested) -> None:
        desk = self._desk_for(request)
        if desk is None or request.runbook_id is None or request.step_id is None:
            return
        runbook_id, step_id, pane = request.runbook_id, request.step_id, request.control
        if not self._attempt("Skip", lambda: desk.check(Verb.SKIP, runbook_id, step_id)):
            return
        title = desk.run(runbook_id).runbook.step(step_id).title

        def skipped(reason: str | None) -> None:
            self._back_to(pane)
            if reason is not None and self._attempt(
                    "Skip", lambda: desk.skip(runbook_id, step_id, reason)):
                pane.select_current(runbook_id)

        self.app.push_screen(ReasonPrompt(f"Skip step: {title}",
                                          "The reason goes into the incident timeline."),
                             skipped)

    @on(RunbookPanel.AbortRequested)
    def _abort(self, request: RunbookPanel.AbortRequested) -> None:
        desk = self._desk_for(request)
        if desk is None or request.runbook_id is None:
            return
        runbook_id, pane = request.runbook_id, request.control
        if not self._attempt("Abort", lambda: desk.check(Verb.ABORT, runbook_id)):
            return

        def aborted(reason: str | None) -> None:
            self._back_to(pane)
            if reason is not None and self._attempt(
                    "Abort", lambda: desk.abort(runbook_id, reason)):
                self._say(f"Runbook {runbook_id} aborted.")

        title = desk.run(runbook_id).runbook.title
        self.app.push_screen(ReasonPrompt(f"Abort runbook: {title}",
                                          "No step may start afterwards; a running step is "
                                          "cancelled."), aborted)

    @on(RunbookPanel.AttestRequested)
    def _attest(self, request: RunbookPanel.AttestRequested) -> None:
        desk = self._desk_for(request)
        if desk is None or request.runbook_id is None or request.step_id is None:
            return
        runbook_id, step_id, pane = request.runbook_id, request.step_id, request.control
        if not self._attempt("Attestation",
                             lambda: desk.check(Verb.ATTEST, runbook_id, step_id)):
            return
        targets = ", ".join(NOTIFY_TARGETS.get(t, t) for t in desk.unnotified(runbook_id,
                                                                             step_id))

        def attested(how: str | None) -> None:
            self._back_to(pane)
            if how is not None and self._attempt(
                    "Attestation", lambda: desk.attest(runbook_id, step_id, how)):
                self._say(f"Recorded: you told {targets} yourself ({how}).")

        self.app.push_screen(ReasonPrompt(
            f"You told {targets} yourself?", "Recorded as your attestation, with your name, "
            "beside (never instead of) the deliveries: say how and when.",
            label="How they were told", placeholder="e.g. phoned Pat Lee, compliance, 14:40"),
            attested)

    @on(RunbookPanel.VariablesRequested)
    def _variables(self, request: RunbookPanel.VariablesRequested) -> None:
        desk = self._desk_for(request)
        if desk is None or request.runbook_id is None:
            return
        runbook_id, pane = request.runbook_id, request.control
        if not self._attempt("Variables", lambda: desk.check(Verb.VARIABLES, runbook_id)):
            return

        def done(changed: dict[str, str] | None) -> None:
            self._back_to(pane)
            if changed and self._attempt(
                    "Variables", lambda: desk.set_variables(runbook_id, changed)):
                self._say("Set " + ", ".join(f"{k} = {v}" for k, v in changed.items()))

        run = desk.run(runbook_id)
        self.app.push_screen(RunbookVariables(run.runbook.title, desk.editable_variables(
            runbook_id)), done)


class WarRoomScreen(RunbookDeskScreen):
    """Error rate, latency, endpoints, pods, database, cache, decision and runbook."""

    CSS_PATH = Path(__file__).with_suffix(".tcss")

    BINDINGS: ClassVar[list[BindingType]] = [
        *[
            Binding(str(n), f"show_group('{group}')", label.split(" ", 1)[1],
                    show=False, id=f"war_room.group_{group}")
            for n, (group, label) in enumerate(GROUPS, start=1)
        ],
    ]

    def compose(self) -> ComposeResult:
        yield IncidentHeader()
        yield Tabs(*[Tab(label, id=f"tab-{group}") for group, label in GROUPS], id="groups")
        with Container(id="board"):
            # thresholds and rules: the policy's (set by _configured)
            yield self._configured(MetricPanel("Error rate", "error_rate_pct", NO_LIMIT, "%", "",
                                               id="error-rate", classes="grp g-metrics"))
            yield self._configured(MetricPanel("Latency p95", "latency_p95_ms", NO_LIMIT, "ms",
                                               "", id="latency", classes="grp g-metrics"))
            yield self._configured(HealthPanel(id="health", classes="grp g-metrics"))
            yield PodsPanel(id="pods", classes="grp g-pods")
            yield self._configured(DatabasePanel(id="database", classes="grp g-database"))
            yield CachePanel(id="cache", classes="grp g-cache")
            yield from self.app.compose_decision()  # type: ignore[attr-defined]
            yield RunbookPanel(id="runbook", classes="grp g-runbook")
            yield TimelinePanel(id="timeline", classes="grp g-timeline")
        yield StatusBar(id="status-bar")
        yield KeyBar()

    is_composed = False
    """Whether the panels exist yet (the app holds statuses until then)."""

    #: The trigger whose threshold each threshold-bearing panel states: (selector, metric).
    POLICY_PANELS: ClassVar[tuple[tuple[str, str], ...]] = (
        ("#error-rate", "error_rate_pct"),
        ("#latency", "latency_p95_ms"),
        ("#health", "health_check_failing_pct"),
        ("#database", "db_connection_error_pct"),
    )

    def __init__(self, policy: PolicyView | None = None) -> None:
        super().__init__()
        self.messages = MessageLog()
        """What the cockpit said (the app hands over its own log when the panels exist)."""
        self.message_clock: Callable[[], datetime] | None = None
        """The incident clock, for the time a message shows (the app sets it)."""
        self._panels: dict[str, list[SourcePanel]] = {}
        self.policy_view = policy if policy is not None else default_policy_view()
        """The thresholds the panels state (the shipped policy's until told another)."""

    def _configured(self, panel: SourcePanel) -> SourcePanel:
        """``panel`` with the policy's threshold for what it shows."""
        self._apply_to(panel, self.policy_view)
        return panel

    @classmethod
    def _apply_to(cls, panel: SourcePanel, view: PolicyView) -> None:
        """Set the threshold ``panel`` states from its trigger in ``view`` (a policy
        without that trigger: no threshold, never OVER, and the rule says so)."""
        metric = dict(cls.POLICY_PANELS).get(f"#{panel.id}")
        trigger = view.for_metric(metric) if metric is not None else None
        above = trigger.above if trigger is not None else NO_LIMIT
        rule = trigger.rule if trigger is not None else "no trigger in the policy"
        if isinstance(panel, MetricPanel | HealthPanel):
            panel.set_threshold(above, rule)
        elif isinstance(panel, DatabasePanel):
            panel.set_error_limit(above)

    def apply_policy(self, view: PolicyView) -> None:
        """State ``view``'s thresholds (the runtime's policy) in the panels: each metric
        panel's threshold and rule, the endpoints' and the database's limits. What is on
        screen is drawn again against them."""
        self.policy_view = view
        for selector, _metric in self.POLICY_PANELS:
            for panel in self.query(selector).results(SourcePanel):
                self._apply_to(panel, view)

    def draw_metrics_every(self, seconds: float) -> None:
        """A low-bandwidth link: the metric panels draw new numbers at most every
        ``seconds`` (the rest of the war room as it changes)."""
        for panel in self.query(MetricPanel):
            panel.min_interval_s = seconds

    def say(self, message: str, *, severity: str = "information", title: str = "",
            timeout: float | None = None) -> None:
        """Say ``message`` on the status bar (never a toast over the work or a modal), and
        keep it in the messages the timeline pane shows (not recorded)."""
        at = self.message_clock() if self.message_clock is not None else None
        self.show_message(self.messages.add(message, severity=severity, title=title, at=at,
                                            timeout_s=timeout))

    def show_message(self, message: CockpitMessage) -> None:
        """Put ``message`` (already in :attr:`messages`) on the status bar."""
        for bar in self.query(StatusBar):
            bar.show_message(message)
        for pane in self.query(TimelinePanel):
            pane.show_messages(self.messages)

    def on_mount(self) -> None:
        self.show_group("metrics")
        self._apply_size()
        self.is_composed = True
        self.app.war_room_ready(self)  # type: ignore[attr-defined]

    def on_resize(self) -> None:
        self._apply_size()

    def _apply_size(self) -> None:
        width, height = self.size
        narrow = width < WIDE_MIN[0] or height < WIDE_MIN[1]
        if narrow != self.has_class("-narrow"):
            self.set_class(narrow, "-narrow")
            self._show_panels()

    _group = "metrics"

    def show_group(self, group: str) -> None:
        """Show one group of panels (only matters on a small terminal).

        Only the panels' ``display`` changes (a class on the screen would restyle every
        widget of the war room for one key press)."""
        self._group = group
        self._show_panels()
        tabs = self.query_one("#groups", Tabs)
        if tabs.active != f"tab-{group}":
            tabs.active = f"tab-{group}"

    def _show_panels(self) -> None:
        narrow = self.has_class("-narrow")
        for panel in self.query(".grp"):
            shown = not narrow or panel.has_class(f"g-{self._group}")
            if panel.display != shown:
                panel.display = shown

    def action_show_group(self, group: str) -> None:
        self.show_group(group)
        # the focus moves now, not after the paint (nor through Widget.focus, which defers):
        # keys typed straight after the group's number (`2h` in one burst over SSH) are
        # already queued behind it and must reach the group's panel, not the one before
        self._focus_group(group)

    def _focus_group(self, group: str) -> None:
        first = self.query(f".g-{group}").first()
        if first.focusable:
            self.set_focus(first, scroll_visible=False)
        else:
            focusable = [w for w in first.query("*") if w.focusable]
            if focusable:
                self.set_focus(focusable[0], scroll_visible=False)

    def on_tabs_tab_activated(self, event: Tabs.TabActivated) -> None:
        if event.tab is not None and event.tab.id:
            self.show_group(event.tab.id.removeprefix("tab-"))

    #: Which panels show each source's status.
    STATUS_PANELS: ClassVar[dict[str, tuple[str, ...]]] = {
        "metrics": ("#error-rate", "#latency"),
        "health": ("#health",),
        "cluster": ("#pods",),
        "database": ("#database",),
        "cache": ("#cache",),
    }

    def show_status(self, status: SourceStatus) -> None:
        """Route a source's status to the panels that display it."""
        panels = self._panels.get(status.kind)
        if panels is None:
            # a panel not composed yet (or gone at shutdown) is skipped: it draws the
            # latest status itself when it mounts
            panels = [panel for selector in self.STATUS_PANELS.get(status.kind, ())
                      for panel in self.query(selector).results(SourcePanel)]
            if self.is_composed and panels:
                self._panels[status.kind] = panels
        for panel in panels:
            if panel.is_attached:
                panel.show_status(status)

    # ------------------------------------------------ the Pods panel: history and reading

    def _reader(self) -> Executor | None:
        """The executor that reads the cluster for the history and reading views, or
        ``None`` (said) while the runbooks are not ready or nothing can read it."""
        desk = self.desk
        if desk is None:
            self._say("The cluster views are not available yet (the incident is starting).",
                      severity="warning")
            return None
        if not desk.executor.capabilities.inspect:
            self._refuse("Nothing reads the cluster here: configure [kubernetes] "
                         "(cockpit run --config FILE).")
            return None
        return desk.executor

    def on_pods_panel_history_requested(self, event: PodsPanel.HistoryRequested) -> None:
        """enter or h on a deployment: its revision history, and the guarded actions."""
        event.stop()
        executor = self._reader()
        if executor is not None:
            self.app.push_screen(RevisionHistory(event.deployment, event.namespace, executor,
                                                 self.desk, hands_off=self.hands_off))

    def on_pods_panel_inspect_requested(self, event: PodsPanel.InspectRequested) -> None:
        """i, v or l on a deployment or a pod: its describe, events or logs."""
        event.stop()
        executor = self._reader()
        if executor is not None:
            self.app.push_screen(ResourceView(executor, event.kind, event.name,
                                              event.namespace, event.view))
