"""The rollback decision policy: automatic triggers and the severity/authority table.

The policy is data (``runbooks/policy.yaml``) so an organisation can tune it without
touching code; this module loads and validates it.  Errors name the file and line
(``policy.yaml:12: unknown key 'treshold'``) because the person fixing the file is
usually mid-incident.

Durations in the file are integers (seconds) or strings such as ``"90s"``, ``"5m"``,
``"1h"`` and ``"immediately"`` (zero).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from cockpit.yamlfile import (
    DataFileError,
    LineDict,
    LineList,
    Scalar,
    load_text,
    plain,
    read_data_text,
)

__all__ = [
    "SEVERITIES",
    "Action",
    "Policy",
    "PolicyError",
    "PolicyView",
    "SeverityRule",
    "ThresholdView",
    "TriggerSpec",
    "default_policy_path",
    "default_policy_view",
    "format_span",
    "load_policy",
    "metric_unit",
    "parse_policy",
    "policy_view",
]

#: Severity levels, most severe first (the order of the procedures' table).
SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low")


class PolicyError(ValueError):
    """A policy file could not be read or is invalid; the message is ``FILE:LINE: message``."""


class Action(StrEnum):
    """What the procedures say to do when a trigger fires."""

    AUTOMATIC_ROLLBACK = "automatic_rollback"
    IMMEDIATE_ROLLBACK = "immediate_rollback"
    ALERT_MANUAL_DECISION = "alert_manual_decision"
    MANUAL_DECISION = "manual_decision"

    @property
    def label(self) -> str:
        """Human wording, as in the procedures' table."""
        return _ACTION_LABELS[self]

    @property
    def is_critical(self) -> bool:
        """True for actions that make the decision tree's "Critical issue?" a yes."""
        return self in (Action.AUTOMATIC_ROLLBACK, Action.IMMEDIATE_ROLLBACK)


_ACTION_LABELS = {
    Action.AUTOMATIC_ROLLBACK: "automatic rollback",
    Action.IMMEDIATE_ROLLBACK: "immediate rollback",
    Action.ALERT_MANUAL_DECISION: "alert + manual decision",
    Action.MANUAL_DECISION: "manual decision",
}


@dataclass(frozen=True, slots=True)
class TriggerSpec:
    """One row of the automatic-trigger table.

    A metric trigger breaches when any of ``metrics`` is strictly greater than
    ``above``; each metric has its own window.  An event trigger (``event`` set,
    ``metrics`` empty) fires on the first event of that kind.
    """

    id: str
    title: str
    action: Action
    decide_within: timedelta
    metrics: tuple[str, ...] = ()
    above: float = 0.0
    sustained: timedelta = timedelta(0)
    event: str | None = None

    @property
    def is_event(self) -> bool:
        """True when the trigger fires on an event rather than on metric samples."""
        return self.event is not None


@dataclass(frozen=True, slots=True)
class SeverityRule:
    """One row of the manual-criteria table: who decides and how fast."""

    severity: str
    criteria: str
    authority: str
    max_decision: timedelta


@dataclass(frozen=True, slots=True)
class Policy:
    """The whole decision policy: triggers in display order, severities and settings."""

    triggers: tuple[TriggerSpec, ...]
    severities: tuple[SeverityRule, ...]
    max_gap: timedelta = timedelta(seconds=60)
    stale_after: timedelta = timedelta(seconds=120)
    user_impact_above: float = 5.0
    rollback_within: timedelta = timedelta(minutes=30)
    source: str = "<builtin>"

    @property
    def metrics(self) -> frozenset[str]:
        """Every metric name some trigger watches."""
        return frozenset(m for t in self.triggers for m in t.metrics)

    @property
    def events(self) -> frozenset[str]:
        """Every event kind some trigger fires on."""
        return frozenset(t.event for t in self.triggers if t.event is not None)

    def trigger(self, trigger_id: str) -> TriggerSpec:
        """Return the trigger with this id (``KeyError`` if there is none)."""
        for spec in self.triggers:
            if spec.id == trigger_id:
                return spec
        raise KeyError(trigger_id)

    def severity(self, name: str) -> SeverityRule:
        """Return the rule for a severity name (case-insensitive; ``KeyError`` if unknown)."""
        wanted = name.lower()
        for rule in self.severities:
            if rule.severity == wanted:
                return rule
        raise KeyError(name)


# --------------------------------------------------------------------------- paths


