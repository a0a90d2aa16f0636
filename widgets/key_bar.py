"""The key bar: the keys that act now, on one row, repainted only when they change.

Textual's Footer mounts a widget per key and recomposes itself whenever the focus moves
(every group switch): a hundred restyled widgets per key press. The keys are one line of
text; this draws them as such, from the screen's active bindings (so it cannot lie), and
a focus change that leaves the same keys repaints nothing.
"""

from __future__ import annotations

from textual.content import Content
from textual.screen import Screen

from widgets.lines import Lines


class KeyBar(Lines):
    """``q Quit  ? Help  s Severity …``: the shown bindings of what is focused, then the
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
        for _node, binding, enabled, _tooltip in screen.active_bindings.values():
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            key = self.app.get_key_display(binding)
            parts += [(f" {key} ", "bold" if enabled else "dim"),
                      (binding.description, "" if enabled else "dim"), " "]
        self.show_rows([Content.assemble(*parts)])
