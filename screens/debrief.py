"""The debrief after a training run: the score's breakdown, penalties with why, the outcome."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widgets import Static

from cockpit.training.score import Score


def _bar(points: int, maximum: int, width: int = 20) -> str:
    filled = round(width * points / maximum) if maximum else 0
    return "#" * filled + "." * (width - filled)


def debrief_text(score: Score, title: str = "") -> str:
    """The debrief as console markup; every state is in words, never colour alone."""
    head = f"[b]Debrief: {escape(title or score.scenario)}[/b]"
    verdict = "FULL MARKS" if score.full_marks else f"{score.max - score.total} points lost"
    lines = [head, "", f"[b]Score {score.total}/{score.max}[/b]  ({verdict})", ""]
    for cat in score.categories:
        lines.append(f"  {cat.label:<14} {cat.points:>3}/{cat.max:<3} {_bar(cat.points, cat.max)}")
    lines.append("")
    restored = "RESTORED" if score.restored else "NOT RESTORED"
    if score.data_lost:
        parts = []
        if score.data_lost_rows:
            parts.append(f"{score.data_lost_rows} patient-record rows")
        if score.messages_lost:
            parts.append(f"{score.messages_lost} queued messages")
        lost = "YES - " + ", ".join(parts)
    else:
        lost = "no"
    lines.append(f"[b]Outcome:[/b] {restored}   [b]Data lost:[/b] {escape(lost)}")
    if score.decision is not None or score.expected_decision:
        decided = (score.decision or "none").replace("_", " ")
        expected = score.expected_decision.replace("_", " ")
        timing = ""
        if score.time_to_decision_s is not None:
            timing = (f", {int(score.time_to_decision_s)}s after the trigger "
                      f"(allowed {int(score.allowance_s)}s)")
        lines.append(f"[b]Decision:[/b] {escape(decided)} (expected {escape(expected)}){timing}")
    lines.append("")
    if score.penalties:
        lines.append("[b]Penalties[/b]")
        for pen in score.penalties:
            lines.append(f"  -{pen.points:<3} {escape(pen.category)}: {escape(pen.why)}")
    else:
        lines.append("[b]Penalties[/b]  none")
    if score.consequences:
        lines += ["", "[b]What the wrong actions did[/b]"]
        lines += [f"  ! {escape(text)}" for text in score.consequences]
    if score.root_cause:
        lines += ["", "[b]Root cause[/b]", f"  {escape(score.root_cause)}"]
    return "\n".join(lines)


class DebriefScreen(ModalScreen[None]):
    """Shows a :class:`Score`; keyboard only (arrows / page keys scroll, escape closes)."""

    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,enter", "close", "Close", id="debrief.close"),
    ]

    def __init__(self, score: Score, title: str = "") -> None:
        super().__init__()
        self.score = score
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(id="debrief-box"):
            with VerticalScroll(id="debrief-body"):
                yield Static(debrief_text(self.score, self.title_text), id="debrief-text")
            yield Static("up/down pgup/pgdn scroll   escape close", id="debrief-keys")

    def on_mount(self) -> None:
        # Focus the scroll area so the arrow keys scroll the penalties at 80x24.
        self.query_one("#debrief-body").focus()

    def action_close(self) -> None:
        self.dismiss(None)
