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

Every string is first neutralised by :func:`cockpit.timeline.sanitize.sanitize_text`
(escape sequences and controls removed, invisible characters shown as ``<U+XXXX>``),
counted as ``control``; an event's strings are also bounded to
:data:`~cockpit.timeline.sanitize.SANITIZED_LIMIT` characters.

Patient identifiers in detail: ``ssn`` with dashes, spaces or dots (the same
separator twice) or, after an SSN word, none; ``phone`` in the usual US forms,
E.164 and, after a phone word, ten bare digits; ``dob`` after a birth word, in
digits or words (``DOB March 3, 1961``, ``born 3rd of March 1961``,
``DOB 03-Mar-1961``); ``mrn`` after ``MRN``/``MR#``/"medical record number" with
any of ``-:#=``, "No." or spaces before it, digits or letters and digits;
``patient`` a name after "patient:"/"patient name:"/"pt:". The operator adds
their own (:meth:`Redactor.add_pattern`, :meth:`Redactor.add_terms`, from the
config's ``[redaction]`` table through :func:`configure_identifiers`).

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

from cockpit.timeline.sanitize import SANITIZED_LIMIT, needs_sanitizing, sanitize_text

_NOT_REDACTED = r"(?!\[REDACTED)"
_VISIBLE_MARK = re.compile(r"<U\+[0-9A-F]{4,6}>")

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
    "medical_record_number": "mrn",
    "patient_id": "mrn",
    "patient_name": "patient",
    "patient": "patient",
    "patient_email": "email",
    "phone": "phone",
    "phone_number": "phone",
    "social_security_number": "ssn",
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
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DAY = r"(?:[0-3]?\d(?:st|nd|rd|th)?)"
_DATE = (
    r"(?:\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4}|\d{1,2}-\d{1,2}-\d{4}|"
    r"\d{1,2}\.\d{1,2}\.\d{2,4}|"
    # March 3, 1961 / Mar. 3rd 1961
    + _MONTH + r"\s+" + _DAY + r",?\s+\d{4}|"
    # 3 March 1961 / 3rd of March, 1961 / 03-Mar-1961
    + _DAY + r"(?:\s+of)?[\s-]+" + _MONTH + r",?[\s-]+\d{4}|"
    # 1961-Mar-03
    r"\d{4}-" + _MONTH + r"-\d{1,2})"
)
_WORD = r"[A-Z](?:[a-z]|'[A-Z])[A-Za-z]*(?:[-'][A-Za-z]+)*"
_NAME = _WORD + r"(?:,?\s(?:[A-Z]\.|" + _WORD + r")){0,3}"

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
        r"\b(?:routing|integration|service)[ _-]?key(?>[\"']?\s*[=:]?\s*[\"']?)("
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
    _rule("ssn", r"(?<![\w.])\d{3}([ .])\d{2}\1\d{4}(?![\w]|\.\d)"),
    _rule(
        "ssn",
        r"\b(?:SSN|SS#|SSAN|social[ _-]security(?:[ _-](?:number|no\.?|#))?)"
        r"(?>[\"']?\s*(?:[:#=]|is|was)?\s*[\"']?)(" + _NOT_REDACTED + r"\d{9})(?!\d)",
        group=1,
        flags=_I,
    ),
    _rule(
        "dob",
        r"\b(?:DOB|D\.O\.B\.?|date[ _-]of[ _-]birth|birth[ _-]?date|birthday|born(?: on)?|birth)"
        r"(?>[\"']?\s*(?:[:=]|is|was)?\s*[\"']?(?:the\s+)?)(" + _DATE + r")",
        group=1,
        flags=_I,
    ),
    _rule(
        "mrn",
        r"\b(?:MRN|MR#|MR\s*No\.?|medical[ _-]record(?:[ _-](?:number|no\.?|#|id))?)"
        r"(?>(?:\s*(?:No\.?|number|#))?[\"']?[\s:#=_.-]*[\"']?)("
        + _NOT_REDACTED
        + r"(?=[A-Z0-9])(?=[A-Z0-9-]*\d)[A-Z0-9][A-Z0-9-]{3,})",
        group=1,
        flags=_I,
    ),
    _rule(
        "patient",
        r"\b(?i:patient(?:[ _-]?name)?|pt)\b\s*(?:[:=]|(?i:named|called))\s*[\"']?("
        + _NOT_REDACTED
        + _NAME
        + r")",
        group=1,
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
    _rule("phone", r"(?<![\w+])\+[1-9]\d{9,14}(?!\d)"),
    _rule(
        "phone",
        r"\b(?:phone|tel(?:ephone)?|mobile|cell|fax|ph)"
        r"(?>[\"']?\s*(?:no\.?|number|#)?\s*(?:[:#=]|is)?\s*[\"']?)("
        + _NOT_REDACTED + r"1?\d{10})(?!\d)",
        group=1,
        flags=_I,
    ),
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
        self._extra: tuple[_Rule, ...] = ()
        self._extra_seen: set[tuple[str, str]] = set()
        for secret in secrets:
            self.add_secret(secret)

    def add_pattern(self, kind: str, pattern: str) -> None:
        """Redact every match of the regular expression ``pattern`` as ``kind``.

        For the operator's own identifiers (``[redaction].mrn_patterns``...). A pattern
        that matches the empty string is refused (``ValueError``), as is a bad regex.
        """
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"redaction pattern {pattern!r} is not a valid regex: {exc}") from None
        if compiled.search("") is not None:
            raise ValueError(f"redaction pattern {pattern!r} matches empty text")
        self._add_rule(_Rule(kind, compiled))

    def _add_rule(self, rule: _Rule) -> None:
        with self._lock:
            key = (rule.kind, rule.pattern.pattern)
            if key not in self._extra_seen:  # configuring twice (run, then resume) is harmless
                self._extra_seen.add(key)
                self._extra = (*self._extra, rule)

    def add_terms(self, kind: str, terms: Iterable[str]) -> int:
        """Redact each of ``terms`` (names, one per item) as ``kind``; returns how many.

        Matched whole-word and case-insensitively, whitespace inside a term matching any
        run of whitespace. Blank items and ``#`` comments are ignored; terms shorter
        than 3 characters are refused (they would shred ordinary text).
        """
        words: list[str] = []
        for raw in terms:
            term = " ".join(raw.split())
            if not term or term.startswith("#"):
                continue
            if len(term) < 3:
                raise ValueError(f"redaction term {term!r} is shorter than 3 characters")
            words.append(term)
        if not words:
            return 0
        body = "|".join(r"\s+".join(re.escape(part) for part in w.split())
                        for w in sorted(set(words), key=len, reverse=True))
        compiled = re.compile(r"(?<!\w)(?:" + body + r")(?!\w)", re.IGNORECASE)
        self._add_rule(_Rule(kind, compiled))
        return len(set(words))

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
        if needs_sanitizing(text):
            counts["control"] += 1
            text = sanitize_text(text)
        if "<U+" in text:
            # an invisible character inside an identifier must not hide it: redact what
            # the text reads as without the visible stand-ins, if that finds more
            found: Counter[str] = Counter()
            shown = self._apply(text, found)
            hidden: Counter[str] = Counter()
            collapsed = self._apply(_VISIBLE_MARK.sub("", text), hidden)
            chosen, extra = (collapsed, hidden) if hidden.total() > found.total() else (
                shown, found)
            counts.update(extra)
            return chosen
        return self._apply(text, counts)

    def _apply(self, text: str, counts: Counter[str]) -> str:
        for secret in self._secrets:
            if secret in text:
                counts["secret"] += text.count(secret)
                text = text.replace(secret, marker("secret"))
        for rule in self._extra:
            text = rule.pattern.sub(_replacer(rule, counts), text)
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
            return sanitize_text(self.redact_text(value, counts), SANITIZED_LIMIT)
        if isinstance(value, Mapping):
            return {
                self._key(str(k), counts): self._walk(v, counts, str(k))
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self._walk(v, counts, key) for v in value]
        return value


    def _key(self, key: str, counts: Counter[str]) -> str:
        """A mapping key is caller text too (a step's reported counts...)."""
        if key.isidentifier() and key.isascii():
            return key
        return sanitize_text(self.redact_text(key, counts), 256)


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


def redact_text(text: str) -> str:
    """``text`` neutralised (:func:`~cockpit.timeline.sanitize.sanitize_text`) and redacted by
    the process-wide redactor: what every outgoing message (Slack, email, PagerDuty, the
    outbox) and every screen preview should pass through."""
    return _default.redact_text(text)


def configure_identifiers(
    *,
    patient_name_patterns: Iterable[str] = (),
    mrn_patterns: Iterable[str] = (),
    terms: Iterable[str] = (),
    redactor: Redactor | None = None,
) -> None:
    """Register the operator's patient identifiers (the config's ``[redaction]``).

    Patterns are regular expressions (a name pattern is redacted as ``patient``, an
    MRN pattern as ``mrn``); ``terms`` are literal names (``patient``). ``ValueError``
    names a bad one.
    """
    red = redactor or _default
    for pattern in patient_name_patterns:
        red.add_pattern("patient", pattern)
    for pattern in mrn_patterns:
        red.add_pattern("mrn", pattern)
    red.add_terms("patient", terms)
