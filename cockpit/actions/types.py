"""Typed actions: parameter schemas, variable substitution, validation and previews.

A step's action is written as ``{type: k8s.rollout_undo, deployment: ${deployment}, ...}``.
:func:`resolve` substitutes variables (each ``${name}`` is replaced inside one
argument value; nothing ever passes through a shell), validates each value by
what its parameter names (a Kubernetes name, a label selector, a Redis key, a
database name, a file path...) and returns a :class:`ResolvedAction` whose
:meth:`~ResolvedAction.preview` is the exact equivalent command and whose
:meth:`~ResolvedAction.argv` is the argv list where a real command exists.

A value that came from a variable can never become a command or an option:
``x; rm -rf /``, ``$(id)`` and ``-rf`` are rejected with a message naming the
variable. Free text (a Slack message, an e-mail body) may hold any printable
text because it is never part of a command.
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cockpit.actions.model import NOTIFY_TARGETS, ROLES, ActionSpec, format_duration, parse_duration

#: Variables every runbook may use, with their defaults (lowest precedence).
BUILTIN_VARIABLES: dict[str, str] = {
    "namespace": "production",
    "environment": "production",
    "db_host": "prod-db",
    "database": "whitecross_prod",
    "cache_host": "prod-cache",
    "api_base": "https://api.whitecross.health",
    "app_base": "https://app.whitecross.health",
}
#: Variables only known when an incident runs (config and incident supply them).
RUNTIME_VARIABLES: tuple[str, ...] = (
    "incident_id", "reason", "operator", "severity", "scenario", "now",
)
METRICS: tuple[str, ...] = ("error_rate_pct", "latency_p95_ms", "cpu_pct", "memory_pct")
SQL_ALLOWED: tuple[str, ...] = ("VACUUM", "ANALYZE", "REINDEX", "SELECT")
#: A runbook default starting with this is a placeholder the incident must replace:
#: an action using it refuses to resolve ("set variable X") rather than run with it.
PLACEHOLDER_PREFIX = "REPLACE_ME_"

_VAR = re.compile(r"\$\{([^{}]*)\}")
_VAR_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_DNS_LABEL = r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?"
_K8S_NAME = re.compile(rf"^{_DNS_LABEL}(?:\.{_DNS_LABEL})*$")
_LABEL_KEY = (r"(?:[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?/)?"
              r"[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_LABEL_VALUE = r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?"
_REQUIREMENT = rf"{_LABEL_KEY}(?:=|==|!=){_LABEL_VALUE}"
_SELECTOR = re.compile(rf"^{_REQUIREMENT}(?:,{_REQUIREMENT})*$")
_DATABASE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$-]{0,62}$")
_PATH = re.compile(r"^[A-Za-z0-9_./@%+=:,~-]+$")
_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(?::\d+)?(?:/[A-Za-z0-9._~%/:@+=,-]*)?$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
_ENDPOINT = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_FACT = re.compile(r"^[a-z][a-z0-9_]*$")
_UNSAFE = re.compile(r"[;&|`$<>(){}\\\"'*?\[\]!#\s]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class ActionError(ValueError):
    """An action's parameters are wrong; the message names the parameter (and variable)."""

    def __init__(self, message: str, param: str | None = None) -> None:
        self.param = param
        super().__init__(message)


class _Deferred(Exception):
    """A value depends on a runtime variable: it can only be validated when the incident runs."""


# ------------------------------------------------------------------ variables


def variable_refs(text: str) -> list[str]:
    """The variable names ``text`` refers to; ``ValueError`` for a malformed ``${...}``."""
    names = []
    for match in _VAR.finditer(text):
        name = match.group(1)
        if not _VAR_NAME.match(name):
            raise ValueError(f"bad variable reference '${{{name}}}' (names are [a-z_][a-z0-9_]*)")
        names.append(name)
    rest = _VAR.sub("", text)
    if "${" in rest:
        raise ValueError("unterminated variable reference '${'")
    return names


