"""The help screen: every key binding as mapped now, and what the panels mean."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from textual.actions import parse as parse_action
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widgets import Static

from cockpit.decision.policy import PolicyView, default_policy_view
from screens.commands import (
    WAR_ROOM,
    KeyScope,
    ScopeBinding,
    keys_label,
    scope_bindings,
    war_room_scopes,
)

#: What the help says besides the keys (those come from the bindings, as mapped now);
#: ``{thresholds}`` is where :func:`help_text` says the policy's, ``{close}`` the keys that
#: close the help. No key here can be remapped: the answers of a question (l/c, y/n) are
#: the question's own.
LEGEND_TEXT = """\
[b]Answers[/b] (every answer is recorded with who gave it)
  quit: [b]l[/b] leave the incident open (`cockpit resume` takes it back),
        [b]c[/b] close it (training: then the debrief and score)
  severity: [b]c h m l[/b] (its authority and deadline follow)
  fix forward, patient safety: [b]y n[/b]
  decision: [b]r[/b] roll back, [b]h[/b] hot fix, [b]n[/b] no action
  export: [b]m[/b] Markdown RCA, [b]j[/b] JSON, [b]h[/b] HTML
  a destructive step asks for the target's name and the approver's;
  a status update is reminded every 15 minutes of incident time

[b]Runbook steps[/b]
  \\[ ] pending  \\[>] ready  \\[#] blocked  \\[*] running  \\[x] done
  \\[!] failed  \\[-] skipped  \\[?] interrupted  \\[c] cancelled
  "Told them": a step waits for someone to be notified and you told them yourself
  (by phone...): recorded as your attestation, never as a delivery.

[b]Training[/b]
  guided: the coach hints when you stall or err · exam: no hints, scored
  demo: the autopilot plays; watch (the simulation's pause and speed keys drive it)

[b]Reading the panels[/b]
  Every state is written in words as well as colours: [b]OVER[/b] a threshold,
  [b]FAIL[/b] for an endpoint, [b]NOT READY[/b] for a pod, [b]STALE[/b] for a source
  that stopped answering (its last values stay on screen, dimmed, with
  the age of the data and the reason). The thresholds are the policy's
  automatic triggers (what fires, and what the procedures say to do):
{thresholds}

Press {close} to close.
"""

#: Columns of the keys table: the keys, then the description (the binding id after it).
KEY_COLUMN = 12
DESCRIPTION_COLUMN = 36


def threshold_lines(view: PolicyView) -> list[str]:
    """One line per trigger of the policy, in its order: ``Error rate > 5% for 5m:
    automatic rollback``; an event trigger: ``Security breach (any event): immediate
    rollback``. Titles come from the policy file: escaped, never markup."""
    lines = []
    for trigger in view.thresholds:
        when = " (any event)" if trigger.event is not None else f" {trigger.condition}"
        lines.append(f"    {escape(trigger.title)}{escape(when)}: {trigger.action.label}")
    return lines


def help_text(view: PolicyView, keys: str = "", close: str = "escape") -> str:
    """The help: ``keys`` (:func:`keys_text`), then the legend with ``view``'s thresholds
    (the policy the engine evaluates) and ``close``, the keys that close it."""
    legend = (LEGEND_TEXT.replace("{thresholds}", "\n".join(threshold_lines(view)), 1)
              .replace("{close}", close, 1))
    return f"{keys}\n{legend}" if keys else legend


def _offered(app: App[Any], entry: ScopeBinding) -> bool:
    """Whether the app offers ``entry``'s action now (live mode: no speed or pause keys)."""
    if entry.node is None or not issubclass(entry.node, App):
        return True
    _namespace, name, parameters = parse_action(entry.binding.action)
    return app.check_action(name, parameters) is not False


def keys_text(app: App[Any], scopes: Sequence[KeyScope]) -> str:
    """Every binding of ``scopes`` with its keys as mapped now (``app``'s keymap), its
    description and its id (what ``[keys]`` in the config remaps), scope by scope."""
    keymap = app._keymap
    groups = {entry.binding.action: keys_label(app, entry)
              for scope in scopes if scope.name == WAR_ROOM
              for entry in scope_bindings(scope, keymap)}
    lines = ["[b]Rollback Cockpit — keys[/b] as mapped ([b]\\[keys][/b] in the config "
             "remaps by id)"]
    for scope in scopes:
        entries = [entry for entry in scope_bindings(scope, keymap)
                   if entry.description and entry.keys and not entry.binding.system
                   and _offered(app, entry)]
        if not entries:
            continue
        title = scope.name[0].upper() + scope.name[1:]
        group_key = groups.get(f"show_group('{scope.group}')") if scope.group else None
        if group_key:
            title += f" (its group: {group_key}, or tab to it)"
        lines += ["", f"[b]{escape(title)}[/b]"]
        for entry in entries:
            keys = keys_label(app, entry)
            description = entry.description
            line = f"  [b]{escape(keys)}[/b]{' ' * max(1, KEY_COLUMN - len(keys))}"
            line += escape(description)
            if entry.id:
                line += f"{' ' * max(1, DESCRIPTION_COLUMN - len(description))}"
                line += f"[dim]{escape(entry.id)}[/dim]"
            lines.append(line)
            if entry.binding.tooltip:  # what the key bar has no room to say
                lines.append(" " * (2 + KEY_COLUMN) + escape(entry.binding.tooltip))
    return "\n".join(lines) + "\n"


class HelpScreen(ModalScreen[None]):
    """Every key of the war room as mapped now (generated from the bindings: a new one
    appears here by itself), a legend, and the policy's thresholds (the shipped policy's
    unless it is given another)."""

    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS = [
        Binding("escape,question_mark,q", "dismiss", "Close", id="help.close"),
    ]

    def __init__(self, policy: PolicyView | None = None,
                 scopes: Sequence[KeyScope] | None = None) -> None:
        super().__init__()
        self.policy_view = policy if policy is not None else default_policy_view()
        self.scopes = scopes
        """Whose keys to list (default: the war room's of the running app)."""

    def compose(self) -> ComposeResult:
        scopes = self.scopes if self.scopes is not None else war_room_scopes(type(self.app))
        own = [entry for entry in scope_bindings(KeyScope("help", (type(self),)),
                                                 self.app._keymap)
               if entry.binding.action == "dismiss"]
        close = keys_label(self.app, own[0]) if own else "escape"
        with VerticalScroll(id="help-box"):
            yield Static(help_text(self.policy_view, keys_text(self.app, scopes),
                                   " or ".join(close.rsplit(", ", 1))), id="help-text")

    def action_dismiss(self, result: None = None) -> None:  # type: ignore[override]
        self.dismiss(result)

