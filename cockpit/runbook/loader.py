"""Loading and checking runbook files: every mistake as ``FILE:LINE: message``.

:func:`load_runbook` reads one file, :func:`load_library` a folder (ids unique
across files), and :func:`check_paths` returns every error of a set of files
without raising, for ``cockpit runbooks check``. Beyond the shape of each file
the checker knows the library: a guard naming a step that does not exist, a
fact that no step establishes, a duplicate id, and a database rollback step
without the four guards of the data-loss-prevention rule are all errors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cockpit.actions.types import (
    ACTION_TYPES,
    BUILTIN_VARIABLES,
    MANUAL_TYPES,
    RUNTIME_VARIABLES,
    check_params,
    effective_variables,
    is_database_rollback,
    variable_refs,
)
from cockpit.runbook.model import (
    DB_ROLLBACK_APPROVALS,
    DB_ROLLBACK_FACTS,
    DB_ROLLBACK_NOTIFIED,
    DEFAULT_TIMEOUT_S,
    INCIDENT_FACTS,
    KINDS,
    NOTIFY_TARGETS,
    ON_FAILURE,
    ROLES,
    ActionSpec,
    Guards,
    Library,
    Phase,
    Runbook,
    Step,
    parse_duration,
)
from cockpit.yamlfile import DataFileError, LineDict, LineList, load_file

TRIGGERS: tuple[str, ...] = (
    "error_rate", "latency_p95", "health_checks", "security_breach", "data_corruption",
    "db_connections", "resources",
)
_RUNBOOK_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_STEP_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_FACT = re.compile(r"^[a-z][a-z0-9_]*$")
_TOP_KEYS = ("id", "title", "summary", "source", "applies_to", "variables", "phases")
_PHASE_KEYS = ("name", "budget", "steps")
_STEP_KEYS = (
    "id", "title", "why", "kind", "action", "destructive", "requires", "establishes",
    "notifies", "timeout", "on_failure", "notes", "database_rollback", "target",
)
_REQUIRES_KEYS = ("steps", "approvals", "facts", "notified")
NOT_RUNBOOKS: tuple[str, ...] = ("policy.yaml",)


class RunbookLoadError(ValueError):
    """One or more runbook files are wrong; ``errors`` holds each ``FILE:LINE: message``."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = tuple(errors)
        super().__init__("\n".join(self.errors))


@dataclass
class _Problems:
    path: str
    items: list[tuple[int, str]] = field(default_factory=list)

    def add(self, line: int | None, message: str) -> None:
        self.items.append((line or 1, message))

    def lines(self) -> list[str]:
        return [f"{self.path}:{line}: {msg}" for line, msg in sorted(self.items,
                                                                     key=lambda i: i[0])]


def _str(data: LineDict, key: str, out: _Problems, *, required: bool = True,
         default: str = "") -> str:
    if key not in data:
        if required:
            out.add(data.line, f"missing key '{key}'")
        return default
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        out.add(data.line_of(key), f"'{key}' must be a string")
        return default
    text = str(value).strip()
    if required and not text:
        out.add(data.line_of(key), f"'{key}' must not be empty")
    return text


def _names(data: LineDict, key: str, out: _Problems, what: str,
           valid: Iterable[str] | None = None) -> tuple[tuple[str, int], ...]:
    """A list of names with each item's line; unknown names are errors when ``valid`` is given."""
    if key not in data or data[key] is None:
        return ()
    value = data[key]
    if not isinstance(value, LineList):
        out.add(data.line_of(key), f"'{key}' must be a list of {what}")
        return ()
    allowed = tuple(valid) if valid is not None else None
    result = []
    for item, line in zip(value, value.item_lines, strict=True):
        if not isinstance(item, str) or not item:
            out.add(line, f"'{key}' items must be {what}")
            continue
        if allowed is not None and item not in allowed:
            out.add(line, f"unknown {what[:-1] if what.endswith('s') else what} '{item}' in "
                          f"'{key}' (valid: {', '.join(allowed)})")
            continue
        result.append((item, line))
    return tuple(result)