def expand(text: str, variables: Mapping[str, str], _depth: int = 0) -> tuple[str, tuple[str, ...]]:
    """Substitute every ``${name}`` in ``text``; returns the text and the variables used.

    A variable's value may itself refer to other variables. An undefined
    variable raises ``ActionError`` naming it: it never becomes an empty string.
    """
    if _depth > 8:
        raise ActionError("variables refer to each other in a loop")
    used: list[str] = []
    variable_refs(text)

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in variables:
            raise ActionError(f"undefined variable '{name}'")
        used.append(name)
        value, inner = expand(str(variables[name]), variables, _depth + 1)
        used.extend(inner)
        return value

    return _VAR.sub(one, text), tuple(dict.fromkeys(used))


def effective_variables(*layers: Mapping[str, Any] | None) -> dict[str, str]:
    """Built-in defaults overlaid by each layer in turn (runbook, config, incident)."""
    out = dict(BUILTIN_VARIABLES)
    for layer in layers:
        if layer:
            out.update({str(k): str(v) for k, v in layer.items() if v is not None})
    return out


# ------------------------------------------------------------------ param kinds


Subst = Callable[[str], tuple[str, tuple[str, ...]]]


def _origin(used: tuple[str, ...]) -> str:
    if not used:
        return ""
    names = ", ".join(used)
    return f" (from variable{'s' if len(used) > 1 else ''} {names})"


def _text(raw: Any, name: str, subst: Subst, *, safe: bool) -> tuple[str, tuple[str, ...]]:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise ActionError(f"parameter '{name}' must be a string", name)
    value, used = subst(str(raw))
    if "\x00" in value or _CONTROL.search(value):
        raise ActionError(f"parameter '{name}' holds control characters{_origin(used)}", name)
    if safe and used:
        _check_variable_values(str(raw), name, used, subst)
    return value, used


def _check_variable_values(raw: str, name: str, used: tuple[str, ...], subst: Subst) -> None:
    """Values from variables may not carry shell syntax nor start an option."""
    for var in used:
        value, _ = subst("${" + var + "}")
        if _UNSAFE.search(value) or _CONTROL.search(value):
            raise ActionError(
                f"parameter '{name}': variable '{var}' = {value!r} holds characters that are "
                "not allowed in a command argument (shell syntax or spaces)", name)
        if value.startswith("-") and raw.startswith("${" + var + "}"):
            raise ActionError(
                f"parameter '{name}': variable '{var}' = {value!r} would become an option "
                "(a leading '-' is only allowed when written in the file)", name)


def _pattern(regex: re.Pattern[str], what: str) -> Callable[[Any, str, Subst], Any]:
    def check(raw: Any, name: str, subst: Subst) -> str:
        value, used = _text(raw, name, subst, safe=True)
        if not regex.match(value) or value.startswith("-"):
            raise ActionError(f"parameter '{name}': {value!r}{_origin(used)} is not {what}", name)
        return value
    return check


def _integer(minimum: int, maximum: int | None = None) -> Callable[[Any, str, Subst], Any]:
    def check(raw: Any, name: str, subst: Subst) -> int:
        if isinstance(raw, bool):
            raise ActionError(f"parameter '{name}' must be an integer", name)
        if isinstance(raw, int):
            value, used = raw, ()
        elif isinstance(raw, str):
            text, used = subst(raw)
            if not re.fullmatch(r"\d+", text.strip()):
                raise ActionError(
                    f"parameter '{name}': {text!r}{_origin(used)} is not an integer", name)
            value = int(text)
        else:
            raise ActionError(f"parameter '{name}' must be an integer", name)
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
            raise ActionError(f"parameter '{name}' must be {bound}, got {value}", name)
        return value
    return check


def _number(raw: Any, name: str, subst: Subst) -> float:
    if isinstance(raw, bool):
        raise ActionError(f"parameter '{name}' must be a number", name)
    if isinstance(raw, int | float):
        return float(raw)
    if isinstance(raw, str):
        text, used = subst(raw)
        try:
            return float(text)
        except ValueError:
            raise ActionError(f"parameter '{name}': {text!r}{_origin(used)} is not a number",
                              name) from None
    raise ActionError(f"parameter '{name}' must be a number", name)


