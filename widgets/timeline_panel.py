"""The timeline pane: every recorded event as it happens (time, who, what), and pins.

It shows the reducer's timeline (:class:`cockpit.timeline.replay.Timeline`: what a second
cockpit rebuilds from the journal alone), newest last or first (``r``), one kind group at
a time (``/``: all, decisions, steps, notes, sources, and the cockpit's own ``messages``,
which are not recorded). ``p`` on an event asks to pin it for the RCA (or to unpin it):
the pane posts :class:`TimelinePanel.PinRequested` and the app records it; the mark
appears when the record says so. A pinned event reads ``◆PIN`` and a message ``»MSG``:
never colour alone.

Only the visible rows are built, and :class:`~widgets.lines.Lines` repaints only the
cells that changed: a state whose timeline did not change (same entries, same pins)
costs one comparison and no refresh.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.content import Content
from textual.events import Resize
from textual.message import Message

from cockpit.timeline.kinds import TIMELINE_GROUPS
from cockpit.timeline.replay import Timeline, TimelineEntry
from widgets.lines import Lines
from widgets.status_bar import SEVERITY_WORDS, CockpitMessage, MessageLog

#: The filter's views, in the order ``/`` cycles them: the record's groups, then messages.
VIEWS: tuple[str, ...] = (*TIMELINE_GROUPS, "messages")
PIN_MARK = "◆PIN"
MESSAGE_MARK = "»MSG"
NO_MARK = "    "
WHO_WIDTH = 12
#: The selected line is shown whole under the list (when cut) in a pane this tall or more.
DETAIL_MIN_HEIGHT = 6
DETAIL_ROWS = 2
DETAIL_MARK = "↳"

Item = TimelineEntry | CockpitMessage


class TimelinePanel(Lines):
    """The incident's timeline; see the module docstring."""

    DEFAULT_CSS = """
    TimelinePanel {
        border: round $primary-darken-1;
        border-title-color: $text;
        border-title-style: bold;
        border-subtitle-color: $text-muted;
        padding: 0 1;
        height: 1fr;
    }
    TimelinePanel:focus {
        border: round $accent;
    }
    """

    can_focus = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "Previous", show=False, id="timeline.up"),
        Binding("down", "move(1)", "Next", show=False, id="timeline.down"),
        Binding("pageup", "move(-10)", "Page up", show=False, id="timeline.page_up"),
        Binding("pagedown", "move(10)", "Page down", show=False, id="timeline.page_down"),
        Binding("home", "edge(0)", "Oldest", show=False, id="timeline.first"),
        Binding("end", "edge(1)", "Newest", show=False, id="timeline.last"),
        Binding("p", "pin", "Pin", id="timeline.pin"),
        Binding("slash", "filter", "Filter", key_display="/", id="timeline.filter"),
        Binding("r", "order", "Reverse", id="timeline.order"),
    ]

    class PinRequested(Message):
        """``p`` on a row: pin the event (``pin``) or take its pin off; ``seq`` ``None``:
        the row is a message, which is not part of the record."""

        def __init__(self, panel: TimelinePanel, seq: int | None, pin: bool) -> None:
            super().__init__()
            self.panel = panel
            self.seq = seq
            self.pin = pin

        @property
        def control(self) -> TimelinePanel:
            """The pane that asked."""
            return self.panel

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(["No events yet."], id=id, classes=classes)
        self._timeline = Timeline()
        self._messages: MessageLog | None = None
        self._messages_seen = -1
        self.view = "all"
        """The kind group shown (one of :data:`VIEWS`)."""
        self.newest_first = False
        self._index: list[int] = []
        """Positions in the timeline of the entries the view shows, oldest first."""
        self._indexed = 0
        self._cursor = 0
        """The selected row's place in display order."""
        self._follow = True
        """The cursor stays on the newest entry as new ones come."""
        self._top = 0
        self._shown_version: tuple[object, ...] | None = None

    def on_mount(self) -> None:
        self.border_title = "Timeline"
        self._subtitle()
        self._paint()

    def on_resize(self, event: Resize) -> None:
        self._paint()

    # ------------------------------------------------------------- data in

    def show_timeline(self, timeline: Timeline) -> None:
        """Show the reducer's timeline; one that did not change draws nothing."""
        if timeline.version == self._timeline.version:
            self._timeline = timeline
            return
        if len(timeline) < len(self._timeline):  # another incident's: start again
            self._index, self._indexed = [], 0
        self._timeline = timeline
        self._paint()

    def show_messages(self, log: MessageLog) -> None:
        """Show the cockpit's messages under ``messages`` (drawn when that view is on)."""
        self._messages = log
        if self.view == "messages" and log.count != self._messages_seen:
            self._paint()

    # ------------------------------------------------------------- reading

    @property
    def items(self) -> Sequence[Item]:
        """What the view shows, oldest first."""
        if self.view == "messages":
            return list(self._messages or ())
        self._extend_index()
        timeline = self._timeline
        return [timeline[i] for i in self._index]

    @property
    def selected(self) -> Item | None:
        """The row under the cursor."""
        count = self._count()
        if not count:
            return None
        return self._item_at(self._clamped(self._cursor, count), count)

    def _extend_index(self) -> None:
        timeline, view = self._timeline, self.view
        for i in range(self._indexed, len(timeline)):
            if view == "all" or timeline[i].group == view:
                self._index.append(i)
        self._indexed = len(timeline)

    def _count(self) -> int:
        if self.view == "messages":
            return len(self._messages) if self._messages is not None else 0
        self._extend_index()
        return len(self._index)

    def _item_at(self, position: int, count: int) -> Item:
        """The item at display ``position``."""
        oldest_first = count - 1 - position if self.newest_first else position
        if self.view == "messages":
            assert self._messages is not None
            return list(self._messages)[oldest_first]
        return self._timeline[self._index[oldest_first]]

    @staticmethod
    def _clamped(position: int, count: int) -> int:
        return max(0, min(position, count - 1))

    # ------------------------------------------------------------- drawing

    def _subtitle(self) -> None:
        # changes only on a key press: a border repaints the whole pane
        order = "newest first" if self.newest_first else "newest last"
        self.border_subtitle = f"{self.view} · {order}"

    def _paint(self) -> None:
        if not self.is_mounted:
            return
        height = max(self.size.height, 1)
        width = self.size.width
        count = self._count()
        if self.view == "messages" and self._messages is not None:
            self._messages_seen = self._messages.count
        newest = 0 if self.newest_first else max(count - 1, 0)
        if self._follow:
            self._cursor = newest
        self._cursor = self._clamped(self._cursor, count) if count else 0
        detail = self._detail(count, width) if height >= DETAIL_MIN_HEIGHT else []
        room = height - len(detail)
        if self._cursor < self._top:
            self._top = self._cursor
        elif self._cursor >= self._top + room:
            self._top = self._cursor - room + 1
        self._top = max(0, min(self._top, max(count - room, 0)))
        rows: list[Content] = []
        if not count:
            rows.append(Content(self._empty_text()))
        for position in range(self._top, min(self._top + room, count)):
            rows.append(self._row(self._item_at(position, count), position == self._cursor,
                                  width))
        rows += [Content("")] * (room - len(rows))
        self.show_rows(rows + detail)

    def _detail(self, count: int, width: int) -> list[Content]:
        """The selected line whole, under the list, when the pane has the focus and the
        line is cut at its width (a command, a reason): two rows at most."""
        if not count or not self.has_focus or width < 20:
            return []
        item = self._item_at(self._cursor, count)
        if self._row(item, True, width).cell_length <= width:
            return []
        text = item.line if isinstance(item, CockpitMessage) else item.text
        lines = textwrap.wrap(text, width - 2) or [""]
        if len(lines) > DETAIL_ROWS:
            lines = lines[:DETAIL_ROWS]
            lines[-1] = lines[-1][: width - 3] + "…"
        return [Content.styled(f"{DETAIL_MARK} {line}", "italic") for line in lines]

    def _empty_text(self) -> str:
        if self.view == "messages":
            return "No messages yet (the cockpit's, not recorded)."
        if self.view == "all":
            return "No events yet."
        return f"No {self.view} events yet (/ shows the next kind)."

    def _row(self, item: Item, cursor: bool, width: int) -> Content:
        pointer = ">" if cursor else " "
        if isinstance(item, CockpitMessage):
            at = f"{item.at:%H:%M:%S}" if item.at is not None else "--:--:--"
            word, style = SEVERITY_WORDS[item.severity]
            parts: list[str | tuple[str, str]] = [
                pointer, (MESSAGE_MARK, "italic"), f" {at} ",
                (f"{word.removeprefix('! '):<{WHO_WIDTH}.{WHO_WIDTH}}", style), " ", item.line]
        else:
            pinned = self._timeline.is_pinned(item.seq)
            parts = [pointer, (PIN_MARK, "bold $warning") if pinned else NO_MARK,
                     f" {item.t:%H:%M:%S} ",
                     (f"{item.who:<{WHO_WIDTH}.{WHO_WIDTH}}", "$text-muted"), " ", item.text]
        row = Content.assemble(*parts)
        if cursor and self.has_focus:
            row = row.stylize("reverse")
        return row

    def on_focus(self) -> None:
        self._paint()

    def on_blur(self) -> None:
        self._paint()

    # ------------------------------------------------------------- keys

    def action_move(self, delta: int) -> None:
        count = self._count()
        if not count:
            return
        self._cursor = self._clamped(self._clamped(self._cursor, count) + delta, count)
        self._follow = self._cursor == (0 if self.newest_first else count - 1)
        self._paint()

    def action_edge(self, newest: int) -> None:
        last = max(self._count() - 1, 0)
        # the newest entry is at the top when newest first, else at the bottom
        self._cursor = (0 if self.newest_first else last) if newest else (
            last if self.newest_first else 0)
        self._follow = bool(newest)
        self._paint()

    def action_filter(self) -> None:
        self.view = VIEWS[(VIEWS.index(self.view) + 1) % len(VIEWS)]
        self._index, self._indexed = [], 0
        self._follow = True
        self._subtitle()
        self._paint()

    def action_order(self) -> None:
        count = self._count()
        if count:
            self._cursor = count - 1 - self._clamped(self._cursor, count)
        self.newest_first = not self.newest_first
        self._subtitle()
        self._paint()

    def action_pin(self) -> None:
        item = self.selected
        if item is None:
            return
        if isinstance(item, CockpitMessage):
            self.post_message(self.PinRequested(self, None, True))
            return
        self.post_message(self.PinRequested(self, item.seq,
                                            not self._timeline.is_pinned(item.seq)))
