"""The differential writer: the terminal ends up showing exactly what Textual's own writes
would have shown, for a fraction of the bytes."""

from __future__ import annotations

import pyte
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from textual._compositor import ChopsUpdate, LayoutUpdate
from textual.geometry import Region, Size
from textual.strip import Strip

from cockpit.frame import Frame

WIDTH, HEIGHT = 20, 4
STYLES = [Style(color="red", bgcolor="black"), Style(color="green", bold=True),
          Style(reverse=True), Style()]


def console() -> Console:
    return Console(color_system="truecolor", force_terminal=True, width=WIDTH)


def strip(text: str, style: int) -> Strip:
    return Strip([Segment(text, STYLES[style])])


def screen() -> tuple[pyte.Screen, pyte.ByteStream]:
    term = pyte.Screen(WIDTH, HEIGHT)
    return term, pyte.ByteStream(term)


def picture(term: pyte.Screen) -> list[list[tuple[object, ...]]]:
    return [[tuple(term.buffer[y][x]) for x in range(WIDTH)] for y in range(HEIGHT)]


def full(rows: list[str], style: int = 3) -> LayoutUpdate:
    return LayoutUpdate([[strip(row.ljust(WIDTH)[:WIDTH], style)] for row in rows],
                        Size(WIDTH, HEIGHT).region)


def chops(rows: list[list[tuple[str, int]]], spans: list[tuple[int, int, int]]) -> ChopsUpdate:
    """Each row: the pieces (text, style) of its two widgets, cut at column 10."""
    lines = []
    for pieces in rows:
        line = {}
        x = 0
        for text, style in pieces:
            line[x] = strip(text, style)
            x += len(text)
        lines.append(line)
    return ChopsUpdate(lines, spans, [[10, WIDTH] for _ in rows])


def test_a_ticking_digit_costs_the_digit_not_the_row() -> None:
    frame, out = Frame(), console()
    size = Size(WIDTH, HEIGHT)
    frame.render(full(["T+00:00:01  header", "", "", ""]), size, out)
    rows = [[("T+00:00:02", 3), ("  header  ", 3)]] + [[(" " * 10, 3), (" " * 10, 3)]] * 3
    update = chops(rows, [(0, 0, 20)])
    ours = frame.render(update, size, out).render_segments(out)
    textual = update.render_segments(out)
    assert "T+00:00:0" not in ours and "2" in ours
    assert len(ours) < len(textual) / 3


def test_nothing_changed_writes_nothing() -> None:
    frame, out = Frame(), console()
    size = Size(WIDTH, HEIGHT)
    frame.render(full(["abc", "def", "", ""]), size, out)
    rows = [[("abc".ljust(10), 3), (" " * 10, 3)], [("def".ljust(10), 3), (" " * 10, 3)]] + \
        [[(" " * 10, 3), (" " * 10, 3)]] * 2
    assert frame.render(chops(rows, [(0, 0, 20), (1, 0, 20)]), size, out) \
        .render_segments(out) == ""


def test_a_new_size_is_written_whole_and_learnt() -> None:
    frame, out = Frame(), console()
    frame.render(full(["abc", "", "", ""]), Size(WIDTH, HEIGHT), out)
    update = chops([[("x" * 10, 3), ("y" * 10, 3)]] * HEIGHT, [(0, 0, 20)])
    assert frame.render(update, Size(WIDTH + 1, HEIGHT), out) is update  # not known: Textual's


pieces = st.lists(st.tuples(st.text("ab #", min_size=10, max_size=10), st.integers(0, 3),
                            st.text("xy -", min_size=10, max_size=10), st.integers(0, 3)),
                  min_size=HEIGHT, max_size=HEIGHT)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(pieces, st.lists(st.tuples(st.integers(0, HEIGHT - 1),
                                                    st.integers(0, 19), st.integers(1, 20)),
                                          min_size=1, max_size=4)), min_size=1, max_size=6))
def test_the_terminal_shows_what_textual_would_have_written(updates: list) -> None:  # type: ignore[type-arg]
    frame, out = Frame(), console()
    size = Size(WIDTH, HEIGHT)
    theirs, theirs_stream = screen()
    ours, ours_stream = screen()
    first = full(["start", "", "", ""])
    theirs_stream.feed(first.render_segments(out).encode())
    ours_stream.feed(frame.render(first, size, out).render_segments(out).encode())
    for rows, raw_spans in updates:
        spans = sorted({(y, min(x1, x2 - 1), x2) for y, x1, x2 in raw_spans if x2 > x1}
                       or {(0, 0, 20)})
        update = chops([[(a, s1), (b, s2)] for a, s1, b, s2 in rows], spans)
        theirs_stream.feed(update.render_segments(out).encode())
        ours_stream.feed(frame.render(update, size, out).render_segments(out).encode())
        assert picture(ours) == picture(theirs)


def test_a_partial_layout_update_is_written_as_textual_writes_it_and_the_frame_relearns() -> None:
    frame, out = Frame(), console()
    size = Size(WIDTH, HEIGHT)
    frame.render(full(["one", "two", "three", "four"]), size, out)
    part = LayoutUpdate([[strip("TWO".ljust(10), 1)], [strip("three".ljust(10), 3)]],
                        Region(0, 1, 10, 2))
    assert frame.render(part, size, out) is part
    rows = [[("x" * 10, 3), ("y" * 10, 3)]] * HEIGHT
    chopped = chops(rows, [(0, 0, 20)])
    assert frame.render(chopped, size, out) is chopped  # not known now: Textual's own
    frame.render(full(["one", "two", "three", "four"]), size, out)  # a full repaint teaches
    assert frame.render(chopped, size, out) is not chopped


def test_a_full_repaint_is_always_written_whole() -> None:
    frame, out = Frame(), console()
    size = Size(WIDTH, HEIGHT)
    frame.render(full(["war room", "", "", ""]), size, out)
    assert "war room" in frame.render(full(["war room", "", "", ""]), size, out) \
        .render_segments(out)
