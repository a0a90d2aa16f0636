"""Settings from a TOML file plus ``COCKPIT_`` environment variables.

Every section is a frozen dataclass with a docstring per field. A section left
out of the file means that source or channel is *not configured* (not an
error). Secrets never live in the file: a secret is named by reference, either
``<name>_env`` (an environment variable) or ``<name>_file`` (a file holding
it); a literal ``api_key = "..."`` or ``password = "..."`` is a config error.
Resolved secrets are :class:`Secret` values whose ``repr``/``str`` never show
the value; :meth:`Config.secrets` hands them to the timeline redactor.

Errors are :class:`ConfigError`, one line naming the file, the line when it
can be found, the table and the key::

    config.toml:12: unknown key 'intervall_s' in [redis]
    config.toml: [datadog].api_key_env: environment variable DD_API_KEY is not set

Environment: ``COCKPIT_CONFIG_FILE`` (which file), ``COCKPIT_READ_ONLY``
(``1/true/yes/on`` or ``0/false/no/off``), ``COCKPIT_ENVIRONMENT``,
``COCKPIT_NAMESPACE`` override ``[cockpit]``; ``COCKPIT_OPERATOR`` is the fallback when
``[cockpit] operator`` is empty (see :mod:`cockpit.incident_actor`).
"""

from __future__ import annotations

import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from cockpit.keys import KeyEntry, KeySettings
from cockpit.yamlfile import DataFileError, read_data_text


class ConfigError(Exception):
    """The configuration is unusable; the message is one line naming file, key and problem."""


class Secret:
    """A resolved secret value that never shows itself in ``repr``/``str``."""

    __slots__ = ("_value", "origin")

    def __init__(self, value: str, origin: str) -> None:
        self._value = value
        self.origin = origin
        """Where it came from, e.g. ``env DD_API_KEY`` (safe to print)."""

    def reveal(self) -> str:
        """The secret value itself: pass it to a client, never print it."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret(<hidden>, from {self.origin})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def _secret_field(required: bool) -> Any:
    """A dataclass field holding a resolved :class:`Secret` (never read from the file)."""
    return field(default=None, repr=False, compare=False,
                 metadata={"secret": True, "required": required})


@dataclass(frozen=True)
class CockpitSettings:
    """``[cockpit]``: who is at the keyboard and what the war room looks at."""

    environment: str = "production"
    """Name of the environment shown in the header and in notifications."""
    namespace: str = "production"
    """Default Kubernetes namespace of the estate."""
    operator: str = ""
    """Who is at the keyboard: shown in the header and the author of every event the
    cockpit records. Empty = ``$COCKPIT_OPERATOR``, else the login ``user@host``; `` (ssh
    from ADDRESS)`` is added over SSH. Neutralised and cut to 80 characters
    (:mod:`cockpit.incident_actor`)."""
    read_only: bool = False
    """When true, no action may change production (also ``COCKPIT_READ_ONLY``)."""
    status_update_minutes: int = 15
    """Minutes between status updates, as the procedures require."""
    signing_key: str = ""
    """SSH private key (no passphrase) that signs the journal's checkpoints; relative to this
    config file. Empty = a per-host key the cockpit creates under its state folder."""


@dataclass(frozen=True)
class DatadogSettings:
    """``[datadog]``: metrics from the Datadog v1 query API."""

    site: str = "datadoghq.com"
    """Datadog site, e.g. ``datadoghq.com``, ``datadoghq.eu``, ``us5.datadoghq.com``."""
    api_key_env: str | None = "DD_API_KEY"
    """Environment variable holding the API key."""
    api_key_file: str | None = None
    """File holding the API key (wins over api_key_env)."""
    app_key_env: str | None = "DD_APP_KEY"
    """Environment variable holding the application key."""
    app_key_file: str | None = None
    """File holding the application key (wins over app_key_env)."""
    error_rate_query: str = "avg:app.error_rate{env:prod}"
    """Query whose points are the error rate in percent."""
    latency_query: str = "p95:app.response_time{env:prod}"
    """Query whose points are the p95 response time in milliseconds."""
    cpu_query: str = "avg:system.cpu.user{env:prod}"
    """Query whose points are CPU use in percent."""
    memory_query: str = "avg:system.mem.pct_usable{env:prod}"
    """Query whose points are memory use in percent."""
    interval_s: float = 15.0
    """Seconds between polls."""
    timeout_s: float = 10.0
    """Seconds after which one request is abandoned."""
    host: str | None = None
    """Full base URL overriding the site (tests, proxies), e.g. ``http://127.0.0.1:8126``."""
    api_key: Secret | None = _secret_field(required=True)
    """Resolved API key."""
    app_key: Secret | None = _secret_field(required=True)
    """Resolved application key."""


