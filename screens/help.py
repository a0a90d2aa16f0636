"""The help screen: every key binding, and what the panels mean."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widgets import Static

from cockpit.decision.policy import PolicyView, default_policy_view

#: The help's text; ``{thresholds}`` is where :func:`help_text` says the policy's.
HELP_TEXT = """\
[b]Rollback Cockpit — keys[/b]

  [b]?[/b]          this help
  [b]q[/b]          quit: [b]l[/b] leave the incident open (`cockpit resume` takes it
             back) or [b]c[/b] close it (training: then the debrief and score)
  [b]1[/b]–[b]6[/b]        show a panel group when the terminal is small:
             1 Metrics  2 Pods  3 Database  4 Cache  5 Decision  6 Runbook
  [b]tab[/b]        move between panels   [b]↑ ↓[/b]  scroll the pod table
  [b]+[/b] / [b]-[/b]      simulation faster / slower (1x to 60x)
  [b]space[/b]      pause / resume the simulation
  [b]f2[/b]         save a screenshot (SVG)

[b]Deciding[/b] (every answer is recorded with who gave it)
  [b]s[/b]          set the severity (c/h/m/l): authority and deadline follow
  [b]f[/b]          answer "can we fix forward?" (y/n)
  [b]x[/b]          flag a patient-safety risk (y/n): makes it critical
  [b]d[/b]          record the decision: roll back, hot fix, or no action

[b]The record[/b] (written to disk before the screen shows it done)
  [b]n[/b]          add a note           [b]e[/b]   export: m Markdown RCA, j JSON, h HTML
  [b]u[/b]          status update: the template pre-filled from the record
             (a reminder comes every 15 minutes of incident time)

[b]Runbooks[/b]
  [b]o[/b]          open a runbook (recommended first; type to filter)
  In the runbook pane (group 6):
  [b]↑[/b] [b]↓[/b]        select a step: its why, the exact command, what blocks it
  [b]enter[/b]/[b]y[/b]    run the selected ready step (destructive steps ask for the
             target's name and the approver's)
  [b]c[/b] cancel the running step   [b]r[/b] retry a failed one
  [b]k[/b] skip (a reason is required)   [b]a[/b] abort the runbook (reason)
  [b]v[/b] set the runbook's variables   [b]p[/b] pick another runbook
  [b]t[/b] a step waits for someone to be notified and you told them yourself
             (by phone...): recorded as your attestation, never as a delivery
  Step markers: [ ] pending  [>] ready  [#] blocked  [*] running  [x] done
                [!] failed  [-] skipped  [?] interrupted  [c] cancelled

[b]Training[/b]
  guided: the coach hints when you stall or err · exam: no hints, scored
  demo: the autopilot plays; watch (space pauses, + - change its pace)

[b]Reading the panels[/b]
  Every state is written in words as well as colours: [b]OVER[/b] a threshold,
  [b]FAIL[/b] for an endpoint, [b]NOT READY[/b] for a pod, [b]STALE[/b] for a source
  that stopped answering (its last values stay on screen, dimmed, with
  the age of the data and the reason). The thresholds are the policy's
  automatic triggers (what fires, and what the procedures say to do):
{thresholds}

Press [b]escape[/b], [b]?[/b] or [b]q[/b] to close.
"""


def threshold_lines(view: PolicyView) -> list[str]:
    """One line per trigger of the policy, in its order: ``Error rate > 5% for 5m:
    automatic rollback``; an event trigger: ``Security breach (any event): immediate
    rollback``. Titles come from the policy file: escaped, never markup."""
    lines = []
    for trigger in view.thresholds:
        when = " (any event)" if trigger.event is not None else f" {trigger.condition}"
        lines.append(f"    {escape(trigger.title)}{escape(when)}: {trigger.action.label}")
    return lines


def help_text(view: PolicyView) -> str:
    """The help, with ``view``'s thresholds (the policy the engine evaluates)."""
    return HELP_TEXT.replace("{thresholds}", "\n".join(threshold_lines(view)), 1)


class HelpScreen(ModalScreen[None]):
    """Key bindings and a legend, over the war room, with the policy's thresholds
    (the shipped policy's unless it is given another)."""

    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS = [
        Binding("escape,question_mark,q", "dismiss", "Close", id="help.close"),
    ]

    def __init__(self, policy: PolicyView | None = None) -> None:
        super().__init__()
        self.policy_view = policy if policy is not None else default_policy_view()

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(help_text(self.policy_view), id="help-text")

    def action_dismiss(self, result: None = None) -> None:  # type: ignore[override]
        self.dismiss(result)
