"""Issue #12 item 1: untrusted text is neutralised at the boundary.

A command's output, an executor's error, a note, a status update, an approver's name and a
runbook variable's value may carry terminal escape sequences (OSC 52 writes the clipboard,
OSC 0/2 retitles the window, ``ESC[2J`` wipes the screen...) and invisible characters that
change how a line reads (bidi overrides, zero-width characters). None of it may reach the
runbook pane's lines, the journal, or an export; Markdown and HTML exports may not carry
HTML or links from the record.
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from cockpit.actions.executor import ActionResult, Capabilities, RunContext
from cockpit.actions.types import ResolvedAction
from cockpit.clock import SimClock
from cockpit.incident import IncidentSession
from cockpit.runbook.engine import Confirmation, RunbookRun, StepRefused, StepState
from cockpit.runbook.loader import load_library
from cockpit.timeline.export import export_journal
from cockpit.timeline.redact import Redactor
from cockpit.timeline.sanitize import sanitize_text

GOOD = Path(__file__).parents[1] / "fixtures" / "runbooks" / "good"
LIB = load_library(GOOD)
START = datetime(2025, 1, 21, 14, 30, tzinfo=UTC)

# name -> (hostile text, a fragment of the sequence's payload that must vanish with it)
HOSTILE: dict[str, tuple[str, str]] = {
    "osc52 clipboard (BEL)": ("ok \x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07 done", "Y3VybCBl"),
    "osc52 clipboard (ST)": ("ok \x1b]52;p;ZXZpbA==\x1b\\ done", "ZXZpbA"),
    "window title osc0": ("ok \x1b]0;root@prod: rm -rf /\x07 done", "rm -rf"),
    "window title osc2 8-bit": ("ok \x9d2;pwned-title\x9c done", "pwned-title"),
    "hyperlink osc8": ("ok \x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\ done",
                       "evil.example"),
    "clear screen": ("ok \x1b[2J\x1b[H done", "[2J"),
    "csi with params": ("ok \x1b[1;31;4m red \x1b[0m\x1b[10;20H done", "[1;31"),
    "csi private mode": ("ok \x1b[?1049h\x1b[?25l done", "?1049"),
    "8-bit c1 csi": ("ok \x9b2J\x9b31m done", "31m"),
    "dcs ... st": ("ok \x1bP1$r0;1m\x1b\\ done", "$r0"),
    "8-bit dcs": ("ok \x90qdcs-body\x9c done", "dcs-body"),
    "apc": ("ok \x1b_apc-body\x1b\\ done", "apc-body"),
    "pm": ("ok \x1b^pm-body\x1b\\ done", "pm-body"),
    "sos": ("ok \x1bXsos-body\x1b\\ done", "sos-body"),
    "unterminated osc": ("ok done \x1b]52;c;dW50ZXJtaW5hdGVk", "dW50ZXJt"),
    "single esc: reset": ("ok \x1bc done", "\x1bc"),
    "single esc: charset": ("ok \x1b(0lqk\x1b(B done", "\x1b(0"),
    "single esc: save cursor": ("ok \x1b7\x1b8 done", "\x1b7"),
    "bell backspace nul del": ("ok \x07\x08\x00\x7f done", "\x00"),
    "carriage return overwrite": ("FAILED: 3 rows lost\rok                 done", "\r"),
    "bidi override": ("ok \u202etxt.exe\u202c done", "\u202e"),
    "bidi isolate": ("ok \u2066\u2067\u2068x\u2069 done", "\u2067"),
    "zero width joiner": ("ok a\u200db\u200bc\u2060d\ufeff done", "\u200d"),
    "unicode tags": ("ok \U000e0069\U000e0067\U000e006e done", "\U000e0069"),
    "line separator": ("ok \u2028## forged\u2029 done", "\u2028"),
}


def hidden(text: str) -> list[str]:
    """Characters a terminal acts on or a reader cannot see (an oracle independent of the
    sanitiser): controls but newline and tab, format characters, separators, surrogates."""
    return [c for c in text if c not in "\n\t" and unicodedata.category(c) in
            ("Cc", "Cf", "Zl", "Zp", "Cs")]


def strings(value: Any) -> list[str]:
    """Every string in a decoded JSON value, keys included."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*strings(k), *strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