@dataclass(frozen=True)
class KubernetesSettings:
    """``[kubernetes]``: deployments, ReplicaSets and pods of one namespace."""

    kubeconfig: str | None = None
    """Path of the kubeconfig file; empty = ``$KUBECONFIG`` or ``~/.kube/config``."""
    context: str | None = None
    """kubeconfig context to use; empty = the current context."""
    namespace: str | None = None
    """Namespace to watch; empty = ``[cockpit].namespace``."""
    in_cluster: bool = False
    """Use the pod's service account instead of a kubeconfig."""
    deployments: tuple[str, ...] = ("frontend", "api", "workers")
    """Deployments shown in the cluster panel."""
    interval_s: float = 5.0
    """Seconds between polls."""
    timeout_s: float = 10.0
    """Seconds after which one API request is abandoned."""
    host: str | None = None
    """API server URL overriding the kubeconfig's (tests, proxies)."""


@dataclass(frozen=True)
class PostgresSettings:
    """``[postgres]``: a read-only health session on the production database."""

    host: str = "localhost"
    """Database host name or address."""
    port: int = 5432
    """Database port."""
    dbname: str = "postgres"
    """Database to connect to."""
    user: str = "postgres"
    """Role to connect as; it must be able to read pg_stat_activity."""
    password_env: str | None = None
    """Environment variable holding the password (optional: trust, .pgpass, certs)."""
    password_file: str | None = None
    """File holding the password (wins over password_env)."""
    sslmode: str = "prefer"
    """libpq sslmode: disable, allow, prefer, require, verify-ca, verify-full."""
    interval_s: float = 10.0
    """Seconds between polls."""
    timeout_s: float = 5.0
    """Connect and statement timeout in seconds."""
    password: Secret | None = _secret_field(required=False)
    """Resolved password."""


@dataclass(frozen=True)
class RedisSettings:
    """``[redis]``: the cache and its procedure keys."""

    host: str = "localhost"
    """Redis host name or address."""
    port: int = 6379
    """Redis port."""
    db: int = 0
    """Database number."""
    username: str | None = None
    """ACL user (Redis 6+); empty = the default user."""
    password_env: str | None = None
    """Environment variable holding the password (optional)."""
    password_file: str | None = None
    """File holding the password (wins over password_env)."""
    tls: bool = False
    """Connect with TLS."""
    key_prefix: str = ""
    """Prefix in front of the procedures' keys (e.g. ``prod:``); empty in production."""
    interval_s: float = 5.0
    """Seconds between polls."""
    timeout_s: float = 3.0
    """Connect and socket timeout in seconds."""
    password: Secret | None = _secret_field(required=False)
    """Resolved password."""


@dataclass(frozen=True)
class HttpSettings:
    """``[http]``: the health endpoints fan-out."""

    base_url: str = "https://api.example.org"
    """Base URL the endpoint paths are appended to."""
    endpoints: tuple[str, ...] = ("auth", "health", "users", "students", "medications")
    """Endpoint names, substituted into path_template."""
    path_template: str = "/v1/{endpoint}/health"
    """Path of one endpoint's health check; ``{endpoint}`` is the name."""
    version_urls: Mapping[str, str] = field(default_factory=dict)
    """Name -> URL of version endpoints (e.g. ``api = "https://api.../version"``)."""
    interval_s: float = 5.0
    """Seconds between polls."""
    timeout_s: float = 3.0
    """Per-request timeout in seconds."""


