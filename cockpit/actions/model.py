"""What an action is before its variables are resolved, and the durations steps speak.

:class:`ActionSpec` is a step's typed action as written in a runbook; the roles and
notification targets are the names guards and ``approval``/``notify`` actions use.
Nothing here reads files or knows runbooks: the runbook model builds on it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Roles whose approval can be required.
ROLES: dict[str, str] = {
    "dba": "the DBA's approval",
    "compliance": "the Compliance Officer's approval",
    "security": "the security lead's approval",
    "incident-commander": "the Incident Commander's approval",
    "cto": "the CTO's approval",
}
#: Notification targets the ``notified`` guard knows.
NOTIFY_TARGETS: dict[str, str] = {
    "compliance": "the Compliance Officer",
    "security": "the security team",
    "legal": "Legal",
    "executives": "the executives",
    "platform-team": "the platform team",
    "customers": "customers",
}
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_duration(text: str | int | float) -> float:
    """Seconds in a duration like ``30s``, ``5m``, ``1h`` or ``1h30m``.

    A bare number is seconds. Raises ``ValueError`` naming the bad text.
    """
    if isinstance(text, bool):
        raise ValueError(f"bad duration {text!r} (use 30s, 5m, 1h or 1h30m)")
    if isinstance(text, int | float):
        if text < 0:
            raise ValueError(f"bad duration {text!r} (must not be negative)")
        return float(text)
    match = _DURATION.match(str(text).strip())
    if not match or not any(match.groups()):
        raise ValueError(f"bad duration '{text}' (use 30s, 5m, 1h or 1h30m)")
    hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return float(hours * 3600 + minutes * 60 + seconds)


def format_duration(seconds: float) -> str:
    """``300`` -> ``5m``, ``5400`` -> ``1h30m``, ``45`` -> ``45s``."""
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    out = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    out += f"{secs}s" if secs or not out else ""
    return out


@dataclass(frozen=True)
class ActionSpec:
    """A step's typed action as written: its type and raw parameters (variables unresolved)."""

    type: str
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)
    line: int = 0


