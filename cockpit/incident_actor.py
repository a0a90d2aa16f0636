"""Who is at the keyboard: recorded with every answer and step."""

from __future__ import annotations

import getpass
import os
import socket


def operator_name() -> str:
    """``user@host``, plus ``(ssh from ADDRESS)`` when the session came in over SSH."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    name = f"{user}@{socket.gethostname()}"
    ssh = os.environ.get("SSH_CLIENT") or os.environ.get("SSH_CONNECTION")
    if ssh:
        name += f" (ssh from {ssh.split()[0]})"
    return name
