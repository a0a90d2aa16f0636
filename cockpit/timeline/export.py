"""Exports of an incident: the RCA in Markdown, the whole record as JSON, one-file HTML.

Every export states the journal's event count and head hash (short form), so a
truncated or rewritten journal can be caught by comparing with
``cockpit timeline verify``. Event data is redacted (and neutralised: no escape
sequence, control or invisible character) again on the way out (defence in
depth), and the Markdown and HTML text is redacted once more as a whole. Output
depends only on the events: the same journal gives the same bytes.

Recorded text is escaped for its format: the HTML page is one jinja2 template
(``templates/export.html.j2``) with autoescape on, fed a view model of plain
values; in Markdown every recorded value is one line of inert text (``_mi``:
no HTML, no link or image syntax, no code spans, no table pipes, no line breaks
that could forge a heading); JSON is ``json.dumps``.

Data loss (Impact Assessment) comes from data-consistency checks: a
``step.finished`` of a step whose runbook, step id or title mentions
"consistency" or "integrity". Its ``counts`` mapping (if the step reported one)
or the ``name | count`` / ``name: count`` lines of its output are read; any
non-zero count means "Yes - see checks".
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from cockpit.timeline.journal import GENESIS, Event, format_time, read_events
from cockpit.timeline.kinds import EventKind as K
from cockpit.timeline.redact import Redactor, default_redactor
from cockpit.timeline.replay import IncidentState, replay

FORMATS = ("md", "json", "html")
SCHEMA_ID = "rollback-cockpit.incident-export/1"
_CHECK_STEP = re.compile(r"consisten|integrity", re.IGNORECASE)
_COUNT_LINE = re.compile(r"^\s*\|?\s*([^|:=]*?[A-Za-z][^|:=]*?)\s*[|:=]\s*(-?\d+)\s*\|?\s*$")
_TO_FILL = "_To be completed by the incident team._"


@dataclass(frozen=True)
class ConsistencyCheck:
    """One data-consistency check step and the counts it reported."""

    t: datetime
    runbook: str
    step: str
    outcome: str
    counts: Mapping[str, int]

    @property
    def anomalies(self) -> int:
        """Sum of non-zero counts."""
        return sum(abs(v) for v in self.counts.values())


def consistency_checks(events: Iterable[Event]) -> list[ConsistencyCheck]:
    """Find the finished data-consistency check steps and their counts."""
    titles: dict[str, str] = {}
    checks: list[ConsistencyCheck] = []
    for event in events:
        d = event.data
        key = f"{d.get('runbook')}/{d.get('step')}"
        if event.kind == K.STEP_STARTED:
            titles[key] = str(d.get("title") or "")
        if event.kind != K.STEP_FINISHED:
            continue
        if not _CHECK_STEP.search(key + " " + titles.get(key, "")):
            continue
        counts: dict[str, int] = {}
        reported = d.get("counts")
        if isinstance(reported, Mapping):
            for name, value in reported.items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    counts[str(name)] = int(value)
        output = d.get("output")
        if not counts and isinstance(output, str):
            for line in output.splitlines():
                match = _COUNT_LINE.match(line)
                if match:
                    counts[match.group(1).strip()] = int(match.group(2))
        checks.append(
            ConsistencyCheck(
                event.time, str(d.get("runbook")), str(d.get("step")),
                str(d.get("outcome", "")), counts,
            )
        )
    return checks


def data_loss_verdict(checks: Sequence[ConsistencyCheck]) -> str:
    """The RCA's "Data Loss" line from the consistency checks."""
    if not checks:
        return "Unknown - data-consistency checks not run"
    if any(c.anomalies for c in checks):
        return "Yes - see checks"
    if any(c.outcome != "done" for c in checks) or not any(c.counts for c in checks):
        return "Unknown - data-consistency checks did not report counts"
    return "No - data-consistency checks found no anomalies"


# -- helpers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Record:
    incident_id: str
    events: tuple[Event, ...]
    state: IncidentState
    head: str

    @property
    def head_short(self) -> str:
        return self.head[:12]


def _redacted_events(events: Iterable[Event], redactor: Redactor) -> tuple[Event, ...]:
    out = []
    for event in events:
        data = redactor.redact(dict(event.data)).value
        actor = dict(event.actor)
        for key in ("user", "host"):
            if isinstance(actor.get(key), str):
                actor[key] = redactor.redact_text(actor[key])
        out.append(
            Event(event.seq, event.t, event.kind, actor, data, event.prev, event.hash,
                  event.redactions)
        )
    return tuple(out)


