"""Keys at the keyboard (#14 item 6): `[keys]` in the config remaps a binding by its id;
the remapped key runs it and the old one no longer does; the key bar, the help and the
command palette say the key as mapped; a bad entry stops the cockpit before anything
opens, with one line naming the file and line (exit 2). The help is generated from the
bindings: a binding nobody wrote into it appears by itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pilot_wait import wait_until
from textual.app import App
from textual.binding import Binding, BindingType
from textual.command import CommandList, CommandPalette
from textual.widget import Widget
from textual.widgets import Static

from cockpit.app import CockpitApp, keymap_from, make_app, make_sim_app
from cockpit.clock import WallClock
from cockpit.config import ConfigError, load_config
from cockpit.keys import KeyEntry, KeySettings
from screens.choice import ChoiceScreen
from screens.commands import KeyScope, key_for, scope_bindings, war_room_scopes
from screens.help import HelpScreen
from widgets.key_bar import KeyBar
from widgets.status_bar import StatusBar

ROOT = Path(__file__).resolve().parents[2]


def keys(**entries: str) -> dict[str, str]:
    """A checked keymap from ``binding id = keys`` (ids with ``__`` for the dot)."""
    settings = KeySettings(tuple(KeyEntry(name.replace("__", "."), tuple(value.split(",")), n)
                                 for n, (name, value) in enumerate(entries.items(), start=1)),
                           "test.toml")
    return keymap_from(settings)


def help_shown(app: Any) -> str:
    return str(app.screen.query_one("#help-text", Static).render())


def help_line(text: str, description: str) -> str:
    lines = [line for line in text.splitlines() if f" {description} " in f"{line} "]
    assert lines, f"no line for {description!r} in the help"
    return lines[0]


async def test_a_remapped_key_runs_the_action_and_the_old_key_no_longer_does() -> None:
    app = make_sim_app(start_clock=False)
    app.set_keymap(keys(decision__decide="D"))
    async with app.run_test(size=(80, 24)) as pilot:
        bar = app.screen.query_one(KeyBar)
        await wait_until(pilot, lambda: "Decide" in bar.plain, "the key bar")
        await pilot.press("d")
        await pilot.pause()
        assert not isinstance(app.screen, ChoiceScreen), "the old key still decides"
        await pilot.press("D")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceScreen), "the decision")
        assert "Record the decision" in str(app.screen.query_one("#choice-question").render())


async def test_the_key_bar_and_the_help_say_the_new_key() -> None:
    app = make_sim_app(start_clock=False)
    app.set_keymap(keys(decision__decide="ctrl+d", incident__note="N"))
    async with app.run_test(size=(160, 48)) as pilot:
        bar = app.screen.query_one(KeyBar)
        await wait_until(pilot, lambda: "Decide" in bar.plain, "the key bar")
        assert " ^d Decide " in bar.plain and " d Decide " not in bar.plain, bar.plain
        assert " N Note " in bar.plain, bar.plain
        # where it was declared, not moved to the end (cut off at 80 columns)
        plain = bar.plain
        assert plain.index("Fix fwd?") < plain.index("^d Decide") < plain.index("Runbook")
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help")
        text = help_shown(app)
        assert help_line(text, "Decide").split()[0] == "^d"
        assert help_line(text, "Note").split()[0] == "N"
        assert "decision.decide" in help_line(text, "Decide")  # what [keys] names


async def test_a_remapped_panel_key_runs_in_its_pane() -> None:
    app = make_sim_app(start_clock=False)
    app.set_keymap(keys(runbook__picker="P"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("6")
        await wait_until(pilot, lambda: "Runbooks" in app.screen.query_one(KeyBar).plain,
                         "the runbook pane's keys")
        assert " P Runbooks " in app.screen.query_one(KeyBar).plain
        await pilot.press("p")
        await pilot.pause()
        assert type(app.screen).__name__ == "WarRoomScreen"
        await pilot.press("P")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "RunbookPicker",
                         "the runbook picker")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cockpit.toml"
    path.write_text(text, encoding="utf-8")
    return path


def cockpit(*args: str, config: Path) -> subprocess.CompletedProcess[str]:
    """The real CLI; ``config`` is the default config file unless ``--config`` names it
    (then no default file: the command's own check is the one that answers)."""
    env = {k: v for k, v in os.environ.items() if k != "COCKPIT_CONFIG_FILE"}
    if "--config" not in args:
        env["COCKPIT_CONFIG_FILE"] = str(config)
    return subprocess.run([sys.executable, "-m", "cockpit", *args], capture_output=True,
                          text=True, timeout=60, env=env, cwd=ROOT, check=False)


@pytest.mark.parametrize("args", [("run", "--config", "{config}"), ("train",),
                                  ("doctor", "--config", "{config}")])
def test_a_bad_keys_entry_stops_the_cockpit_with_file_and_line(tmp_path: Path,
                                                               args: tuple[str, ...]) -> None:
    config = write(tmp_path, '[cockpit]\noperator = "pat"\n\n[keys]\n'
                             'decision.decide = "D"\nincident.nope = "N"\n'
                             '[http]\nbase_url = "http://127.0.0.1:9"\n')
    result = cockpit(*(a.replace("{config}", str(config)) for a in args), config=config)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "cockpit.toml:6: [keys] unknown binding 'incident.nope'" in lines[0]


def test_one_key_for_two_actions_names_both(tmp_path: Path) -> None:
    config = write(tmp_path, '[keys]\ndecision.decide = "D"\n"incident.note" = "1"\n')
    with pytest.raises(ConfigError) as caught:
        keymap_from(load_config(config, {}).keys)
    assert str(caught.value) == ("cockpit.toml:3: [keys] '1' would run both incident.note "
                                 "(everywhere) and war_room.group_metrics (war room)")


@pytest.mark.parametrize(("text", "message"), [
    ('[keys]\ndecision.decide = "ctrl+banana"\n',
     "cockpit.toml:2: [keys] unknown key 'ctrl+banana' for decision.decide"),
    ('[keys.decision]\ndecide = "c"\n',
     "cockpit.toml:2: [keys] 'c' would run both decision.decide (everywhere) and "
     "runbook.cancel (runbook pane)"),
    ('[keys]\nrunbook.run = "up"\n',
     "cockpit.toml:2: [keys] 'up' would run both runbook.run (runbook pane) and "
     "runbook.up (runbook pane)"),
    ('[keys]\ndecision.decide = ""\n',
     "cockpit.toml:2: [keys] decision.decide: no key given (a binding is remapped, never "
     "removed)"),
    ('[keys.decision]\n\ndecied = "D"\n',
     "cockpit.toml:3: [keys] unknown binding 'decision.decied'"),
    ('[keys]\ndecision.decide = "tab"\n',
     "cockpit.toml:2: [keys] 'tab' would run both decision.decide (everywhere) and the "
     "built-in 'app.focus_next' (war room)"),
])
def test_what_the_keymap_refuses(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        keymap_from(load_config(write(tmp_path, text), {}).keys)
    assert str(caught.value) == message


def test_keys_can_swap_and_are_normalised(tmp_path: Path) -> None:
    config = write(tmp_path, '[keys]\ndecision.decide = "s"\ndecision.severity = "d"\n'
                             'app.help = "?, f1"\nrunbook.run = ["enter", "shift+r"]\n')
    assert keymap_from(load_config(config, {}).keys) == {
        "decision.decide": "s", "decision.severity": "d", "app.help": "question_mark,f1",
        "runbook.run": "enter,R"}


def test_every_binding_of_the_war_room_has_an_id_a_description_and_no_clash() -> None:
    scopes = war_room_scopes(CockpitApp)
    seen: dict[str, str] = {}
    for scope in scopes:
        for node in scope.nodes:
            for binding in node.__dict__.get("BINDINGS", ()):  # ours, not the toolkit's
                assert isinstance(binding, Binding)
                assert binding.id and "." in binding.id, f"{scope.name}: {binding.action}"
                assert binding.description, f"{binding.id} has no description"
                assert seen.setdefault(binding.id, scope.name) == scope.name, binding.id
    # every binding given its own keys again passes what a keymap must pass: no key of
    # the defaults runs two actions at once
    defaults = KeySettings(tuple(
        KeyEntry(entry.id, tuple(b.key for b in entry.keys if b.id == entry.id))
        for scope in scopes for entry in scope_bindings(scope, {}) if entry.id))
    assert set(keymap_from(defaults)) == set(seen)


class Pane(Widget, can_focus=True):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("g", "bell", "Ring the bell", id="pane.bell", tooltip="and wake the on-call"),
    ]


class HelpApp(App[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("z", "bell", "Zoom out", id="app.zoom"),
    ]

    def on_mount(self) -> None:
        self.push_screen(HelpScreen(scopes=(KeyScope("everywhere", (HelpApp,)),
                                            KeyScope("test pane", (Pane,)))))


async def test_a_new_binding_appears_in_the_help_by_itself() -> None:
    app = HelpApp()
    app.set_keymap({"pane.bell": "G"})
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help")
        text = help_shown(app)
        assert help_line(text, "Zoom out").split()[0] == "z"
        assert help_line(text, "Ring the bell").split()[0] == "G"
        assert "Test pane" in text and "pane.bell" in text
        lines = text.splitlines()
        bell = lines.index(help_line(text, "Ring the bell"))
        assert lines[bell + 1].strip() == "and wake the on-call"  # its tooltip, below it


async def test_the_help_lists_every_binding_as_mapped_and_scrolls_at_80x24() -> None:
    app = make_sim_app(start_clock=False)
    app.set_keymap(keys(app__screenshot="f5"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help")
        text = help_shown(app)
        for scope in war_room_scopes(CockpitApp):
            for entry in scope_bindings(scope, {}):
                if entry.id:
                    assert entry.id in text, entry.id
        assert help_line(text, "Screenshot").split()[0] == "f5"
        assert "Runbook pane (its group: 6, or tab to it)" in text
        box = app.screen.query_one("#help-box")
        assert box.max_scroll_y > 0  # longer than the screen: it scrolls
        await pilot.press("end")
        await wait_until(pilot, lambda: box.scroll_y == box.max_scroll_y, "the end")
        assert "Press esc, ? or q to close." in text  # the help's own keys, from its bindings
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, HelpScreen), "closing")


async def test_live_mode_help_offers_no_simulation_keys() -> None:
    app = make_app([], clock=WallClock(), environment="staging")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help")
        text = help_shown(app)
        assert "Faster" not in text and "Pause" not in text and "app.pause" not in text
        assert "Decide" in text


def palette_rows(app: Any) -> list[str]:
    options = app.screen.query_one(CommandList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


async def open_palette(app: Any, pilot: Any, key: str = "ctrl+p") -> None:
    await pilot.press(key)
    await wait_until(pilot, lambda: CommandPalette.is_open(app), "the command palette")
    await wait_until(pilot, lambda: app.screen.query_one(CommandList).option_count > 0,
                     "the palette's commands")


async def test_the_palette_lists_every_action_with_its_key_and_runs_one() -> None:
    app = make_sim_app(start_clock=False)
    app.set_keymap(keys(decision__decide="D"))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_palette(app, pilot)
        rows = "\n".join(palette_rows(app))
        for description in ("Decide", "Severity", "Note", "Export", "Quit", "Help",
                            "Faster", "Pause", "Metrics", "Runbook"):
            assert description in rows, description
        assert "D  ·  decision.decide" in rows, rows
        assert "Focus Next" not in rows  # the toolkit's moves are not the war room's actions
        await pilot.press(*"decide")
        await wait_until(pilot, lambda: "Decide" in palette_rows(app)[0], "the match")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceScreen), "the decision")


async def test_colon_opens_the_palette_and_live_mode_offers_no_simulation_keys() -> None:
    app = make_app([], clock=WallClock(), environment="staging")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_palette(app, pilot, "colon")
        rows = "\n".join(palette_rows(app))
        assert "Decide" in rows and "Faster" not in rows and "Pause" not in rows, rows


async def test_the_palette_offers_the_focused_panes_keys() -> None:
    app = make_sim_app(start_clock=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("6")
        await wait_until(pilot, lambda: "Runbooks" in app.screen.query_one(KeyBar).plain,
                         "the runbook pane's keys")
        await open_palette(app, pilot)
        rows = palette_rows(app)
        assert "Run step" in "\n".join(rows) and "Skip" in "\n".join(rows)
        # the pane's own first, as in the key bar
        assert rows.index(next(r for r in rows if "Run step" in r)) < rows.index(
            next(r for r in rows if "Quit" in r))


def test_the_example_configs_keys_are_keys_the_war_room_takes(tmp_path: Path) -> None:
    example = (ROOT / "examples" / "cockpit.example.toml").read_text(encoding="utf-8")
    head, keys_part = example.split("\n[keys]\n", 1)
    body, _sep, rest = keys_part.partition("\n[")
    entries = [line[2:] for line in body.splitlines() if line.startswith("# ") and " = " in line
               and line[2:3].isalpha()]
    assert len(entries) >= 3, body
    config = write(tmp_path, "[keys]\n" + "\n".join(entries) + "\n")
    keymap = keymap_from(load_config(config, {}).keys)
    assert keymap["decision.decide"] == "D" and keymap["app.commands"] == "ctrl+p,colon"


async def test_a_message_naming_a_key_names_it_as_mapped() -> None:
    app = make_sim_app(start_clock=False)
    app.set_keymap(keys(runbook__picker="P", app__commands="f9,colon"))
    async with app.run_test(size=(80, 24)) as pilot:
        assert key_for(app, "runbook.picker") == "P"
        assert key_for(app, "app.commands") == "f9"  # the first of its keys
        assert key_for(app, "decision.decide") == "d"
        assert key_for(app, "nothing.here", "?") == "?"
        # the runbook pane's refusal names the picker's key as mapped, on the status bar
        bar = app.screen.query_one(StatusBar)
        await pilot.press("6")
        await wait_until(pilot, lambda: "Run step" in app.screen.query_one(KeyBar).plain,
                         "the runbook pane")
        await pilot.press("enter")
        await wait_until(pilot, lambda: "No runbook open" in bar.plain, "the refusal")
        assert "press P (or o) to pick one" in bar.plain, bar.plain
