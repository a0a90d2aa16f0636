"""The domain core never imports the UI, and the simulated war room never imports heavy clients."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
FACE = {"cockpit.app", "cockpit.frame", "cockpit.messages", "cockpit.cli", "cockpit.__main__"}
UI = ("textual", "rich", "screens", "widgets", "cockpit.app", "cockpit.messages")
HEAVY = ("kubernetes", "datadog_api_client", "psycopg", "redis", "httpx")


def core_modules() -> list[str]:
    import cockpit

    names = []
    for info in pkgutil.walk_packages(cockpit.__path__, "cockpit."):
        if info.name in FACE or info.name.startswith("cockpit.commands"):
            continue
        names.append(info.name)
    return sorted(names)


def loaded_after(code: str) -> set[str]:
    probe = f"import sys, json\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            cwd=ROOT, timeout=60, check=True)
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("module", core_modules())
def test_core_module_imports_no_ui(module: str) -> None:
    loaded = loaded_after(f"import {module}")
    forbidden = set(UI)
    if "httpx" in loaded:
        # httpx itself imports rich (for its own CLI); import-linter checks our direct imports.
        forbidden.discard("rich")
    leaked = sorted(m for m in loaded if m.split(".")[0] in forbidden or m in forbidden)
    assert not leaked, f"{module} pulls in {leaked[:5]}"


def test_simulated_war_room_imports_no_heavy_client_library() -> None:
    loaded = loaded_after("from cockpit.app import make_sim_app\napp = make_sim_app()")
    heavy = sorted({m.split(".")[0] for m in loaded} & set(HEAVY))
    assert not heavy, f"the simulated cockpit imported {heavy}"
