"""The timeline core and its CLI commands never import Textual or Rich."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

MODULES = [
    "cockpit.timeline",
    "cockpit.timeline.export",
    "cockpit.timeline.store",
    "cockpit.timeline.verify",
    "cockpit.commands.timeline",
    "cockpit.commands.export",
    "cockpit.commands.incidents",
]


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_no_ui(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        "bad = [m for m in ('textual', 'rich') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    repo = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == ""
