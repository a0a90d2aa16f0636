"""The war room's top line: environment, estate, incident clock and severity."""

from __future__ import annotations

from datetime import datetime, timedelta

from textual.content import Content
from textual.reactive import var

from cockpit.decision.engine import DecisionState, TriggerStatus
from widgets.lines import Lines


def format_clock(elapsed: timedelta, compact: bool = False) -> str:
    """``T+00:05:10`` (or ``T-00:01:00`` before the incident began); ``compact``: without
    the hours while there are none (``T+05:10``)."""
    seconds = int(elapsed.total_seconds())
    sign = "+" if seconds >= 0 else "-"
    seconds = abs(seconds)
    if compact and seconds < 3600:
        return f"T{sign}{seconds // 60:02d}:{seconds % 60:02d}"
    return f"T{sign}{seconds // 3600:02d}:{(seconds % 3600) // 60:02d}:{seconds % 60:02d}"


#: Short names of the triggers, for the header's alarm (the decision panel names them too).
SHORT = {"error_rate": "Errors", "latency_p95": "Latency", "health_checks": "Health",
         "security_breach": "Security", "data_corruption": "Data", "db_connections": "DB conns",
         "resources": "CPU/Mem"}


def short_countdown(left: timedelta) -> str:
    """``2m``, ``40s``: to the minute above one (the header is one line at 80 columns)."""
    seconds = int(left.total_seconds())
    return f"{seconds // 60}m" if seconds >= 60 else f"{max(seconds, 0)}s"


def alarm_text(state: DecisionState | None, now: datetime) -> tuple[str, str]:
    """The incident's alarm in words, and how loud it is (``ok``, ``warn``, ``alarm``):
    ``FIRED Errors · decide 2m``, ``FIRED Errors · OVERDUE 1m``, ``DECIDED rollback``,
    ``BREACH Latency 3m/10m``, ``OK`` (no trigger breaching), ``STALE`` (no data)."""
    if state is None:
        return "no data yet", "warn"
    fired = [t for t in state.triggers if t.state is TriggerStatus.FIRED]
    if state.decision is not None and state.deadline is None:
        return f"DECIDED {state.decision.decision}", "ok"
    if fired:
        names = ",".join(SHORT.get(t.id, t.id) for t in fired)
        text = f"FIRED {names}"
        if state.deadline is not None:
            left = state.deadline.at - now
            text += (f" · decide {short_countdown(left)}" if left.total_seconds() > 0
                     else f" · OVERDUE {short_countdown(-left)}")
        return text, "alarm"
    breaching = [t for t in state.triggers if t.state is TriggerStatus.BREACHING]
    if breaching:
        first = breaching[0]
        return (f"BREACH {SHORT.get(first.id, first.id)} {short_countdown(first.elapsed)}"
                f"/{short_countdown(first.needed)}"), "warn"
    if state.triggers and all(t.state is TriggerStatus.STALE for t in state.triggers):
        return "STALE: no data", "warn"
    return "OK", "ok"


def short_id(incident: str, room: int) -> str:
    """The incident id in ``room`` cells: whole when it fits, else its distinctive end
    (``…0-3971``: ``cockpit resume``, ``export`` and ``replay`` take the end of an id)."""
    if len(incident) <= room:
        return incident
    return "…" + incident[-(room - 1):] if room > 1 else ""


class IncidentHeader(Lines):
    """One line, always visible: what estate this is and how long the incident has run.

    Set the attributes, then call :meth:`paint`: the row is compared cell by cell with
    what is on screen, so a clock that ticks repaints the digits that changed, not the
    line (and nothing at all when the second has not changed).
    """

    DEFAULT_CSS = """
    IncidentHeader {
        dock: top;
        height: 1;
        background: $panel;
        color: $text;
    }
    """

    environment: var[str] = var("production")
    """Environment name from config or scenario."""
    estate: var[str] = var("")
    """``SIM bad-deploy x10`` or ``LIVE`` (plus ``READ-ONLY``)."""
    estate_short: var[str] = var("")
    """The estate in fewer cells for a narrow terminal (``SIM x10 PAUSED``)."""
    now: var[datetime | None] = var(None)
    """The estate's current time."""
    elapsed: var[timedelta] = var(timedelta(0))
    """Time since the incident clock started."""
    severity: var[str] = var("not set")
    """The incident severity as set by the engineer."""
    incident: var[str] = var("")
    """The incident ID (what ``cockpit resume`` and ``cockpit export`` take)."""
    recording: var[str] = var("")
    """``NOT RECORDING`` when the journal cannot be written; empty while it can."""
    operator: var[str] = var("")
    """Who is at the keyboard (``[cockpit] operator``, ``$COCKPIT_OPERATOR`` or user@host)."""
    alarm: var[str] = var("")
    """The alarm in words (:func:`alarm_text`): always on screen, whatever the group."""
    alarm_level: var[str] = var("ok")
    """``ok``, ``warn`` or ``alarm``: the colour that repeats the words."""
    rollback: var[str] = var("")
    """The armed rollback in words: ``ROLLBACK in 45s`` during a hold, ``ARMED`` while
    armed, empty when disarmed (the runtime's ``Header.rollback``)."""

    def on_mount(self) -> None:
        self.paint()

    def paint(self) -> bool:
        """Show the attributes; True when a cell changed.

        Most important first, and what does not fit is shortened, never cut blindly: the
        alarm, the severity, the incident clock, the incident id (shortened to its end),
        then the estate and the environment."""
        width = self.size.width or 80
        style = {"alarm": "bold reverse $error", "warn": "bold $warning"}.get(
            self.alarm_level, "bold")
        head: list[str | tuple[str, str]] = []
        if self.recording:
            head.append((f" !! {self.recording} !! ", "bold reverse"))
        if self.rollback:  # a hold counting down outranks the alarm that started it
            held = self.rollback.startswith("ROLLBACK")
            head.append((f" {self.rollback} ", "bold reverse $warning" if held else "bold"))
        if self.alarm:
            head.append((f" {self.alarm} ", style))
        head += [" SEV ", (self.severity.upper() if self.severity != "not set"
                           else self.severity, "bold"),
                 (f" │ {format_clock(self.elapsed, compact=width < 120)}", "bold")]
        used = Content.assemble(*head).cell_length + 3  # and the " │ " before the id
        incident = self.incident or "Rollback Cockpit"
        estate = f" │ {self.estate}" if self.estate else ""
        # the estate (SIM, GUIDED, PAUSED, READ-ONLY) before the id's full length: the id
        # can be shortened to its distinctive end, the mode cannot
        for candidate in (estate, f" │ {self.estate_short}" if self.estate_short else ""):
            estate = candidate
            if used + min(len(incident), 10) + len(estate) <= width:
                break
        else:
            estate = ""
        used += len(estate)
        extras = {"when": f" {self.now:%H:%M:%S}Z" if self.now is not None else "",
                  "operator": f" │ {self.operator}" if self.operator else "",
                  "env": f" │ {self.environment.upper()}"}
        kept: set[str] = set()
        for name in ("when", "operator", "env"):  # each while the whole id still fits
            if extras[name] and used + len(incident) + len(extras[name]) <= width:
                used += len(extras[name])
                kept.add(name)
        parts = list(head)
        if "when" in kept:
            parts.append((extras["when"], "dim"))
        parts += [" │ ", (short_id(incident, max(width - used, 1)), "bold"), estate]
        parts += [extras[name] for name in ("operator", "env") if name in kept]
        return self.show_rows([Content.assemble(*parts)])