@dataclass(frozen=True)
class SlackSettings:
    """``[slack]``: incident notifications to an incoming webhook."""

    webhook_url_env: str | None = "SLACK_WEBHOOK_URL"
    """Environment variable holding the incoming-webhook URL."""
    webhook_url_file: str | None = None
    """File holding the webhook URL (wins over webhook_url_env)."""
    timeout_s: float = 10.0
    """Per-request timeout in seconds."""
    webhook_url: Secret | None = _secret_field(required=True)
    """Resolved webhook URL (it is a secret: anyone holding it can post)."""


@dataclass(frozen=True)
class PagerDutySettings:
    """``[pagerduty]``: incident events through the Events API v2."""

    routing_key_env: str | None = "PAGERDUTY_ROUTING_KEY"
    """Environment variable holding the integration (routing) key."""
    routing_key_file: str | None = None
    """File holding the routing key (wins over routing_key_env)."""
    events_url: str = "https://events.pagerduty.com/v2/enqueue"
    """Events API v2 enqueue URL."""
    timeout_s: float = 10.0
    """Per-request timeout in seconds."""
    routing_key: Secret | None = _secret_field(required=True)
    """Resolved routing key."""


@dataclass(frozen=True)
class EmailSettings:
    """``[email]``: notification mail over SMTP."""

    host: str = "localhost"
    """SMTP server."""
    port: int = 587
    """SMTP port."""
    from_addr: str = field(default="", metadata={"key": "from"})
    """Sender address (TOML key ``from``)."""
    to: tuple[str, ...] = ()
    """Recipient addresses."""
    starttls: bool = True
    """Upgrade the connection with STARTTLS before sending."""
    username: str | None = None
    """SMTP login; empty = no AUTH."""
    password_env: str | None = None
    """Environment variable holding the SMTP password."""
    password_file: str | None = None
    """File holding the SMTP password (wins over password_env)."""
    timeout_s: float = 10.0
    """Connect and command timeout in seconds."""
    password: Secret | None = _secret_field(required=False)
    """Resolved SMTP password."""


@dataclass(frozen=True)
class RedactionSettings:
    """``[redaction]``: your own patient identifiers, redacted like the built-in kinds
    (SSN, phone, date of birth, MRN...) in the journal, every export, the screen's step
    previews and output, and outgoing messages."""

    patient_name_patterns: tuple[str, ...] = ()
    """Regular expressions matching patient names (each match becomes ``[REDACTED:patient]``)."""
    mrn_patterns: tuple[str, ...] = ()
    """Regular expressions matching your MRN formats, e.g. ``"\\bH\\d{8}\\b"`` (``mrn``)."""
    terms: tuple[str, ...] = ()
    """Literal terms (patient names) to redact, matched whole-word, any case."""
    terms_file: str | None = None
    """A file of further terms, one a line (``#`` comments; relative to this config file).
    Keep it owner-only: it is a list of patients."""


@dataclass(frozen=True)
class UiSettings:
    """``[ui]``: how the war room uses the terminal."""

    low_bandwidth: bool = False
    """A slow link (a VPN to a bastion): 16 colours and metric panels redrawn at most every
    5 s (also ``cockpit --low-bandwidth`` and ``COCKPIT_LOW_BANDWIDTH=1``)."""