def _duration(raw: Any, name: str, subst: Subst) -> float:
    if isinstance(raw, str):
        raw, used = subst(raw)
    try:
        return parse_duration(raw)
    except ValueError as exc:
        raise ActionError(f"parameter '{name}': {exc}", name) from None


def _choice(options: tuple[str, ...] | Mapping[str, str], what: str) -> Callable[..., str]:
    def check(raw: Any, name: str, subst: Subst) -> str:
        value, used = _text(raw, name, subst, safe=True)
        if value not in options:
            raise ActionError(
                f"parameter '{name}': unknown {what} '{value}' (valid: {', '.join(options)})", name)
        return value
    return check


def _free_text(raw: Any, name: str, subst: Subst) -> str:
    return _text(raw, name, subst, safe=False)[0]


def _safe_text(raw: Any, name: str, subst: Subst) -> str:
    return _text(raw, name, subst, safe=True)[0]


def _path(raw: Any, name: str, subst: Subst) -> str:
    value = _pattern(_PATH, "a safe file path (letters, digits, _ . / - : @ % + = , ~)")(
        raw, name, subst)
    if isinstance(raw, str) and "${" in raw:
        _confine_path(raw, str(value), name, subst(raw)[1])
    return str(value)


def _confine_path(raw: str, value: str, name: str, used: tuple[str, ...]) -> None:
    """A path built from variables stays inside the folder the runbook wrote before the
    first variable (``/backups/emergency/rollback_${incident_id}.dump``: /backups/emergency),
    and no ``..`` segment climbs out of it."""
    literal = raw.split("${", 1)[0]
    root = literal.rstrip("/") if literal.endswith("/") else posixpath.dirname(literal)
    if ".." in value.split("/"):
        raise ActionError(f"parameter '{name}': '{value}'{_origin(used)} climbs out of its "
                          "folder ('..' is refused in a path built from variables)", name)
    if root:
        normal = posixpath.normpath(value)
        if normal != root and not normal.startswith(root.rstrip("/") + "/"):
            raise ActionError(f"parameter '{name}': '{value}'{_origin(used)} is outside "
                              f"{root}, the folder the runbook names", name)


def _sql_file(raw: Any, name: str, subst: Subst) -> str:
    value = _path(raw, name, subst)
    if not value.endswith(".sql"):
        raise ActionError(f"parameter '{name}': '{value}' is not a .sql file", name)
    return value


def _statement(raw: Any, name: str, subst: Subst) -> str:
    if not isinstance(raw, str):
        raise ActionError(f"parameter '{name}' must be a string", name)
    if "${" in raw:
        raise ActionError(f"parameter '{name}': variables are not allowed in SQL statements", name)
    text = " ".join(raw.split()).rstrip(";").strip()
    if ";" in text:
        raise ActionError(f"parameter '{name}': one statement only (found ';')", name)
    first = text.split(" ", 1)[0].upper() if text else ""
    if first not in SQL_ALLOWED:
        raise ActionError(
            f"parameter '{name}': '{first or '(empty)'}' is not allowed here "
            f"(allowed: {', '.join(SQL_ALLOWED)})", name)
    if first == "SELECT" and "PG_TERMINATE_BACKEND" in text.upper():
        raise ActionError(
            f"parameter '{name}': use the pg.terminate_connections action to terminate "
            "connections", name)
    return text


def _list_of(item: Callable[[Any, str, Subst], Any], *,
             nonempty: bool = True) -> Callable[..., Any]:
    def check(raw: Any, name: str, subst: Subst) -> tuple[Any, ...]:
        if not isinstance(raw, list):
            raise ActionError(f"parameter '{name}' must be a list", name)
        if nonempty and not raw:
            raise ActionError(f"parameter '{name}' must not be empty", name)
        return tuple(item(element, f"{name}[{i}]", subst) for i, element in enumerate(raw))
    return check