def _unknown_keys(data: LineDict, allowed: tuple[str, ...], out: _Problems, what: str) -> None:
    for key in data:
        if key not in allowed:
            out.add(data.line_of(key),
                    f"unknown key '{key}' in {what} (allowed: {', '.join(allowed)})")


def _duration(data: LineDict, key: str, out: _Problems, default: float | None) -> float | None:
    if key not in data:
        return default
    try:
        return parse_duration(data[key])
    except ValueError as exc:
        out.add(data.line_of(key), str(exc))
        return default


def _bool(data: LineDict, key: str, out: _Problems) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        out.add(data.line_of(key), f"'{key}' must be true or false")
        return False
    return value


@dataclass(frozen=True)
class _Parsed:
    """A runbook as parsed, with the lines the library-level checks need."""

    runbook: Runbook | None
    problems: _Problems
    guard_lines: dict[tuple[str, str, str], int] = field(default_factory=dict)


def _parse(path: str | Path) -> _Parsed:
    out = _Problems(str(path))
    try:
        data = load_file(path)
    except DataFileError as exc:
        out.add(exc.line, exc.message)
        return _Parsed(None, out)
    if not isinstance(data, LineDict):
        out.add(1, "a runbook must be a mapping with id, title, summary and phases")
        return _Parsed(None, out)
    _unknown_keys(data, _TOP_KEYS, out, "runbook")
    rb_id = _str(data, "id", out)
    if rb_id and not _RUNBOOK_ID.match(rb_id):
        out.add(data.line_of("id"), f"bad runbook id '{rb_id}' (use [a-z0-9-]+)")
    title = _str(data, "title", out)
    summary = _str(data, "summary", out)
    source = _str(data, "source", out, required=False)

    triggers: tuple[str, ...] = ()
    scenarios: tuple[str, ...] = ()
    applies = data.get("applies_to")
    if applies is not None:
        if not isinstance(applies, LineDict):
            out.add(data.line_of("applies_to"), "'applies_to' must be a mapping")
        else:
            _unknown_keys(applies, ("triggers", "scenarios"), out, "applies_to")
            triggers = tuple(n for n, _ in _names(applies, "triggers", out, "triggers", TRIGGERS))
            scenarios = tuple(n for n, _ in _names(applies, "scenarios", out, "scenario ids"))

    variables: dict[str, str] = {}
    raw_vars = data.get("variables")
    if raw_vars is not None:
        if not isinstance(raw_vars, LineDict):
            out.add(data.line_of("variables"), "'variables' must be a mapping")
        else:
            for name, value in raw_vars.items():
                if not re.match(r"^[a-z_][a-z0-9_]*$", name):
                    out.add(raw_vars.line_of(name), f"bad variable name '{name}'")
                elif isinstance(value, bool) or not isinstance(value, str | int | float):
                    out.add(raw_vars.line_of(name), f"variable '{name}' must be a string or number")
                else:
                    variables[name] = str(value)
    known = effective_variables(variables)
    for name, value in variables.items():
        try:
            for ref in variable_refs(value):
                if ref not in known and ref not in RUNTIME_VARIABLES:
                    out.add(raw_vars.line_of(name),  # type: ignore[union-attr]
                            f"undefined variable '{ref}' in variable '{name}'")
        except ValueError as exc:
            out.add(raw_vars.line_of(name), f"variable '{name}': {exc}")  # type: ignore[union-attr]

    phases: list[Phase] = []
    guard_lines: dict[tuple[str, str, str], int] = {}
    seen_steps: dict[str, int] = {}
    raw_phases = data.get("phases")
    if "phases" not in data:
        out.add(data.line, "missing key 'phases'")
    elif not isinstance(raw_phases, LineList) or not raw_phases:
        out.add(data.line_of("phases"), "'phases' must be a non-empty list")
    else:
        for item, line in zip(raw_phases, raw_phases.item_lines, strict=True):
            if not isinstance(item, LineDict):
                out.add(line, "a phase must be a mapping with name and steps")
                continue
            _unknown_keys(item, _PHASE_KEYS, out, "phase")
            name = _str(item, "name", out)
            budget = _duration(item, "budget", out, None)
            steps: list[Step] = []
            raw_steps = item.get("steps")
            if not isinstance(raw_steps, LineList) or not raw_steps:
                out.add(item.line_of("steps"), f"phase '{name}' needs a non-empty list of steps")
            else:
                for raw_step, step_line in zip(raw_steps, raw_steps.item_lines, strict=True):
                    step = _parse_step(raw_step, step_line, out, known, seen_steps, guard_lines,
                                       Path(path).parent)
                    if step is not None:
                        steps.append(step)
            phases.append(Phase(name, tuple(steps), budget, item.line))

    runbook = Runbook(rb_id, title, summary, tuple(phases), source, triggers, scenarios,
                      variables, str(path), data.line)
    _check_local_order(runbook, guard_lines, out)
    return _Parsed(runbook, out, guard_lines)