@dataclass(frozen=True)
class RollbackSettings:
    """``[rollback]``: the procedures' automatic rollback, armed or not (disarmed by default)."""

    armed: tuple[str, ...] = ()
    """Trigger ids (``error_rate``, ``health_checks``, ``db_connections``...) armed when the
    incident opens: when one fires, a hold counts down and then rolls back the deployment
    whose revision changed before the breach, unless someone cancels. Never in read-only."""
    hold_s: float = 60.0
    """Seconds the hold counts down on the incident clock before the rollback runs
    (5 to 900)."""
    authority: str = ""
    """The role of whoever arms from config (``[cockpit] operator``), as the policy names it
    (``CTO or VP Engineering``); a rollback that needs a higher authority is never run
    automatically, only asked for."""


#: ``[rollback].hold_s`` bounds: long enough to read the command, short enough to matter.
HOLD_MIN_S = 5.0
HOLD_MAX_S = 900.0
_TRIGGER_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


#: Largest ``[redaction].terms_file`` read (bytes).
TERMS_FILE_LIMIT = 16 * 1024 * 1024

#: TOML table name -> settings class, in the order sections are checked.
SECTIONS: dict[str, type] = {
    "cockpit": CockpitSettings,
    "datadog": DatadogSettings,
    "kubernetes": KubernetesSettings,
    "postgres": PostgresSettings,
    "redis": RedisSettings,
    "http": HttpSettings,
    "slack": SlackSettings,
    "pagerduty": PagerDutySettings,
    "email": EmailSettings,
    "redaction": RedactionSettings,
    "ui": UiSettings,
    "rollback": RollbackSettings,
}


@dataclass(frozen=True)
class Config:
    """The whole configuration; a section that is None is not configured."""

    cockpit: CockpitSettings = field(default_factory=CockpitSettings)
    """General settings."""
    datadog: DatadogSettings | None = None
    """Metrics source, if configured."""
    kubernetes: KubernetesSettings | None = None
    """Cluster source, if configured."""
    postgres: PostgresSettings | None = None
    """Database source, if configured."""
    redis: RedisSettings | None = None
    """Cache source, if configured."""
    http: HttpSettings | None = None
    """Health endpoints source, if configured."""
    slack: SlackSettings | None = None
    """Slack channel, if configured."""
    pagerduty: PagerDutySettings | None = None
    """PagerDuty channel, if configured."""
    email: EmailSettings | None = None
    """Email channel, if configured."""
    keys: KeySettings = field(default_factory=KeySettings)
    """``[keys]``: the operator's keys for the war room's bindings, by binding id (checked
    against the bindings by the app before the war room opens: :mod:`cockpit.keys`)."""
    redaction: RedactionSettings = field(default_factory=RedactionSettings)
    """The operator's own patient identifiers (nothing beyond the built-in kinds by default)."""
    ui: UiSettings = field(default_factory=UiSettings)
    """How the war room uses the terminal."""
    rollback: RollbackSettings = field(default_factory=RollbackSettings)
    """Automatic rollback: which triggers are armed, and the hold before it runs."""
    path: Path | None = None
    """The file it was read from (None = defaults only)."""

    def signing_key(self) -> Path | None:
        """``[cockpit] signing_key`` as a path (relative to the config file), or None."""
        if not self.cockpit.signing_key:
            return None
        key = Path(os.path.expanduser(self.cockpit.signing_key))
        if not key.is_absolute() and self.path is not None:
            key = self.path.parent / key
        return key

    def configured(self) -> list[str]:
        """Names of the configured sections other than ``cockpit``, in file-format order."""
        return [name for name in SECTIONS
                if name not in ("cockpit", "redaction", "ui", "rollback")
                and getattr(self, name) is not None]

    def secrets(self) -> list[str]:
        """Every resolved secret value, for the timeline redactor to register."""
        out: list[str] = []
        for name in SECTIONS:
            section = getattr(self, name)
            if section is None:
                continue
            for f in fields(section):
                value = getattr(section, f.name)
                if isinstance(value, Secret) and value.reveal():
                    out.append(value.reveal())
        return out

    def runbook_variables(self) -> dict[str, str]:
        """Runbook variables the config knows (``namespace``, ``database``, ``db_host``,
        ``cache_host``, ``api_base``, ``environment``): they override the built-in defaults."""
        out = {"environment": self.cockpit.environment, "namespace": self.kube_namespace}
        if self.postgres is not None:
            out.update(database=self.postgres.dbname, db_host=self.postgres.host)
        if self.redis is not None:
            out["cache_host"] = self.redis.host
        if self.http is not None:
            out["api_base"] = self.http.base_url.rstrip("/")
        return out

    @property
    def kube_namespace(self) -> str:
        """The namespace the cluster connector watches."""
        if self.kubernetes is not None and self.kubernetes.namespace:
            return self.kubernetes.namespace
        return self.cockpit.namespace