def default_policy_path() -> Path:
    """Return the shipped ``policy.yaml`` (wheel: ``cockpit/_runbooks``; source: ``runbooks/``)."""
    from cockpit.paths import runbooks_dir

    return runbooks_dir() / "policy.yaml"


# --------------------------------------------------------------------------- YAML with lines
# cockpit.yamlfile is the one line-aware loader; the policy asks it for scalar lines too.

_Map = LineDict
_Seq = LineList
_Scalar = Scalar


class _LineError(Exception):
    """Internal: an error at a line, turned into ``PolicyError`` with the file name."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


# --------------------------------------------------------------------------- validation helpers


def _line_of(node: Any, default: int) -> int:
    return int(getattr(node, "line", default))


_plain = plain


def _mapping(node: Any, what: str, line: int) -> _Map:
    if not isinstance(node, _Map):
        raise _LineError(_line_of(node, line), f"{what} must be a mapping")
    return node


def _check_keys(
    node: _Map, what: str, required: frozenset[str], optional: frozenset[str]
) -> None:
    for key in node:
        if key not in required and key not in optional:
            allowed = ", ".join(sorted(required | optional))
            raise _LineError(
                node.key_lines[key], f"unknown key {key!r} in {what} (allowed: {allowed})"
            )
    missing = sorted(required - node.keys())
    if missing:
        raise _LineError(node.line, f"{what} is missing {', '.join(repr(m) for m in missing)}")


def _text(node: Any, what: str, line: int) -> str:
    value = _plain(node)
    if not isinstance(value, str) or not value.strip():
        raise _LineError(_line_of(node, line), f"{what} must be non-empty text")
    return value.strip()


def _number(node: Any, what: str, line: int) -> float:
    value = _plain(node)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _LineError(_line_of(node, line), f"{what} must be a number, not {value!r}")
    if value < 0:
        raise _LineError(_line_of(node, line), f"{what} must not be negative")
    return float(value)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h)\s*$")
_UNIT_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}


def _duration(node: Any, what: str, line: int) -> timedelta:
    value = _plain(node)
    where = _line_of(node, line)
    if isinstance(value, bool):
        raise _LineError(where, f"{what} must be a duration, not {value!r}")
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            raise _LineError(where, f"{what} must be a non-negative duration")
        return timedelta(seconds=value)
    if isinstance(value, str):
        if value.strip().lower() in ("immediately", "immediate", "0"):
            return timedelta(0)
        match = _DURATION.match(value.lower())
        if match:
            return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    raise _LineError(
        where, f"{what} must be seconds or a duration like '90s', '5m', '1h', 'immediately'"
    )


_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_TRIGGER_KEYS = frozenset({"title", "action", "decide_within"})
_TRIGGER_OPTIONAL = frozenset({"metrics", "above", "sustained", "event"})
_SEVERITY_KEYS = frozenset({"criteria", "authority", "max_decision"})
_TOP_KEYS = frozenset({"version", "triggers", "severities"})
_TOP_OPTIONAL = frozenset({"settings"})
_SETTINGS_KEYS = frozenset({"max_gap", "stale_after", "user_impact_above", "rollback_within"})


def _trigger(trigger_id: str, node: Any, line: int) -> TriggerSpec:
    what = f"trigger {trigger_id!r}"
    if not _ID.match(trigger_id):
        raise _LineError(line, f"{what}: ids are lower_snake_case")
    body = _mapping(node, what, line)
    _check_keys(body, what, _TRIGGER_KEYS, _TRIGGER_OPTIONAL)
    action_text = _text(body["action"], f"{what} action", body.line)
    try:
        action = Action(action_text)
    except ValueError:
        allowed = ", ".join(a.value for a in Action)
        raise _LineError(
            _line_of(body["action"], body.line),
            f"{what}: unknown action {action_text!r} (allowed: {allowed})",
        ) from None
    common: dict[str, Any] = {
        "id": trigger_id,
        "title": _text(body["title"], f"{what} title", body.line),
        "action": action,
        "decide_within": _duration(body["decide_within"], f"{what} decide_within", body.line),
    }
    if "event" in body:
        for key in ("metrics", "above", "sustained"):
            if key in body:
                raise _LineError(
                    body.key_lines[key], f"{what}: an event trigger takes no {key!r}"
                )
        return TriggerSpec(event=_text(body["event"], f"{what} event", body.line), **common)
    if "metrics" not in body or "above" not in body:
        raise _LineError(body.line, f"{what} needs either 'event' or both 'metrics' and 'above'")
    metrics_node = body["metrics"]
    if not isinstance(metrics_node, _Seq) or not metrics_node:
        raise _LineError(
            _line_of(metrics_node, body.key_lines["metrics"]),
            f"{what} metrics must be a non-empty list",
        )
    metrics = tuple(_text(m, f"{what} metric", metrics_node.line) for m in metrics_node)
    if len(set(metrics)) != len(metrics):
        raise _LineError(metrics_node.line, f"{what} lists a metric twice")
    sustained = (
        _duration(body["sustained"], f"{what} sustained", body.line)
        if "sustained" in body
        else timedelta(0)
    )
    return TriggerSpec(
        metrics=metrics,
        above=_number(body["above"], f"{what} above", body.line),
        sustained=sustained,
        **common,
    )


def _parse(root: Any, source: str) -> Policy:
    top = _mapping(root, "the policy", 1)
    _check_keys(top, "the policy", _TOP_KEYS, _TOP_OPTIONAL)
    version = _plain(top["version"])
    if version != 1:
        raise _LineError(top.key_lines["version"], f"unsupported policy version {version!r}")

    settings: dict[str, Any] = {}
    if "settings" in top:
        node = _mapping(top["settings"], "settings", top.key_lines["settings"])
        _check_keys(node, "settings", frozenset(), _SETTINGS_KEYS)
        for key in ("max_gap", "stale_after", "rollback_within"):
            if key in node:
                settings[key] = _duration(node[key], f"settings {key}", node.key_lines[key])
        if "user_impact_above" in node:
            settings["user_impact_above"] = _number(
                node["user_impact_above"], "settings user_impact_above", node.line
            )
        max_gap = settings.get("max_gap", timedelta(seconds=60))
        stale_after = settings.get("stale_after", timedelta(seconds=120))
        if stale_after < max_gap:
            raise _LineError(
                node.line, "settings stale_after must be at least max_gap (a stale feed is a gap)"
            )

    triggers_node = _mapping(top["triggers"], "triggers", top.key_lines["triggers"])
    if not triggers_node:
        raise _LineError(triggers_node.line, "triggers must list at least one trigger")
    triggers = tuple(
        _trigger(tid, body, triggers_node.key_lines[tid]) for tid, body in triggers_node.items()
    )
    events = [t.event for t in triggers if t.event is not None]
    if len(set(events)) != len(events):
        raise _LineError(triggers_node.line, "two triggers fire on the same event")
    clash = set(events) & {m for t in triggers for m in t.metrics}
    if clash:
        raise _LineError(
            triggers_node.line, f"{sorted(clash)[0]!r} is used both as a metric and as an event"
        )

    sev_node = _mapping(top["severities"], "severities", top.key_lines["severities"])
    _check_keys(sev_node, "severities", frozenset(SEVERITIES), frozenset())
    severities = []
    for name in SEVERITIES:
        body = _mapping(sev_node[name], f"severity {name!r}", sev_node.key_lines[name])
        _check_keys(body, f"severity {name!r}", _SEVERITY_KEYS, frozenset())
        severities.append(
            SeverityRule(
                severity=name,
                criteria=_text(body["criteria"], f"severity {name!r} criteria", body.line),
                authority=_text(body["authority"], f"severity {name!r} authority", body.line),
                max_decision=_duration(
                    body["max_decision"], f"severity {name!r} max_decision", body.line
                ),
            )
        )
    return Policy(triggers=triggers, severities=tuple(severities), source=source, **settings)


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    """Parse and validate policy YAML ``text``; errors read ``SOURCE:LINE: message``."""
    try:
        root = load_text(text, source, scalars=True)
        return _parse(root, source)
    except _LineError as exc:
        raise PolicyError(f"{source}:{exc.line}: {exc.message}") from None
    except DataFileError as exc:
        raise PolicyError(f"{source}:{exc.line or 1}: {exc.message}") from None


def load_policy(path: str | Path | None = None) -> Policy:
    """Load the policy at ``path`` (the shipped one when ``None``); raise ``PolicyError``."""
    file = Path(path) if path is not None else default_policy_path()
    try:
        text = read_data_text(file)  # a regular file under the size limit, UTF-8, no NUL
    except DataFileError as exc:
        message = exc.message.replace("cannot read:", "cannot read policy:", 1)
        raise PolicyError(f"{file}:{exc.line or 0}: {message}") from None
    return parse_policy(text, str(file))


# --------------------------------------------------------------------------- what the screen says
# The panels, the help and the decision panel state the thresholds in words; they read
# them from here, so an overridden policy is what the screen says.


def format_span(span: timedelta) -> str:
    """``42s``, ``5m``, ``1m30s``, ``1h``, ``1h30m``: a policy duration, compactly."""
    seconds = max(0, round(span.total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        minutes, rest = divmod(seconds, 60)
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest:02d}s"
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h" if rest == 0 else f"{hours}h{rest // 60:02d}m"


def metric_unit(metric: str) -> str:
    """The unit a metric's name says: ``%`` for ``*_pct``, ``ms`` for ``*_ms``, else ``""``."""
    if metric.endswith("_pct"):
        return "%"
    if metric.endswith("_ms"):
        return "ms"
    return ""