class HostileExecutor:
    """Runs every action by emitting ``text`` as output lines; ``undo`` fails with it."""

    capabilities = Capabilities()

    def __init__(self, text: str) -> None:
        self.text = text

    def run(self, action: ResolvedAction, ctx: RunContext) -> ActionResult:
        for line in self.text.split("\n"):
            ctx.emit(line)
        if action.type == "k8s.rollout_undo":
            return ActionResult(False, "", (), f"error from the API server: {self.text}")
        return ActionResult(True, f"revisions:\n{self.text}")


def _incident(tmp_path: Path, title: str = "api 5xx") -> IncidentSession:
    return IncidentSession.start(scenario=None, environment="production", mode="live",
                                 title=title, clock=SimClock(START, 1.0), state_dir=tmp_path,
                                 incident_id="INC-20250121-143000-ab12")


def _play(tmp_path: Path, text: str) -> tuple[IncidentSession, RunbookRun, list[str]]:
    """An incident where ``text`` came from a command, an executor error, a note, a status
    update and an approver: returns the session, the run and the lines streamed to the pane."""
    session = _incident(tmp_path, title=f"api 5xx {text}")
    streamed: list[str] = []
    run = RunbookRun(LIB.get("api-undo"), lambda: session.state.facts, HostileExecutor(text),
                     session.record, {"incident_id": session.incident_id,
                                      "namespace": "production"},
                     on_output=lambda _step, line: streamed.append(line))
    assert run.execute("history").state is StepState.DONE
    undo = run.execute("undo", Confirmation("api", f"Dana {text}"))
    assert undo.state is StepState.FAILED
    session.note(f"saw {text}", actor=f"dana {text}")
    session.status_update(f"Status: {text}")
    return session, run, streamed


@pytest.mark.parametrize("name", list(HOSTILE))
def test_escape_sequences_from_step_output_never_reach_the_pane(tmp_path: Path,
                                                                name: str) -> None:
    text, payload = HOSTILE[name]
    session, run, streamed = _play(tmp_path, text)
    shown = [*streamed, *(s.output for s in run.steps()), *(s.reason for s in run.steps())]
    assert streamed and all(not hidden(line) for line in shown), shown
    assert not any(payload in line for line in shown)
    # what the command said in plain text is still there for the operator
    assert any("ok" in line for line in streamed)
    session.disconnect()


@pytest.mark.parametrize("name", list(HOSTILE))
def test_escape_sequences_never_reach_the_journal(tmp_path: Path, name: str) -> None:
    text, payload = HOSTILE[name]
    session, _run, _streamed = _play(tmp_path, text)
    path = session.journal.path
    session.disconnect()
    raw = path.read_bytes()
    assert b"\x1b" not in raw and b"\\u001b" not in raw.lower()
    records = [json.loads(line) for line in raw.decode("utf-8").splitlines()]
    texts = [s for record in records for s in strings(record)]
    assert not [t for t in texts if hidden(t)]
    assert not any(payload in t for t in texts if payload.isprintable())
    finished = [r for r in records if r["kind"] == "step.finished"]
    assert finished and all("ok" in r["data"]["output"] for r in finished[:1])
    # the record says that something was removed (from the approver's name, the title)
    started = [r for r in records if r["kind"] == "incident.opened" or "approver" in r["data"]]
    assert len(started) == 2
    assert all(r.get("redactions", {}).get("control") for r in started)


@pytest.mark.parametrize("fmt", ["md", "html", "json"])
@pytest.mark.parametrize("name", list(HOSTILE))
def test_escape_sequences_never_reach_an_export(tmp_path: Path, name: str, fmt: str) -> None:
    text, payload = HOSTILE[name]
    session, _run, _streamed = _play(tmp_path, text)
    path = session.journal.path
    session.disconnect()
    exported = export_journal(path, fmt, redactor=Redactor())
    assert not hidden(exported), [hex(ord(c)) for c in hidden(exported)]
    if fmt == "json":
        assert "\\u001b" not in exported.lower()
        assert not [s for s in strings(json.loads(exported)) if hidden(s)]
    if payload.isprintable():
        assert payload not in exported