def _argv_item(raw: Any, name: str, subst: Subst) -> str:
    value, used = _text(raw, name, subst, safe=True)
    if not value:
        raise ActionError(f"parameter '{name}' is empty", name)
    if value in (";", "&&", "||", "|", ">", ">>", "<", "&"):
        raise ActionError(
            f"parameter '{name}': '{value}' is shell syntax, but argv never goes through a shell",
            name)
    if used and value.startswith("-") and not str(raw).startswith("-"):
        raise ActionError(
            f"parameter '{name}': {value!r}{_origin(used)} would become an option", name)
    return value


def _argv(raw: Any, name: str, subst: Subst) -> tuple[str, ...]:
    items = _list_of(_argv_item)(raw, name, subst)
    if isinstance(raw[0], str) and "${" in raw[0]:
        raise ActionError(f"parameter '{name}': the command (argv[0]) must be written literally",
                          name)
    return tuple(items)


def _weights(raw: Any, name: str, subst: Subst) -> tuple[tuple[str, int], ...]:
    if not isinstance(raw, dict) or not raw:
        raise ActionError(f"parameter '{name}' must be a mapping of subset: weight", name)
    out = []
    for subset, weight in raw.items():
        _pattern(_K8S_NAME, "a subset name")(str(subset), f"{name}.{subset}", subst)
        out.append((str(subset), _integer(0, 100)(weight, f"{name}.{subset}", subst)))
    total = sum(w for _, w in out)
    if total != 100:
        raise ActionError(f"parameter '{name}': weights must sum to 100, not {total}", name)
    return tuple(out)


def _env(raw: Any, name: str, subst: Subst) -> tuple[tuple[str, str], ...]:
    if not isinstance(raw, dict) or not raw:
        raise ActionError(f"parameter '{name}' must be a mapping of NAME: value", name)
    out = []
    for key, value in raw.items():
        if not _ENV_NAME.match(str(key)):
            raise ActionError(f"parameter '{name}': '{key}' is not an environment variable name",
                              name)
        out.append((str(key), _safe_text(value, f"{name}.{key}", subst)))
    return tuple(out)


@dataclass(frozen=True)
class Param:
    """One parameter of an action type."""

    check: Callable[[Any, str, Subst], Any]
    required: bool = True
    default: Any = None


@dataclass(frozen=True)
class ActionType:
    """An action type: its parameters and what running it means."""

    name: str
    params: Mapping[str, Param] = field(hash=False)
    mutates: bool
    idempotent: bool
    summary: str


_NAME = _pattern(_K8S_NAME, "a valid Kubernetes name (RFC 1123)")
_SEL = _pattern(_SELECTOR, "a label selector like app=frontend")
_KEY = _pattern(re.compile(r"^[!-~]{1,256}$"), "a Redis key (printable, no spaces, 256 max)")
_DB = _pattern(_DATABASE, "a database name (SQL identifier)")
_URLP = _pattern(_URL, "an http(s) URL")
_ENDPOINTS = _list_of(_pattern(_ENDPOINT, "an endpoint name"))
_EMAILS = _list_of(_pattern(_EMAIL, "an e-mail address"))


def _t(name: str, mutates: bool, idempotent: bool, about: str, **params: Param) -> ActionType:
    return ActionType(name, params, mutates, idempotent, about)