_LITERAL_SECRETS = frozenset(
    {"api_key", "app_key", "password", "webhook_url", "routing_key", "token", "secret"}
)
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\"' -]+?)\s*\]\s*(#.*)?$")
_SSLMODES = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_CONVENTIONAL_ENV = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$")
#: The shortest secret the redactor accepts (it refuses shorter ones: they shred text).
MIN_SECRET_LENGTH = 4
#: The largest config file and secret file read.
MAX_CONFIG_BYTES = 1024 * 1024
_MAX_SECRET_FILE_BYTES = 64 * 1024


class _Locator:
    """Finds the line of ``[table] key`` by scanning the file text."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def line_of(self, table: str, key: str | None = None) -> int | None:
        current = ""
        header_line: int | None = None
        key_re = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=") if key else None
        for number, line in enumerate(self.lines, start=1):
            match = _HEADER.match(line)
            if match:
                current = match.group(1).replace('"', "").replace("'", "").replace(" ", "")
                if current == table and key_re is None:
                    return number
                if current == table:
                    header_line = number
                continue
            if current == table and key_re is not None and key_re.match(line):
                return number
        return header_line


def _describe(value: object) -> str:
    if isinstance(value, str):
        return f'"{value}"' if len(value) <= 40 else f'"{value[:37]}..."'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return str(value)


class _Loader:
    def __init__(self, path: Path | None, text: str, environ: Mapping[str, str]) -> None:
        self.path = path
        self.name = path.name if path is not None else "<config>"
        self.locator = _Locator(text)
        self.environ = environ

    def error(self, table: str, key: str | None, message: str, *,
              where: bool = True) -> ConfigError:
        line = self.locator.line_of(table, key)
        prefix = f"{self.name}:{line}" if (line is not None and where) else self.name
        return ConfigError(f"{prefix}: {message}")

    def convert(self, table: str, key: str, value: object, hint: Any) -> object:
        label = f"[{table}].{key}"

        def wrong(expected: str) -> ConfigError:
            return self.error(table, key, f"{label}: expected {expected}, got {_describe(value)}")

        origin = typing.get_origin(hint)
        args = typing.get_args(hint)
        if origin in (typing.Union, types.UnionType):
            inner = [a for a in args if a is not type(None)]
            return self.convert(table, key, value, inner[0])
        if hint is bool:
            if not isinstance(value, bool):
                raise wrong("true or false")
            return value
        if hint is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise wrong("an integer")
            return value
        if hint is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise wrong("a number")
            return float(value)
        if hint is str:
            if not isinstance(value, str):
                raise wrong("a string")
            return value
        if origin is tuple:
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise wrong("an array of strings")
            return tuple(value)
        if origin is Mapping or hint is Mapping:
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                raise wrong("a table of strings")
            return dict(value)
        raise AssertionError(f"unsupported config type {hint!r}")  # pragma: no cover

    def redaction_values(self, values: dict[str, Any]) -> None:
        """Check ``[redaction]``'s patterns and read its terms file into ``terms``."""
        for key in ("patient_name_patterns", "mrn_patterns"):
            for pattern in values.get(key, ()):
                try:
                    compiled = re.compile(pattern)
                except re.error as exc:
                    raise self.error("redaction", key, f"[redaction].{key}: {pattern!r} is not "
                                     f"a valid regular expression ({exc})") from None
                if compiled.search("") is not None:
                    raise self.error("redaction", key, f"[redaction].{key}: {pattern!r} "
                                     "matches empty text")
        terms = [t for t in values.get("terms", ()) if t.strip()]
        ref = values.get("terms_file")
        if ref:
            path = Path(os.path.expanduser(ref))
            if not path.is_absolute() and self.path is not None:
                path = self.path.parent / path
            where = f"[redaction].terms_file: {path}"
            try:
                if not path.is_file():
                    raise self.error("redaction", "terms_file", f"{where}: not a regular file",
                                     where=False)
                if path.stat().st_size > TERMS_FILE_LIMIT:
                    raise self.error("redaction", "terms_file", f"{where}: larger than "
                                     f"{TERMS_FILE_LIMIT // (1024 * 1024)} MiB", where=False)
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise self.error("redaction", "terms_file", f"{where}: cannot read it: "
                                 f"{exc.strerror or type(exc).__name__}", where=False) from None
            except UnicodeDecodeError:
                raise self.error("redaction", "terms_file", f"{where}: not UTF-8 text",
                                 where=False) from None
            terms += [ln.strip() for ln in text.splitlines()
                      if ln.strip() and not ln.strip().startswith("#")]
        for term in terms:
            if len(" ".join(term.split())) < 3:
                # never echo the term itself: it is a patient's name
                raise self.error("redaction", "terms", "[redaction]: a term shorter than 3 "
                                 "characters would shred ordinary text", where=False)
        values["terms"] = tuple(terms)

    def rollback_values(self, values: dict[str, Any]) -> None:
        """Check ``[rollback]``: trigger ids, and a hold between the bounds."""
        for trigger in values.get("armed", ()):
            if not _TRIGGER_ID.match(trigger):
                raise self.error("rollback", "armed", f"[rollback].armed: {_describe(trigger)} "
                                 "is not a trigger id (like error_rate)")
        hold = values.get("hold_s")
        if hold is not None and not HOLD_MIN_S <= hold <= HOLD_MAX_S:
            raise self.error("rollback", "hold_s", f"[rollback].hold_s: must be between "
                             f"{HOLD_MIN_S:g} and {HOLD_MAX_S:g} seconds, got {hold:g}")
        values["authority"] = " ".join(str(values.get("authority", "")).split())

    def resolve_secret(self, table: str, name: str, values: dict[str, Any],
                       required: bool) -> Secret | None:
        file_ref = values.get(f"{name}_file")
        env_ref = values.get(f"{name}_env")
        if file_ref:
            key = f"{name}_file"
            secret_path = Path(os.path.expanduser(file_ref))
            if not secret_path.is_absolute() and self.path is not None:
                secret_path = self.path.parent / secret_path
            try:
                text = read_data_text(secret_path, limit=_MAX_SECRET_FILE_BYTES).strip()
            except DataFileError as exc:
                # never the line: it would point into the secret
                message = exc.message.replace("cannot read:", f"cannot read {secret_path}:", 1)
                if message == exc.message:
                    message = f"{secret_path}: {message}"
                raise self.error(table, key, f"[{table}].{key}: {message}",
                                 where=False) from None
            if not text:
                raise self.error(table, key, f"[{table}].{key}: {secret_path} is empty",
                                 where=False)
            return self.checked(table, key, Secret(text, f"file {secret_path}"))
        if env_ref:
            key = f"{name}_env"
            if not _ENV_NAME.match(env_ref):
                # a secret pasted where its variable's name belongs: never echo it
                raise self.error(table, key, f"[{table}].{key}: must name an environment "
                                 "variable (letters, digits and _); the value is not shown: "
                                 "if it is the secret itself, put it in the environment and "
                                 "write the variable's name here")
            value = self.environ.get(env_ref)
            if value:
                return self.checked(table, key, Secret(value, f"env {env_ref}"))
            # an optional secret's *_env is only set when written explicitly; the name is
            # echoed only when it looks like one (UPPER_CASE), never what may be a key
            shown = (f"environment variable {env_ref}" if _CONVENTIONAL_ENV.match(env_ref)
                     else "the environment variable it names (not shown: it does not look "
                     "like a variable name)")
            raise self.error(table, key, f"[{table}].{key}: {shown} is not set", where=False)
        if required:
            raise self.error(table, None, f"[{table}]: {name}_env or {name}_file is required")
        return None

    def keys_section(self, raw: object) -> KeySettings:
        """``[keys]``: binding id = "key,key" (or an array of keys); TOML's dotted keys
        (``decision.decide = "D"``, ``[keys.decision]``) name the same ids. Only the shape is
        checked here: the ids and key names are the screen's (:func:`cockpit.keys.check_keymap`)."""
        if not isinstance(raw, dict):
            raise self.error("keys", None, f"[keys] must be a table, got {_describe(raw)}")
        entries: list[KeyEntry] = []

        def walk(table: dict[str, Any], prefix: str) -> None:
            for name, value in table.items():
                binding_id = f"{prefix}{name}"
                if isinstance(value, dict):
                    walk(value, f"{binding_id}.")
                    continue
                line = self.key_line(binding_id)
                if isinstance(value, str):
                    keys = value.split(",")
                elif isinstance(value, list) and all(isinstance(v, str) for v in value):
                    keys = list(value)
                else:
                    where = f"{self.name}:{line}" if line is not None else self.name
                    raise ConfigError(f"{where}: [keys] {binding_id}: expected a key like "
                                      f"\"ctrl+d\" (commas for several), got {_describe(value)}")
                entries.append(KeyEntry(binding_id, tuple(k.strip() for k in keys if k.strip()),
                                        line))

        walk(raw, "")
        return KeySettings(tuple(entries), self.name)

    def key_line(self, binding_id: str) -> int | None:
        """The line of ``binding_id`` in ``[keys]`` (written whole, dotted, or under a
        ``[keys.PREFIX]`` header)."""
        parts = binding_id.split(".")
        for cut in range(len(parts)):
            table = ".".join(["keys", *parts[:cut]])
            key = ".".join(parts[cut:])
            line = self.locator.line_of(table, key)
            if line is not None and "=" in self.locator.lines[line - 1]:
                return line
        return self.locator.line_of("keys")

    def checked(self, table: str, key: str, secret: Secret) -> Secret:
        """``secret``, if long enough for the redactor to hide it everywhere it appears."""
        if len(secret.reveal()) < MIN_SECRET_LENGTH:
            raise self.error(table, key, f"[{table}].{key}: the secret is shorter than "
                             f"{MIN_SECRET_LENGTH} characters, too short to be redacted from "
                             "the record reliably; use a longer one", where=False)
        return secret

    def section(self, table: str, cls: type, raw: object) -> Any:
        if not isinstance(raw, dict):
            raise self.error(table, None, f"[{table}] must be a table, got {_describe(raw)}")
        hints = typing.get_type_hints(cls)
        by_key = {}
        for f in fields(cls):
            if f.metadata.get("secret"):
                continue
            by_key[f.metadata.get("key", f.name)] = f
        values: dict[str, Any] = {}
        for key, value in raw.items():
            looks_secret = key.endswith(("_key", "password")) and key not in by_key
            if key in _LITERAL_SECRETS or looks_secret:
                raise self.error(table, key, f"[{table}].{key}: secrets may not be written in the "
                                 f"file; use {key}_env or {key}_file")
            if key not in by_key:
                raise self.error(table, key, f"unknown key '{key}' in [{table}]")
            f = by_key[key]
            values[f.name] = self.convert(table, key, value, hints[f.name])
        for f in fields(cls):
            if f.name.endswith("_s") and f.name in values and values[f.name] <= 0:
                raise self.error(table, f.name, f"[{table}].{f.name}: must be greater than 0")
            if f.name == "port" and f.name in values and not 0 < values[f.name] < 65536:
                raise self.error(table, "port", f"[{table}].port: must be between 1 and 65535")
        if table == "postgres" and values.get("sslmode", "prefer") not in _SSLMODES:
            raise self.error(table, "sslmode", f"[postgres].sslmode: must be one of "
                             f"{', '.join(sorted(_SSLMODES))}, got {_describe(values['sslmode'])}")
        if table == "http" and "{endpoint}" not in values.get("path_template", "{endpoint}"):
            raise self.error(table, "path_template",
                             "[http].path_template: must contain {endpoint}")
        if table == "http":
            for name, url in values.get("version_urls", {}).items():
                if not url.startswith(("http://", "https://")):
                    raise self.error("http.version_urls", name,
                                     f"[http].version_urls.{name}: expected an http(s) URL, "
                                     f"got {_describe(url)}")
        if table == "redaction":
            self.redaction_values(values)
        if table == "rollback":
            self.rollback_values(values)
        if table == "email" and not values.get("to"):
            raise self.error(table, "to", "[email].to: at least one recipient is required")
        if table == "email" and not values.get("from_addr"):
            raise self.error(table, "from", "[email].from: a sender address is required")
        merged = {f.name: (values[f.name] if f.name in values else
                           (f.default if f.default is not MISSING else f.default_factory()))  # type: ignore[misc]
                  for f in fields(cls) if not f.metadata.get("secret")}
        for f in fields(cls):
            if f.metadata.get("secret"):
                merged[f.name] = self.resolve_secret(table, f.name, {**merged, **values},
                                                     f.metadata["required"])
        return cls(**merged)


