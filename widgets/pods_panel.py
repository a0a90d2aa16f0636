"""Pods: a row per deployment, then the problem pods, then the rest, in a virtualised list.

A cluster can hold 20,000 pods and the source answers every second. Nothing here walks
them on the event loop: :class:`RowBuilder` turns a snapshot into display rows (in a
thread worker when the snapshot is large), and :class:`PodsList` (a Line API
``ScrollView``) draws only the rows on screen and, when new rows arrive, refreshes only
the cells of the visible rows that differ. A snapshot that changes nothing visible
issues no refresh at all.

Rows are keyed ``namespace/name``; a key a source sends twice is logged once and both
rows are shown (the second key disambiguated), never a crash.

Later, a ``/`` filter and sort keys slot into :meth:`RowBuilder.build` (``order``):
the list only ever displays the rows it is given.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar, Literal

from rich.segment import Segment
from rich.style import Style
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.worker import get_current_worker

from cockpit.domain import ClusterSnapshot, DeploymentInfo, PodInfo
from cockpit.timeline.sanitize import needs_sanitizing, sanitize_text
from widgets.source_panel import SourcePanel, format_age

log = logging.getLogger(__name__)

#: Column headings, left to right. The first column names a deployment or a pod.
COLUMNS = ("NAME", "REV", "VERSION", "READY", "RESTARTS", "STATUS", "AGE")
#: Snapshots with more pods than this are turned into rows in a thread worker.
SYNC_LIMIT = 2000
#: The longest text kept for one cell (a Kubernetes name is at most 253 characters).
CELL_LIMIT = 253

RowKind = Literal["deployment", "pod"]
Tone = Literal["", "ok", "warn", "bad"]


def _clean(text: str) -> str:
    """One line of inert, bounded text (the poller neutralises strings already; this
    panel does not rely on it)."""
    if needs_sanitizing(text) or len(text) > CELL_LIMIT:
        text = sanitize_text(text, limit=CELL_LIMIT)
    if "\n" in text or "\t" in text:
        text = text.replace("\n", " ").replace("\t", " ")
    return text


@dataclass(frozen=True, slots=True)
class PodRow:
    """One line of the list as display text: a deployment's summary or a pod.

    ``cells`` follow :data:`COLUMNS`; ``tones`` colour them (colour only repeats the
    words); ``short_status`` is what STATUS shows when the full text does not fit.
    """

    kind: RowKind
    deployment: str
    pod: str | None
    cells: tuple[str, str, str, str, str, str, str]
    tones: tuple[Tone, Tone, Tone, Tone, Tone, Tone, Tone]
    short_status: str = ""


@dataclass(frozen=True)
class CursorRow:
    """What the cursor is on: a deployment (``pod`` None) or one of its pods.

    ``key`` is the row's unique key: ``namespace/name`` for a pod (``#2``... appended to
    a duplicate), ``deployment namespace/name`` for a deployment."""

    key: str
    kind: RowKind
    deployment: str
    pod: str | None


@lru_cache(maxsize=8192)
def pod_row(pod: PodInfo) -> PodRow:
    """A pod's display row (made for the rows on screen only, and remembered)."""
    name = _clean(pod.name)
    phase = _clean(pod.phase)
    reason = _clean(pod.reason)
    status = f"{phase} {reason}" if reason else phase
    bad = pod.restarts > 0 or phase in ("Failed", "Unknown")
    return PodRow(
        "pod", _clean(pod.deployment), name,
        (name, f"r{pod.revision}", _clean(pod.version),
         "1/1" if pod.ready else "0/1 NOT READY", str(pod.restarts), status,
         format_age(pod.age_s)),
        ("", "", "", "ok" if pod.ready else "warn", "bad" if pod.restarts else "",
         "bad" if bad else ("warn" if is_problem(pod) else ""), ""),
        reason or phase,
    )