ACTION_TYPES: dict[str, ActionType] = {
    t.name: t
    for t in (
        _t("k8s.rollout_history", False, True, "show a deployment's revisions",
           deployment=Param(_NAME), namespace=Param(_NAME)),
        _t("k8s.rollout_undo", True, False, "roll a deployment back",
           deployment=Param(_NAME), namespace=Param(_NAME),
           to_revision=Param(_integer(0), required=False)),  # 0: the previous, as kubectl
        _t("k8s.rollout_status", False, True, "wait for a rollout to finish",
           deployment=Param(_NAME), namespace=Param(_NAME),
           timeout=Param(_duration, required=False, default=300.0)),
        _t("k8s.scale", True, False, "set a deployment's replicas",
           deployment=Param(_NAME), namespace=Param(_NAME), replicas=Param(_integer(0, 1000))),
        _t("k8s.restart_pods", True, False, "delete pods so they are recreated",
           namespace=Param(_NAME), selector=Param(_SEL)),
        _t("k8s.rollout_restart", True, False, "restart one deployment's pods, rolling",
           deployment=Param(_NAME), namespace=Param(_NAME)),
        _t("k8s.pod_health", False, True, "list pods",
           namespace=Param(_NAME), selector=Param(_SEL)),
        _t("k8s.logs", False, True, "read recent logs",
           namespace=Param(_NAME), selector=Param(_SEL),
           tail=Param(_integer(1, 100000), required=False, default=100)),
        _t("k8s.traffic_weights", True, True, "shift traffic between subsets",
           namespace=Param(_NAME), virtualservice=Param(_NAME), host=Param(_NAME),
           weights=Param(_weights)),
        _t("k8s.set_env", True, True, "change a deployment's environment",
           deployment=Param(_NAME), namespace=Param(_NAME), env=Param(_env)),
        _t("redis.get", False, True, "read a cache key", key=Param(_KEY)),
        _t("redis.set", True, True, "write a cache key",
           key=Param(_KEY), value=Param(_safe_text),
           ttl=Param(_integer(1), required=False)),
        _t("redis.delete", True, True, "delete a cache key", key=Param(_KEY)),
        _t("redis.flushdb", True, True, "delete every key of the cache database"),
        _t("pg.backup", False, True, "dump the database",
           database=Param(_DB), path=Param(_path)),
        _t("pg.verify", False, True, "run a counts-only verification SQL file",
           database=Param(_DB), sql_file=Param(_sql_file)),
        _t("pg.terminate_connections", True, False, "terminate every other connection",
           database=Param(_DB)),
        _t("pg.sql", True, True, "run one maintenance statement outside a transaction",
           database=Param(_DB), statement=Param(_statement)),
        _t("http.health", False, True, "check health endpoints",
           endpoints=Param(_ENDPOINTS), base_url=Param(_URLP, required=False)),
        _t("http.version", False, True, "read the served version", url=Param(_URLP)),
        _t("metrics.query", False, True, "query a metric",
           query=Param(_free_text), **{"from": Param(_duration, required=False, default=1800.0)}),
        _t("metrics.wait_below", False, True, "wait until a metric stays below a threshold",
           metric=Param(_choice(METRICS, "metric")), threshold=Param(_number),
           minutes=Param(_number)),
        _t("notify.slack", True, False, "post to Slack", message=Param(_free_text)),
        _t("notify.pagerduty", True, False, "send a PagerDuty event",
           event=Param(_choice(("trigger", "acknowledge", "resolve"), "event")),
           summary=Param(_free_text)),
        _t("notify.email", True, False, "send an e-mail",
           to=Param(_EMAILS), subject=Param(_free_text), body=Param(_free_text)),
        _t("shell", True, False, "run a command (argv, never a shell)", argv=Param(_argv)),
        _t("approval", False, True, "record a role's approval",
           role=Param(_choice(tuple(ROLES), "role"))),
        _t("checklist", False, True, "confirm a checklist",
           items=Param(_list_of(_free_text))),
        _t("confirm", False, True, "confirm a fact",
           fact=Param(_pattern(_FACT, "a fact name like no_data_loss_confirmed"))),
        _t("wait", False, True, "wait", duration=Param(_duration)),
    )
}
#: Action types that need no command: the engine records them itself.
MANUAL_TYPES: tuple[str, ...] = ("approval", "checklist", "confirm")
_DB_UNDO_MARKERS: tuple[str, ...] = ("db:migrate:undo", "restore-db-instance-to-point-in-time")
_ = NOTIFY_TARGETS  # re-exported for callers that validate `notifies`


