"""``cockpit train`` and ``cockpit scenarios``: the war room on the simulated estate."""

from __future__ import annotations

import sys
from typing import Any

import click

SPEED = click.FloatRange(1, 60)


def open_sim(scenario: str | None, speed: float | None, seed: int | None,
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


@click.command()
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
    open_sim(scenario, speed, seed, screenshot, at)


@click.group()
def scenarios() -> None:
    """Training scenarios of the simulated estate."""


@scenarios.command("list")
def scenarios_list() -> None:
    """List the scenarios with a one-line summary."""
    from cockpit.sim.scenario import list_scenarios

    for scenario in list_scenarios():
        click.echo(f"{scenario.id:<24} {scenario.summary}")
