"""A scenario's ``training:`` block: the hidden root cause, the expected response and plan.

Written in the scenario file so the people who write scenarios see the whole
exercise in one place::

    training:
      root_cause: api v2.0.0 opens a database connection per request.
      trigger: error_rate          # the decision clock starts when this trigger fires
      decide_within: 2m            # optional; default: the matrix's, at least 2 minutes
      severity: critical
      fix_forward: false           # the answer to "Can fix forward?" (when the tree asks)
      decision: rollback           # rollback | hot_fix | no_action
      why:                         # the procedure's reasons, narrated by the autopilot
        declare: ...
        decision: ...
      notify: [platform-team]      # who must have been notified by the end
      status_every: 15m
      plan:                        # the ideal response, in order
        - runbook: frontend-kubernetes
          variables: {deployment: api, selector: app=api}
          through: verify-pods     # stop after this step (continue later in the plan)
          skip: {logs: why it is skipped}
      accept: [service-mesh-traffic]   # other runbooks that are not wrong here
      wrong:                       # documented wrong plays and what they cost
        - play: Undo the migration before a backup.
          consequence: Rows written since the deploy are lost.
      expected:                    # side effects of the procedure: the coach says so
        - trigger: health_checks   # this trigger breaching or firing...
          after: database-migration/stop-api   # ...once this step has started...
          until: api-ready         # ...until this step of that runbook is done (optional:
          why: The API is down on purpose.     # default, the runbook's last step)

Every mistake is a :class:`~cockpit.yamlfile.DataFileError` (``FILE:LINE: message``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from cockpit.runbook.model import parse_duration
from cockpit.sim.scenario import Scenario
from cockpit.yamlfile import DataFileError, LineDict, LineList

DECISIONS: tuple[str, ...] = ("rollback", "hot_fix", "no_action")
SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low")
#: "Immediate" in the matrix still needs a person to read the panel and press a key.
MIN_ALLOWANCE = timedelta(minutes=2)

_KEYS = {
    "root_cause", "trigger", "decide_within", "severity", "fix_forward", "decision", "why",
    "notify", "status_every", "plan", "accept", "wrong", "verify_counts", "expected",
}
_EXPECTED_KEYS = {"trigger", "after", "until", "why"}
_PLAN_KEYS = {"runbook", "variables", "through", "skip", "why"}


@dataclass(frozen=True)
class PlanItem:
    """One stretch of the ideal response: a runbook, run up to ``through`` (or its end)."""

    runbook: str
    variables: dict[str, str] = field(default_factory=dict)
    through: str | None = None
    skip: dict[str, str] = field(default_factory=dict)
    why: str = ""


@dataclass(frozen=True)
class WrongPlay:
    """A documented mistake and what it costs in the simulation."""

    play: str
    consequence: str


@dataclass(frozen=True)
class ExpectedTrigger:
    """A trigger the procedure itself sets off: scaling the API to zero before a migration
    undo fails every health check. From the start of ``runbook``/``step`` until ``until``
    (a later step of that runbook; ``None``: its last step) is done, the trigger breaching
    or firing is expected, and the coach says why instead of leaving the alarm unexplained."""

    trigger: str
    runbook: str
    step: str
    why: str
    until: str | None = None


@dataclass(frozen=True)
class TrainingSpec:
    """What a scenario expects of the trainee; the autopilot plays exactly this."""

    scenario_id: str
    root_cause: str
    trigger: str
    severity: str
    decision: str
    plan: tuple[PlanItem, ...]
    decide_within: timedelta | None = None
    fix_forward: bool | None = None
    why: dict[str, str] = field(default_factory=dict)
    notify: tuple[str, ...] = ()
    status_every: timedelta = timedelta(minutes=15)
    accept: tuple[str, ...] = ()
    wrong: tuple[WrongPlay, ...] = ()
    expected: tuple[ExpectedTrigger, ...] = ()

    @property
    def runbooks(self) -> tuple[str, ...]:
        """The expected runbooks, in first-use order."""
        return tuple(dict.fromkeys(item.runbook for item in self.plan))

    def variables_for(self, runbook: str) -> dict[str, str]:
        """Variables the plan gives ``runbook`` (merged over its plan items)."""
        out: dict[str, str] = {}
        for item in self.plan:
            if item.runbook == runbook:
                out.update(item.variables)
        return out

    def allowance(self, matrix: timedelta) -> timedelta:
        """How long after the trigger a decision still counts as on time."""
        if self.decide_within is not None:
            return self.decide_within
        return max(matrix, MIN_ALLOWANCE)


def _err(path: str, line: int, message: str) -> DataFileError:
    return DataFileError(path, line, message)


def _text(data: LineDict, key: str, path: str, *, required: bool = True) -> str:
    if key not in data:
        if required:
            raise _err(path, data.line, f"training: missing key '{key}'")
        return ""
    value = data[key]
    if not isinstance(value, str) or not value.strip():
        raise _err(path, data.line_of(key), f"training: '{key}' must be a non-empty text")
    return " ".join(value.split())


def _duration(data: LineDict, key: str, path: str) -> timedelta | None:
    if key not in data:
        return None
    try:
        return timedelta(seconds=parse_duration(data[key]))
    except ValueError as exc:
        raise _err(path, data.line_of(key), f"training: '{key}': {exc}") from None


def _str_map(value: Any, path: str, line: int, what: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise _err(path, line, f"training: {what} must be a mapping")
    return {str(k): str(v) for k, v in value.items()}


def parse_training(scenario: Scenario) -> TrainingSpec:
    """The scenario's training block, validated; ``DataFileError`` (FILE:LINE) if malformed."""
    path = scenario.path or f"<scenario {scenario.id}>"
    raw = (scenario.extra or {}).get("training")
    if not isinstance(raw, LineDict):
        raise _err(path, 1, f"scenario '{scenario.id}' has no training block")
    data = raw
    for key in data:
        if key not in _KEYS:
            raise _err(path, data.line_of(key), f"training: unknown key '{key}' (allowed: "
                       f"{', '.join(sorted(_KEYS))})")
    decision = _text(data, "decision", path)
    if decision not in DECISIONS:
        raise _err(path, data.line_of("decision"),
                   f"training: decision must be one of {', '.join(DECISIONS)}")
    severity = _text(data, "severity", path)
    if severity not in SEVERITIES:
        raise _err(path, data.line_of("severity"),
                   f"training: severity must be one of {', '.join(SEVERITIES)}")
    fix_forward = data.get("fix_forward")
    if fix_forward is not None and not isinstance(fix_forward, bool):
        raise _err(path, data.line_of("fix_forward"), "training: fix_forward must be true/false")
    plan_raw = data.get("plan")
    if not isinstance(plan_raw, LineList) or not plan_raw:
        raise _err(path, data.line_of("plan"), "training: plan must list at least one runbook")
    plan = []
    for index, item in enumerate(plan_raw):
        line = plan_raw.item_lines[index]
        if not isinstance(item, LineDict):
            raise _err(path, line, "training: each plan item is a mapping with 'runbook'")
        for key in item:
            if key not in _PLAN_KEYS:
                raise _err(path, item.line_of(key), f"training: unknown key '{key}' in a plan "
                           f"item (allowed: {', '.join(sorted(_PLAN_KEYS))})")
        plan.append(PlanItem(
            _text(item, "runbook", path),
            _str_map(item.get("variables", {}), path, item.line_of("variables"), "variables"),
            _text(item, "through", path, required=False) or None,
            _str_map(item.get("skip", {}), path, item.line_of("skip"), "skip"),
            _text(item, "why", path, required=False),
        ))
    wrong = []
    for index, item in enumerate(data.get("wrong", []) or []):
        line = data["wrong"].item_lines[index]
        if not isinstance(item, LineDict):
            raise _err(path, line, "training: each wrong play has 'play' and 'consequence'")
        wrong.append(WrongPlay(_text(item, "play", path), _text(item, "consequence", path)))
    expected = _expected(data, path)
    why = _str_map(data.get("why", {}), path, data.line_of("why"), "why")
    notify = data.get("notify", []) or []
    accept = data.get("accept", []) or []
    if not isinstance(notify, list) or not isinstance(accept, list):
        raise _err(path, data.line, "training: notify and accept are lists")
    return TrainingSpec(
        scenario_id=scenario.id,
        root_cause=_text(data, "root_cause", path),
        trigger=_text(data, "trigger", path),
        severity=severity,
        decision=decision,
        plan=tuple(plan),
        decide_within=_duration(data, "decide_within", path),
        fix_forward=fix_forward,
        why={k: " ".join(v.split()) for k, v in why.items()},
        notify=tuple(str(n) for n in notify),
        status_every=_duration(data, "status_every", path) or timedelta(minutes=15),
        accept=tuple(str(a) for a in accept),
        wrong=tuple(wrong),
        expected=expected,
    )