def is_database_rollback(spec: ActionSpec) -> bool:
    """Whether the action rolls back a database (the data-loss-prevention rule applies)."""
    if spec.type == "pg.terminate_connections":
        return True
    if spec.type == "pg.sql":
        text = " ".join(str(spec.params.get("statement", "")).upper().split())
        return text.startswith("REINDEX") or text.startswith("VACUUM FULL") or (
            text.startswith("VACUUM (") and "FULL" in text)
    if spec.type == "shell":
        argv = spec.params.get("argv") or []
        return any(marker in str(arg) for arg in argv for marker in _DB_UNDO_MARKERS)
    return False


# ------------------------------------------------------------------ resolution


def check_params(spec: ActionSpec, variables: Mapping[str, str],
                 runtime: tuple[str, ...] = RUNTIME_VARIABLES) -> list[tuple[str | None, str]]:
    """Every problem with ``spec`` at load time, as ``(parameter or None, message)`` pairs.

    Variables in ``runtime`` are accepted but values using them are validated
    only when the incident runs.
    """
    action_type = ACTION_TYPES.get(spec.type)
    if action_type is None:
        valid = ", ".join(sorted(ACTION_TYPES))
        return [(None, f"unknown action type '{spec.type}' (valid: {valid})")]
    problems: list[tuple[str | None, str]] = []
    for key in spec.params:
        if key not in action_type.params:
            allowed = ", ".join(action_type.params) or "none"
            problems.append(
                (key, f"unknown parameter '{key}' for {spec.type} (allowed: {allowed})"))
    for key, param in action_type.params.items():
        if key not in spec.params:
            if param.required:
                problems.append((None, f"missing parameter '{key}' for {spec.type}"))
            continue
        try:
            for name in _refs_in(spec.params[key]):
                if name not in variables and name not in runtime:
                    raise ActionError(f"undefined variable '{name}' in parameter '{key}'", key)
            param.check(spec.params[key], key, _subst(variables, runtime, lenient=True))
        except _Deferred:
            continue
        except ActionError as exc:
            problems.append((key, str(exc)))
        except ValueError as exc:
            problems.append((key, f"parameter '{key}': {exc}"))
    return problems


def _refs_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return variable_refs(value)
    if isinstance(value, list):
        return [name for item in value for name in _refs_in(item)]
    if isinstance(value, dict):
        return [name for item in value.values() for name in _refs_in(item)]
    return []


def _subst(variables: Mapping[str, str], runtime: tuple[str, ...], *, lenient: bool) -> Subst:
    def subst(text: str) -> tuple[str, tuple[str, ...]]:
        if lenient:
            for name in variable_refs(text):
                if name not in variables and name in runtime:
                    raise _Deferred(name)
            return expand(text, variables)
        value, used = expand(text, variables)
        for name in used:
            if str(variables[name]).startswith(PLACEHOLDER_PREFIX):
                raise ActionError(f"set variable '{name}' first: it is still the placeholder "
                                  f"'{variables[name]}'", None)
        return value, used
    return subst


def placeholder_variables(variables: Mapping[str, Any]) -> list[str]:
    """Names of the variables still holding a ``REPLACE_ME_`` placeholder."""
    return [name for name, value in variables.items()
            if str(value).startswith(PLACEHOLDER_PREFIX)]


def resolve(spec: ActionSpec, variables: Mapping[str, str]) -> ResolvedAction:
    """Substitute and validate every parameter; ``ActionError`` on the first problem."""
    action_type = ACTION_TYPES.get(spec.type)
    if action_type is None:
        raise ActionError(f"unknown action type '{spec.type}'")
    subst = _subst(variables, (), lenient=False)
    params: dict[str, Any] = {}
    for key in spec.params:
        if key not in action_type.params:
            raise ActionError(f"unknown parameter '{key}' for {spec.type}", key)
    for key, param in action_type.params.items():
        if key in spec.params:
            try:
                params[key] = param.check(spec.params[key], key, subst)
            except ActionError as exc:
                if exc.param is None and "undefined variable" in str(exc):
                    raise ActionError(f"parameter '{key}': {exc}", key) from None
                raise
            except ValueError as exc:
                raise ActionError(f"parameter '{key}': {exc}", key) from None
        elif param.required:
            raise ActionError(f"missing parameter '{key}' for {spec.type}", key)
        elif param.default is not None:
            params[key] = param.default
    return ResolvedAction(spec.type, params, dict(variables))