def deployment_row(dep: DeploymentInfo, problems: int, restarts: int) -> PodRow:
    """A deployment's summary: ready/desired (ROLLING while incomplete), revision,
    version, the restarts and the problem pods among its pods."""
    name = _clean(dep.name)
    complete = dep.ready >= dep.desired and dep.updated >= dep.desired
    ready = f"{dep.ready}/{dep.desired}" + ("" if complete else " ROLLING")
    status = _plural(problems, "PROBLEM") if problems else "OK"
    return PodRow(
        "deployment", name, None,
        (name, f"r{dep.revision}", _clean(dep.version), ready, str(restarts), status, ""),
        ("ok", "", "", "ok" if complete else "warn", "bad" if restarts else "",
         "warn" if problems else "ok", ""),
        status,
    )


class PodRows:
    """What the list shows for one snapshot: the deployments' rows, then the pods in
    display order, with unique keys. Pod rows' text is made only for the rows drawn."""

    def __init__(self, namespace: str = "", deployments: Sequence[PodRow] = (),
                 deployment_keys: Sequence[str] = (), pods: Sequence[PodInfo] = (),
                 pod_keys: Sequence[str] = (), name_width: int = 0, problems: int = 0) -> None:
        self.namespace = namespace
        self.deployments = tuple(deployments)
        self.pods = pods
        self.name_width = name_width
        """The NAME column's natural width (from the deployments' names, not every pod)."""
        self.problems = problems
        self._keys = (tuple(f"deployment {namespace}/{key}" for key in deployment_keys),
                      pod_keys)
        # made here, where the rows are built (a worker thread for a large snapshot):
        # the loop only looks keys up
        d = len(self.deployments)
        self._index = dict(zip(pod_keys, range(d, d + len(pods)), strict=True))
        self._deployment_index = {key: i for i, key in enumerate(self._keys[0])}

    def __len__(self) -> int:
        return len(self.deployments) + len(self.pods)

    def entry(self, i: int) -> PodRow | PodInfo:
        """What row ``i`` is drawn from (compared, never formatted, to find changes)."""
        d = len(self.deployments)
        return self.deployments[i] if i < d else self.pods[i - d]

    def row(self, i: int) -> PodRow:
        """Row ``i`` as display text."""
        entry = self.entry(i)
        return entry if isinstance(entry, PodRow) else pod_row(entry)

    def key(self, i: int) -> str:
        """Row ``i``'s unique key."""
        d = len(self.deployments)
        return self._keys[0][i] if i < d else f"{self.namespace}/{self._keys[1][i - d]}"

    def index(self, key: str) -> int | None:
        """Where the row keyed ``key`` is, if it is."""
        if key in self._deployment_index:
            return self._deployment_index[key]
        prefix = f"{self.namespace}/"
        return self._index.get(key[len(prefix):]) if key.startswith(prefix) else None


class Busy:
    """What :meth:`RowBuilder.build` answers the event loop while a worker is building."""


BUSY = Busy()


def is_problem(pod: PodInfo) -> bool:
    """Whether a pod needs a look: not ready, restarted, not Running, or with a reason."""
    return (not pod.ready) or pod.restarts > 0 or pod.phase != "Running" or bool(pod.reason)


Order = Callable[[Sequence[PodInfo], Sequence[bool]], list[PodInfo]]


def problems_first(pods: Sequence[PodInfo], problem: Sequence[bool]) -> list[PodInfo]:
    """The default order: problem pods, then the rest, each in the source's order."""
    return ([pod for pod, bad in zip(pods, problem, strict=True) if bad]
            + [pod for pod, bad in zip(pods, problem, strict=True) if not bad])


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}S"