#: The verb of a trigger's rule, by action: what the procedures say happens on breach.
_RULE_VERBS = {
    Action.AUTOMATIC_ROLLBACK: "rollback",
    Action.IMMEDIATE_ROLLBACK: "rollback",
    Action.ALERT_MANUAL_DECISION: "decide",
    Action.MANUAL_DECISION: "decide",
}


@dataclass(frozen=True, slots=True)
class ThresholdView:
    """One trigger as the screen states it: ``rollback if > 5% for 5m``."""

    trigger_id: str
    title: str
    metrics: tuple[str, ...]
    above: float
    unit: str
    sustained: timedelta
    action: Action
    event: str | None = None

    @property
    def metric(self) -> str | None:
        """The first metric watched (``None`` for an event trigger)."""
        return self.metrics[0] if self.metrics else None

    @property
    def limit(self) -> str:
        """The threshold with its unit: ``5%``, ``1000ms``, ``95%``."""
        return f"{self.above:g}{self.unit}"

    @property
    def window(self) -> str:
        """How long the breach must last: ``5m``, or ``""`` when one sample fires it."""
        return format_span(self.sustained) if self.sustained else ""

    @property
    def condition(self) -> str:
        """``> 5% for 5m``, ``> 50%``; an event trigger: ``on any security_breach``."""
        if self.event is not None:
            return f"on any {self.event}"
        window = f" for {self.window}" if self.window else ""
        return f"> {self.limit}{window}"

    @property
    def verb(self) -> str:
        """``rollback`` (an automatic or immediate rollback) or ``decide`` (a manual one)."""
        return _RULE_VERBS[self.action]

    @property
    def rule(self) -> str:
        """The rule in a few words: ``rollback if > 5% for 5m``, ``decide if > 1000ms for
        10m``, ``rollback at > 50%`` (no window: the first breaching sample)."""
        if self.event is not None:
            return f"{self.verb} {self.condition}"
        if not self.window:
            return f"{self.verb} at > {self.limit}"
        return f"{self.verb} if {self.condition}"


