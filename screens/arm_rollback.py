"""Arm (or disarm) the automatic rollback: which triggers, and the armer's role.

The procedures' decision matrix says "automatic rollback" for some triggers; armed, such a
trigger's firing starts a hold that runs the rollback at its end unless someone cancels.
This modal only chooses: the runtime records the arming (``rollback.armed``) and refuses
it in read-only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option


@dataclass(frozen=True)
class ArmChoice:
    """What the engineer chose: the triggers to arm (none: disarm) and their role."""

    triggers: tuple[str, ...]
    authority: str


class ArmRollbackScreen(ModalScreen[ArmChoice | None]):
    """Choose the triggers to arm; dismisses with an :class:`ArmChoice`, or ``None``."""

    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="arm_rollback.cancel"),
        Binding("enter", "arm", "Arm", priority=True, id="arm_rollback.arm"),
        Binding("space", "toggle", "Check", id="arm_rollback.toggle"),
    ]

    def __init__(self, triggers: Sequence[tuple[str, str]], armed: Sequence[str],
                 authority: str = "", roles: Sequence[str] = (), hold_s: float = 60.0) -> None:
        """``triggers``: (id, title) of those the procedures roll back on; ``armed``: the
        ones armed now; ``authority``: the role to prefill; ``roles``: the policy's."""
        super().__init__()
        self.triggers = list(triggers)
        self.armed = set(armed)
        self.authority = authority
        self.roles = list(roles)
        self.hold_s = hold_s

    def compose(self) -> ComposeResult:
        with Vertical(id="arm-box"):
            yield Static(Content.styled("Arm the automatic rollback", "bold"), id="arm-title")
            yield Static(Content(
                f"When a checked trigger fires, a {self.hold_s:g}s hold names the rollback "
                "(undo of the deployment that changed before the breach); any key cancels "
                "it, enter or the hold's end runs it."), id="arm-explanation")
            yield OptionList(*[Option(self._prompt(tid, title), id=tid)
                               for tid, title in self.triggers], id="arm-triggers")
            yield Static(Content("Your role (who may approve it):"), id="arm-role-label")
            yield Input(self.authority, placeholder="as the policy names it", id="arm-role")
            if self.roles:
                yield Static(Content("roles: " + " · ".join(self.roles)), id="arm-roles")
            yield Static(Content("space: check · tab: role · enter: arm (none checked: "
                                 "disarm) · escape: cancel"), id="arm-keys")

    def _prompt(self, trigger: str, title: str) -> Content:
        # checked in words ([x]), never by colour alone; Content: no markup in "[x]"
        return Content(f"[{'x' if trigger in self.armed else ' '}] {trigger} · {title}")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = 0
        options.focus()

    def action_toggle(self) -> None:
        options = self.query_one(OptionList)
        index = options.highlighted
        if index is None or not options.has_focus:
            return
        trigger, title = self.triggers[index]
        self.armed ^= {trigger}
        options.replace_option_prompt_at_index(index, self._prompt(trigger, title))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_arm()

    def action_arm(self) -> None:
        focused = self.focused
        if isinstance(focused, Input):
            # enter is a priority binding, taken before the field has handled the keys
            # typed just before it (a role and enter in one burst over SSH): read what the
            # field holds once it has
            focused.call_later(self._arm)
        else:
            self._arm()

    def _arm(self) -> None:
        if self.app.screen is not self:
            return  # already answered
        ordered = tuple(tid for tid, _ in self.triggers if tid in self.armed)
        role = " ".join(self.query_one("#arm-role", Input).value.split())
        self.dismiss(ArmChoice(ordered, role))

    def action_cancel(self) -> None:
        self.dismiss(None)
