"""The Decision panel: triggers, the decision tree, the recommendation and who must decide.

While a decision is open it counts down to its one deadline (the earlier of the fired
triggers' decide-by and the severity's maximum decision time, both named); once the
decision is recorded the countdowns stop and the headline says what was decided, by whom,
and whether it was in time.  Words carry every state (``OVERDUE``, ``DECIDED``, ``late``);
colour only repeats them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from textual.content import Content
from textual.events import Resize

from cockpit.decision.engine import (
    DecisionDeadline,
    DecisionRecord,
    DecisionState,
    TriggerState,
    TriggerStatus,
)
from cockpit.decision.tree import RecommendationKind
from widgets.lines import Lines

# Text markers carry the state; colour only repeats it (16-colour terminals, colour blindness).
_STATE_STYLE = {
    TriggerStatus.OK: "$text-muted",
    TriggerStatus.BREACHING: "bold $warning",
    TriggerStatus.FIRED: "bold reverse $error",
    TriggerStatus.RECOVERED: "$success",
    TriggerStatus.STALE: "italic $text-muted",
}
#: Short names (12 cells) of the shipped policy's trigger titles. A trigger whose title
#: the policy changed is named by its own title: the screen says what the policy says.
_SHORT = {
    "Error rate": "Errors",
    "Response time p95": "Latency p95",
    "Failed health checks": "Health chk",
    "Security breach": "Security",
    "Data corruption": "Data corrupt",
    "DB connection failures": "DB conns",
    "Memory/CPU": "CPU/Mem",
}
_SHORT_ACTION = {
    "automatic_rollback": "auto rollback",
    "immediate_rollback": "immed. rollback",
    "alert_manual_decision": "alert+manual",
    "manual_decision": "manual decision",
}
_REC_STYLE = {
    RecommendationKind.IMMEDIATE_ROLLBACK: "bold reverse $error",
    RecommendationKind.ROLLBACK_WITHIN_30M: "bold $error",
    RecommendationKind.ROLLBACK: "bold $error",
    RecommendationKind.HOT_FIX: "bold $warning",
    RecommendationKind.AWAITING_ANSWER: "bold $accent",
    RecommendationKind.NO_ACTION: "$success",
}


def format_duration(span: timedelta) -> str:
    """``42s``, ``5m``, ``3m10s``, ``1h02m``: compact, exact to the second under an hour."""
    seconds = max(0, int(span.total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        minutes, rest = divmod(seconds, 60)
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest:02d}s"
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m"


def countdown(deadline: datetime | None, now: datetime) -> str:
    """``decide in 4m12s``, ``decide NOW`` or ``OVERDUE 1m``; empty without a deadline."""
    if deadline is None:
        return ""
    left = deadline - now
    if left > timedelta(0):
        return f"decide in {format_duration(left)}"
    if left == timedelta(0):
        return "decide NOW"
    return f"OVERDUE {format_duration(-left)}"


def coarse_countdown(deadline: datetime | None, now: datetime) -> str:
    """``decide in 4m``, ``decide in <1m`` or ``OVERDUE 2m``: the countdown to the minute,
    for the border (the headline counts the seconds: redrawing a border repaints the
    whole panel)."""
    if deadline is None:
        return ""
    seconds = int((deadline - now).total_seconds())
    if seconds > 0:
        return f"decide in {seconds // 60}m" if seconds >= 60 else "decide in <1m"
    if seconds == 0:
        return "decide NOW"
    return f"OVERDUE {-seconds // 60}m" if seconds <= -60 else "OVERDUE <1m"


def clock_time(moment: datetime) -> str:
    """``14:36Z``, or ``14:36:10Z`` when the seconds are not zero (UTC)."""
    utc = moment.astimezone(UTC)
    return f"{utc:%H:%M}Z" if utc.second == 0 else f"{utc:%H:%M:%S}Z"


def deadline_text(deadline: DecisionDeadline, width: int = 0) -> str:
    """``decide by 14:36Z (Error rate trigger; severity High allows until 14:55Z)``.

    With a ``width`` it is too long for, the other limit reads ``severity High: 14:55Z``.
    """
    text = f"decide by {clock_time(deadline.at)} ({deadline.source}"
    if deadline.other_at is None or not deadline.other_source:
        return text + ")"
    other = clock_time(deadline.other_at)
    full = f"{text}; {deadline.other_source} allows until {other})"
    return full if not width or len(full) <= width else f"{text}; {deadline.other_source}: {other})"


def verdict(decision: DecisionRecord) -> str:
    """``in time (2m before 14:36Z)``, ``3m late (due 14:36Z)`` or ``no deadline was running``."""
    margin, deadline = decision.margin, decision.deadline
    if margin is None or deadline is None:
        return "no deadline was running"
    by = clock_time(deadline.at)
    if margin > timedelta(0):
        return f"in time ({format_duration(margin)} before {by})"
    if margin == timedelta(0):
        return f"in time (at {by})"
    return f"{format_duration(-margin)} late (due {by})"


def decided_text(decision: DecisionRecord) -> str:
    """``rollback by alice@bastion at 14:34Z, in time (2m before 14:36Z)``."""
    return (f"{decision.decision} by {decision.by} at {clock_time(decision.at)},"
            f" {verdict(decision)}")


def short_name(trigger: TriggerState) -> str:
    """The trigger's name in a row: the short form of a shipped title, else the
    policy's title."""
    return _SHORT.get(trigger.spec.title, trigger.spec.title)