@dataclass(frozen=True, slots=True)
class PolicyView:
    """The thresholds the screen states, trigger by trigger, in the policy's order."""

    thresholds: tuple[ThresholdView, ...]
    source: str = "<builtin>"

    def trigger(self, trigger_id: str) -> ThresholdView | None:
        """The trigger with this id, or ``None`` (a policy without it)."""
        for view in self.thresholds:
            if view.trigger_id == trigger_id:
                return view
        return None

    def for_metric(self, metric: str) -> ThresholdView | None:
        """The first trigger watching ``metric``, or ``None`` (no trigger watches it)."""
        for view in self.thresholds:
            if metric in view.metrics:
                return view
        return None

    @property
    def metric_thresholds(self) -> tuple[ThresholdView, ...]:
        """The metric triggers (not the event ones)."""
        return tuple(v for v in self.thresholds if v.event is None)

    @property
    def event_thresholds(self) -> tuple[ThresholdView, ...]:
        """The event triggers."""
        return tuple(v for v in self.thresholds if v.event is not None)


def policy_view(policy: Policy) -> PolicyView:
    """What the screen says of ``policy``'s triggers: threshold, unit, window, action."""
    return PolicyView(
        thresholds=tuple(
            ThresholdView(
                trigger_id=spec.id,
                title=spec.title,
                metrics=spec.metrics,
                above=spec.above,
                unit=metric_unit(spec.metrics[0]) if spec.metrics else "",
                sustained=spec.sustained,
                action=spec.action,
                event=spec.event,
            )
            for spec in policy.triggers
        ),
        source=policy.source,
    )


def default_policy_view() -> PolicyView:
    """The shipped policy's view (what a screen shows before it is handed another)."""
    return policy_view(load_policy())
