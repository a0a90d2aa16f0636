"""The ``cockpit`` command line: thin click commands around one app factory.

Commands are imported only when invoked (a lazy group), so ``cockpit`` opens
the war room without importing the connectors' client libraries.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

import click

#: command name -> "module:attribute"; each module is imported only when needed.
LAZY_COMMANDS: dict[str, str] = {
    "train": "cockpit.cli:train",
    "scenarios": "cockpit.cli:scenarios",
    "run": "cockpit.commands.run:run",
    "doctor": "cockpit.commands.doctor:doctor",
    "evaluate": "cockpit.commands.evaluate:evaluate",
    "runbooks": "cockpit.commands.runbooks:runbooks",
    "incidents": "cockpit.commands.incidents:incidents",
    "resume": "cockpit.commands.resume:resume",
    "timeline": "cockpit.commands.timeline:timeline",
    "export": "cockpit.commands.export:export",
}


class LazyGroup(click.Group):
    """A click group whose subcommands live in modules imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        available = []
        for name, target in LAZY_COMMANDS.items():
            module = target.split(":", 1)[0]
            if importlib.util.find_spec(module) is not None:
                available.append(name)
        return available

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = LAZY_COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":", 1)
        if importlib.util.find_spec(module_name) is None:
            return None
        command = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(command, click.Command)
        return command


SPEED = click.FloatRange(1, 60)


@click.group(cls=LazyGroup, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rollback-cockpit", prog_name="cockpit")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Rollback Cockpit: a terminal war room for production deployment rollbacks.

    With no command, opens the war room on the built-in simulated estate playing
    the default training scenario (no cluster, accounts or config needed).
    """
    if ctx.invoked_subcommand is None:
        _open_sim(None, None, None)


def _open_sim(scenario: str | None, speed: float | None, seed: int | None,
              screenshot: str | None = None, at: float = 0.0) -> None:
    from cockpit.sim.scenario import find_scenario

    try:
        find_scenario(scenario or "bad-deploy")
    except KeyError as exc:
        raise click.BadParameter(exc.args[0], param_hint="'--scenario'") from None
    from cockpit.app import make_sim_app

    app = make_sim_app(scenario, speed=speed, seed=seed, advance_s=at,
                       start_clock=screenshot is None)
    if screenshot:
        _screenshot(app, screenshot)
        return
    app.run()
    if app.return_code:
        sys.exit(app.return_code)


def _screenshot(app: Any, path: str) -> None:
    """Render the app headless at 160x48, wait for data, save an SVG, exit."""
    import asyncio
    from pathlib import Path

    async def shoot() -> None:
        async with app.run_test(size=(160, 48)) as pilot:
            for _ in range(100):
                if app.has_first_data():
                    break
                await pilot.pause(0.05)
            await pilot.pause(0.2)
            target = Path(path)
            app.save_screenshot(target.name, str(target.parent.resolve()))

    asyncio.run(shoot())
    click.echo(f"saved {path}")


@cli.command()
@click.option("--scenario", "scenario", default=None, metavar="NAME",
              help="Scenario id (see `cockpit scenarios list`); default bad-deploy.")
@click.option("--speed", type=SPEED, default=None,
              help="Simulated seconds per real second, 1 to 60 (default: the scenario's).")
@click.option("--seed", type=int, default=None, help="Random seed (default: the scenario's).")
@click.option("--screenshot", type=click.Path(dir_okay=False), default=None, hidden=True,
              help="Save an SVG screenshot at 160x48 instead of opening the UI.")
@click.option("--at", type=float, default=0.0, hidden=True,
              help="With --screenshot: simulated seconds to advance first.")
def train(scenario: str | None, speed: float | None, seed: int | None,
          screenshot: str | None, at: float) -> None:
    """Open the war room on the simulated estate playing a training scenario."""
    _open_sim(scenario, speed, seed, screenshot, at)


@cli.group()
def scenarios() -> None:
    """Training scenarios of the simulated estate."""


@scenarios.command("list")
def scenarios_list() -> None:
    """List the scenarios with a one-line summary."""
    from cockpit.sim.scenario import list_scenarios

    for scenario in list_scenarios():
        click.echo(f"{scenario.id:<24} {scenario.summary}")


def main(argv: list[str] | None = None) -> None:
    """Entry point: click, with usage errors on one line and exit code 2."""
    try:
        cli.main(args=argv, prog_name="cockpit", standalone_mode=False)
    except click.UsageError as exc:
        hint = f" (in `{exc.ctx.command_path}`)" if exc.ctx is not None else ""
        click.echo(f"cockpit: error: {exc.format_message()}{hint}", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        click.echo(f"cockpit: error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("cockpit: aborted", err=True)
        sys.exit(1)
    except (KeyboardInterrupt, EOFError):
        sys.exit(130)