def _env_bool(environ: Mapping[str, str], name: str) -> bool | None:
    raw = environ.get(name)
    if raw is None:
        return None
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(f"{name}: expected 1/true/yes/on or 0/false/no/off, got \"{raw}\"")


def load_config(path: str | Path | None = None,
                environ: Mapping[str, str] | None = None) -> Config:
    """Read the config file (``path``, else ``$COCKPIT_CONFIG_FILE``) and apply the environment.

    No file at all gives the defaults with every source not configured.
    Raises :class:`ConfigError` with a one-line ``FILE[:LINE]: message``.
    """
    env: Mapping[str, str] = os.environ if environ is None else environ
    if path is None and env.get("COCKPIT_CONFIG_FILE"):
        path = env["COCKPIT_CONFIG_FILE"]
    config = Config()
    if path is not None:
        file_path = Path(path)
        try:
            text = read_data_text(file_path, limit=MAX_CONFIG_BYTES)
        except DataFileError as exc:
            where = f"{file_path}:{exc.line}" if exc.line else str(file_path)
            message = exc.message.replace("cannot read:", "cannot read config file:", 1)
            raise ConfigError(f"{where}: {message}") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            message = str(exc)
            match = re.search(r"\(at line (\d+), column (\d+)\)", message)
            short = message.split(" (at ")[0]
            where = f"{file_path.name}:{match.group(1)}" if match else file_path.name
            raise ConfigError(f"{where}: TOML syntax error: {short}") from None
        loader = _Loader(file_path, text, env)
        sections: dict[str, Any] = {}
        for table, raw in data.items():
            if table == "keys":  # the screen's bindings: checked against them by the app
                sections["keys"] = loader.keys_section(raw)
                continue
            if table not in SECTIONS:
                raise loader.error(table, None, f"unknown section [{table}]")
            sections[table] = loader.section(table, SECTIONS[table], raw)
        config = Config(**sections, path=file_path)
    overrides: dict[str, Any] = {}
    read_only = _env_bool(env, "COCKPIT_READ_ONLY")
    if read_only is not None:
        overrides["read_only"] = read_only
    for key in ("environment", "namespace"):
        value = env.get(f"COCKPIT_{key.upper()}")
        if value:
            overrides[key] = value
    if overrides:
        config = replace(config, cockpit=replace(config.cockpit, **overrides))
    return config