def test_a_journal_written_raw_is_neutralised_when_exported(tmp_path: Path) -> None:
    """A journal from before the sanitiser (or written by hand) is cleaned on the way out."""
    from cockpit.timeline.journal import Journal

    class Raw(Redactor):
        def redact(self, value: Any) -> Any:  # writes the data as given
            from cockpit.timeline.redact import Redacted

            return Redacted(value, {})

        def redact_text(self, text: str, counts: Any = None) -> str:
            return text

    journal = Journal.create(tmp_path, redactor=Raw(), incident_id="INC-20250121-143000-cd34")
    journal.append("note.added", {"text": "x \x1b]52;c;ZXZpbA==\x07 \u202eevil", "by": "d"})
    journal.close()
    assert b"\\u001b" in journal.path.read_bytes()
    for fmt in ("md", "html", "json"):
        out = export_journal(journal.path, fmt, redactor=Redactor())
        assert not hidden(out) and "ZXZpbA" not in out and "<U+202E>" in out.replace(
            "&lt;", "<").replace("&gt;", ">")


@pytest.mark.parametrize(("raw", "shown"), [
    ("a\u202eb", "a<U+202E>b"),
    ("a\u200db", "a<U+200D>b"),
    ("a\u200bb", "a<U+200B>b"),
    ("a\ufeffb", "a<U+FEFF>b"),
    ("a\u2066b\u2069", "a<U+2066>b<U+2069>"),
    ("a\u061cb", "a<U+061C>b"),
    ("a\U000e0041b", "a<U+E0041>b"),
    ("tab\tand\nnewline", "tab\tand\nnewline"),
    ("crlf\r\nline", "crlf\nline"),
    ("x\x1b[31mred\x1b[0m", "xred"),
    ("x\x9b1;2Hy", "xy"),
    ("\udcff bytes", "\ufffd bytes"),
])
def test_invisible_characters_are_made_visible_and_layout_is_kept(raw: str, shown: str) -> None:
    assert sanitize_text(raw) == shown


def test_a_journaled_string_is_bounded(tmp_path: Path) -> None:
    session = _incident(tmp_path)
    event = session.note("x" * 1_000_000, actor="dana")
    session.disconnect()
    assert len(event.data["text"]) < 70_000
    assert "more characters not kept" in event.data["text"]


def test_a_variable_value_with_controls_is_refused_and_its_preview_is_clean(
        tmp_path: Path) -> None:
    session = _incident(tmp_path)
    run = RunbookRun(LIB.get("api-undo"), lambda: session.state.facts, HostileExecutor("ok"),
                     session.record, {"incident_id": session.incident_id,
                                      "namespace": "prod\x1b]0;pwned\x07\u202e"})
    for status in run.steps():
        assert not hidden(status.preview) and "pwned" not in status.preview
        assert not hidden(status.target)
    with pytest.raises(StepRefused, match=r"control or invisible character \(<U\+001B>\)"):
        run.set_variables({"deployment": "api\x1b[2J"})
    with pytest.raises(StepRefused, match=r"<U\+202E>"):
        run.set_variables({"deployment": "ipa\u202e"})
    session.disconnect()


def test_a_note_that_is_only_escape_sequences_is_refused(tmp_path: Path) -> None:
    session = _incident(tmp_path)
    with pytest.raises(ValueError, match="needs some text"):
        session.note("\x1b]52;c;ZXZpbA==\x07\x1b[2J", actor="dana")
    session.disconnect()


# -- exports escape for their format --------------------------------------------------------

