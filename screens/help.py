"""The help screen: every key binding, and what the panels mean."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

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
  the age of the data and the reason). Thresholds are the procedures'
  automatic rollback triggers: error rate > 5% for 5 min, p95 > 1000 ms
  for 10 min, > 50% endpoints failing, > 25% connection errors.

Press [b]escape[/b], [b]?[/b] or [b]q[/b] to close.
"""


class HelpScreen(ModalScreen[None]):
    """Key bindings and a legend, over the war room."""

    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS = [
        Binding("escape,question_mark,q", "dismiss", "Close", id="help.close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(HELP_TEXT, id="help-text")

    def action_dismiss(self, result: None = None) -> None:  # type: ignore[override]
        self.dismiss(result)
