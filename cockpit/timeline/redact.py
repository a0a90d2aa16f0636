"""Redaction of secrets and patient-identifying values before they reach the record.

Every string in an event's ``data`` passes through a :class:`Redactor` inside
``Journal.append`` and again in every export. A match is replaced by
``[REDACTED:<kind>]`` and counted per kind, so the record says *that* something
was removed without saying *what*.

Kinds: ``password`` (connection-string passwords, ``password=...``), ``token``
(``token=``, ``secret=``, ``api_key=`` style key/values), ``slack_token``
(``xox?-``), ``aws_key`` (``AKIA``/``ASIA`` access key ids), ``api_key`` (bare
32-hex keys such as Datadog API keys; a UUID written without dashes is caught
too), ``routing_key`` (PagerDuty routing/integration keys), ``webhook`` (Slack
hooks and any URL with "webhook" in it), ``bearer`` (Authorization headers),
``db_value`` (the value in a PostgreSQL ``Key (col)=(value)`` detail), ``ssn``,
``dob``, ``phone``, ``email``, ``mrn`` and ``secret`` (literal values registered
at runtime). A dict key that names a secret or an identifier (``password``,
``ssn``, ``dob``, ``mrn``...) has its whole string value redacted.

Deliberately *not* redacted: ISO timestamps (``2025-01-21T14:30:00Z``), dates
that do not follow a birth-date word, version numbers (``v2.0.0``), IP
addresses, 40/64-hex digests (git SHAs, SHA-256) and bare digit runs.
"""

from __future__ import annotations

import re
import threading
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

_NOT_REDACTED = r"(?!\[REDACTED)"

# Keys whose whole value is sensitive, whatever it looks like.
_SENSITIVE_KEYS: dict[str, str] = {
    "password": "password",
    "passwd": "password",
    "pwd": "password",
    "secret": "token",
    "token": "token",
    "api_key": "api_key",
    "apikey": "api_key",
    "app_key": "api_key",
    "routing_key": "routing_key",
    "integration_key": "routing_key",
    "authorization": "bearer",
    "ssn": "ssn",
    "dob": "dob",
    "date_of_birth": "dob",
    "birth_date": "dob",
    "mrn": "mrn",
    "patient_email": "email",
    "phone": "phone",
}


@dataclass(frozen=True)
class _Rule:
    kind: str
    pattern: re.Pattern[str]
    # group index to replace (0 = whole match); text outside it is kept
    group: int = 0


def _rule(kind: str, pattern: str, group: int = 0, flags: int = 0) -> _Rule:
    return _Rule(kind, re.compile(pattern, flags), group)


_I = re.IGNORECASE
_DATE = r"(?:\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4}|\d{1,2}-\d{1,2}-\d{4})"

# Order matters: URLs and headers before the generic key/value and number rules.
_RULES: tuple[_Rule, ...] = (
    _rule("webhook", r"https?://hooks\.slack\.com/[^\s'\"<>)\]]+", flags=_I),
    _rule("webhook", r"https?://[^\s'\"<>]*webhook[^\s'\"<>)\]]*", flags=_I),
    _rule("bearer", r"\b(?:Bearer|Basic|Token)\s+" + _NOT_REDACTED + r"[A-Za-z0-9\-._~+/=:]{8,}"),
    # scheme://user:PASSWORD@host -> keep the user and host
    _rule(
        "password",
        r"\b[a-z][a-z0-9+.\-]*://[^:/@\s'\"]*:(" + _NOT_REDACTED + r"[^@\s'\"/]+)@",
        group=1,
        flags=_I,
    ),
    _rule(
        "db_value",
        r"\bKey \([^)]*\)=\((" + _NOT_REDACTED + r"[^)]*)\)",
        group=1,
    ),
    _rule("slack_token", r"\bxox[abposr]-[A-Za-z0-9\-]{8,}"),
    _rule("aws_key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    _rule(
        "routing_key",
        r"\b(?:routing|integration|service)[ _-]?key[\"']?\s*[=:]?\s*[\"']?("
        + _NOT_REDACTED
        + r"[A-Za-z0-9]{32})\b",
        group=1,
        flags=_I,
    ),
    _rule(
        "password",
        r"\b(?:password|passwd|pwd|pass)[\"']?\s*[=:]\s*[\"']?(" + _NOT_REDACTED + r"[^\s\"',;&]+)",
        group=1,
        flags=_I,
    ),
    _rule(
        "token",
        r"\b(?:[a-z_]*token|secret|client[_-]?secret|api[_-]?key|apikey|app[_-]?key|"
        r"access[_-]?key(?:[_-]?id)?|secret[_-]?access[_-]?key|private[_-]?key)"
        r"[\"']?\s*[=:]\s*[\"']?(" + _NOT_REDACTED + r"[^\s\"',;&]+)",
        group=1,
        flags=_I,
    ),
    _rule("api_key", r"(?<![0-9A-Za-z])[0-9a-f]{32}(?![0-9A-Za-z])", flags=_I),
    # patient data
    _rule("ssn", r"(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])"),
    _rule(
        "dob",
        r"\b(?:DOB|D\.O\.B\.?|date[ _-]of[ _-]birth|birth[ _-]?date|birthday|born(?: on)?|birth)"
        r"[\"']?\s*(?:[:=]|is|was)?\s*[\"']?(" + _DATE + r")",
        group=1,
        flags=_I,
    ),
    _rule(
        "mrn",
        r"\b(?:MRN|medical record(?: number| no\.?)?)\s*[:#=]?\s*(\d{4,})",
        group=1,
        flags=_I,
    ),
    _rule(
        "email",
        r"(?<![\w.%+/-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b",
    ),
    _rule(
        "phone",
        r"(?<![\w.\-/:])(?:\+?1[\s.-])?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?![\w\-/:])",
    ),
    _rule("phone", r"(?<![\w+])\+\d{1,3}(?:[\s.-]\d{2,5}){2,4}(?![\w.\-])"),
)