def _expected(data: LineDict, path: str) -> tuple[ExpectedTrigger, ...]:
    raw = data.get("expected") or LineList()
    if not isinstance(raw, LineList):
        raise _err(path, data.line_of("expected"), "training: expected must be a list of "
                   "{trigger, after: runbook/step, why}")
    out = []
    for index, item in enumerate(raw):
        line = raw.item_lines[index]
        if not isinstance(item, LineDict):
            raise _err(path, line, "training: each expected side effect is a mapping with "
                       "trigger, after (runbook/step) and why")
        for key in item:
            if key not in _EXPECTED_KEYS:
                raise _err(path, item.line_of(key), f"training: unknown key '{key}' in an "
                           f"expected side effect (allowed: {', '.join(sorted(_EXPECTED_KEYS))})")
        after = _text(item, "after", path)
        runbook, _, step = after.partition("/")
        if not runbook or not step or "/" in step:
            raise _err(path, item.line_of("after"), f"training: after '{after}' must name "
                       "runbook/step")
        out.append(ExpectedTrigger(_text(item, "trigger", path), runbook, step,
                                   _text(item, "why", path),
                                   _text(item, "until", path, required=False) or None))
    return tuple(out)


def check_against(spec: TrainingSpec, scenario: Scenario, runbook_ids: set[str],
                  step_ids: dict[str, set[str]], trigger_ids: set[str]) -> list[str]:
    """Cross-checks against the library and policy: every problem as one line (empty: fine)."""
    where = scenario.path or scenario.id
    problems = []
    if spec.trigger not in trigger_ids:
        problems.append(f"{where}: training trigger '{spec.trigger}' is not in the policy")
    for item in spec.plan:
        if item.runbook not in runbook_ids:
            problems.append(f"{where}: plan runbook '{item.runbook}' is not in the library")
            continue
        steps = step_ids[item.runbook]
        for step in [item.through, *item.skip]:
            if step is not None and step not in steps:
                problems.append(f"{where}: runbook '{item.runbook}' has no step '{step}'")
    for effect in spec.expected:
        if effect.trigger not in trigger_ids:
            problems.append(f"{where}: expected trigger '{effect.trigger}' is not in the policy")
        if effect.runbook not in runbook_ids:
            problems.append(f"{where}: expected after runbook '{effect.runbook}', which is not "
                            "in the library")
            continue
        for step in (effect.step, effect.until):
            if step is not None and step not in step_ids[effect.runbook]:
                problems.append(f"{where}: runbook '{effect.runbook}' has no step '{step}'")
    return problems