def _parse_step(raw: Any, line: int, out: _Problems, known: dict[str, str],
                seen: dict[str, int], guard_lines: dict[tuple[str, str, str], int],
                folder: Path) -> Step | None:
    if not isinstance(raw, LineDict):
        out.add(line, "a step must be a mapping")
        return None
    _unknown_keys(raw, _STEP_KEYS, out, "step")
    step_id = _str(raw, "id", out)
    if step_id and not _STEP_ID.match(step_id):
        out.add(raw.line_of("id"), f"bad step id '{step_id}' (use [a-z0-9_-]+)")
    if step_id in seen:
        out.add(raw.line_of("id"), f"duplicate step id '{step_id}' (first at line {seen[step_id]})")
    elif step_id:
        seen[step_id] = raw.line_of("id")
    title = _str(raw, "title", out)
    why = _str(raw, "why", out)
    kind = _str(raw, "kind", out)
    if kind and kind not in KINDS:
        out.add(raw.line_of("kind"), f"bad kind '{kind}' (valid: {', '.join(KINDS)})")

    spec = ActionSpec("", {}, raw.line_of("action"))
    raw_action = raw.get("action")
    if "action" not in raw:
        out.add(raw.line, f"step '{step_id}' has no action")
    elif not isinstance(raw_action, LineDict) or "type" not in raw_action:
        out.add(raw.line_of("action"), "'action' must be a mapping with a 'type'")
    else:
        params = {k: v for k, v in raw_action.items() if k != "type"}
        spec = ActionSpec(str(raw_action["type"]), params, raw_action.line)
        for param, message in check_params(spec, known):
            where = raw_action.line_of(param) if param else raw_action.line_of("type")
            out.add(where, message)
        sql_file = params.get("sql_file")
        if spec.type == "pg.verify" and isinstance(sql_file, str) and "${" not in sql_file:
            if not sql_file_path(sql_file, folder).is_file():
                out.add(raw_action.line_of("sql_file"), f"sql_file '{sql_file}' not found (looked "
                                                        f"beside the runbook and one folder up)")
        if spec.type in ACTION_TYPES and kind in KINDS:
            if kind == "notify" and not (spec.type.startswith("notify.") or spec.type == "shell"):
                out.add(raw.line_of("kind"), f"a notify step needs a notify.* (or shell) action, "
                                             f"not {spec.type}")
            if (kind == "manual") != (spec.type in MANUAL_TYPES):
                out.add(raw.line_of("kind"),
                        f"kind '{kind}' does not fit action {spec.type} (manual steps use "
                        f"{', '.join(MANUAL_TYPES)}, and only they do)")

    requires = Guards()
    raw_req = raw.get("requires")
    if raw_req is not None:
        if not isinstance(raw_req, LineDict):
            out.add(raw.line_of("requires"), "'requires' must be a mapping")
        else:
            _unknown_keys(raw_req, _REQUIRES_KEYS, out, "requires")
            steps = _names(raw_req, "steps", out, "step ids")
            facts = _names(raw_req, "facts", out, "facts")
            for kind_name, items in (("steps", steps), ("facts", facts)):
                for name, item_line in items:
                    guard_lines[(step_id, kind_name, name)] = item_line
            requires = Guards(
                tuple(n for n, _ in steps),
                tuple(n for n, _ in _names(raw_req, "approvals", out, "roles", ROLES)),
                tuple(n for n, _ in facts),
                tuple(n for n, _ in _names(raw_req, "notified", out, "targets", NOTIFY_TARGETS)),
            )
    establishes = _names(raw, "establishes", out, "facts")
    for fact, fact_line in establishes:
        if not _FACT.match(fact):
            out.add(fact_line, f"bad fact name '{fact}' (use [a-z][a-z0-9_]*)")
    notifies = _names(raw, "notifies", out, "targets", NOTIFY_TARGETS)
    timeout = _duration(raw, "timeout", out, DEFAULT_TIMEOUT_S) or DEFAULT_TIMEOUT_S
    on_failure = _str(raw, "on_failure", out, required=False, default="stop") or "stop"
    if on_failure not in ON_FAILURE:
        out.add(raw.line_of("on_failure"),
                f"bad on_failure '{on_failure}' (valid: {', '.join(ON_FAILURE)})")
    target = _str(raw, "target", out, required=False) or None
    if target:
        try:
            for ref in variable_refs(target):
                if ref not in known and ref not in RUNTIME_VARIABLES:
                    out.add(raw.line_of("target"), f"undefined variable '{ref}' in 'target'")
        except ValueError as exc:
            out.add(raw.line_of("target"), f"'target': {exc}")
    destructive = _bool(raw, "destructive", out) or spec.type == "redis.flushdb"
    db_rollback = _bool(raw, "database_rollback", out) or (
        spec.type in ACTION_TYPES and is_database_rollback(spec))
    step = Step(
        step_id, title, why, kind, spec, destructive, requires,
        tuple(f for f, _ in establishes), tuple(n for n, _ in notifies), timeout, on_failure,
        _str(raw, "notes", out, required=False), db_rollback, target, raw.line,
    )
    missing = missing_db_guards(step)
    if missing:
        out.add(raw.line, f"step '{step_id}' rolls back a database: it must require facts "
                          f"[{', '.join(DB_ROLLBACK_FACTS)}], approvals [dba], notified "
                          f"[compliance] (missing: {', '.join(missing)})")
    return step


