"""Neutralising untrusted text: what a command, a server or a person wrote.

:func:`sanitize_text` is the one sanitiser. It removes every terminal escape
sequence and control character, so nothing shown, journaled or exported can
drive the reader's terminal (write the clipboard with OSC 52, retitle the
window, clear the screen, move the cursor), and it makes the invisible
characters that change how text *reads* visible, so a line cannot look like
something it is not:

- escape sequences, 7-bit (``ESC [``, ``ESC ]``, ``ESC P``, ``ESC X``, ``ESC ^``,
  ``ESC _``, any other ``ESC`` sequence) and 8-bit C1 (``0x9B`` CSI, ``0x9D`` OSC,
  ``0x90`` DCS, ``0x98`` SOS, ``0x9E`` PM, ``0x9F`` APC), are removed whole, with their
  parameters and string bodies up to BEL or ST; an unterminated string sequence
  swallows the rest of the text (a terminal would too);
- the other C0 and C1 controls and DEL are removed, except newline and tab; a carriage
  return ends a line (``\\r\\n`` and a lone ``\\r`` become ``\\n``), so text after it can
  no longer overwrite what came before;
- every format character (Unicode category Cf: bidi embeddings, overrides, isolates
  and marks, zero-width characters, the word joiner, invisible operators, the BOM,
  tag characters...), the line/paragraph separators and the blank fillers are
  replaced by a visible ``<U+XXXX>``;
- a lone surrogate (undecodable bytes smuggled through ``surrogateescape``) becomes
  ``U+FFFD``.

``limit`` bounds the result's length (a marker says how much was cut). Text that
needs none of this is returned as is, after one regex scan.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from operator import attrgetter
from types import MappingProxyType
from typing import Any, TypeVar, cast

__all__ = ["SANITIZED_LIMIT", "sanitize_text", "needs_sanitizing", "visible"]

#: The default bound for one journaled string (characters).
SANITIZED_LIMIT = 65536

# Characters that may need work: C0 but tab/newline, DEL, C1, invisibles, surrogates.
# Invisible: every format character (Unicode category Cf: bidi controls, zero-width
# characters, the BOM, tags...), the line and paragraph separators, and the blank
# fillers and the grapheme joiner that render as nothing.
_INVISIBLE = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U00013438\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
    "\u034f\u115f\u1160\u17b4\u17b5\u3164\uffa0"
)
_SUSPECT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f" + _INVISIBLE + "\ud800-\udfff]")

# String sequences: OSC/DCS/SOS/PM/APC, 7-bit or 8-bit introducer, ended by BEL or ST
# (ESC \ or 0x9C), or by the end of the text when unterminated.
_STRING_SEQ = r"(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[\s\S]*?(?:\x07|\x1b\\|\x9c|\Z)"
# CSI: ESC [ or 0x9B, parameter bytes, intermediate bytes, one final byte.
_CSI = r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"
# Any other ESC sequence: intermediates then a final byte (ESC 7, ESC ( B, ESC c...).
_ESC = r"\x1b[\x20-\x2f]*[\x30-\x7e]?"
_SEQUENCES = re.compile(f"{_STRING_SEQ}|{_CSI}|{_ESC}")
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_INVISIBLES = re.compile("[" + _INVISIBLE + "]")
_SURROGATES = re.compile("[\ud800-\udfff]")


T = TypeVar("T")


def visible(char: str) -> str:
    """The visible stand-in for an invisible character: ``<U+202E>``."""
    return f"<U+{ord(char):04X}>"


def needs_sanitizing(text: str) -> bool:
    """Whether :func:`sanitize_text` would change ``text`` (length bound aside)."""
    return _SUSPECT.search(text) is not None


def sanitize_text(text: str, limit: int | None = None) -> str:
    """Return ``text`` with escape sequences and controls removed and invisibles shown.

    Newlines and tabs are kept; ``limit`` (characters) bounds the result.
    """
    if _SUSPECT.search(text) is not None:
        text = _SEQUENCES.sub("", text)
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        text = _CONTROLS.sub("", text)
        text = _INVISIBLES.sub(lambda m: visible(m.group(0)), text)
        text = _SURROGATES.sub("\ufffd", text)
    if limit is not None and len(text) > limit:
        cut = len(text) - limit
        text = text[:limit] + f" [... {cut} more characters not kept]"
    return text


def sanitize_value(value: T) -> T:
    """``value`` with every string in it neutralised (:func:`sanitize_text`): strings,
    frozen dataclasses, tuples, lists and mappings of them, walked through. What needs no
    change is returned as it is (the same object), so a clean snapshot costs one scan.

    A long sequence of one type (a cluster's 20,000 pods) is checked column by column:
    each field's values gathered with one ``attrgetter`` pass, its strings joined and
    searched once. Only when that finds something is the sequence walked item by item.
    """
    return cast(T, _clean(value))


#: Sequences at least this long are checked in bulk first (:func:`_all_clean`).
BULK_MIN = 32
_FIELD_GETTERS: dict[type, tuple[Callable[[Any], Any], ...] | None] = {}


def _field_getters(cls: type) -> tuple[Callable[[Any], Any], ...] | None:
    """One getter per field of dataclass ``cls`` (None: ``cls`` is not a dataclass)."""
    try:
        return _FIELD_GETTERS[cls]
    except KeyError:
        pass
    getters = (tuple(attrgetter(f.name) for f in dataclasses.fields(cls))
               if dataclasses.is_dataclass(cls) else None)
    _FIELD_GETTERS[cls] = getters
    return getters


def _walked(cls: type) -> bool:
    """Whether :func:`_clean` looks inside values of type ``cls`` (strings aside)."""
    return (issubclass(cls, tuple | list | Mapping)
            or (not issubclass(cls, type) and _field_getters(cls) is not None))


def _strings_clean(strings: Sequence[str]) -> bool:
    # _SUSPECT matches single characters and a space is not one of them: the joined
    # text holds a suspect character exactly when one of the strings does. Printable
    # ASCII holds none (checked in C without the regex's many ranges: 10x faster).
    text = " ".join(strings)
    return (text.isascii() and text.isprintable()) or _SUSPECT.search(text) is None


def _all_clean(values: Sequence[object]) -> bool:
    """Whether nothing in ``values`` would be changed by :func:`_clean` (False: not known,
    walk them). Decided by C-level passes: the values' types, then per kind of value."""
    types = set(map(type, values))
    if len(types) == 1:
        (cls,) = types
        if issubclass(cls, str):
            return _strings_clean(cast(Sequence[str], values))
        if not _walked(cls):
            return True  # numbers, times, booleans: nothing to neutralise
        getters = None if issubclass(cls, tuple | list | Mapping) else _field_getters(cls)
        if getters is not None:  # dataclasses (what _clean walks by field)
            return all(_all_clean(list(map(get, values))) for get in getters)
    walked = [cls for cls in types if not issubclass(cls, str) and _walked(cls)]
    if walked:
        return all(_clean(value) is value for value in values)
    return _strings_clean([value for value in values if isinstance(value, str)])


def _clean(value: object) -> object:
    if isinstance(value, str):
        return sanitize_text(value) if needs_sanitizing(value) else value
    if isinstance(value, tuple | list):
        if len(value) >= BULK_MIN and _all_clean(value):
            return value
        items = [_clean(item) for item in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return type(value)(items)
    if isinstance(value, Mapping):
        cleaned = {_clean(k): _clean(v) for k, v in value.items()}
        if all(k in value and value[k] is v for k, v in cleaned.items()):
            return value
        return MappingProxyType(cleaned)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for f in dataclasses.fields(value):
            old = getattr(value, f.name)
            new = _clean(old)
            if new is not old:
                changes[f.name] = new
        return dataclasses.replace(value, **changes) if changes else value
    return value
