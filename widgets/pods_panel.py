"""Pods: a row per deployment, then the problem pods, then the rest, in a virtualised list.

A cluster can hold 20,000 pods and the source answers every second. Nothing here walks
them on the event loop: :class:`RowBuilder` turns a snapshot into display rows (in a
thread worker when the snapshot is large), and :class:`PodsList` (a Line API
``ScrollView``) draws only the rows on screen and, when new rows arrive, refreshes only
the cells of the visible rows that differ. A snapshot that changes nothing visible
issues no refresh at all.

Rows are keyed ``namespace/name``; a key a source sends twice is logged once and both
rows are shown (the second key disambiguated), never a crash.

What the operator asked to see is a :class:`PodView`: a ``/`` filter (a term matches a
pod's name, deployment, status, revision or version) and a sort (``R`` restarts, ``A``
age, ``S`` status, again to reverse). :meth:`RowBuilder.build` applies it where the rows
are built (the worker, for a large snapshot); the list only ever displays the rows it is
given, and the panel's title says the filter, how many pods match and the sort in words.
"""

from __future__ import annotations

import dataclasses
import logging
import re
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
from textual.containers import Horizontal
from textual.content import Content
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.timer import Timer
from textual.widgets import Input, Label
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
                 pod_keys: Sequence[str] = (), name_width: int = 0, problems: int = 0,
                 view: PodView | None = None, total_pods: int | None = None) -> None:
        self.namespace = namespace
        self.deployments = tuple(deployments)
        self.pods = pods
        self.name_width = name_width
        """The NAME column's natural width (from the deployments' names, not every pod)."""
        self.problems = problems
        self.view = view if view is not None else PodView()
        """The filter and sort these rows were built with."""
        self.total_pods = len(pods) if total_pods is None else total_pods
        """The snapshot's pods, shown or filtered out."""
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


def problems_first(pods: Sequence[PodInfo], problem: Sequence[bool]) -> list[PodInfo]:
    """The default order: problem pods, then the rest, each in the source's order."""
    return ([pod for pod, bad in zip(pods, problem, strict=True) if bad]
            + [pod for pod, bad in zip(pods, problem, strict=True) if not bad])


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}S"


# ---------------------------------------------------------------- filter and sort

SortKey = Literal["", "restarts", "age", "status"]
#: Each sort: the column it sorts (an index of :data:`COLUMNS`), what it puts first in
#: words (then reversed), and its arrow (then reversed): up for ascending values.
SORTS: dict[str, tuple[int, tuple[str, str], tuple[str, str]]] = {
    "restarts": (4, ("most first", "fewest first"), ("↓", "↑")),
    "age": (6, ("newest first", "oldest first"), ("↑", "↓")),
    "status": (5, ("A to Z", "Z to A"), ("↑", "↓")),
}
#: The longest filter kept (typed or pasted).
FILTER_LIMIT = 100

# r and digits, or a bare number short enough to be a revision (longer: a name's digits)
_REVISION = re.compile(r"r(\d+)|(\d{1,3})")
_VERSION = re.compile(r"v(\d[\w.+-]*)|(\d+\.[\w.+-]*)")


@dataclass(frozen=True, slots=True)
class Term:
    """One word of a filter: a revision (``r3``, or ``3``: a bare number of up to three
    digits), a version (``v2.1.0`` or ``2.1.0``: the leading ``v`` ignored), or text
    found anywhere in a row (a longer number: a name's digits). ``!`` before a word, as
    in k9s, keeps the rows it does not match (``!running``)."""

    text: str
    revision: int | None = None
    version: str | None = None
    negate: bool = False

    @classmethod
    def parse(cls, word: str) -> Term:
        word = word.lower()
        if word.startswith("!") and len(word) > 1:
            return dataclasses.replace(cls.parse(word[1:]), negate=True)
        if (number := _REVISION.fullmatch(word)) is not None:
            return cls(word, revision=int(number.group(1) or number.group(2)))
        if (version := _VERSION.fullmatch(word)) is not None:
            return cls(word, version=version.group(1) or version.group(2))
        return cls(word)

    def matches(self, text: str, revision: int, version: str) -> bool:
        """Whether a row with this ``text`` (lower case), ``revision`` and ``version``
        (lower case, no leading ``v``) matches. A version matches whole components:
        ``2.1`` finds 2.1.0 and 2.1.7, not 2.10.0."""
        if self.revision is not None:
            found = revision == self.revision
        elif self.version is not None:
            wanted = self.version
            found = version.startswith(wanted) and (
                len(version) == len(wanted) or wanted.endswith(".")
                or not version[len(wanted)].isdigit())
        else:
            found = self.text in text
        return found != self.negate


