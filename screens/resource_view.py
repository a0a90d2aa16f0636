"""Describe, events or logs of a deployment or a pod: a reader one key away.

The text is read in a thread worker
(:meth:`~cockpit.actions.executor.Executor.read_text`, bounded by its timeout; a
failure is one line) and arrives cleaned: control sequences stripped, secrets and
patient identifiers redacted (logs like step output), lines bounded. Keys: ``/``
searches (``n``/``N`` next and previous match, the current one marked ``▶`` and every
match underlined, never by colour alone), ``t`` changes how many of the last lines are
read (logs), ``f`` follows the logs (read again every few seconds in a worker, kept at
the end), ``R`` reads again, escape closes (or leaves the search field).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from cockpit.actions.executor import Executor
from cockpit.actions.inspect import DEFAULT_TAIL, InspectError, ReadText, search

#: What ``t`` cycles through: how many of the last lines are read.
TAILS: tuple[int, ...] = (50, 200, 1000, 5000)
#: Seconds between reads while following.
FOLLOW_EVERY_S = 2.0


class ResourceView(ModalScreen[None]):
    """One reading view (describe, events or logs) of a deployment or a pod."""

    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="resource_view.close"),
        Binding("slash", "search", "Search", key_display="/", id="resource_view.search"),
        Binding("n", "next_match(1)", "Next", id="resource_view.next"),
        Binding("N", "next_match(-1)", "Previous", key_display="N",
                id="resource_view.previous"),
        Binding("f", "follow", "Follow", id="resource_view.follow"),
        Binding("t", "tail", "Lines", id="resource_view.tail"),
        Binding("R", "reload", "Reload", key_display="R", id="resource_view.reload"),
    ]

    def __init__(self, executor: Executor, kind: str, name: str, namespace: str, view: str,
                 *, tail: int = DEFAULT_TAIL, follow_every_s: float = FOLLOW_EVERY_S) -> None:
        super().__init__()
        self.executor = executor
        self.kind, self.resource, self.namespace, self.view = kind, name, namespace, view
        self.tail = tail
        self.follow_every_s = follow_every_s
        self.lines: tuple[str, ...] = ()
        self.note = ""
        self.error = ""
        self.needle = ""
        self.matches: list[int] = []
        self.current = -1
        """Index in :attr:`matches` of the match shown (-1: none)."""
        self.following = False
        self._parts: list[Content] = []
        self._reading = False
        self._timer: Timer | None = None
        self.reads = 0
        """How many answers have been shown (tests wait on it)."""

    def compose(self) -> ComposeResult:
        with Vertical(id="reader-box"):
            yield Static(Content(self._title()), id="reader-title")
            with VerticalScroll(id="reader-scroll"):
                yield Static(Content(f"reading the {self.view}…"), id="reader-text")
            yield Input(placeholder="search (enter: find · escape: back)", id="reader-search")
            yield Static(Content(""), id="reader-status")
            yield Static(Content(self._keys()), id="reader-keys")

    def _title(self) -> str:
        return f"{self.view} · {self.kind}/{self.resource} · {self.namespace}"

    def _keys(self) -> str:
        keys = "/ search · n/N next/prev · R reload"
        if self.view == "logs":
            keys += " · t lines · f follow"
        return keys + " · esc close"

    def on_mount(self) -> None:
        self.query_one("#reader-search", Input).display = False
        self.query_one("#reader-scroll").focus()
        self.action_reload()

    # ------------------------------------------------------------------ reading

    def action_reload(self) -> None:
        if not self.executor.capabilities.inspect:
            self._failed(f"the {self.view} cannot be read here: no cluster is configured "
                         "([kubernetes] in the config)")
            return
        self._reading = True
        self._read()

    def _follow_tick(self) -> None:
        # a read still on its way is let finish (starting another would cancel it: a
        # slow cluster would never show a line)
        if not self._reading:
            self.action_reload()

    @work(thread=True, exclusive=True, group="resource-view", exit_on_error=False)
    def _read(self) -> None:
        worker = get_current_worker()
        try:
            text = self.executor.read_text(self.kind, self.resource, self.namespace, self.view,
                                           tail=self.tail)
        except InspectError as exc:
            if not worker.is_cancelled:
                self.app.call_from_thread(self._failed, f"cannot read the {self.view}: {exc}")
            return
        except Exception as exc:  # noqa: BLE001 - one line, never a traceback
            if not worker.is_cancelled:
                self.app.call_from_thread(self._failed, f"cannot read the {self.view}: "
                                          f"{type(exc).__name__}")
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self._show, text)

    def _failed(self, line: str) -> None:
        self._reading = False
        self.error = " ".join(line.split())[:300]
        self.reads += 1
        if not self.lines:
            self.query_one("#reader-text", Static).update(Content(self.error))
        self._status()

    def _show(self, text: ReadText) -> None:
        self._reading = False
        at_end = self._at_end()
        self.lines, self.note, self.error = text.lines, text.note, ""
        self.reads += 1
        self.matches = search(self.lines, self.needle)
        if self.current >= len(self.matches):
            self.current = len(self.matches) - 1
        self._render_text()
        if (self.following or at_end) and self.current < 0:
            self.call_after_refresh(self._scroll_end)
        self._status()

    def _at_end(self) -> bool:
        scroll = self.query_one("#reader-scroll", VerticalScroll)
        return bool(self.following or scroll.scroll_y >= scroll.max_scroll_y)

    def _scroll_end(self) -> None:
        self.query_one("#reader-scroll", VerticalScroll).scroll_end(animate=False)

    def _render_text(self) -> None:
        lines = self.lines or ("(nothing)",)
        hits = set(self.matches)
        mark = self.matches[self.current] if 0 <= self.current < len(self.matches) else -1
        parts = []
        for i, line in enumerate(lines):
            if i == mark:
                parts.append(Content.styled(f"▶ {line}", "reverse"))
            elif i in hits:
                parts.append(Content.styled(f"  {line}", "underline"))
            elif self.needle:
                parts.append(Content(f"  {line}"))
            else:
                parts.append(Content(line))
        self._parts = parts
        self.query_one("#reader-text", Static).update(Content("\n").join(parts))

    def _status(self) -> None:
        bits = [f"{len(self.lines)} lines"]
        if self.view == "logs":
            bits.append(f"last {self.tail} asked")
            bits.append("FOLLOWING" if self.following else "follow off")
        if self.needle:
            found = len(self.matches)
            where = f"{self.current + 1}/{found}" if found and self.current >= 0 else \
                f"0/{found}"
            bits.append(f"'{self.needle}': match {where}" if found else
                        f"'{self.needle}': no match")
        if self.error:
            bits.append(self.error)
        elif self.note:
            bits.append(self.note)
        self.query_one("#reader-status", Static).update(Content(" · ".join(bits)))

    # ------------------------------------------------------------------ keys

    def action_close(self) -> None:
        field = self.query_one("#reader-search", Input)
        if field.display:
            field.display = False
            self.query_one("#reader-scroll").focus()
            return
        self.dismiss(None)

    def action_search(self) -> None:
        field = self.query_one("#reader-search", Input)
        field.display = True
        field.value = self.needle
        field.focus()

    @on(Input.Submitted, "#reader-search")
    def _searched(self, event: Input.Submitted) -> None:
        event.stop()
        self.needle = " ".join(event.value.split())[:80]
        event.input.display = False
        self.query_one("#reader-scroll").focus()
        self.matches = search(self.lines, self.needle)
        self.current = 0 if self.matches else -1
        self._render_text()
        self._reveal()
        self._status()

    def action_next_match(self, step: int) -> None:
        if not self.matches:
            self._status()
            return
        self.current = (self.current + step) % len(self.matches)
        self._render_text()
        self._reveal()
        self._status()

    def _reveal(self) -> None:
        if 0 <= self.current < len(self.matches):
            self.call_after_refresh(self._scroll_to_line, self.matches[self.current])

    def _scroll_to_line(self, index: int) -> None:
        """Scroll so line ``index`` shows near the top (long lines wrap: their rows are
        counted as the text wraps them at the view's width)."""
        width = max(1, self.query_one("#reader-text", Static).content_region.width)
        row = sum(max(1, len(part.wrap(width))) for part in self._parts[:index])
        self.query_one("#reader-scroll", VerticalScroll).scroll_to(
            None, max(0, row - 3), animate=False)

    def action_tail(self) -> None:
        if self.view != "logs":
            self._failed(f"the {self.view} are read whole; t sets the lines of logs")
            return
        later = [n for n in TAILS if n > self.tail]
        self.tail = later[0] if later else TAILS[0]
        self._status()
        self.action_reload()

    def action_follow(self) -> None:
        if self.view != "logs":
            self._failed(f"only logs are followed, not the {self.view}")
            return
        self.following = not self.following
        if self.following:
            self._timer = self.set_interval(self.follow_every_s, self._follow_tick)
            self.action_reload()
        elif self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._status()
