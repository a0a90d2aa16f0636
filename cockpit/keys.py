"""The config's ``[keys]``: which key runs which binding, checked before the war room opens.

A binding is named by its stable id (``decision.decide``, ``runbook.run``...); the
table maps ids to keys, several keys separated by commas::

    [keys]
    decision.decide = "D"            # TOML's dotted key: the same as "decision.decide"
    runbook.run = "enter,ctrl+r"

The ids, their scopes and the key names belong to the screen (the bindings are declared
by the app, the war room and its panels); this module knows none of them. It holds what
the file said (:class:`KeySettings`, read by :mod:`cockpit.config` with each entry's
line) and the rules (:func:`check_keymap`): every id known, every key a key, and no key
running two actions where both can be reached at once (the same scope, or a panel's key
and one of the keys that work everywhere: the panel's would silently win while it has
the focus). Errors are one line, ``FILE:LINE: [keys] ...``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass


class KeymapError(ValueError):
    """A ``[keys]`` entry is unusable; the message is one line naming file and line."""


@dataclass(frozen=True)
class KeyEntry:
    """One line of ``[keys]``: ``binding_id = "key,key"``."""

    binding_id: str
    """The binding's stable id, e.g. ``decision.decide``."""
    keys: tuple[str, ...]
    """The keys as written (stripped), in order."""
    line: int | None = None
    """Its line in the config file, when it could be found."""


@dataclass(frozen=True)
class KeySettings:
    """``[keys]``: the operator's keys for the war room's bindings (empty: the defaults)."""

    entries: tuple[KeyEntry, ...] = ()
    """Each remapped binding, in the file's order."""
    source: str = "<config>"
    """The config file's name, for error messages."""

    def where(self, entry: KeyEntry) -> str:
        """``FILE:LINE`` (or ``FILE``) of ``entry``."""
        return f"{self.source}:{entry.line}" if entry.line is not None else self.source


@dataclass(frozen=True)
class KnownBinding:
    """A binding as the screen declares it, for the checks."""

    id: str | None
    """Its stable id; None for the toolkit's own bindings (not remappable, but their keys
    are taken)."""
    action: str
    """The action it runs (names an id-less binding in a message)."""
    scope: str
    """Where it works: ``everywhere``, ``war room``, ``runbook pane``..."""
    keys: tuple[str, ...]
    """Its keys by default, normalised."""

    @property
    def name(self) -> str:
        """How a message names it: ``decision.decide``, or ``'focus_next'``."""
        return self.id if self.id is not None else f"the built-in '{self.action}'"


def check_keymap(settings: KeySettings, known: Sequence[KnownBinding], *,
                 always: Collection[str], normalize: Callable[[str], str | None],
                 ) -> dict[str, str]:
    """The keymap ``settings`` asks for, as ``{binding id: "key,key"}`` (keys normalised).

    ``always``: the scopes active wherever the focus is (their keys clash with every
    other scope's); ``normalize``: a key's canonical name, or None when it is no key.
    Raises :class:`KeymapError` for an unknown id, an unknown or missing key, an id given
    twice, or a key that would run two bindings reachable at once (naming both)."""
    ids = {binding.id for binding in known if binding.id is not None}
    keymap: dict[str, tuple[str, ...]] = {}
    lines: dict[str, KeyEntry] = {}
    for entry in settings.entries:
        where = settings.where(entry)
        if entry.binding_id not in ids:
            raise KeymapError(f"{where}: [keys] unknown binding '{entry.binding_id}'")
        if entry.binding_id in keymap:
            raise KeymapError(f"{where}: [keys] {entry.binding_id} is given twice")
        if not entry.keys:
            raise KeymapError(f"{where}: [keys] {entry.binding_id}: no key given (a binding "
                              "is remapped, never removed)")
        keys: list[str] = []
        for key in entry.keys:
            name = normalize(key)
            if name is None:
                raise KeymapError(f"{where}: [keys] unknown key '{key}' for "
                                  f"{entry.binding_id}")
            if name not in keys:
                keys.append(name)
        keymap[entry.binding_id] = tuple(keys)
        lines[entry.binding_id] = entry
    _check_clashes(settings, _mapped(known, keymap), lines, set(always))
    return {binding_id: ",".join(keys) for binding_id, keys in keymap.items()}


def _mapped(known: Iterable[KnownBinding], keymap: dict[str, tuple[str, ...]],
            ) -> list[KnownBinding]:
    """``known`` with the keymap's keys in place of the defaults."""
    out = []
    for binding in known:
        if binding.id is not None and binding.id in keymap:
            binding = KnownBinding(binding.id, binding.action, binding.scope,
                                   keymap[binding.id])
        out.append(binding)
    return out


def _check_clashes(settings: KeySettings, bindings: list[KnownBinding],
                   remapped: dict[str, KeyEntry], always: set[str]) -> None:
    """The first key the keymap gives to a binding that another reachable one has."""
    by_key: dict[str, list[KnownBinding]] = {}
    for binding in bindings:
        for key in binding.keys:
            by_key.setdefault(key, []).append(binding)
    for binding in bindings:
        if binding.id not in remapped:
            continue
        for key in binding.keys:
            for other in by_key[key]:
                # the same binding, or the toolkit's own key for the same action (ctrl+q quit)
                same = (other.id == binding.id if other.id is not None else
                        other.action == binding.action and other.scope == binding.scope)
                if same:
                    continue
                reachable = (other.scope == binding.scope or other.scope in always
                             or binding.scope in always)
                if reachable:
                    raise KeymapError(
                        f"{settings.where(remapped[binding.id])}: [keys] '{key}' would run "
                        f"both {binding.id} ({binding.scope}) and {other.name} "
                        f"({other.scope})")
