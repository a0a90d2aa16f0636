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

  [b]?[/b]          this help            [b]q[/b]   quit (the incident record is kept)
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
