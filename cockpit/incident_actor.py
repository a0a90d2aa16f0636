"""Who is at the keyboard: recorded with every answer, step and event.

The operator is, in this order: the config's ``[cockpit] operator`` when set, else
``$COCKPIT_OPERATOR``, else the login ``user@host``; plus `` (ssh from ADDRESS)`` when
``$SSH_CONNECTION`` or ``$SSH_CLIENT`` says the session came in over SSH. Every part is
untrusted (a config file, the environment): it is stripped of escape sequences and
controls and bounded (:data:`MAX_OPERATOR` characters for the whole label) before it
reaches the screen or the journal.

:func:`resolve_operator` is the rule; :func:`operator_identity` applies it once per
process (for a given configured name), so every event of a cockpit names the same person.
"""

from __future__ import annotations

import functools
import getpass
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass

from cockpit.timeline.journal import Actor
from cockpit.timeline.sanitize import sanitize_text

#: The environment variable naming the operator when the config does not.
OPERATOR_ENV = "COCKPIT_OPERATOR"
#: The longest operator label shown and recorded (characters, the SSH suffix included).
MAX_OPERATOR = 80
#: The longest SSH client address kept (an IPv6 address with a zone fits).
MAX_ADDRESS = 46
_CUT = "…"


def _bounded(text: str, limit: int) -> str:
    """``text`` neutralised, its whitespace runs made single spaces, cut to ``limit``."""
    clean = " ".join(sanitize_text(text).split())
    return clean if len(clean) <= limit else clean[: limit - len(_CUT)].rstrip() + _CUT


@dataclass(frozen=True)
class Operator:
    """The person at the keyboard, as recorded."""

    name: str
    """The configured or ``$COCKPIT_OPERATOR`` name, else the login user (clean, bounded)."""
    host: str
    """This host's name (clean, bounded)."""
    ssh_from: str | None = None
    """The SSH client's address when the session came in over SSH."""
    login: bool = True
    """True when ``name`` is the login user (the label is then ``user@host``)."""

    @property
    def label(self) -> str:
        """What the header shows and every ``by`` records: ``alice (ssh from 10.0.0.5)``,
        ``root@bastion-1``; at most :data:`MAX_OPERATOR` characters."""
        who = f"{self.name}@{self.host}" if self.login else self.name
        suffix = f" (ssh from {self.ssh_from})" if self.ssh_from else ""
        room = MAX_OPERATOR - len(suffix)
        if len(who) > room:
            who = who[: room - len(_CUT)].rstrip() + _CUT
        return who + suffix

    def actor(self) -> Actor:
        """The journal's author of every event this cockpit writes (``user`` is the
        operator's name, so the RCA's timeline names the operator, not the login)."""
        return Actor(user=self.name, host=self.host, ssh_client=self.ssh_from)


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def ssh_address(environ: Mapping[str, str]) -> str | None:
    """The SSH client's address (the first field of ``$SSH_CONNECTION``, else of
    ``$SSH_CLIENT``), neutralised and bounded; ``None`` when not over SSH."""
    for variable in ("SSH_CONNECTION", "SSH_CLIENT"):
        fields = environ.get(variable, "").split()
        if fields:
            return _bounded(fields[0], MAX_ADDRESS) or None
    return None


def resolve_operator(configured: str | None = None, environ: Mapping[str, str] | None = None,
                     *, user: str | None = None, host: str | None = None) -> Operator:
    """The operator by the rule of the module docstring (``user``/``host`` default to
    the login and this host's name; ``environ`` to the process's environment)."""
    env = os.environ if environ is None else environ
    hostname = _bounded(host if host is not None else socket.gethostname(), MAX_OPERATOR)
    ssh = ssh_address(env)
    for candidate in (configured or "", env.get(OPERATOR_ENV, "")):
        name = _bounded(candidate, MAX_OPERATOR)
        if name:
            return Operator(name, hostname or "unknown", ssh, login=False)
    login = _bounded(user if user is not None else _login(), MAX_OPERATOR) or "unknown"
    return Operator(login, hostname or "unknown", ssh, login=True)


@functools.cache
def operator_identity(configured: str = "") -> Operator:
    """The operator of this process for the config's ``[cockpit] operator`` (``""``: none
    configured), resolved once and kept, so the record names one person throughout."""
    return resolve_operator(configured)


def operator_name() -> str:
    """The operator's label when no config names one (``$COCKPIT_OPERATOR``, else
    ``user@host``, with the SSH suffix)."""
    return operator_identity("").label