def _bare_version(version: str) -> str:
    version = version.lower()
    return version[1:] if version.startswith("v") else version


@dataclass(frozen=True, slots=True)
class PodView:
    """What the operator asked the list to show: ``filter`` (words that must all match,
    see :class:`Term`) and ``sort`` (``""``: problem pods first, in the source's order).
    Restarts and age keep problem pods first; sorting by status mixes them."""

    filter: str = ""
    sort: SortKey = ""
    reverse: bool = False

    @property
    def terms(self) -> tuple[Term, ...]:
        return tuple(Term.parse(word) for word in self.filter.split())

    @property
    def sort_column(self) -> tuple[int, str] | None:
        """The sorted column (an index of :data:`COLUMNS`) and its arrow."""
        if not self.sort:
            return None
        column, _words, arrows = SORTS[self.sort]
        return column, arrows[self.reverse]

    @property
    def sort_words(self) -> str:
        """``sort: restarts, most first`` (empty: the default order)."""
        if not self.sort:
            return ""
        return f"sort: {self.sort}, {SORTS[self.sort][1][self.reverse]}"


def pod_matches(terms: Sequence[Term], pod: PodInfo, problem: bool) -> bool:
    """Whether every term matches ``pod``: its name, deployment, phase, reason, version,
    ``not ready`` when it is not and ``problem`` when it is one (or its revision)."""
    text = f"{pod.name}\n{pod.deployment}\n{pod.phase}\n{pod.reason}\n{pod.version}".lower()
    if not pod.ready:
        text += "\nnot ready"
    if problem:
        text += "\nproblem"
    version = _bare_version(pod.version)
    return all(term.matches(text, pod.revision, version) for term in terms)


def deployment_matches(terms: Sequence[Term], row: PodRow, dep: DeploymentInfo) -> bool:
    """Whether every term matches a deployment: its name, version, ready and status
    words (``ROLLING``, ``OK``, ``3 PROBLEMS``) or its revision."""
    text = "\n".join((dep.name, dep.version, row.cells[3], row.cells[5])).lower()
    version = _bare_version(dep.version)
    return all(term.matches(text, dep.revision, version) for term in terms)


def arrange(pods: Sequence[PodInfo], problem: Sequence[bool], view: PodView) -> list[PodInfo]:
    """``pods`` in ``view``'s order: problem pods first (but by status), each part
    sorted by the view's column; equal pods keep the source's order."""
    if not view.sort:
        return problems_first(pods, problem)
    reverse = view.reverse
    if view.sort == "status":
        return sorted(pods, key=lambda p: (p.reason or p.phase).lower(), reverse=reverse)
    if view.sort == "restarts":
        def key(p: PodInfo) -> float:
            return p.restarts
        reverse = not reverse  # most first
    else:
        def key(p: PodInfo) -> float:
            return p.age_s
    bad = [pod for pod, flag in zip(pods, problem, strict=True) if flag]
    good = [pod for pod, flag in zip(pods, problem, strict=True) if not flag]
    return sorted(bad, key=key, reverse=reverse) + sorted(good, key=key, reverse=reverse)