MARKUP = [
    "<script>alert(document.cookie)</script>",
    "[click here](javascript:alert(1))",
    "![pixel](https://evil.example/track.png)",
    "<img src=x onerror=alert(1)>",
    "<javascript:alert(1)>",
    "<a href='javascript:alert(1)'>docs</a>",
    "[ref]: javascript:alert(1)",
    "`code` and ``spans``",
    "</td></tr></table><script>x()</script>",
    "<iframe src=https://evil.example></iframe>",
    "line one\n## Root Cause\nit was DNS",
    "| forged | cell |",
]


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def _tags(text: str) -> _Tags:
    parser = _Tags()
    parser.feed(text)
    return parser


def _markup_incident(tmp_path: Path) -> Path:
    session = _incident(tmp_path, title="<script>alert('title')</script>")
    for text in MARKUP:
        session.note(text, actor="dana<img src=x>")
    run = RunbookRun(LIB.get("api-undo"), lambda: session.state.facts,
                     HostileExecutor("[x](javascript:alert(2)) <script>y()</script>"),
                     session.record, {"incident_id": session.incident_id,
                                      "namespace": "production"})
    run.execute("history")
    run.execute("undo", Confirmation("api", "<b>Dana</b> [x](javascript:z())"))
    path = session.journal.path
    session.disconnect()
    return path


def test_markdown_export_does_not_copy_script_tags_or_javascript_links(tmp_path: Path) -> None:
    md = export_journal(_markup_incident(tmp_path), "md", redactor=Redactor())
    assert "<script" not in md and "<img" not in md and "<iframe" not in md
    assert not re.search(r"(?<!\\)\]\(javascript:", md) and "<javascript:" not in md
    # rendered as a Markdown viewer would (CommonMark, raw HTML allowed)
    rendered = MarkdownIt("commonmark").render(md)
    tags = _tags(rendered)
    names = {tag for tag, _ in tags.tags}
    assert not names & {"script", "img", "iframe", "a"}, names
    assert not [attrs for _, attrs in tags.tags if attrs]
    # the text itself is kept, readable
    assert "alert(document.cookie)" in rendered
    # recorded text cannot forge a section of the RCA
    assert md.count("\n## Root Cause\n") == 1


def test_html_export_escapes_everything_recorded(tmp_path: Path) -> None:
    page = export_journal(_markup_incident(tmp_path), "html", redactor=Redactor())
    tags = _tags(page)
    names = [tag for tag, _ in tags.tags]
    assert "script" not in names and "img" not in names and "iframe" not in names
    assert "a" not in names and "b" not in names
    assert not [v for _, attrs in tags.tags for _, v in attrs if v and "javascript" in v]
    assert "&lt;script&gt;alert(document.cookie)&lt;/script&gt;" in page


def test_json_export_is_json_with_the_text_as_data(tmp_path: Path) -> None:
    exported = json.loads(export_journal(_markup_incident(tmp_path), "json", redactor=Redactor()))
    notes = [e["data"]["text"] for e in exported["events"] if e["kind"] == "note.added"]
    assert "<script>alert(document.cookie)</script>" in notes


def test_html_export_escapes_metric_names_and_attributes(tmp_path: Path) -> None:
    """Chart captions, aria-labels and milestone titles are text too (an attribute quote
    cannot end the attribute)."""
    session = _incident(tmp_path)
    session.record("sample", {"metric": "error'onmouseover='alert(1)<script>", "value": 7.0})
    session.record("sample", {"metric": "latency_p95_ms", "value": 900.0})
    path = session.journal.path
    session.disconnect()
    page = export_journal(path, "html", redactor=Redactor())
    tags = _tags(page)
    assert "script" not in [tag for tag, _ in tags.tags]
    assert not [name for _, attrs in tags.tags for name, _ in attrs if name.startswith("on")]
    labels = [v for tag, attrs in tags.tags if tag == "svg" for k, v in attrs
              if k == "aria-label"]
    assert "error'onmouseover='alert(1)<script>" in labels