_IMPACT = re.compile(r"User impact > ([^?]*)\?")


def short_question(question: str) -> str:
    """A decision-tree question in few cells: ``Impact>5%?`` (the threshold as the tree
    states it), ``Critical?``."""
    return _IMPACT.sub(r"Impact>\1?", question).replace("Critical issue?", "Critical?")


def state_marker(trigger: TriggerState) -> str:
    """The trigger's state in words: ``OK``, ``BREACH 3m10s/5m``, ``FIRED``, ..."""
    if trigger.state is TriggerStatus.BREACHING:
        return f"BREACH {format_duration(trigger.elapsed)}/{format_duration(trigger.needed)}"
    return trigger.state.value.upper()


def _value(trigger: TriggerState) -> str:
    if trigger.spec.is_event:
        return "event" if trigger.fired_at else ""
    if trigger.value is None:
        return "no data"
    unit = "ms" if (trigger.metric or "").endswith("_ms") else "%"
    return f"{trigger.value:g}{unit}"


class DecisionPanel(Lines):
    """Shows the decision engine's state; it never decides anything itself.

    Call :meth:`show` with a :class:`DecisionState` and the current time.  Below 12
    rows or 90 columns it is compact (fits 78x10 with its border): triggers that are
    all OK collapse to one line.  With more room it lists every trigger and reason.

    Only the cells that change are repainted (a ticking countdown costs its digits); the
    border says the countdown to the minute.
    """

    DEFAULT_CSS = """
    DecisionPanel {
        border: round $primary-darken-1;
        border-title-color: $text;
        border-title-style: bold;
        border-subtitle-color: $text-muted;
        padding: 0 1;
        height: auto;
        min-height: 3;
    }
    DecisionPanel.-rollback {
        border: heavy $error;
    }
    DecisionPanel.-overdue {
        border-subtitle-color: $error;
        border-subtitle-style: bold;
    }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(["waiting for the decision engine…"], id=id, classes=classes)
        self._last: tuple[DecisionState, datetime] | None = None
        self._painted: tuple[bool, bool, str] | None = None

    def on_mount(self) -> None:
        self.border_title = "Decision"

    def on_resize(self, event: Resize) -> None:
        # the layout depends on the room we have: re-render the last state at the new size
        if self._last is not None:
            self.show(*self._last)

    @property
    def compact(self) -> bool:
        """True when the panel has only about 10 rows or 90 columns."""
        return self.size.height < 12 or self.size.width < 90

    def show(self, state: DecisionState, now: datetime | None = None) -> None:
        """Render ``state`` as of ``now`` (default: the state's own time).

        Repaints only when what is shown changes (a countdown changes once a second).
        """
        now = state.at if now is None else now
        self._last = (state, now)
        rec = state.recommendation
        deadline = state.deadline
        due = countdown(deadline.at, now) if deadline is not None else ""
        overdue = due.startswith("OVERDUE")
        decision = state.decision
        if due and deadline is not None:
            subtitle = coarse_countdown(deadline.at, now)
        elif decision is not None:
            margin = decision.margin
            subtitle = ("DECIDED" if margin is None else "DECIDED in time" if decision.in_time
                        else f"DECIDED {format_duration(-margin)} late")
        else:
            subtitle = ""
        lines: list[str | Content] = [self._headline(state, due)]
        width = max(20, self.content_region.width or 76)
        if deadline is not None:
            lines.append(Content.assemble(
                (deadline_text(deadline, width), "bold $error" if overdue else "bold")))
        if not self.compact and decision is not None and deadline is not None:
            lines.append(Content.assemble(("Decided before: ", "$text-muted"),
                                          decided_text(decision)))
        lines += [self._tree_line(state), self._authority_line(state)]
        if self.compact:
            lines.extend(self._compact_triggers(state, now, fixed=len(lines)))
            # one line per item at 80 columns: crop rather than wrap, the rows must stay rows
            lines = [
                (Content(x) if isinstance(x, str) else x).truncate(width, ellipsis=True)
                for x in lines
            ]
        else:
            lines.extend(f"  · {reason}" for reason in rec.reasons[1:])
            lines.append(Content(""))
            lines.extend(self._trigger_row(t, state, now, wide=True) for t in state.triggers)
            # wide: wrap what does not fit, as a paragraph would
            lines = [row for x in lines
                     for row in ((Content(x) if isinstance(x, str) else x).wrap(width) or
                                 [Content("")])]
        painted = (rec.kind.is_rollback, overdue, subtitle)
        if self._painted != painted:
            self._painted = painted
            self.set_class(rec.kind.is_rollback, "-rollback")
            self.set_class(overdue, "-overdue")
            self.border_subtitle = subtitle
        self.show_rows(lines)

    def _headline(self, state: DecisionState, due: str) -> Content:
        """What matters now: the open decision and its countdown, or what was decided."""
        rec = state.recommendation
        decision = state.decision
        if decision is not None and state.deadline is None:
            return Content.assemble((" DECIDED ", "bold reverse"), " ", decided_text(decision))
        parts: list[str | tuple[str, str]] = [(f" {rec.text.upper()} ", _REC_STYLE[rec.kind])]
        if due:
            parts.append(("  " + due, "bold"))
        if rec.reasons:
            parts.append("  " + rec.reasons[0])
        return Content.assemble(*parts)

    def _tree_line(self, state: DecisionState) -> Content:
        parts: list[str | tuple[str, str]] = []
        for step in state.tree:
            question = short_question(step.question)
            answer = step.answer if step.by in ("data", "") else f"{step.answer} ({step.by})"
            style = "bold $accent" if step.answer == "unanswered" else "bold"
            parts += [question, " ", (answer, style), " -> "]
        kind = state.recommendation.kind
        last = "?" if kind is RecommendationKind.AWAITING_ANSWER else kind.label
        parts.append((f"[{last}]", "bold reverse"))
        return Content.assemble(*parts)

    def _authority_line(self, state: DecisionState) -> Content:
        if state.severity is None or state.severity_rule is None:
            return Content.assemble(("Severity: not set", "$text-muted"),
                                    "  (no issue detected)")
        how = f"set by {state.severity_set_by}" if state.severity_set_by else "suggested"
        if self.compact:
            return Content.assemble(
                "Sev ", (state.severity.upper(), "bold"), f" ({how}) · ",
                (state.severity_rule.authority, "bold"),
                f" · max {format_duration(state.severity_rule.max_decision)}",
            )
        return Content.assemble(
            "Severity ", (state.severity.upper(), "bold"), f" ({how})  Authority: ",
            (state.severity_rule.authority, "bold"),
            f"  max {format_duration(state.severity_rule.max_decision)}",
        )

    def _trigger_row(
        self, trigger: TriggerState, state: DecisionState, now: datetime, *, wide: bool
    ) -> Content:
        name = short_name(trigger)
        marker = state_marker(trigger)
        if wide and trigger.fired_at is not None and trigger.state is not TriggerStatus.FIRED:
            marker += f" (fired {trigger.fired_at:%H:%M})"
        elif trigger.state is TriggerStatus.FIRED and trigger.fired_at is not None:
            marker += f" {trigger.fired_at:%H:%M:%S}"
        # a trigger's countdown runs only while its decision is open
        due = countdown(trigger.decide_by, now) if state.counts_down(trigger) else ""
        cells: list[str | tuple[str, str]] = [
            f"{name:<12.12} ",
            (f"{marker:<24.24}" if wide else f"{marker:<18.18}", _STATE_STYLE[trigger.state]),
            f" {_value(trigger):>8.8} ",
        ]
        if wide:
            cells.append(f" {trigger.action.label:<24}")
        else:
            cells.append(f" {_SHORT_ACTION.get(trigger.action.value, trigger.action.label):<15.15}")
        if due:
            cells.append((f" {due}", "bold $error" if due.startswith("OVERDUE") else "bold"))
        return Content.assemble(*cells)

    def _compact_triggers(self, state: DecisionState, now: datetime, fixed: int) -> list[Content]:
        # 10 rows: 2 of border, the headline, deadline, tree and authority lines, then triggers
        room = max(self.size.height, 10) - 2 - fixed
        notable = [t for t in state.triggers if t.state is not TriggerStatus.OK]
        calm = [t for t in state.triggers if t.state is TriggerStatus.OK]
        rows = [self._trigger_row(t, state, now, wide=False) for t in notable]
        if len(rows) > room - (1 if calm else 0):
            keep = max(0, room - 1)
            hidden = len(rows) - keep
            rows = rows[:keep] + [Content(f"… {hidden} more not OK (widen the panel)")]
            return rows
        if calm:
            names = ", ".join(short_name(t) for t in calm)
            rows.append(Content.assemble(("OK: ", "$text-muted"), (names, "$text-muted")))
        return rows