class RowBuilder:
    """Turns cluster snapshots into :class:`PodRows`; safe to call from a worker thread.

    The work per pod is a problem flag, a place in the order and a key; the text of a
    row is made only when it is drawn. Duplicate keys are logged once each.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: ClusterSnapshot | None = None
        self._logged: set[tuple[str, str]] = set()

    def build(self, snapshot: ClusterSnapshot, order: Order = problems_first,
              cancelled: Callable[[], bool] = lambda: False,
              wait: bool = True) -> PodRows | None | Busy:
        """The rows for ``snapshot``, or None when it equals the last one built (or the
        build was cancelled because a newer snapshot is on its way).

        With ``wait`` False (the event loop), :data:`BUSY` when a worker is building:
        the loop never waits for one."""
        if not self._lock.acquire(blocking=wait):
            return BUSY
        try:
            if self._last is not None and (snapshot is self._last or snapshot == self._last):
                return None
            rows = self._build(snapshot, order, cancelled)
            if rows is not None:
                self._last = snapshot
            return rows
        finally:
            self._lock.release()

    def _unique(self, kind: str, namespace: str, names: list[str]) -> list[str]:
        """``names`` with the second and later copies of a name made unique (``#2``...)."""
        if len(set(names)) == len(names):
            return names
        seen: set[str] = set(names)
        counts: dict[str, int] = {}
        out = []
        for name in names:
            n = counts.get(name, 0) + 1
            counts[name] = n
            if n == 1:
                out.append(name)
                continue
            key = f"{namespace}/{name}"
            if (kind, key) not in self._logged:
                self._logged.add((kind, key))
                log.warning("pods: duplicate %s key %r: both rows shown", kind, key)
            while f"{name}#{n}" in seen:
                n += 1
            counts[name] = n
            seen.add(f"{name}#{n}")
            out.append(f"{name}#{n}")
        return out

    def _build(self, snapshot: ClusterSnapshot, order: Order,
               cancelled: Callable[[], bool]) -> PodRows | None:
        pods = snapshot.pods
        problem = [(not p.ready) or p.restarts > 0 or p.phase != "Running" or p.reason != ""
                   for p in pods]
        if cancelled():
            return None
        problems: dict[str, list[int]] = {}  # deployment -> [problem pods, restarts]
        for pod, bad in zip(pods, problem, strict=True):
            if bad:  # restarted pods are problem pods: their restarts are all there are
                counts = problems.setdefault(pod.deployment, [0, 0])
                counts[0] += 1
                counts[1] += pod.restarts
        ordered = order(pods, problem)
        if cancelled():
            return None
        namespace = snapshot.namespace
        deployments = [deployment_row(dep, *problems.get(dep.name, (0, 0)))
                       for dep in snapshot.deployments]
        dep_keys = self._unique("deployment", namespace, [d.name for d in snapshot.deployments])
        pod_keys = self._unique("pod", namespace, [pod.name for pod in ordered])
        if deployments:
            # a pod is named {deployment}-{10-character template hash}-{5-character suffix}
            width = max(len(row.cells[0]) for row in deployments) + 17
        else:
            width = max((len(name) for name in pod_keys[:1000]), default=4)
        return PodRows(_clean(namespace), deployments, dep_keys, ordered, pod_keys, width,
                       sum(problem))


# ---------------------------------------------------------------- drawing

_TONES: dict[Tone, Style] = {
    "": Style(),
    "ok": Style(color="green"),
    "warn": Style(color="yellow", bold=True),
    "bad": Style(color="red", bold=True),
}
#: Column widths but NAME and STATUS, which share what is left; and the gap between.
_FIXED = {"REV": 4, "VERSION": 8, "READY": 13, "RESTARTS": 8, "AGE": 6}
_FIXED_NARROW = {"REV": 3, "VERSION": 6, "READY": 13, "RESTARTS": 3, "AGE": 6}
_GUTTER = 1  # the cursor marker: state in a character, not a colour
_PLAIN: tuple[Tone, ...] = ("", "", "", "", "", "", "")


def layout(width: int, name_width: int) -> tuple[tuple[int, int], ...]:
    """``(x, width)`` of each column of :data:`COLUMNS` for a list ``width`` cells wide.

    Cheap (a function of two numbers), so it runs per frame, never per pod. Below 100
    cells the fixed columns narrow (RESTARTS reads RST) so STATUS keeps a useful width.
    """
    fixed = _FIXED if width >= 100 else _FIXED_NARROW
    gaps = len(COLUMNS) - 1
    rest = max(0, width - _GUTTER - gaps - sum(fixed.values()))
    # STATUS keeps 17 cells where it can: "ContainerCreating", "CrashLoopBackOff" whole
    name = max(8, min(name_width, rest - 17, rest * 3 // 5)) if rest > 24 else max(4, rest // 2)
    status = max(0, rest - name)
    widths = {"NAME": name, "STATUS": status, **fixed}
    out = []
    x = _GUTTER
    for column in COLUMNS:
        out.append((x, widths[column]))
        x += widths[column] + 1
    return tuple(out)


def headings(width: int) -> tuple[str, ...]:
    """The column headings for a list ``width`` cells wide (narrow: VER, RST)."""
    if width >= 100:
        return COLUMNS
    return tuple({"VERSION": "VER", "RESTARTS": "RST"}.get(c, c) for c in COLUMNS)


def fit(text: str, width: int, *, middle: bool = False) -> str:
    """``text`` cut to ``width`` cells with an ellipsis; ``middle`` keeps the end (a pod's
    suffix is what tells it apart)."""
    if len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    if middle and width >= 8:
        tail = min(6, width // 2)
        return text[: width - tail - 1] + "…" + text[-tail:]
    return text[: width - 1] + "…"


class PodsList(ScrollView, can_focus=True):
    """The rows of :class:`PodRows`, a line each under a column heading; only the lines
    on screen are drawn, and only the cells that change are refreshed."""

    class CursorMoved(Message):
        """The row under the cursor changed (``row`` None: the list is empty);
        handled as ``on_pods_list_cursor_moved``."""

        def __init__(self, row: CursorRow | None) -> None:
            super().__init__()
            self.row = row

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "cursor_to(0)", "First", show=False),
        Binding("end", "cursor_to(-1)", "Last", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {"pods-list--header", "pods-list--cursor"}

    DEFAULT_CSS = """
    PodsList {
        height: 1fr;
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
        background: $surface;
    }
    PodsList > .pods-list--header { text-style: bold; color: $text-muted; }
    PodsList > .pods-list--cursor { background: $panel-lighten-1; text-style: bold; }
    PodsList:focus > .pods-list--cursor { background: $accent 50%; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._data = PodRows()
        self._cursor = 0
        self._cursor_key: str | None = None
        self._layout: tuple[int, tuple[tuple[int, int], ...]] = (-1, ())
        self.refreshed_regions = 0
        """Regions this list asked to repaint (what tests watch: unchanged rows cost 0)."""

    # ------------------------------------------------------------- state

    @property
    def rows(self) -> PodRows:
        """Every row, top first (most are never drawn)."""
        return self._data

    @property
    def cursor_row(self) -> CursorRow | None:
        """The row under the cursor, or None when there are no rows."""
        data = self._data
        if not len(data):
            return None
        row = data.row(self._cursor)
        return CursorRow(data.key(self._cursor), row.kind, row.deployment, row.pod)

    @property
    def cursor_index(self) -> int:
        """The cursor's position in :attr:`rows`."""
        return self._cursor

    def show_rows(self, data: PodRows) -> None:
        """Show ``data``: the cursor stays on the same row (by key), the view stays put
        unless the cursor would leave it, and only the visible cells that changed are
        refreshed."""
        old, old_cursor, old_top = self._data, self._cursor, self._top
        old_key = self._cursor_key
        self._data = data
        count = len(data)
        found = data.index(old_key) if old_key is not None else None
        cursor = found if found is not None else min(old_cursor, max(count - 1, 0))
        self._cursor = cursor
        self._cursor_key = data.key(cursor) if count else None
        if len(old) != count:
            self.virtual_size = Size(self._view.width, count + 1)
        if old.name_width != data.name_width:
            self._layout = (-1, ())
            self._refresh(Region(0, 0, self._view.width, self._view.height))
        else:
            self._refresh_changed(old, old_cursor, old_top)
        self._keep_cursor_visible()
        if self._cursor_key != old_key:
            self.post_message(self.CursorMoved(self.cursor_row))

    @property
    def _view(self) -> Size:
        # the cells rows are drawn in: the widget less its scrollbar
        return self.scrollable_content_region.size

    @property
    def _top(self) -> int:
        return round(self.scroll_y)

    @property
    def _page(self) -> int:
        return max(1, self._view.height - 1)

    def _columns(self) -> tuple[tuple[int, int], ...]:
        width = self._view.width
        if self._layout[0] != width:
            self._layout = (width, layout(width, self._data.name_width))
        return self._layout[1]

    def _refresh(self, region: Region) -> None:
        self.refreshed_regions += 1
        self.refresh(region)

    def _refresh_changed(self, old: PodRows, old_cursor: int, old_top: int) -> None:
        """Refresh the cells of the visible lines whose text or cursor marker changed."""
        top, height = self._top, self._view.height
        if height <= 1 or top != old_top:
            return  # nothing visible, or a scroll already repaints it all
        columns = self._columns()
        new = self._data
        for y in range(1, height):
            i = top + y - 1
            cursor_moved = (i == old_cursor) != (i == self._cursor)
            has_old, has_new = i < len(old), i < len(new)
            if not (has_old or has_new):
                break
            if not cursor_moved and has_old and has_new:
                a, b = old.entry(i), new.entry(i)
                if a is b or a == b:
                    continue
            before = old.row(i) if has_old else None
            after = new.row(i) if has_new else None
            if before is None or after is None or cursor_moved or before.tones != after.tones:
                self._refresh(Region(0, y, self._view.width, 1))
                continue
            changed = [c for c in range(len(COLUMNS))
                       if before.cells[c] != after.cells[c]
                       or (c == 5 and before.short_status != after.short_status)]
            if changed:
                start = columns[changed[0]][0]
                x, w = columns[changed[-1]]
                self._refresh(Region(start, y, x + w - start, 1))

    def _keep_cursor_visible(self) -> None:
        count = len(self._data)
        if not count or self._view.height <= 1:
            return
        top, page = self._top, self._page
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False, immediate=True)
        elif self._cursor >= top + page:
            self.scroll_to(y=self._cursor - page + 1, animate=False, immediate=True)

    # ------------------------------------------------------------- keys

    def _move(self, cursor: int) -> None:
        count = len(self._data)
        if not count:
            return
        cursor = max(0, min(cursor, count - 1))
        if cursor == self._cursor:
            return
        old, self._cursor = self._cursor, cursor
        self._cursor_key = self._data.key(cursor)
        top = self._top
        for i in (old, cursor):
            if top <= i < top + self._page:
                self._refresh(Region(0, i - top + 1, self._view.width, 1))
        self._keep_cursor_visible()
        self.post_message(self.CursorMoved(self.cursor_row))

    def action_cursor(self, step: int) -> None:
        self._move(self._cursor + step)

    def action_page(self, direction: int) -> None:
        self._move(self._cursor + direction * self._page)

    def action_cursor_to(self, where: int) -> None:
        self._move(where if where >= 0 else len(self._data) - 1)

    # ------------------------------------------------------------- drawing

    def on_resize(self) -> None:
        self.virtual_size = Size(self._view.width, len(self._data) + 1)
        self._keep_cursor_visible()

    def render_line(self, y: int) -> Strip:
        width = self._view.width
        base = self.rich_style
        if y == 0:
            return self._line(headings(width), _PLAIN, " ",
                              base + self.get_component_rich_style("pods-list--header"), width)
        i = self._top + y - 1
        if i >= len(self._data):
            return Strip.blank(width, base)
        row = self._data.row(i)
        style = base + (Style(bold=True) if row.kind == "deployment" else Style())
        marker = " "
        if i == self._cursor:
            style += self.get_component_rich_style("pods-list--cursor")
            marker = ">"
        return self._line(row.cells, row.tones, marker, style, width, row.short_status)

    def _line(self, cells: Sequence[str], tones: Sequence[Tone], marker: str, style: Style,
              width: int, short_status: str = "") -> Strip:
        columns = self._columns()
        segments = [Segment(marker, style)]
        x = _GUTTER
        for c, ((at, w), text, tone) in enumerate(zip(columns, cells, tones, strict=True)):
            if at > x:
                segments.append(Segment(" " * (at - x), style))
            if c == 5 and len(text) > w and short_status:
                text = short_status
            text = fit(text, w, middle=(c == 0))
            if c in (1, 4):  # numbers right-aligned
                text = text.rjust(w)
            else:
                text = text.ljust(w)
            segments.append(Segment(text, style + _TONES[tone] if tone else style))
            x = at + w
        if x < width:
            segments.append(Segment(" " * (width - x), style))
        return Strip(segments).crop(0, width)


class PodsPanel(SourcePanel):
    """Deployments (revision, version, ready/desired, problems), then problem pods, then
    the rest, keyboard-scrollable; the row under the cursor is :attr:`cursor_row`."""

    PANEL_TITLE = "Pods"

    class HistoryRequested(Message):
        """The operator asked for a deployment's revision history (enter or h on its row);
        the war room opens the history view. Handled as ``on_pods_panel_history_requested``."""

        def __init__(self, deployment: str, namespace: str) -> None:
            super().__init__()
            self.deployment = deployment
            self.namespace = namespace

    class InspectRequested(Message):
        """The operator asked to read a deployment or a pod: ``view`` is ``describe``,
        ``events`` or ``logs``; ``kind`` is ``deployment`` or ``pod``. The war room opens
        the reading view. Handled as ``on_pods_panel_inspect_requested``."""

        def __init__(self, kind: str, name: str, namespace: str, view: str) -> None:
            super().__init__()
            self.kind = kind
            self.name = name
            self.namespace = namespace
            self.view = view

    DEFAULT_CSS = """
    PodsPanel { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._builder = RowBuilder()
        self._last_snapshot: ClusterSnapshot | None = None
        self._rows_asked = 0
        """Snapshots handed to the builder; a built result older than the newest shown is
        dropped (a small snapshot built at once can overtake a large one in a worker)."""
        self._rows_shown = 0
        self._pending: tuple[ClusterSnapshot, int] | None = None
        """The newest snapshot waiting for a worker to build its rows, and its number."""
        self._pending_lock = threading.Lock()

    def compose(self) -> ComposeResult:
        yield PodsList(id="pods-list")

    @property
    def cursor_row(self) -> CursorRow | None:
        """The deployment or pod under the cursor (None before any data)."""
        return self.query_one(PodsList).cursor_row

    def deployment_row(self, name: str) -> PodRow | None:
        """The summary row shown for deployment ``name``, if it is shown."""
        rows = self.query_one(PodsList).rows
        return next((row for row in rows.deployments if row.deployment == name), None)

    def show_snapshot(self, snapshot: object) -> None:
        assert isinstance(snapshot, ClusterSnapshot)
        if snapshot is self._last_snapshot:
            return
        self._last_snapshot = snapshot
        self._rows_asked += 1
        if len(snapshot.pods) <= SYNC_LIMIT:
            rows = self._builder.build(snapshot, wait=False)
            if not isinstance(rows, Busy):
                self._show(self._rows_asked, rows)
                return
        # thousands of pods (or a build still running): rows built in a thread and
        # posted back; a newer snapshot cancels a build still running. The snapshot is
        # handed over in an attribute, not as the worker's argument: a finished Worker
        # sits in a reference cycle (its task's context holds it), so an argument lived
        # on until a full garbage collection, 20,000 PodInfo objects per snapshot piling
        # up and every full collection (tens of ms, the GIL held) walking them.
        with self._pending_lock:
            self._pending = (snapshot, self._rows_asked)
        self._build_rows()

    def _take_pending(self) -> tuple[ClusterSnapshot, int] | None:
        with self._pending_lock:
            pending, self._pending = self._pending, None
        return pending

    def _show(self, asked: int, rows: PodRows | None) -> None:
        if asked <= self._rows_shown:
            return  # a newer snapshot is on screen already
        self._rows_shown = asked
        if rows is not None:
            self.query_one(PodsList).show_rows(rows)

    # a description of its own: by default @work repr()s its arguments, on the loop, and
    # the repr of a 20,000-pod snapshot took 200 ms
    @work(thread=True, exclusive=True, group="pods-rows", description="pods rows")
    def _build_rows(self) -> None:
        worker = get_current_worker()
        pending = self._take_pending()
        if pending is None:
            return  # a newer worker took it
        snapshot, asked = pending
        # given up only for a newer snapshot still waiting (the worker that takes it
        # builds it): a worker cancelled after it took the newest one builds that one
        rows = self._builder.build(
            snapshot, cancelled=lambda: worker.is_cancelled and self._pending is not None)
        # rows once built are always posted: the builder compares the next snapshot
        # with this one, so they must reach the screen even if a newer one is coming
        if isinstance(rows, PodRows):
            self.post_message(self.RowsBuilt(asked, rows))

    class RowsBuilt(Message):
        """Rows built off the event loop, ready to show."""

        def __init__(self, asked: int, rows: PodRows) -> None:
            super().__init__()
            self.asked = asked
            self.rows = rows

    def on_pods_panel_rows_built(self, message: RowsBuilt) -> None:
        message.stop()
        self._show(message.asked, message.rows)
