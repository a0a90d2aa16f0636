"""Rows of styled text that repaint only the cells that changed.

Textual repaints a widget's whole region when it is updated, and writes every styled
segment of it with its full colour codes: a panel whose one number changed costs the
bytes of the whole panel. :class:`Lines` keeps the rows it shows, compares new rows
with them, and refreshes only the span of cells that differs on each changed row (the
Line API's region refresh), so a clock that ticks costs the digits that changed.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.content import Content
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.visual import Visual
from textual.widget import Widget

Row = Content | str


def _cells(strip: Strip) -> list[tuple[str, Style | None]]:
    cells: list[tuple[str, Style | None]] = []
    for text, style, _ in strip:
        for char in text:
            cells.append((char, style))
            if cell_len(char) == 2:
                cells.append(("", style))
    return cells


def changed_span(before: Strip, after: Strip) -> tuple[int, int] | None:
    """The cells ``[start, end)`` where two rendered rows differ; ``None`` if none do."""
    old, new = _cells(before), _cells(after)
    if old == new:
        return None
    length = max(len(old), len(new))
    start = 0
    while start < min(len(old), len(new)) and old[start] == new[start]:
        start += 1
    end_old, end_new = len(old), len(new)
    while end_old > start and end_new > start and old[end_old - 1] == new[end_new - 1]:
        end_old -= 1
        end_new -= 1
    return start, max(end_old, end_new, start + 1) if length else start + 1


class Lines(Widget):
    """A few rows of :class:`~textual.content.Content`, one per line, cropped to the width.

    :meth:`show_rows` replaces the rows and returns whether anything on screen changed; rows
    equal to those shown issue no refresh at all. A change in the number of rows is the
    only one that lays the screen out again.
    """

    DEFAULT_CSS = """
    Lines { height: auto; width: 1fr; }
    """

    def __init__(self, rows: Sequence[Row] = (), *, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._rows: list[Content] = [self._content(row) for row in rows]
        self._strips: dict[int, Strip] = {}
        self._strip_width = -1
        self.refreshes = 0
        """How many times :meth:`show_rows` asked for a repaint (what tests watch)."""

    @staticmethod
    def _content(row: Row) -> Content:
        return Content(row) if isinstance(row, str) else row

    @property
    def rows(self) -> tuple[Content, ...]:
        """The rows shown, top first."""
        return tuple(self._rows)

    @property
    def plain(self) -> str:
        """The rows as plain text, a line each."""
        return "\n".join(row.plain for row in self._rows)

    def show_rows(self, rows: Sequence[Row]) -> bool:
        """Show ``rows``; repaints only the cells that differ. True when something did."""
        new = [self._content(row) for row in rows]
        old = self._rows
        if len(new) != len(old):
            self._rows = new
            self._strips.clear()
            self.refreshes += 1
            self.refresh(layout=True)
            return True
        changed = [y for y, (a, b) in enumerate(zip(old, new, strict=True)) if not a.is_same(b)]
        if not changed:
            return False
        if not self.is_mounted or self.size.width <= 0:
            self._rows = new
            self._strips.clear()
            self.refreshes += 1
            self.refresh()
            return True
        regions: list[Region] = []
        for y in changed:
            before = self.render_line(y)
            self._rows[y] = new[y]
            self._strips.pop(y, None)
            span = changed_span(before, self.render_line(y))
            if span is not None:
                regions.append(Region(span[0], y, span[1] - span[0], 1))
        if not regions:
            return False
        self.refreshes += 1
        self.refresh(*regions)
        return True

    def render(self) -> Content:
        # what str(widget.render()) says (tests, selection); drawing is render_line's
        return Content("\n").join(self._rows)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._rows)

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return max((row.cell_length for row in self._rows), default=0)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if width != self._strip_width:
            self._strips.clear()
            self._strip_width = width
        strip = self._strips.get(y)
        if strip is None:
            if y < len(self._rows) and width > 0:
                row = self._rows[y]
                if row.cell_length > width:  # crop, never wrap: a row stays a row
                    row = row.truncate(width, ellipsis=True)
                rendered = Visual.to_strips(self, row, width, 1, self.visual_style, pad=True)
                strip = rendered[0] if rendered else Strip.blank(width)
                strip = strip.crop_extend(0, width, self.visual_style.rich_style)
            else:
                strip = Strip([Segment(" " * max(width, 0), self.visual_style.rich_style)])
            self._strips[y] = strip
        return strip

    def notify_style_update(self) -> None:
        # a class change (stale, breach) restyles the rows: draw them again
        super().notify_style_update()
        self._strips.clear()