async def test_the_runbook_pane_shows_hostile_output_inert() -> None:
    """The war room's pane (pilot): a command's output with OSC 52, a title change, a screen
    wipe, 8-bit CSI, DCS, a bidi override and a zero-width joiner, as the operator sees it."""
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1] / "ui"))
    from runbook_harness import NotingHarness

    text = ("rev 41 \x1b]52;c;Y3VybA==\x07\x1b]0;owned\x07\x1b[2J\x9b31m"
            "\x1bP1$r\x1b\\ \u202egpj.exe \u200dok")
    app = NotingHarness()
    app.executor = HostileExecutor(text)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("p", *"frontend-kubernetes", "enter")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("up")
        shown = app.pane_text()
        assert not hidden(shown) and "Y3VybA" not in shown and "owned" not in shown
        assert "rev 41" in shown and "<U+202E>gpj.exe <U+200D>ok" in shown


@pytest.mark.parametrize("error", [
    "ERR \x1b]52;c;ZXZpbA==\x07\x1b[2J server said no",
    "DETAIL: Key (ssn)=(078-05-1120) for MRN-1234567 \u202e",
])
def test_a_source_error_is_shown_inert(error: str) -> None:
    from cockpit.sources.base import SourceError
    from cockpit.sources.poller import describe_error

    for exc in (SourceError(error), RuntimeError(error)):
        shown = describe_error(exc)
        assert not hidden(shown)
        assert "ZXZpbA" not in shown and "078-05-1120" not in shown and "1234567" not in shown


# -- any text at all --------------------------------------------------------------------------

_NASTY = st.sampled_from(["\x1b", "\x1b[", "\x1b]", "\x1bP", "\x1b_", "\x1b^", "\x1bX",
                          "\x07", "\x1b\\", "\x9b", "\x9d", "\x90", "\x9c", "\r", "\r\n",
                          "\u202e", "\u2066", "\u200d", "\ufeff", "<U+", ";", "2J", "52;c;"])
_TEXT = st.lists(st.one_of(st.text(max_size=8), _NASTY), max_size=30).map("".join)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(_TEXT)
def test_any_text_comes_out_inert_and_stays_put(raw: str) -> None:
    once = sanitize_text(raw)
    assert not hidden(once)
    assert sanitize_text(once) == once
    red = Redactor()
    cleaned = red.redact_text(raw)
    assert not hidden(cleaned)
    assert red.redact_text(cleaned) == cleaned


# -- what a server answers, on its way to a panel ---------------------------------------


class _HostileCache:
    """A cache source whose keys and values carry terminal escapes (a hostile server)."""

    kind = "cache"
    label = "redis"
    interval_s = 0.01
    timeout_s = 1.0

    def revision(self) -> None:  # a live source: always fetched
        return None

    def fetch(self):  # type: ignore[no-untyped-def]
        from cockpit.domain import CacheSnapshot

        return CacheSnapshot(datetime(2025, 1, 21, 14, 30, tzinfo=UTC), 0.4,
                             (("maintenance_mode\x1b]52;c;cm0gLXJmIC8=\x07", "\x1b[2Jtrue"),
                              ("rate_limit", "1000\u202e")))

    def close(self) -> None:
        pass


async def test_a_servers_answer_reaches_the_panels_inert() -> None:
    from cockpit.sources.poller import Poller

    status = await Poller(_HostileCache(), lambda s: None).poll_once()
    assert status.snapshot is not None
    text = repr(status.snapshot)
    assert "\x1b" not in text and "\u202e" not in text and "\\x1b" not in text
    keys = dict(status.snapshot.keys)  # type: ignore[attr-defined]
    assert keys["maintenance_mode"] == "true" and keys["rate_limit"] == "1000<U+202E>"


def test_a_clean_snapshot_is_passed_through_untouched() -> None:
    from cockpit.sim.estate import SimEstate
    from cockpit.sim.scenario import find_scenario
    from cockpit.timeline.sanitize import sanitize_value

    estate = SimEstate(find_scenario("bad-deploy"), seed=7)
    for snapshot in (estate.cluster_snapshot(), estate.health_snapshot(),
                     estate.metrics_snapshot(), estate.database_snapshot()):
        assert sanitize_value(snapshot) is snapshot  # one scan, no copy
