"""The briefing before a training scenario starts: the situation, the goal, the keys.

Shown over the war room while the simulated clock is held at T=0; enter (or space)
starts the clock, escape quits (the incident stays open for ``cockpit resume``, which goes
straight in). The keys are read from the bindings in force (a keymap may have moved
them): the scenario names binding ids, never key names.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.dom import DOMNode
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widgets import Static

from cockpit.sim.scenario import Briefing

#: What every briefing ends with: the keys that work everywhere (binding ids).
GENERAL_KEYS: tuple[tuple[str, str], ...] = (
    ("app.help", "every key, and what the panels mean"),
    ("app.pause", "pause the simulation; again to go on"),
    ("app.faster", "faster"),
    ("app.slower", "slower"),
    ("app.quit", "quit: leave the incident open, or close it for the debrief"),
)
NOT_BOUND = "(no key)"


def bound_keys(app: App[object], nodes: Iterable[DOMNode]) -> dict[str, str]:
    """Binding id -> the keys bound to it now, as shown (``enter``, ``s``, ``^r``), over
    ``nodes``' bindings with the app's keymap applied as Textual applies it."""
    keys: dict[str, list[str]] = {}
    keymap = app._keymap  # noqa: SLF001 - the keymap Textual's own binding chain applies
    for node in nodes:
        bindings = node._bindings.copy()  # noqa: SLF001 - the node's bindings, as bound
        if keymap:
            bindings.apply_keymap(keymap)
        for _key, binding in bindings:
            if binding.id is None:
                continue
            shown = keys.setdefault(binding.id, [])
            display = app.get_key_display(binding)
            if display not in shown:
                shown.append(display)
    return {binding_id: "/".join(shown) for binding_id, shown in keys.items()}


def _paragraphs(text: str) -> list[str]:
    """The scenario's text reflowed: its line breaks are the YAML file's, not ours."""
    return [" ".join(block.split()) for block in text.split("\n\n") if block.strip()]


def briefing_sections(title: str, briefing: Briefing, keys: dict[str, str],
                      pace: str) -> list[tuple[str, str]]:
    """The briefing as (css class, console markup) rows: a heading, or a body the screen
    indents (every text from the scenario escaped)."""
    width = max([len(keys.get(k, NOT_BOUND)) for k, _ in (*briefing.keys, *GENERAL_KEYS)])

    def row(binding_id: str, use: str) -> tuple[str, str]:
        key = keys.get(binding_id, NOT_BOUND)
        return "key", f"[b]{escape(key):<{width}}[/b]  {escape(use)}"

    out = [("title", f"[b]Briefing: {escape(title)}[/b]"), ("pace", escape(pace)),
           ("heading", "[b]The situation[/b]")]
    out += [("body", escape(text)) for text in _paragraphs(briefing.narrative)]
    out += [("heading", "[b]Your goal[/b]"), ("body", escape(briefing.goal)),
            ("heading", "[b]The keys that matter here[/b]")]
    out += [row(binding_id, use) for binding_id, use in briefing.keys]
    listed = {binding_id for binding_id, _ in briefing.keys}
    out += [("heading", "[b]Everywhere[/b]")]
    out += [row(binding_id, use) for binding_id, use in GENERAL_KEYS
            if binding_id not in listed]
    return out


def briefing_text(title: str, briefing: Briefing, keys: dict[str, str], pace: str) -> str:
    """The briefing as one text (its rows, in order)."""
    return "\n".join(text for _, text in briefing_sections(title, briefing, keys, pace))


class BriefingScreen(ModalScreen[bool]):
    """The scenario's briefing; dismisses ``True`` to start the clock, ``False`` to quit."""

    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,space", "start", "Start", key_display="enter", priority=True,
                id="briefing.start"),
        Binding("escape", "quit", "Quit", priority=True, id="briefing.quit"),
    ]

    def __init__(self, title: str, briefing: Briefing, pace: str) -> None:
        super().__init__()
        self.title_text = title
        self.briefing = briefing
        self.pace = pace

    def keys(self) -> dict[str, str]:
        """The keys bound now, by binding id: the app's, the war room's and its panels',
        and this screen's own."""
        app = self.app
        nodes: list[DOMNode] = [app]
        for screen in app.screen_stack:
            if screen is not self:
                nodes.extend(screen.walk_children(with_self=True))
        nodes.append(self)
        return bound_keys(app, nodes)

    def compose(self) -> ComposeResult:
        keys = self.keys()
        start = keys.get("briefing.start", NOT_BOUND)
        leave = keys.get("briefing.quit", NOT_BOUND)
        with Vertical(id="briefing-box"):
            yield Static(f"{escape(start)} start   {escape(leave)} quit (the incident "
                         "stays open)   up/down scroll", id="briefing-keys")
            with VerticalScroll(id="briefing-body"):
                for kind, text in briefing_sections(self.title_text, self.briefing, keys,
                                                    self.pace):
                    yield Static(text, classes=f"brief-{kind}")

    def on_mount(self) -> None:
        # the arrows scroll the briefing at 80x24
        self.query_one("#briefing-body").focus()

    def action_start(self) -> None:
        self.dismiss(True)

    def action_quit(self) -> None:
        self.dismiss(False)