def _record(events: Iterable[Event], incident_id: str, redactor: Redactor | None) -> _Record:
    clean = _redacted_events(events, redactor or default_redactor())
    state = replay(clean, incident_id, settle=True)
    head = clean[-1].hash if clean else GENESIS
    return _Record(incident_id, clean, state, head)


def _hm(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "not recorded"


def _duration(delta: timedelta) -> str:
    total = int(delta.total_seconds())
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {seconds:02d}s"
    return f"{minutes}m {seconds:02d}s"


def _duration_text(state: IncidentState) -> str:
    if state.opened_at is None:
        return "unknown"
    if state.closed_at is not None:
        return _duration(state.closed_at - state.opened_at)
    end = state.last_event_at or state.opened_at
    return f"{_duration(end - state.opened_at)} so far (incident still open)"


def _details(data: Mapping[str, Any], limit: int | None = None) -> str:
    parts = []
    for key in sorted(data):
        value = data[key]
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        parts.append(f"{key}={text}")
    joined = "; ".join(parts).replace("\n", " ")
    if limit is None or len(joined) <= limit:
        return joined
    return joined[: limit - 3] + "..."


# Markdown: what recorded text may not do in the RCA. HTML (``<script>``, ``<img onerror>``)
# and autolinks (``<javascript:...>``) lose their ``<``; link and image syntax
# (``[x](javascript:...)``, ``![x](...)``, ``[x]: url``) loses its brackets; code spans
# their backticks; table cells their pipes; and a line break cannot start a heading or a
# list of its own: recorded text is always one line of plain text.
_MD_ESCAPES = str.maketrans({
    "\\": "\\\\", "`": "\\`", "[": "\\[", "]": "\\]", "|": "\\|", "<": "&lt;",
})
_SPACES = re.compile(r"\s+")


def _mi(text: object) -> str:
    """Recorded (untrusted) text as inert Markdown inline text."""
    return _SPACES.sub(" ", str(text)).translate(_MD_ESCAPES)


def _md_cell(text: str) -> str:
    return _mi(text)


def _services(state: IncidentState) -> str:
    fired = sorted(t.trigger for t in state.triggers.values() if t.first_fired_at)
    runbooks = sorted(state.runbooks)
    bits = []
    if fired:
        bits.append("triggers fired: " + ", ".join(fired))
    if runbooks:
        bits.append("runbooks run: " + ", ".join(runbooks))
    facts = f" ({'; '.join(bits)})" if bits else ""
    return f"_To be completed_{facts}"


def _milestone_note(state: IncidentState, name: str) -> str:
    if name == "issue_detected":
        fired = [t for t in state.triggers.values() if t.first_fired_at]
        if fired:
            first = min(fired, key=lambda t: t.first_fired_at or t.changed_at)
            return f" (trigger {first.trigger})"
    if name == "rollback_decided":
        for decision in state.decisions:
            if state.milestones.rollback_decided == decision.t:
                return f" ({decision.decision}, by {decision.by or 'unknown'})"
    return ""


def _pinned(state: IncidentState) -> list[dict[str, Any]]:
    """The events pinned for the review (``event.pinned``), oldest first, as plain values."""
    pins = state.timeline.pins
    return [{"seq": entry.seq, "at": entry.t, "kind": entry.kind, "who": entry.who,
             "text": entry.text, "pinned_by": pins[entry.seq].by,
             "pinned_at": pins[entry.seq].t}
            for entry in state.timeline.pinned()]


# -- Markdown -------------------------------------------------------------------------------


def _training_score(events: Sequence[Event]) -> Mapping[str, Any] | None:
    """The last ``score.recorded`` of a training incident (its debrief), if any."""
    scores = [e.data for e in events if e.kind == K.SCORE_RECORDED]
    return scores[-1] if scores else None


def _training_md(score: Mapping[str, Any]) -> list[str]:
    lines = ["## Training Score", "",
             f"**{_mi(score.get('total', 0))}/{_mi(score.get('max', 100))}** - outcome: "
             f"{'restored' if score.get('restored') else 'NOT restored'}; data lost: "
             f"{'YES' if score.get('data_lost') else 'no'}", "",
             "| Category | Points |", "|----------|--------|"]
    for cat in score.get("categories") or ():
        lines.append(f"| {_md_cell(str(cat.get('label', cat.get('name', ''))))} | "
                     f"{_mi(cat.get('points', 0))}/{_mi(cat.get('max', 0))} |")
    penalties = score.get("penalties") or ()
    lines += ["", "Penalties:" if penalties else "No penalties.", ""]
    for pen in penalties:
        lines.append(f"- -{_mi(pen.get('points', 0))} {_mi(pen.get('category', ''))}: "
                     f"{_mi(pen.get('why', ''))}")
    return [*lines, ""]


def _md(record: _Record) -> str:
    s = record.state
    m = s.milestones
    checks = consistency_checks(record.events)
    title = f": {_mi(s.title)}" if s.title else ""
    lines = [
        f"# Rollback Post-Incident Review - {_mi(record.incident_id)}{title}",
        "",
        f"> Journal: {len(record.events)} events, head `{record.head_short}`. "
        f"Check with `cockpit timeline verify {record.incident_id}`.",
        "",
        "## Incident Summary",
        f"- **Date/Time:** {_hm(s.opened_at)}",
        f"- **Duration:** {_duration_text(s)}",
        f"- **Severity:** {_mi((s.severity or 'not set').capitalize())}",
        f"- **Scenario / environment / mode:** {_mi(s.scenario or '-')} / "
        f"{_mi(s.environment or '-')} / {_mi(s.mode or '-')}",
        f"- **Services Affected:** {_mi(_services(s))}",
        "- **Customer Impact:** _To be completed (number affected, functionality lost)._",
        "",
        "## Timeline",
    ]
    for name, label, moment in m.items():
        lines.append(f"- **{_hm(moment)}** - {label}{_mi(_milestone_note(s, name))}")
    lines += ["", "## Pinned Events", ""]
    pinned = _pinned(s)
    if not pinned:
        lines.append("None pinned (p on the timeline pane marks an event for this review).")
    for pin in pinned:
        lines.append(f"- **{_hm(pin['at'])}** - #{pin['seq']} {_mi(pin['text'])} "
                     f"({_mi(pin['who'])}; pinned by {_mi(pin['pinned_by'] or 'unknown')})")
    lines += [
        "",
        "## Root Cause",
        _TO_FILL,
        "",
        "## Contributing Factors",
        "1. _To be completed._",
        "",
        "## Impact Assessment",
        "- **Users Affected:** _To be completed._",
        f"- **Data Loss:** {data_loss_verdict(checks)}",
        "- **Financial Impact:** _To be completed._",
        "- **Compliance Impact:** _To be completed._",
        "- **Reputation Impact:** _To be completed._",
        "",
    ]
    if checks:
        lines += ["### Data-consistency checks", "", "| Time | Check | Outcome | Counts |",
                  "|------|-------|---------|--------|"]
        for c in checks:
            counts = ", ".join(f"{k}: {v}" for k, v in c.counts.items()) or "none reported"
            lines.append(
                f"| {_hm(c.t)} | {_md_cell(c.runbook + '/' + c.step)} | {_md_cell(c.outcome)} | "
                f"{_md_cell(counts)} |"
            )
        lines.append("")
    training = _training_score(record.events)
    if training is not None:
        lines += _training_md(training)
    lines += ["## Decisions and Approvals", ""]
    if not (s.decisions or s.answers or s.approvals):
        lines.append("None recorded.")
    for a in s.answers:
        lines.append(f"- {_hm(a.t)} - {_mi(a.question)}: **{_mi(a.answer)}** "
                     f"(by {_mi(a.by or 'unknown')})")
    for d in s.decisions:
        reasons = f" - {_mi('; '.join(d.reasons))}" if d.reasons else ""
        lines.append(f"- {_hm(d.t)} - decision **{_mi(d.decision)}** "
                     f"(by {_mi(d.by or 'unknown')}){reasons}")
    for ap in s.approvals:
        lines.append(f"- {_hm(ap.t)} - approval by {_mi(ap.approver)} as {_mi(ap.role)} "
                     f"for step {_mi(ap.step or '-')}")
    lines += ["", "## Runbook Steps", ""]
    steps = s.steps()
    if not steps:
        lines.append("None run.")
    else:
        lines += ["| Runbook | Step | Status | Started | Finished | Note |",
                  "|---------|------|--------|---------|----------|------|"]
        for st in steps:
            note = st.reason or (st.preview if st.status == "interrupted" else "") or ""
            lines.append(
                f"| {_md_cell(st.runbook)} | {_md_cell(st.step)} | {_md_cell(st.status)} | "
                f"{_hm(st.started_at)} | {_hm(st.finished_at)} | {_md_cell(note)} |"
            )
    lines += [
        "",
        "## What Went Well",
        "- _To be completed._",
        "",
        "## What Needs Improvement",
        "- _To be completed._",
    ]
    interrupted = [st for st in steps if st.status == "interrupted"]
    failed = [st for st in steps if st.status == "failed"]
    if interrupted:
        lines.append("- Interrupted steps: " + ", ".join(_mi(f"{x.runbook}/{x.step}")
                                                          for x in interrupted))
    if failed:
        lines.append("- Failed steps: " + ", ".join(_mi(f"{x.runbook}/{x.step}")
                                                     for x in failed))
    lines += [
        "",
        "## Action Items",
        "| Action | Owner | Due Date | Priority |",
        "|--------|-------|----------|----------|",
        "| | | | |",
        "",
        "## Lessons Learned",
        "1. _To be completed._",
        "",
        "## Event Log",
        "",
        "| # | Time (UTC) | Kind | Actor | Details |",
        "|---|------------|------|-------|---------|",
    ]
    pins = s.timeline.pins
    for e in record.events:
        actor = f"{e.actor.get('user', '?')}@{e.actor.get('host', '?')}"
        mark = " **PINNED**" if e.seq in pins else ""
        lines.append(
            f"| {e.seq}{mark} | {_md_cell(e.t)} | {_md_cell(e.kind)} | {_md_cell(actor)} | "
            f"{_md_cell(_details(e.data))} |"
        )
    lines += ["", f"_Journal head `{record.head_short}`, {len(record.events)} events._", ""]
    return "\n".join(lines)


# -- JSON -----------------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return format_time(moment) if moment else None


def _json(record: _Record) -> dict[str, Any]:
    s = record.state
    checks = consistency_checks(record.events)
    return {
        "schema": SCHEMA_ID,
        "incident_id": record.incident_id,
        "journal": {
            "events": len(record.events),
            "head": record.head,
            "head_short": record.head_short,
        },
        "summary": {
            "title": s.title,
            "scenario": s.scenario,
            "environment": s.environment,
            "mode": s.mode,
            "severity": s.severity,
            "state": "open" if s.is_open else "closed",
            "opened_at": _iso(s.opened_at),
            "closed_at": _iso(s.closed_at),
            "duration_s": (s.closed_at - s.opened_at).total_seconds()
            if s.opened_at and s.closed_at else None,
        },
        "milestones": {name: _iso(moment) for name, _, moment in s.milestones.items()},
        "data_loss": {
            "verdict": data_loss_verdict(checks),
            "checks": [
                {"t": _iso(c.t), "runbook": c.runbook, "step": c.step, "outcome": c.outcome,
                 "counts": dict(c.counts)}
                for c in checks
            ],
        },
        "training_score": _training_score(record.events),
        "pinned": [
            {**pin, "at": _iso(pin["at"]), "pinned_at": _iso(pin["pinned_at"])}
            for pin in _pinned(s)
        ],
        "steps": [
            {"runbook": st.runbook, "step": st.step, "status": st.status,
             "started_at": _iso(st.started_at), "finished_at": _iso(st.finished_at),
             "reason": st.reason}
            for st in s.steps()
        ],
        "events": [e.to_dict() for e in record.events],
    }


# -- HTML -----------------------------------------------------------------------------------

_CHART = {"width": 720, "height": 200, "pad": 40}


def _geometry() -> dict[str, str]:
    width, height, pad = _CHART["width"], _CHART["height"], _CHART["pad"]
    return {"width": str(width), "height": str(height), "pad": str(pad),
            "right": str(width - pad), "bottom": str(height - pad), "top": str(pad / 2),
            "foot": str(height - pad / 4), "axis": str(pad - 4), "top_label": str(pad / 2 + 8)}


def _chart(metric: str, points: Sequence[tuple[datetime, float]],
           state: IncidentState) -> dict[str, Any]:
    """One metric's chart, as the template draws it (numbers and text, never markup)."""
    if not points:
        return {"metric": metric, "points": 0}
    width, height, pad = _CHART["width"], _CHART["height"], _CHART["pad"]
    t0 = min(p[0] for p in points)
    t1 = max(p[0] for p in points)
    span = max((t1 - t0).total_seconds(), 1.0)
    lo = min(0.0, min(p[1] for p in points))
    hi = max(p[1] for p in points)
    hi = hi if hi > lo else lo + 1.0

    def x(moment: datetime) -> float:
        return pad + (moment - t0).total_seconds() / span * (width - 2 * pad)

    def y(value: float) -> float:
        return height - pad + -(value - lo) / (hi - lo) * (height - 2 * pad)

    return {
        "metric": metric, "points": len(points), "min": f"{min(p[1] for p in points):g}",
        "hi": f"{hi:g}", "lo": f"{lo:g}", "t0": f"{t0:%H:%M:%S}", "t1": f"{t1:%H:%M:%S}",
        "path": " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in points),
        "marks": [(f"{x(moment):.1f}", label) for _, label, moment in state.milestones.items()
                  if moment is not None and t0 <= moment <= t1],
    }


def _chart_order(metric: str) -> tuple[int, str]:
    low = metric.lower()
    if "error" in low:
        return (0, low)
    if "latency" in low or "response" in low or "p95" in low:
        return (1, low)
    return (2, low)


def _html_view(record: _Record) -> dict[str, Any]:
    """The HTML export's view model: plain values; the template escapes every one."""
    s = record.state
    checks = consistency_checks(record.events)
    training = _training_score(record.events)
    metrics = sorted(s.samples, key=_chart_order)
    wanted = [m for m in metrics if _chart_order(m)[0] < 2]
    missing = []
    if not any(_chart_order(m)[0] == 0 for m in metrics):
        missing.append("error rate")
    if not any(_chart_order(m)[0] == 1 for m in metrics):
        missing.append("latency")
    rows = []
    pins = s.timeline.pins
    for ev in record.events:
        if ev.kind == "sample":
            continue
        css = "k-step" if ev.kind.startswith("step.") else (
            "k-trigger" if ev.kind.startswith("trigger.") else "")
        rows.append({"seq": ev.seq, "t": ev.t, "kind": ev.kind, "css": css,
                     "pinned": ev.seq in pins,
                     "actor": f"{ev.actor.get('user', '?')}@{ev.actor.get('host', '?')}",
                     "details": _details(ev.data)})
    return {
        "incident_id": record.incident_id, "title": s.title, "events": len(record.events),
        "head_short": record.head_short,
        "summary": [("Opened", _hm(s.opened_at)), ("Duration", _duration_text(s)),
                    ("Severity", s.severity or "not set"), ("Scenario", s.scenario or "-"),
                    ("Data loss", data_loss_verdict(checks))],
        "training": None if training is None else "\n".join(
            ln for ln in _training_md(training) if ln),
        "milestones": [(_hm(moment), label + _milestone_note(s, name))
                       for name, label, moment in s.milestones.items()],
        "pinned": [{**pin, "at": _hm(pin["at"]), "pinned_by": pin["pinned_by"] or "unknown"}
                   for pin in _pinned(s)],
        "missing_charts": missing,
        "charts": [_chart(m, s.samples[m], s) for m in wanted + [m for m in metrics
                                                                 if m not in wanted]],
        "g": _geometry(),
        "rows": rows,
        "samples": sum(1 for ev in record.events if ev.kind == "sample"),
    }


@functools.cache
def _html_template() -> Any:
    import jinja2  # only an HTML export needs it

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("cockpit.timeline", "templates"),
        autoescape=True, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("export.html.j2")


def _html(record: _Record) -> str:
    """The one-file HTML export: ``templates/export.html.j2``, autoescaped."""
    return str(_html_template().render(**_html_view(record)))


# -- public API -----------------------------------------------------------------------------


def export_events(
    events: Iterable[Event],
    incident_id: str,
    fmt: str,
    *,
    redactor: Redactor | None = None,
) -> str:
    """Render ``events`` of ``incident_id`` as ``md``, ``json`` or ``html`` text."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r} (choose from {', '.join(FORMATS)})")
    red = redactor or default_redactor()
    record = _record(events, incident_id, red)
    if fmt == "json":
        return json.dumps(_json(record), indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    text = _md(record) if fmt == "md" else _html(record)
    # defence in depth: anything that slipped into prose is caught here
    return red.redact_text(text)


def export_journal(path: Path, fmt: str, *, redactor: Redactor | None = None) -> str:
    """Export the journal at ``path`` (``.../<ID>/journal.jsonl``); a torn tail is left out."""
    path = Path(path)
    return export_events(read_events(path), path.parent.name, fmt, redactor=redactor)


def export_schema() -> dict[str, Any]:
    """Return the JSON schema of the JSON export (``export.schema.json``)."""
    text = resources.files("cockpit.timeline").joinpath("export.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema
