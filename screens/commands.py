"""The war room's keys as data: which bindings each scope has (as mapped now), the checks
of the config's ``[keys]`` against them, and the command palette's provider.

Everything that shows a key (the help, the palette, the key bar) reads it from the
bindings with the keymap applied, so a remapped key is what they all say.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from textual.actions import parse as parse_action
from textual.app import App
from textual.binding import Binding, BindingsMap
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode
from textual.keys import REPLACED_KEYS, Keys, _character_to_key, key_to_character
from textual.widget import Widget

from cockpit.config import ConfigError
from cockpit.keys import KeymapError, KeySettings, KnownBinding, check_keymap
from screens.war_room import GROUPS, WarRoomScreen
from widgets.key_bar import declared_index, key_label

EVERYWHERE = "everywhere"
WAR_ROOM = "war room"
#: The scopes whose keys work wherever the focus is in the war room.
ALWAYS = (EVERYWHERE, WAR_ROOM)


@dataclass(frozen=True)
class KeyScope:
    """Where a set of bindings works: the whole app, the war room, one panel."""

    name: str
    """``everywhere``, ``war room``, ``runbook pane``..."""
    nodes: tuple[type[DOMNode], ...]
    """The classes whose bindings are active there (a panel and its focusable parts)."""
    group: str = ""
    """The war room's group it is in (its key, or tab, gets there), for the help."""


def war_room_scopes(app_type: type[App[Any]]) -> tuple[KeyScope, ...]:
    """The scopes of the war room of ``app_type``, in the order the help lists them: the
    app's, the war room's, then a pane per namespace of the panels' binding ids (every
    widget of ``widgets/`` that declares bindings: ``runbook.*`` is the runbook pane,
    ``pods.*`` the pods pane, its list and its panel), in the war room's group order."""
    return (KeyScope(EVERYWHERE, (app_type,)), KeyScope(WAR_ROOM, (WarRoomScreen,)),
            *_panes())


def _widget_classes(base: type[Widget]) -> Iterator[type[Widget]]:
    for sub in base.__subclasses__():
        yield sub
        yield from _widget_classes(sub)


def _panes() -> list[KeyScope]:
    """A scope per binding namespace of the panels (the war room imports them all)."""
    panes: dict[str, list[type[DOMNode]]] = {}
    for cls in dict.fromkeys(_widget_classes(Widget)):
        if not cls.__module__.startswith("widgets."):
            continue
        ids = [b.id for b in cls.__dict__.get("BINDINGS", ()) if isinstance(b, Binding) and b.id]
        if ids:
            panes.setdefault(ids[0].split(".", 1)[0], []).append(cls)
    groups = [group for group, _label in GROUPS]
    order = sorted(panes, key=lambda ns: (groups.index(ns) if ns in groups else len(groups), ns))
    return [KeyScope(f"{ns} pane", tuple(panes[ns]), ns if ns in groups else "")
            for ns in order]


@dataclass(frozen=True)
class ScopeBinding:
    """One action of a scope, with every key that runs it now."""

    scope: str
    node: type[DOMNode] | None
    """The class that declares it (None: not known, as in the palette)."""
    binding: Binding
    """The first of its bindings (description, tooltip, id, action)."""
    keys: tuple[Binding, ...]
    """One binding per key, as mapped now (the keymap applied)."""

    @property
    def description(self) -> str:
        return self.binding.description

    @property
    def id(self) -> str | None:
        return self.binding.id


def _mapped(node: type[DOMNode], keymap: Mapping[str, str]) -> BindingsMap:
    merged = node._merged_bindings
    bindings = merged.copy() if merged is not None else BindingsMap()
    if keymap:
        bindings.apply_keymap(dict(keymap))
    return bindings


def scope_bindings(scope: KeyScope, keymap: Mapping[str, str]) -> list[ScopeBinding]:
    """Every binding of ``scope``, an entry per action in the order the classes declare
    them, each with its keys under ``keymap`` (normalised, as ``App._keymap`` holds it).
    The toolkit's own key for an action of ours (ctrl+q quit) joins that action's entry."""
    out: list[ScopeBinding] = []
    for node in scope.nodes:
        order: list[str] = []
        first: dict[str, Binding] = {}
        default = node._merged_bindings
        for _key, binding in (default if default is not None else BindingsMap()):
            if binding.action not in first:
                order.append(binding.action)
                first[binding.action] = binding
            elif first[binding.action].id is None and binding.id is not None:
                first[binding.action] = binding  # the remappable one names the entry
        keys: dict[str, list[Binding]] = {}
        for _key, binding in _mapped(node, keymap):
            keys.setdefault(binding.action, []).append(binding)
        for action in order:
            # ours first (q before ctrl+q)
            mine = sorted(keys.get(action, ()), key=lambda b: b.id is None)
            out.append(ScopeBinding(scope.name, node, first[action], tuple(mine)))
    return out


def keys_label(app: App[Any], entry: ScopeBinding) -> str:
    """Every key of ``entry``: ``+, =``; ``enter, y``."""
    labels: list[str] = []
    for binding in entry.keys:
        label = key_label(app, binding.with_key(binding.key, key_display=None)
                          if len(entry.keys) > 1 else binding)
        if label not in labels:
            labels.append(label)
    return ", ".join(labels)


# -- the config's [keys] ----------------------------------------------------------------

_MODIFIERS = ("ctrl", "alt", "shift", "meta", "super", "hyper")
_NAMED = frozenset(key.value.rpartition("+")[2] for key in Keys
                   if not key.value.startswith("<")) | {"space", "enter", "tab"}


def normalize_key(text: str) -> str | None:
    """``text``'s key as Textual names it (``?`` -> ``question_mark``, ``shift+d`` ->
    ``D``, what a terminal sends), or None when it names no key."""
    text = text.strip()
    if not text:
        return None
    if len(text) == 1:
        return _character_to_key(text) if text.isprintable() and text != "," else None
    *mods, base = text.split("+")
    mods = [mod.lower() for mod in mods]
    if not base or any(mod not in _MODIFIERS for mod in mods) or len(set(mods)) != len(mods):
        return None
    if len(base) == 1:
        if not base.isprintable():
            return None
        if base.isalpha() and mods == ["shift"]:
            return base.upper()  # a terminal sends shift+d as D
        base = _character_to_key(base.lower() if base.isalpha() else base)
    else:
        base = base.lower()
        character = key_to_character(REPLACED_KEYS.get(base, base))
        if base not in _NAMED and not (character is not None and character.isascii()):
            return None
    return "+".join([*mods, base])


def known_bindings(scopes: Sequence[KeyScope]) -> list[KnownBinding]:
    """Every binding of ``scopes`` by default, for :func:`cockpit.keys.check_keymap`."""
    known = []
    for scope in scopes:
        for entry in scope_bindings(scope, {}):
            for binding in entry.keys:  # each binding with its own id (ctrl+q has none)
                known.append(KnownBinding(binding.id, binding.action, scope.name,
                                          (normalize_key(binding.key) or binding.key,)))
    return known


def checked_keymap(settings: KeySettings, app_type: type[App[Any]]) -> dict[str, str]:
    """The keymap ``settings`` asks for, checked against ``app_type``'s war room.
    Raises :class:`~cockpit.config.ConfigError` (``FILE:LINE: [keys] ...``)."""
    if not settings.entries:
        return {}
    try:
        return check_keymap(settings, known_bindings(war_room_scopes(app_type)),
                            always=ALWAYS, normalize=normalize_key)
    except KeymapError as exc:
        raise ConfigError(str(exc)) from None


# -- the command palette ----------------------------------------------------------------


@dataclass(frozen=True)
class _Command:
    description: str
    keys: str
    binding_id: str | None
    node: DOMNode
    action: str

    @property
    def help(self) -> str:
        return f"{self.keys}  ·  {self.binding_id}" if self.binding_id else self.keys


class BindingCommands(Provider):
    """Every action the war room offers now (the focused panel's, the war room's, the
    app's) by its description, with its key as mapped; choosing one runs it. What the
    screen does not offer (the simulation's speed and pause in live mode) is not here."""

    def _commands(self) -> Iterator[_Command]:
        screen, app = self.screen, self.app
        found: dict[tuple[int, str], list[Any]] = {}
        order: list[tuple[int, str]] = []
        for active in screen.active_bindings.values():
            node, binding = active.node, active.binding
            name = parse_action(binding.action)[1]
            # the toolkit's own (tab, arrows, copy) are moves, not the war room's actions
            if (not active.enabled or not binding.description or binding.id is None
                    or name == "command_palette"):
                continue
            ident = (id(node), binding.action)
            if ident not in found:
                order.append(ident)
                found[ident] = [node, binding, []]
            found[ident][2].append(binding)
        # the focused pane's first, then the app's, the war room's group keys last; each
        # node's in the order it declares them (a remapped key is not moved to the end)
        rank = {id(app): 1, id(screen): 2}
        chain = {node: index for index, node in enumerate(dict.fromkeys(i[0] for i in order))}
        order.sort(key=lambda ident: (rank.get(ident[0], 0), chain[ident[0]],
                                      declared_index(found[ident][0], ident[1])))
        for ident in order:
            node, binding, bindings = found[ident]
            entry = ScopeBinding("", None, binding, tuple(bindings))
            yield _Command(binding.description, keys_label(app, entry), binding.id, node,
                           binding.action)

    def _run(self, command: _Command) -> partial[Any]:
        return partial(self.app.run_action, command.action, command.node)

    async def discover(self) -> Hits:
        for command in self._commands():
            yield DiscoveryHit(command.description, self._run(command), help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._commands():
            score = max(matcher.match(command.description),
                        matcher.match(command.binding_id or "") * 0.9)
            if score > 0:
                yield Hit(score, matcher.highlight(command.description), self._run(command),
                          text=command.description, help=command.help)


def key_for(app: App[Any], binding_id: str, default: str = "") -> str:
    """The first key that runs ``binding_id`` now, as the screen writes it (``p``, ``^p``),
    for a message that names a key: a keymap cannot make it wrong. ``default`` when no
    scope of the war room has that id."""
    for scope in war_room_scopes(type(app)):
        for entry in scope_bindings(scope, app._keymap):
            if entry.id == binding_id:
                return keys_label(app, entry).split(", ")[0]
    return default
