"""The guardrails themselves: the import contracts cover every package, the typing and lint
tools are pinned, the markers reach every integration and terminal test, and under CI=true
a missing service fails its tests instead of skipping them."""

from __future__ import annotations

import ast
import os
import pkgutil
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
CONTRACTS: list[dict[str, Any]] = PYPROJECT["tool"]["importlinter"]["contracts"]
#: the face: cockpit's modules that may import Textual (DESIGN "Layers")
FACE = {"cockpit.app", "cockpit.frame", "cockpit.messages", "cockpit.cli", "cockpit.commands",
        "cockpit.__main__"}
OWN = ("cockpit", "screens", "widgets")


def contract(starting: str) -> dict[str, Any]:
    (found,) = [c for c in CONTRACTS if c["name"].startswith(starting)]
    return found


def top_level_modules() -> set[str]:
    """cockpit's modules and packages, one level down (cockpit.runbook, cockpit.clock...)."""
    import cockpit

    return {info.name for info in pkgutil.iter_modules(cockpit.__path__, "cockpit.")}


def test_every_core_module_is_held_by_the_no_ui_contract() -> None:
    """A new core package cannot slip past the rule by not being on the list."""
    sources = set(contract("The core never imports the UI")["source_modules"])
    assert sources == top_level_modules() - FACE


def test_decision_and_timeline_are_forbidden_every_other_part_of_the_core() -> None:
    forbidden = set(contract("decision and timeline import")["forbidden_modules"])
    foundations = {"cockpit.domain", "cockpit.clock", "cockpit.paths", "cockpit.yamlfile"}
    assert forbidden == top_level_modules() - foundations


def test_every_contract_exception_gives_its_reason() -> None:
    """Each ignored import has a comment above it (or above the group it belongs to): why,
    and what removes it."""
    lines = (ROOT / "pyproject.toml").read_text(encoding="utf-8").splitlines()
    for c in CONTRACTS:
        for ignored in c.get("ignore_imports", []):
            (at,) = [i for i, line in enumerate(lines) if line.strip() == f'"{ignored}",']
            while lines[at - 1].strip().startswith('"'):
                at -= 1
            assert lines[at - 1].strip().startswith("#"), f"no reason given for {ignored}"


def test_mypy_is_strict_on_the_typed_core() -> None:
    mypy = PYPROJECT["tool"]["mypy"]
    assert mypy["strict"] is True
    files = set(mypy["files"])
    assert {"cockpit/decision", "cockpit/timeline", "cockpit/sources"} <= files
    for path in files:
        assert (ROOT / path / "__init__.py").is_file(), f"mypy is asked to check {path}"
    # the runtime joins the list the commit it becomes a package
    assert (ROOT / "cockpit/runtime/__init__.py").is_file() is ("cockpit/runtime" in files)


@pytest.mark.parametrize("tool", ["ruff", "mypy", "import-linter", "types-PyYAML"])
def test_guardrail_tools_are_pinned_to_what_is_installed(tool: str) -> None:
    """A new release of a linter cannot turn CI red on its own, nor a stale venv hide it."""
    pins = [r for r in PYPROJECT["project"]["optional-dependencies"]["test"]
            if r.lower().startswith(tool.lower() + "==")]
    assert pins, f"{tool} is not pinned exactly in the test extras"
    assert pins[0].split("==", 1)[1] == version(tool)


def _calls(tree: ast.AST) -> list[tuple[str, ast.Call]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            found.append((name, node))
    return found


def test_no_test_imports_or_skips_around_the_projects_own_code() -> None:
    """The project's own modules are imported, never importorskip'ed; a skip happens only
    through tests/conftest.py's ``missing`` (tmux, PostgreSQL, Redis; a failure under CI)."""
    offences = []
    for path in sorted(TESTS.rglob("*.py")):
        if path == TESTS / "conftest.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for name, call in _calls(tree):
            where = f"{path.relative_to(ROOT)}:{call.lineno}"
            if name.endswith("importorskip"):
                module = call.args[0].value if call.args and isinstance(
                    call.args[0], ast.Constant) else "?"
                if str(module).split(".")[0] in OWN or module == "?":
                    offences.append(f"{where} importorskip({module!r})")
            elif name in {"pytest.skip", "pytest.mark.skip", "pytest.mark.skipif"}:
                offences.append(f"{where} {name}(...)")
    assert not offences, "\n".join(offences)


def _collect(*args: str, env: dict[str, str] | None = None,
             cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        capture_output=True, text=True, cwd=cwd, timeout=180,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize("folder", ["integration", "terminal"])
def test_every_test_of_a_folder_carries_its_marker(folder: str) -> None:
    unmarked = _collect("--collect-only", "-m", f"not {folder}", f"tests/{folder}")
    assert unmarked.returncode == 5, unmarked.stdout[-2000:] + unmarked.stderr[-2000:]
    assert "deselected" in unmarked.stdout
    marked = _collect("--collect-only", "-m", folder, f"tests/{folder}")
    assert marked.returncode == 0, marked.stdout[-2000:] + marked.stderr[-2000:]
    assert "deselected" not in marked.stdout and "tests collected" in marked.stdout


PROBES = {
    "integration/test_probe_services.py": (
        "def test_needs_postgres(pg_database):\n    pass\n\n\n"
        "def test_needs_redis(redis_prefix):\n    pass\n"
    ),
    "terminal/test_probe_tmux.py": (
        "from tmux_terminal import terminal  # noqa: F401\n\n\n"
        "def test_needs_tmux(terminal):\n    pass\n"
    ),
}


@pytest.fixture
def probe_suite(tmp_path: Path) -> Path:
    """The real conftest files and tmux helper beside three tests that need a service each."""
    for name in ("conftest.py", "integration/conftest.py", "terminal/tmux_terminal.py"):
        (tmp_path / "tests" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(TESTS / name, tmp_path / "tests" / name)
    for name, text in PROBES.items():
        (tmp_path / "tests" / name).write_text(text, encoding="utf-8")
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nmarkers =\n    integration: x\n    terminal: x\n", encoding="utf-8")
    return tmp_path


# nothing listens on port 9 (discard) on loopback; no tmux on a PATH of the venv's bin alone
ABSENT = {"COCKPIT_TEST_PG_PORT": "9", "COCKPIT_TEST_REDIS_PORT": "9",
          "PATH": str(Path(sys.executable).parent)}


def test_a_missing_service_skips_on_a_developers_machine(probe_suite: Path) -> None:
    done = _collect("-rs", "tests", env={**ABSENT, "CI": ""}, cwd=probe_suite)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "3 skipped" in done.stdout
    for service in ("no PostgreSQL at 127.0.0.1:9", "no Redis at 127.0.0.1:9",
                    "tmux is not installed"):
        assert service in done.stdout


def test_a_missing_service_fails_its_tests_under_ci(probe_suite: Path) -> None:
    done = _collect("-rfE", "tests", env={**ABSENT, "CI": "true"}, cwd=probe_suite)
    assert done.returncode == 1, done.stdout[-3000:]
    assert "skipped" not in done.stdout
    assert "3 errors" in done.stdout  # a fixture that fails is an error of its test
    for service in ("no PostgreSQL at 127.0.0.1:9", "no Redis at 127.0.0.1:9",
                    "tmux is not installed"):
        assert service in done.stdout
    assert "CI=true" in done.stdout
