"""The Decision panel: triggers, the decision tree, the recommendation and who must decide."""

from __future__ import annotations

from datetime import datetime, timedelta

from textual.content import Content
from textual.events import Resize
from textual.widgets import Static

from cockpit.decision.engine import DecisionState, TriggerState, TriggerStatus
from cockpit.decision.tree import RecommendationKind

# Text markers carry the state; colour only repeats it (16-colour terminals, colour blindness).
_STATE_STYLE = {
    TriggerStatus.OK: "$text-muted",
    TriggerStatus.BREACHING: "bold $warning",
    TriggerStatus.FIRED: "bold reverse $error",
    TriggerStatus.RECOVERED: "$success",
    TriggerStatus.STALE: "italic $text-muted",
}
_SHORT = {
    "error_rate": "Errors",
    "latency_p95": "Latency p95",
    "health_checks": "Health chk",
    "security_breach": "Security",
    "data_corruption": "Data corrupt",
    "db_connections": "DB conns",
    "resources": "CPU/Mem",
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


class DecisionPanel(Static):
    """Shows the decision engine's state; it never decides anything itself.

    Call :meth:`show` with a :class:`DecisionState` and the current time.  Below 12
    rows or 90 columns it is compact (fits 78x10 with its border): triggers that are
    all OK collapse to one line.  With more room it lists every trigger and reason.
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
        super().__init__("waiting for the decision engine…", name=name, id=id, classes=classes)
        self._last: tuple[DecisionState, datetime] | None = None

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
        """Render ``state`` as of ``now`` (default: the state's own time)."""
        now = state.at if now is None else now
        self._last = (state, now)
        rec = state.recommendation
        self.set_class(rec.kind.is_rollback, "-rollback")
        deadline_text = countdown(state.decision_deadline, now)
        self.set_class(deadline_text.startswith("OVERDUE") and state.decision is None, "-overdue")
        if state.decision is not None:
            self.border_subtitle = (
                f"decided: {state.decision.decision} by {state.decision.by}"
                f" at {state.decision.at:%H:%M:%S}Z"
            )
        else:
            self.border_subtitle = deadline_text
        lines = [self._recommendation_line(state, now), self._tree_line(state)]
        lines.append(self._authority_line(state, now))
        if self.compact:
            lines.extend(self._compact_triggers(state, now))
            # one line per item at 80 columns: crop rather than wrap, the rows must stay rows
            width = max(20, self.content_region.width or 76)
            lines = [
                (Content(x) if isinstance(x, str) else x).truncate(width, ellipsis=True)
                for x in lines
            ]
        else:
            lines.extend(f"  · {reason}" for reason in rec.reasons[1:])
            lines.append(Content(""))
            lines.extend(self._trigger_row(t, now, wide=True) for t in state.triggers)
        self.update(Content("\n").join(Content(x) if isinstance(x, str) else x for x in lines))

    def _recommendation_line(self, state: DecisionState, now: datetime) -> Content:
        rec = state.recommendation
        parts: list[str | tuple[str, str]] = [(f" {rec.text.upper()} ", _REC_STYLE[rec.kind])]
        if rec.deadline is not None and state.decision is None:
            parts.append(("  " + countdown(rec.deadline, now), "bold"))
        if rec.reasons:
            parts.append("  " + rec.reasons[0])
        return Content.assemble(*parts)

    def _tree_line(self, state: DecisionState) -> Content:
        parts: list[str | tuple[str, str]] = []
        for step in state.tree:
            question = step.question.replace("User impact > 5%?", "Impact>5%?").replace(
                "Critical issue?", "Critical?"
            )
            answer = step.answer if step.by in ("data", "") else f"{step.answer} ({step.by})"
            style = "bold $accent" if step.answer == "unanswered" else "bold"
            parts += [question, " ", (answer, style), " -> "]
        kind = state.recommendation.kind
        last = "?" if kind is RecommendationKind.AWAITING_ANSWER else kind.label
        parts.append((f"[{last}]", "bold reverse"))
        return Content.assemble(*parts)

    def _authority_line(self, state: DecisionState, now: datetime) -> Content:
        if state.severity is None or state.severity_rule is None:
            return Content.assemble(("Severity: not set", "$text-muted"),
                                    "  (no issue detected)")
        how = f"set by {state.severity_set_by}" if state.severity_set_by else "suggested"
        deadline = countdown(state.severity_deadline, now)
        if self.compact:
            return Content.assemble(
                "Sev ", (state.severity.upper(), "bold"), f" ({how}) · ",
                (state.severity_rule.authority, "bold"),
                f" · max {format_duration(state.severity_rule.max_decision)}",
                (f" · {deadline}" if deadline else "", "bold"),
            )
        return Content.assemble(
            "Severity ", (state.severity.upper(), "bold"), f" ({how})  Authority: ",
            (state.severity_rule.authority, "bold"),
            f"  max {format_duration(state.severity_rule.max_decision)}",
            (f"  {deadline}" if deadline else "", "bold"),
        )

    def _trigger_row(self, trigger: TriggerState, now: datetime, *, wide: bool) -> Content:
        name = _SHORT.get(trigger.id, trigger.spec.title)
        marker = state_marker(trigger)
        if wide and trigger.fired_at is not None and trigger.state is not TriggerStatus.FIRED:
            marker += f" (fired {trigger.fired_at:%H:%M})"
        elif trigger.state is TriggerStatus.FIRED and trigger.fired_at is not None:
            marker += f" {trigger.fired_at:%H:%M:%S}"
        due = countdown(trigger.decide_by, now) if trigger.decide_by else ""
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

    def _compact_triggers(self, state: DecisionState, now: datetime) -> list[Content]:
        # 10 rows: 2 of border, 3 of recommendation/tree/authority, the rest for triggers
        room = max(self.size.height, 10) - 5
        notable = [t for t in state.triggers if t.state is not TriggerStatus.OK]
        calm = [t for t in state.triggers if t.state is TriggerStatus.OK]
        rows = [self._trigger_row(t, now, wide=False) for t in notable]
        if len(rows) > room - (1 if calm else 0):
            keep = max(0, room - 1)
            hidden = len(rows) - keep
            rows = rows[:keep] + [Content(f"… {hidden} more not OK (widen the panel)")]
            return rows
        if calm:
            names = ", ".join(_SHORT.get(t.id, t.id) for t in calm)
            rows.append(Content.assemble(("OK: ", "$text-muted"), (names, "$text-muted")))
        return rows
