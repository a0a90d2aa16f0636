"""A differential writer: what reaches the terminal is only the cells that changed.

Textual repaints by regions: a widget that refreshed has its lines written again from
the widget's left edge, every styled segment with its full colour codes, whether or not
its cells changed (a ticking digit at the right of a row costs the row). Over SSH on a
slow link that is most of the traffic. :class:`Frame` keeps the screen as last written,
cell by cell, as curses does, and turns each of Textual's updates into the shortest
writes that bring the terminal to the same picture: cursor moves to the runs of cells
that differ, and a style code only where the style changes.

A full repaint (the first frame, a new size, a screen pushed or popped, the cockpit back
from a suspend, when the terminal may have been cleared or written over) is written as
Textual writes it and becomes the new frame. Any other kind of update (a partial layout
update) is written as Textual writes it too, and the frame forgets the picture until the
next full repaint: diffing those was measured to leave stale cells in tmux (a toast that
stayed on screen), and they are rare.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.cells import cell_len
from rich.color import ColorSystem
from rich.console import Console
from rich.style import Style
from textual._compositor import ChopsUpdate, CompositorUpdate, LayoutUpdate
from textual.geometry import Size
from textual.strip import Strip

#: Unchanged cells between two changed runs below which one write covers both (moving
#: the cursor costs about as many bytes as rewriting a few plain cells).
JOIN_GAP = 4

Cell = tuple[str, str]
"""A screen cell: its character ("" for the right half of a wide one) and its SGR codes."""

_BLANK: Cell = (" ", "")


class _Written(CompositorUpdate):
    """An update already turned into terminal bytes."""

    def __init__(self, text: str) -> None:
        self.text = text

    def render_segments(self, console: Console) -> str:
        return self.text

    def __rich_console__(self, console: object, options: object) -> Iterable[object]:
        return iter(())  # only ever written through render_segments


class Frame:
    """The terminal's picture as last written, and the writer that keeps it so."""

    def __init__(self) -> None:
        self.size = Size(0, 0)
        self._cells: list[list[Cell]] = []
        self._codes: dict[Style, str] = {}
        self.written = 0
        """Bytes written through this frame (what a test or the bench can read)."""

    def invalidate(self) -> None:
        """Forget the picture: the next update is written whole."""
        self.size = Size(0, 0)
        self._cells = []

    # ----------------------------------------------------------------- cells

    def _code(self, style: Style | None, system: ColorSystem | None) -> str:
        if style is None:
            return ""
        code = self._codes.get(style)
        if code is None:
            if len(self._codes) > 4096:  # styles carry per-segment metadata: bound it
                self._codes.clear()
            # as Rich renders it: no colour system, no codes at all
            code = style._make_ansi_codes(system) if system is not None else ""  # noqa: SLF001
            self._codes[style] = code
        return code

    def _line_cells(self, strips: Iterable[Strip], system: ColorSystem | None) -> list[Cell]:
        cells: list[Cell] = []
        for strip in strips:
            for text, style, control in strip:
                if control:
                    continue
                code = self._code(style, system)
                for char in text:
                    cells.append((char, code))
                    if cell_len(char) == 2:
                        cells.append(("", code))
        return cells

    # ---------------------------------------------------------------- writes

    def render(self, update: CompositorUpdate, screen_size: Size,
               console: Console) -> CompositorUpdate:
        """The update to write instead of ``update``: the changed cells only, once the
        frame knows the screen; ``update`` itself when it does not (and then it does)."""
        system = console._color_system  # noqa: SLF001 - what Textual renders with
        full = isinstance(update, LayoutUpdate) and update.region == screen_size.region
        if full:
            assert isinstance(update, LayoutUpdate)
            self._learn(update, screen_size, system)
            text = update.render_segments(console)
            self.written += len(text)
            return _Written(text)
        if self.size == screen_size and isinstance(update, ChopsUpdate):
            return self._diff(self._chops_lines(update, system))
        # the picture is not known (a new size) or the update is of a kind the frame does
        # not read: written as Textual would, and the next full repaint teaches the frame
        self.invalidate()
        return update

    def _learn(self, update: LayoutUpdate, size: Size, system: ColorSystem | None) -> None:
        self.size = size
        self._cells = [[_BLANK] * size.width for _ in range(size.height)]
        for y, x, cells in self._layout_lines(update, system):
            self._store(y, x, cells)

    def _store(self, y: int, x: int, cells: list[Cell]) -> None:
        if 0 <= y < self.size.height:
            row = self._cells[y]
            end = min(self.size.width, x + len(cells))
            row[x:end] = cells[: end - x]

    def _layout_lines(self, update: LayoutUpdate,
                      system: ColorSystem | None) -> list[tuple[int, int, list[Cell]]]:
        x = update.region.x
        return [(y, x, self._line_cells(line, system))
                for y, line in enumerate(update.strips, update.region.y)]

    def _chops_lines(self, update: ChopsUpdate,
                     system: ColorSystem | None) -> list[tuple[int, int, list[Cell]]]:
        # exactly the cells Textual's own writer would send for this update (each chop
        # touching a span, from the chop's left edge to the span's end or the chop's)
        lines = []
        for y, x1, x2 in update.spans:
            for end, (x, strip) in zip(update.chop_ends[y], update.chops[y].items(),
                                       strict=False):
                if strip is None or x > x2 or end <= x1:
                    continue
                if not (x2 > x >= x1 and end <= x2):
                    strip = strip.crop(0, min(end, x2) - x)
                lines.append((y, x, self._line_cells((strip,), system)))
        return lines

    def _diff(self, lines: list[tuple[int, int, list[Cell]]]) -> _Written:
        out: list[str] = []
        current = ""  # the SGR codes in force: none (every write ends with a reset)
        for y, x, cells in lines:
            if not 0 <= y < self.size.height:
                continue
            row = self._cells[y]
            runs: list[list[int]] = []
            for offset, cell in enumerate(cells):
                column = x + offset
                if column >= self.size.width:
                    break
                if row[column] != cell:
                    if runs and column - runs[-1][1] <= JOIN_GAP:
                        runs[-1][1] = column + 1
                    else:
                        runs.append([column, column + 1])
            for start, end in runs:
                # never start or end inside a wide character
                while start > x and cells[start - x][0] == "":
                    start -= 1
                while end < x + len(cells) and cells[end - x][0] == "":
                    end += 1
                out.append(f"\x1b[{y + 1};{start + 1}H")
                for column in range(start, end):
                    char, code = cells[column - x]
                    if char == "":
                        continue
                    if code != current:
                        out.append(f"\x1b[0;{code}m" if code else "\x1b[0m")
                        current = code
                    out.append(char)
                row[start:end] = cells[start - x: end - x]
        if current:
            out.append("\x1b[0m")
        text = "".join(out)
        self.written += len(text)
        return _Written(text)