def marker(kind: str) -> str:
    """Return the replacement text for a value of ``kind``."""
    return f"[REDACTED:{kind}]"


@dataclass(frozen=True)
class Redacted:
    """The result of redacting a value: the cleaned value and counts per kind."""

    value: Any
    counts: Mapping[str, int]


class Redactor:
    """Replaces secrets and patient-identifying values in strings and nested data.

    Thread-safe: literal secrets may be registered from any thread while another
    thread appends to a journal.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()
        for secret in secrets:
            self.add_secret(secret)

    def add_secret(self, value: str) -> None:
        """Register a literal secret (e.g. a password loaded from the environment).

        It is always replaced by ``[REDACTED:secret]``, as is its URL-encoded
        form. Values shorter than 4 characters are refused: replacing them
        would shred ordinary text.
        """
        if len(value) < 4:
            raise ValueError("a registered secret must be at least 4 characters long")
        forms = {value, urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value)}
        with self._lock:
            merged = set(self._secrets) | forms
            self._secrets = tuple(sorted(merged, key=len, reverse=True))

    @property
    def secret_count(self) -> int:
        """How many literal forms are registered (for diagnostics; never the values)."""
        return len(self._secrets)

    def redact_text(self, text: str, counts: Counter[str] | None = None) -> str:
        """Return ``text`` with every sensitive value replaced; add to ``counts``."""
        if counts is None:
            counts = Counter()
        for secret in self._secrets:
            if secret in text:
                counts["secret"] += text.count(secret)
                text = text.replace(secret, marker("secret"))
        for rule in _RULES:
            text = rule.pattern.sub(_replacer(rule, counts), text)
        return text

    def redact(self, value: Any) -> Redacted:
        """Redact every string inside ``value`` (dicts, lists, tuples, strings)."""
        counts: Counter[str] = Counter()
        cleaned = self._walk(value, counts, None)
        return Redacted(cleaned, dict(sorted(counts.items())))

    def _walk(self, value: Any, counts: Counter[str], key: str | None) -> Any:
        if isinstance(value, str):
            kind = _SENSITIVE_KEYS.get(key.lower()) if key else None
            if kind and value and not value.startswith("[REDACTED:"):
                counts[kind] += 1
                return marker(kind)
            return self.redact_text(value, counts)
        if isinstance(value, Mapping):
            return {
                str(k): self._walk(v, counts, str(k)) for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self._walk(v, counts, key) for v in value]
        return value


def _replacer(rule: _Rule, counts: Counter[str]) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        counts[rule.kind] += 1
        if rule.group == 0:
            return marker(rule.kind)
        whole = match.group(0)
        start = match.start(rule.group) - match.start(0)
        end = match.end(rule.group) - match.start(0)
        return whole[:start] + marker(rule.kind) + whole[end:]

    return replace


_default = Redactor()


def default_redactor() -> Redactor:
    """Return the process-wide redactor that journals and exports use by default."""
    return _default


def register_secret(value: str) -> None:
    """Register a literal secret on the process-wide redactor (see :meth:`Redactor.add_secret`)."""
    _default.add_secret(value)