# ------------------------------------------------------------------ resolved


def quote(arg: str) -> str:
    """Shell-quote ``arg`` for display, preferring double quotes when that reads better."""
    if re.fullmatch(r"[A-Za-z0-9_./@%+=:,-]+", arg):
        return arg
    if "'" in arg and not re.search(r"[\"$`\\!]", arg):
        return f'"{arg}"'
    return shlex.quote(arg)


def sql_literal(text: str) -> str:
    """``text`` as an SQL string literal (single quotes doubled)."""
    return "'" + text.replace("'", "''") + "'"


def sql_identifier(text: str) -> str:
    """``text`` as a quoted SQL identifier (double quotes doubled)."""
    return '"' + text.replace('"', '""') + '"'


def terminate_sql(database: str) -> str:
    """The corrected statement that terminates every other connection to ``database``."""
    # the name is validated as an identifier and rendered as a quoted literal
    return ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "  # noqa: S608
            f"WHERE datname = {sql_literal(database)} AND pid <> pg_backend_pid();")


@dataclass(frozen=True)
class ResolvedAction:
    """An action with every value substituted and validated, ready to preview or run."""

    type: str
    params: Mapping[str, Any] = field(hash=False)
    variables: Mapping[str, str] = field(default_factory=dict, hash=False, repr=False)

    @property
    def spec(self) -> ActionType:
        """The action type's definition."""
        return ACTION_TYPES[self.type]

    @property
    def mutates(self) -> bool:
        """Whether running it changes anything (read-only mode refuses these)."""
        if self.type == "pg.sql":
            return not str(self.params["statement"]).upper().startswith("SELECT")
        return self.spec.mutates

    @property
    def idempotent(self) -> bool:
        """Whether running it twice is the same as once (non-idempotent steps are never retried
        without the operator)."""
        return self.spec.idempotent

    @property
    def always_destructive(self) -> bool:
        """Actions that are destructive whatever the step says (``redis.flushdb``)."""
        return self.type == "redis.flushdb"

    @property
    def target(self) -> str:
        """The name an operator types to confirm this action when destructive."""
        p = self.params
        for key in ("deployment", "virtualservice", "key", "database"):
            if key in p:
                return str(p[key])
        if "selector" in p:
            return str(p["selector"]).split(",")[0].split("=")[-1]
        if self.type == "redis.flushdb":
            return self.variables.get("cache_host", "prod-cache")
        return ""

    def _var(self, name: str) -> str:
        return self.variables.get(name, BUILTIN_VARIABLES.get(name, ""))

    def argv(self) -> tuple[str, ...] | None:
        """The real command as an argv list, or None when there is no command equivalent."""
        p, t = self.params, self.type
        if t.startswith("k8s."):
            return self._k8s_argv()
        if t.startswith("redis."):
            base = ("redis-cli", "-h", self._var("cache_host"))
            if t == "redis.get":
                return (*base, "GET", p["key"])
            if t == "redis.set":
                ttl = ("EX", str(p["ttl"])) if p.get("ttl") else ()
                return (*base, "SET", p["key"], p["value"], *ttl)
            if t == "redis.delete":
                return (*base, "DEL", p["key"])
            return (*base, "FLUSHDB")
        if t.startswith("pg."):
            base = ("-h", self._var("db_host"), "-d", p["database"])
            if t == "pg.backup":
                return ("pg_dump", *base, "--format=custom", "--lock-wait-timeout=30s",
                        "-f", p["path"])
            if t == "pg.verify":
                return ("psql", *base, "-f", p["sql_file"])
            if t == "pg.terminate_connections":
                return ("psql", *base, "-c", terminate_sql(p["database"]))
            return ("psql", *base, "-c", p["statement"])
        if t == "http.health":
            return ("curl", "-f", *self.health_urls())
        if t == "http.version":
            return ("curl", "-s", p["url"])
        if t == "shell":
            return tuple(p["argv"])
        return None

    def _k8s_argv(self) -> tuple[str, ...]:
        p, t, ns = self.params, self.type, ("-n", self.params["namespace"])
        if t == "k8s.rollout_history":
            return ("kubectl", "rollout", "history", f"deployment/{p['deployment']}", *ns)
        if t == "k8s.rollout_undo":
            rev = (f"--to-revision={p['to_revision']}",) if p.get("to_revision") else ()
            return ("kubectl", "rollout", "undo", f"deployment/{p['deployment']}", *ns, *rev)
        if t == "k8s.rollout_status":
            return ("kubectl", "rollout", "status", f"deployment/{p['deployment']}", *ns,
                    f"--timeout={int(p['timeout'])}s")
        if t == "k8s.scale":
            return ("kubectl", "scale", f"deployment/{p['deployment']}",
                    f"--replicas={p['replicas']}", *ns)
        if t == "k8s.restart_pods":
            return ("kubectl", "delete", "pods", *ns, "-l", p["selector"])
        if t == "k8s.rollout_restart":
            return ("kubectl", "rollout", "restart", f"deployment/{p['deployment']}", *ns)
        if t == "k8s.pod_health":
            return ("kubectl", "get", "pods", *ns, "-l", p["selector"])
        if t == "k8s.logs":
            return ("kubectl", "logs", *ns, "-l", p["selector"], f"--tail={p['tail']}")
        if t == "k8s.traffic_weights":
            return ("kubectl", "patch", "virtualservice", p["virtualservice"], *ns,
                    "--type=merge", "-p", json.dumps(self.virtualservice_patch(),
                                                     separators=(",", ":")))
        env = [f"{k}={v}" for k, v in p["env"]]
        return ("kubectl", "set", "env", f"deployment/{p['deployment']}", *env, *ns)

    def virtualservice_patch(self) -> dict[str, Any]:
        """The merge patch that sets the VirtualService's route weights."""
        host = self.params["host"]
        route = [{"destination": {"host": host, "subset": subset}, "weight": weight}
                 for subset, weight in self.params["weights"]]
        return {"spec": {"http": [{"route": route}]}}

    def health_urls(self) -> tuple[str, ...]:
        """The health URLs an ``http.health`` action checks."""
        base = self.params.get("base_url") or f"{self._var('api_base')}/v1"
        return tuple(f"{base.rstrip('/')}/{name}/health" for name in self.params["endpoints"])

    def preview(self) -> str:
        """The exact equivalent command (or, for manual actions, what is recorded)."""
        argv = self.argv()
        if argv is not None:
            return " ".join(quote(arg) for arg in argv)
        p, t = self.params, self.type
        if t == "metrics.query":
            return f"datadog metrics query {quote(p['query'])} --from=-{format_duration(p['from'])}"
        if t == "metrics.wait_below":
            return (f"wait until {p['metric']} < {p['threshold']:g} for "
                    f"{format_duration(p['minutes'] * 60)}")
        if t == "notify.slack":
            return f"slack: post {p['message']!r}"
        if t == "notify.pagerduty":
            return f"pagerduty: {p['event']} {p['summary']!r}"
        if t == "notify.email":
            return f"email to {', '.join(p['to'])}: {p['subject']!r}"
        if t == "approval":
            return f"record the approval of role {p['role']} (the approver's name is asked)"
        if t == "checklist":
            return "confirm: " + "; ".join(f"[{i}] {item}" for i, item in enumerate(p["items"], 1))
        if t == "confirm":
            return f"confirm fact {p['fact']}"
        if t == "wait":
            return f"wait {format_duration(p['duration'])}"
        return t


def preview(resolved: ResolvedAction) -> str:
    """The exact equivalent command of ``resolved`` (see :meth:`ResolvedAction.preview`)."""
    return resolved.preview()
