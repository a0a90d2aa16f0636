"""The key bar: the keys that act now, on one row, repainted only when they change.

Textual's Footer mounts a widget per key and recomposes itself whenever the focus moves
(every group switch): a hundred restyled widgets per key press. The keys are one line of
text; this draws them as such, from the screen's active bindings (so it cannot lie), and
a focus change that leaves the same keys repaints nothing.
"""

from __future__ import annotations

from typing import Any

from textual.app import App
from textual.binding import Binding
from textual.content import Content
from textual.dom import DOMNode
from textual.screen import Screen

from widgets.lines import Lines

#: Glyphs Textual writes for keys, and the words the war room writes instead (a glyph may be
#: missing from a bastion's font, and "enter" is what a runbook's hint says).
_WORDS = {"⏎": "enter", "⌫": "backspace"}


def key_label(app: App[Any], binding: Binding) -> str:
    """How ``binding``'s key is written on screen, as mapped now: ``?``, ``^p``, ``esc``,
    ``enter`` (its ``key_display`` when it declares one)."""
    label = app.get_key_display(binding)
    for glyph, word in _WORDS.items():
        label = label.replace(glyph, word)
    return label


def declared_index(node: DOMNode, action: str) -> int:
    """Where ``node``'s class declares ``action`` among its bindings: a keymap moves a
    remapped binding to the end of Textual's map, never on screen."""
    merged = type(node)._merged_bindings
    if merged is None:
        return 0
    for index, (_key, binding) in enumerate(merged):
        if binding.action == action:
            return index
    return len(merged.key_to_bindings)


class KeyBar(Lines):
    """``enter Run step  k Skip … q Quit  ? Help``: the shown bindings of what is focused
    first (at 80 columns the panel's own keys must not be cut off by the app's), then the
    screen's and the app's, each action once."""

    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        background: $panel;
        color: $text;
    }
    """

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if not self.is_attached or screen is not self.screen:
            return
        parts: list[str | tuple[str, str]] = []
        seen: set[str] = set()
        app, shown = self.app, list(screen.active_bindings.values())
        # the focused widget's (and its containers') keys first, the screen's, the app's last
        nodes: dict[int, int] = {}
        for active in shown:  # the focused chain's order: the focused widget, its parents
            nodes.setdefault(id(active[0]), len(nodes))
        shown.sort(key=lambda active: (2 if active[0] is app else 1 if active[0] is screen
                                       else 0, nodes[id(active[0])],
                                       declared_index(active[0], active[1].action)))
        for _node, binding, enabled, _tooltip in shown:
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            key = key_label(self.app, binding)
            parts += [(f" {key} ", "bold" if enabled else "dim"),
                      (binding.description, "" if enabled else "dim"), " "]
        self.show_rows([Content.assemble(*parts)])