class RowBuilder:
    """Turns cluster snapshots into :class:`PodRows`; safe to call from a worker thread.

    The work per pod is a problem flag, a place in the order and a key; the text of a
    row is made only when it is drawn. Duplicate keys are logged once each.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: ClusterSnapshot | None = None
        self._last_view = PodView()
        self._logged: set[tuple[str, str]] = set()

    def build(self, snapshot: ClusterSnapshot, view: PodView = PodView(),  # noqa: B008
              cancelled: Callable[[], bool] = lambda: False,
              wait: bool = True) -> PodRows | None | Busy:
        """The rows for ``snapshot`` filtered and ordered as ``view`` asks, or None when
        both equal the last ones built (or the build was cancelled because a newer
        snapshot or view is on its way).

        With ``wait`` False (the event loop), :data:`BUSY` when a worker is building:
        the loop never waits for one."""
        if not self._lock.acquire(blocking=wait):
            return BUSY
        try:
            if (self._last is not None and view == self._last_view
                    and (snapshot is self._last or snapshot == self._last)):
                return None
            rows = self._build(snapshot, view, cancelled)
            if rows is not None:
                self._last, self._last_view = snapshot, view
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

    def _build(self, snapshot: ClusterSnapshot, view: PodView,
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
        deployments = [deployment_row(dep, *problems.get(dep.name, (0, 0)))
                       for dep in snapshot.deployments]
        shown_deployments = list(range(len(deployments)))
        selected: Sequence[PodInfo] = pods
        terms = view.terms
        if terms:
            keep = [pod_matches(terms, pod, bad) for pod, bad in zip(pods, problem, strict=True)]
            if cancelled():
                return None
            selected = [pod for pod, kept in zip(pods, keep, strict=True) if kept]
            problem = [bad for bad, kept in zip(problem, keep, strict=True) if kept]
            # a deployment's summary stays when it matches or any of its pods does
            with_pods = {pod.deployment for pod in selected}
            shown_deployments = [
                i for i, (row, dep) in enumerate(zip(deployments, snapshot.deployments,
                                                     strict=True))
                if dep.name in with_pods or deployment_matches(terms, row, dep)]
        ordered = arrange(selected, problem, view)
        if cancelled():
            return None
        namespace = snapshot.namespace
        dep_keys = self._unique("deployment", namespace, [d.name for d in snapshot.deployments])
        pod_keys = self._unique("pod", namespace, [pod.name for pod in ordered])
        if deployments:
            # a pod is named {deployment}-{10-character template hash}-{5-character suffix};
            # every deployment's name counts, shown or filtered out: the columns stay put
            width = max(len(row.cells[0]) for row in deployments) + 17
        else:
            width = max((len(name) for name in pod_keys[:1000]), default=4)
        return PodRows(_clean(namespace), [deployments[i] for i in shown_deployments],
                       [dep_keys[i] for i in shown_deployments], ordered, pod_keys, width,
                       sum(problem), view, len(pods))


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
        Binding("up", "cursor(-1)", "Up", show=False, id="pods.up"),
        Binding("down", "cursor(1)", "Down", show=False, id="pods.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="pods.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="pods.page_down"),
        Binding("home", "cursor_to(0)", "First", show=False, id="pods.first"),
        Binding("end", "cursor_to(-1)", "Last", show=False, id="pods.last"),
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
        self._suspect: str | None = None
        self._moved_by_hand = False
        """Whether the operator has moved the cursor: until then it follows the suspect."""
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
        suspect = self._suspect_index(data)
        if suspect is not None and not self._moved_by_hand:
            found = suspect
        cursor = found if found is not None else min(old_cursor, max(count - 1, 0))
        self._cursor = cursor
        self._cursor_key = data.key(cursor) if count else None
        if len(old) != count:
            self.virtual_size = Size(self._view.width, count + 1)
        if old.name_width != data.name_width or old.view != data.view:
            # new columns, or another filter or sort (the heading's arrow, every row)
            self._layout = (-1, ())
            self._refresh(Region(0, 0, self._view.width, self._view.height))
        else:
            self._refresh_changed(old, old_cursor, old_top)
        self._keep_cursor_visible()
        if self._cursor_key != old_key:
            self.post_message(self.CursorMoved(self.cursor_row))

    @property
    def suspect(self) -> str | None:
        """The deployment marked SUSPECT (its revision changed last before the breach)."""
        return self._suspect

    def _suspect_index(self, data: PodRows) -> int | None:
        if self._suspect is None:
            return None
        return next((i for i, row in enumerate(data.deployments)
                     if row.deployment == self._suspect), None)

    def show_suspect(self, deployment: str | None) -> None:
        """Mark ``deployment``'s row SUSPECT (None: no mark); until the operator moves
        the cursor it rests on that row, so the deployment to act on is one key away."""
        if deployment == self._suspect:
            return
        old = self._suspect_index(self._data)
        self._suspect = deployment
        new = self._suspect_index(self._data)
        top = self._top
        for i in {old, new} - {None}:
            assert i is not None
            if top <= i < top + self._page:
                self._refresh(Region(0, i - top + 1, self._view.width, 1))
        if new is not None and not self._moved_by_hand and new != self._cursor:
            self._place(new)

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
        if len(self._data):
            self._moved_by_hand = True
        self._place(cursor)

    def _place(self, cursor: int) -> None:
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
            names = list(headings(width))
            sort = self._data.view.sort_column
            if sort is not None:  # the arrow is a character: the sort is not colour alone
                column, arrow = sort
                w = self._columns()[column][1]
                names[column] = names[column][: max(0, w - 1)] + arrow
            return self._line(names, _PLAIN, " ",
                              base + self.get_component_rich_style("pods-list--header"), width)
        i = self._top + y - 1
        if i >= len(self._data):
            if i == 0 and self._data.view.filter:
                text = f' No pod matches "{self._data.view.filter}": escape clears the filter'
                return Strip([Segment(fit(text, width).ljust(width), base)]).crop(0, width)
            return Strip.blank(width, base)
        row = self._data.row(i)
        if row.kind == "deployment" and row.deployment == self._suspect:
            # in words: the deployment whose revision changed last before the breach
            status = f"{row.cells[5]} SUSPECT"
            row = dataclasses.replace(row, cells=(*row.cells[:5], status, row.cells[6]),
                                      tones=(*row.tones[:5], "warn", row.tones[6]),
                                      short_status="SUSPECT")
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
    the rest, keyboard-scrollable; the row under the cursor is :attr:`cursor_row`.

    Keys on the list: ``/`` filters (live; enter keeps it, escape clears it; see
    :class:`Term` for what a word matches, ``!word`` what it does not), ``R``
    ``A`` ``S`` sort by restarts, age or status (again: reversed), ``h`` (or enter on a
    deployment) asks for the deployment's history, ``i`` ``v`` ``l`` (or enter on a pod)
    ask to describe, read the events of or read the logs of what is under the cursor.
    None of them is one of the app's keys."""

    PANEL_TITLE = "Pods"

    BINDINGS: ClassVar[list[BindingType]] = [
        # no key_display: a key remapped in [keys] is shown as it is mapped
        Binding("slash", "filter", "Filter", id="pods.filter"),
        Binding("escape", "clear_filter", "Clear filter", id="pods.clear_filter"),
        Binding("enter", "open", "Open (history or describe)", show=False, id="pods.open"),
        Binding("h", "history", "History", id="pods.history"),
        Binding("i", "inspect('describe')", "Describe", id="pods.describe"),
        Binding("v", "inspect('events')", "Events", id="pods.events"),
        Binding("l", "inspect('logs')", "Logs", id="pods.logs"),
        Binding("R", "sort('restarts')", "Sort by restarts", show=False,
                id="pods.sort_restarts"),
        Binding("A", "sort('age')", "Sort by age", show=False, id="pods.sort_age"),
        Binding("S", "sort('status')", "Sort by status", show=False, id="pods.sort_status"),
    ]

    #: Above this many pods a filter being typed is applied once typing pauses this long
    #: (seconds): each build of 20,000 pods' rows is a worker's tens of milliseconds.
    DEBOUNCE_S = 0.25

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
    PodsPanel > #pods-filter-bar {
        dock: top;
        height: 1;
        display: none;
        background: $boost;
    }
    PodsPanel > #pods-filter-bar.-open { display: block; }
    PodsPanel > #pods-filter-bar > Label { width: auto; text-style: bold; }
    PodsPanel > #pods-filter-bar > Input {
        border: none;
        height: 1;
        padding: 0;
        width: 1fr;
        background: $boost;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._builder = RowBuilder()
        self._last_snapshot: ClusterSnapshot | None = None
        self._rows_asked = 0
        """Snapshots handed to the builder; a built result older than the newest shown is
        dropped (a small snapshot built at once can overtake a large one in a worker)."""
        self._rows_shown = 0
        self._pending_rows: tuple[ClusterSnapshot, PodView, int] | None = None
        """The newest snapshot waiting for a worker to build its rows, the view to build
        them with, and its number (not SourcePanel's ``_pending``, a draw held back)."""
        self._pending_lock = threading.Lock()
        self._view = PodView()
        """What the operator asked to see (the rows on screen may be a build behind)."""
        self._filter_timer: Timer | None = None
        self._title_text = self.PANEL_TITLE

    def compose(self) -> ComposeResult:
        # the list first: what takes the focus when the group is shown (the bar is
        # docked above it); the field is disabled while the bar is closed, so neither
        # tab nor a group switch lands in a field nobody sees
        yield PodsList(id="pods-list")
        with Horizontal(id="pods-filter-bar"):
            yield Label("/")
            yield Input(placeholder="name, status, r3, v2.1.0 · enter keeps · esc clears",
                        max_length=FILTER_LIMIT, id="pods-filter", disabled=True)

    @property
    def cursor_row(self) -> CursorRow | None:
        """The deployment or pod under the cursor (None before any data)."""
        return self.query_one(PodsList).cursor_row

    @property
    def view(self) -> PodView:
        """The filter and sort asked for (the list shows them once its rows are built)."""
        return self._view

    @property
    def title_text(self) -> str:
        """The panel's title as plain text: ``Pods``, then the filter, ``N of M pods``
        and the sort in words when there are (``Pods · /api · 10 of 18 pods · sort:
        restarts, most first``)."""
        return self._title_text

    def show_suspect(self, deployment: str | None) -> None:
        """Mark the deployment whose revision changed last before the breach (the
        runtime's suspect); the cursor rests on it until the operator moves it."""
        self.query_one(PodsList).show_suspect(deployment)

    def deployment_row(self, name: str) -> PodRow | None:
        """The summary row shown for deployment ``name``, if it is shown."""
        rows = self.query_one(PodsList).rows
        return next((row for row in rows.deployments if row.deployment == name), None)

    # ------------------------------------------------------------- filter and sort

    def set_filter(self, text: str) -> None:
        """Show only what matches ``text`` (see :class:`Term`; empty: everything)."""
        if self._filter_timer is not None:
            self._filter_timer.stop()
            self._filter_timer = None
        text = " ".join(_clean(text[:FILTER_LIMIT]).split())
        if text != self._view.filter:
            self._set_view(dataclasses.replace(self._view, filter=text))

    def sort_by(self, key: SortKey) -> None:
        """Sort by ``key``; the same key again reverses the order."""
        view = self._view
        if view.sort == key:
            view = dataclasses.replace(view, reverse=not view.reverse)
        else:
            view = dataclasses.replace(view, sort=key, reverse=False)
        self._set_view(view)

    def _set_view(self, view: PodView) -> None:
        self._view = view
        if self._last_snapshot is not None:
            self._submit(self._last_snapshot)

    def _filter_bar(self) -> Horizontal:
        return self.query_one("#pods-filter-bar", Horizontal)

    def _filter_input(self) -> Input:
        return self.query_one("#pods-filter", Input)

    def _list_focused(self) -> bool:
        return self.query_one(PodsList).has_focus

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_filter":  # escape: only while there is a filter to clear
            return self._filter_bar().has_class("-open") or bool(self._view.filter)
        if action in ("filter", "open", "history", "inspect", "sort"):
            return self._list_focused()  # the list's keys; typing a filter shows its own
        return True

    def action_filter(self) -> None:
        bar, field = self._filter_bar(), self._filter_input()
        if not bar.has_class("-open"):
            bar.add_class("-open")
            field.disabled = False
        with field.prevent(Input.Changed):
            field.value = self._view.filter
        field.cursor_position = len(field.value)
        field.focus()
        self.refresh_bindings()

    def action_clear_filter(self) -> None:
        field = self._filter_input()
        if field.value:
            with field.prevent(Input.Changed):
                field.value = ""
        self.set_filter("")
        self._close_filter()

    def _close_filter(self) -> None:
        self._filter_bar().remove_class("-open")
        self.query_one(PodsList).focus()
        self._filter_input().disabled = True
        self.refresh_bindings()

    def on_input_changed(self, message: Input.Changed) -> None:
        message.stop()
        if self._filter_timer is not None:
            self._filter_timer.stop()
            self._filter_timer = None
        snapshot = self._last_snapshot
        if snapshot is None or len(snapshot.pods) <= SYNC_LIMIT:
            self.set_filter(message.value)  # a few thousand rows: as fast as a key
        else:
            value = message.value
            self._filter_timer = self.set_timer(self.DEBOUNCE_S,
                                                lambda: self.set_filter(value))

    def on_input_submitted(self, message: Input.Submitted) -> None:
        message.stop()
        self.set_filter(message.value)
        self._close_filter()

    def action_sort(self, key: SortKey) -> None:
        self.sort_by(key)

    # ------------------------------------------------------------- the row's keys

    def action_open(self) -> None:
        row = self.cursor_row
        if row is not None and row.kind == "deployment":
            self.action_history()
        else:
            self.action_inspect("describe")

    def action_history(self) -> None:
        row = self.cursor_row
        if row is not None:
            self.post_message(self.HistoryRequested(row.deployment, self._namespace()))

    def action_inspect(self, view: str) -> None:
        row = self.cursor_row
        if row is None:
            return
        name = row.pod if row.kind == "pod" and row.pod is not None else row.deployment
        self.post_message(self.InspectRequested(row.kind, name, self._namespace(), view))

    def _namespace(self) -> str:
        return self.query_one(PodsList).rows.namespace

    # ------------------------------------------------------------- snapshots

    def show_snapshot(self, snapshot: object) -> None:
        assert isinstance(snapshot, ClusterSnapshot)
        if snapshot is self._last_snapshot:
            return
        self._last_snapshot = snapshot
        self._submit(snapshot)

    def _submit(self, snapshot: ClusterSnapshot) -> None:
        self._rows_asked += 1
        view = self._view
        if len(snapshot.pods) <= SYNC_LIMIT:
            rows = self._builder.build(snapshot, view, wait=False)
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
            self._pending_rows = (snapshot, view, self._rows_asked)
        self._build_rows()

    def _take_pending(self) -> tuple[ClusterSnapshot, PodView, int] | None:
        with self._pending_lock:
            pending, self._pending_rows = self._pending_rows, None
        return pending

    def _show(self, asked: int, rows: PodRows | None) -> None:
        if asked <= self._rows_shown:
            return  # a newer snapshot is on screen already
        self._rows_shown = asked
        if rows is not None:
            self.query_one(PodsList).show_rows(rows)
            self._title(rows)

    def _title(self, rows: PodRows) -> None:
        # the border is the whole panel's repaint: set only when its words change
        # at most 74 cells (80 columns less the border): a long filter is cut, never the
        # count or the sort
        view, parts = rows.view, [self.PANEL_TITLE]
        if view.filter:
            parts += [f"/{fit(view.filter, 12)}",
                      f"{len(rows.pods):,} of {rows.total_pods:,} pods"]
        if view.sort:
            parts.append(view.sort_words)
        text = " · ".join(parts)
        if text != self._title_text:
            self._title_text = text
            self.border_title = Content(text)

    # a description of its own: by default @work repr()s its arguments, on the loop, and
    # the repr of a 20,000-pod snapshot took 200 ms
    @work(thread=True, exclusive=True, group="pods-rows", description="pods rows")
    def _build_rows(self) -> None:
        worker = get_current_worker()
        pending = self._take_pending()
        if pending is None:
            return  # a newer worker took it
        snapshot, view, asked = pending
        # given up only for a newer snapshot still waiting (the worker that takes it
        # builds it): a worker cancelled after it took the newest one builds that one
        rows = self._builder.build(
            snapshot, view,
            cancelled=lambda: worker.is_cancelled and self._pending_rows is not None)
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