def sql_file_path(sql_file: str, folder: Path) -> Path:
    """Where a ``pg.verify`` SQL file lives: beside the runbook, else relative to its parent."""
    candidate = folder / sql_file
    return candidate if candidate.is_file() else folder.parent / sql_file


def missing_db_guards(step: Step) -> list[str]:
    """Which guards of the data-loss-prevention rule a database rollback step lacks."""
    if not step.database_rollback:
        return []
    missing = [f"facts {f}" for f in DB_ROLLBACK_FACTS if f not in step.requires.facts]
    missing += [f"approvals {r}" for r in DB_ROLLBACK_APPROVALS if r not in step.requires.approvals]
    missing += [f"notified {t}" for t in DB_ROLLBACK_NOTIFIED if t not in step.requires.notified]
    return missing


def _check_local_order(runbook: Runbook, guard_lines: dict[tuple[str, str, str], int],
                       out: _Problems) -> None:
    order = {step.id: i for i, step in enumerate(runbook.steps)}
    for step in runbook.steps:
        for ref in step.requires.steps:
            if "/" in ref:
                continue
            line = guard_lines.get((step.id, "steps", ref), step.line)
            if ref not in order:
                out.add(line, f"unknown step '{ref}' in requires.steps of step '{step.id}'")
            elif order[ref] >= order[step.id]:
                out.add(line, f"step '{step.id}' requires step '{ref}', which does not come "
                              "before it (steps run in order)")


def facts_established_by(step: Step) -> tuple[str, ...]:
    """Facts a step establishes when it succeeds (declared, plus those its action implies)."""
    implied: list[str] = []
    if step.action.type == "pg.backup":
        implied.append("backup_taken")
    if step.action.type == "confirm" and isinstance(step.action.params.get("fact"), str):
        implied.append(step.action.params["fact"])
    return tuple(dict.fromkeys([*step.establishes, *implied]))


def _check_library(parsed: Sequence[_Parsed]) -> None:
    """Cross-file checks: duplicate ids, cross-runbook step guards and fact sources."""
    by_id: dict[str, _Parsed] = {}
    for item in parsed:
        rb = item.runbook
        if rb is None or not rb.id:
            continue
        if rb.id in by_id:
            first = by_id[rb.id].runbook
            assert first is not None
            item.problems.add(rb.line, f"duplicate runbook id '{rb.id}' (also in "
                                       f"{first.path}:{first.line})")
        else:
            by_id[rb.id] = item
    sources = set(INCIDENT_FACTS)
    for item in parsed:
        if item.runbook is not None:
            for step in item.runbook.steps:
                sources.update(facts_established_by(step))
    for item in parsed:
        rb = item.runbook
        if rb is None:
            continue
        for step in rb.steps:
            for ref in step.requires.steps:
                if "/" not in ref:
                    continue
                line = item.guard_lines.get((step.id, "steps", ref), step.line)
                other_id, _, other_step = ref.partition("/")
                other = by_id.get(other_id)
                if other is None or other.runbook is None:
                    item.problems.add(line, f"unknown runbook '{other_id}' in requires.steps "
                                            f"'{ref}'")
                elif other_step not in {s.id for s in other.runbook.steps}:
                    item.problems.add(line, f"unknown step '{other_step}' of runbook "
                                            f"'{other_id}' in requires.steps")
            for fact in step.requires.facts:
                if fact not in sources:
                    line = item.guard_lines.get((step.id, "facts", fact), step.line)
                    item.problems.add(line, f"fact '{fact}' is established by no step in the "
                                            "library and is not an incident fact")


def runbook_files(paths: Iterable[str | Path]) -> list[Path]:
    """The files named: a folder means the ``*.yaml`` directly in it, except ``policy.yaml``."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(p for p in sorted(path.glob("*.yaml")) if p.name not in NOT_RUNBOOKS)
        else:
            files.append(path)
    return files


def check_runbooks(paths: Iterable[str | Path]) -> tuple[list[str], list[Runbook]]:
    """Every ``FILE:LINE: message`` error and every runbook that parsed, one parse per file."""
    parsed = [_parse(path) for path in runbook_files(paths)]
    _check_library(parsed)
    errors = [line for item in parsed for line in item.problems.lines()]
    return errors, [item.runbook for item in parsed if item.runbook is not None]


def check_paths(paths: Iterable[str | Path]) -> list[str]:
    """Every error in the runbooks at ``paths`` (files or folders), as ``FILE:LINE: message``."""
    return check_runbooks(paths)[0]


def load_runbook(path: str | Path) -> Runbook:
    """Load one runbook file; ``RunbookLoadError`` lists every error found in it.

    Cross-runbook guards (``other-runbook/step``) and fact sources are only
    checked by :func:`load_library` and :func:`check_paths`.
    """
    parsed = _parse(path)
    errors = parsed.problems.lines()
    if errors or parsed.runbook is None:
        raise RunbookLoadError(errors)
    return parsed.runbook


def load_library(folder: str | Path) -> Library:
    """Load every runbook in ``folder``; ``RunbookLoadError`` lists every error of every file."""
    parsed = [_parse(path) for path in runbook_files([folder])]
    _check_library(parsed)
    errors = [line for item in parsed for line in item.problems.lines()]
    if errors:
        raise RunbookLoadError(errors)
    return Library({p.runbook.id: p.runbook for p in parsed if p.runbook is not None})


__all__ = [
    "BUILTIN_VARIABLES", "RunbookLoadError", "check_paths", "facts_established_by",
    "load_library", "load_runbook", "missing_db_guards", "runbook_files",
]
