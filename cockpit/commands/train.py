"""``cockpit train`` and ``cockpit scenarios``: the war room on the simulated estate.

``cockpit train --scenario X --mode demo --headless [--speed N] [--seed N]`` plays
the autopilot without a UI (as fast as possible unless ``--speed``), prints its
narration, the score and the incident id, and leaves a ``mode=training`` journal
that ``cockpit export ID`` and ``cockpit timeline verify ID`` work on. Exit 0
when the scenario is resolved, 1 when it is not, 2 on bad usage.
"""

from __future__ import annotations

import sys
from typing import Any

import click

SPEED = click.FloatRange(1, 60)
TRAIN_MODES = ("demo", "guided", "exam")


class BadDataFile(click.ClickException):
    """A scenario file that does not validate: one line, FILE:LINE: what, exit 2."""

    exit_code = 2


def _check_scenario(scenario: str | None) -> None:
    from cockpit.sim.scenario import find_scenario
    from cockpit.yamlfile import DataFileError

    try:
        find_scenario(scenario or "bad-deploy")
    except KeyError as exc:
        raise click.BadParameter(exc.args[0], param_hint="'--scenario'") from None
    except DataFileError as exc:
        raise BadDataFile(str(exc)) from None


def open_sim(scenario: str | None, speed: float | None, seed: int | None,
             screenshot: str | None = None, at: float = 0.0, mode: str | None = None,
             operator: str | None = None, briefing: bool = False) -> None:
    """The war room on a training incident; ``operator``: the default config's
    ``[cockpit] operator`` (default: this invocation's), else ``$COCKPIT_OPERATOR``, else
    ``user@host``. ``briefing``: the scenario's briefing first, its clock held until the
    trainee starts it (never for a screenshot or the demo)."""
    from cockpit.cli import default_keymap, default_operator

    _check_scenario(scenario)
    if screenshot:
        # a picture is not an incident: keep its journal out of the engineer's list
        import os
        import tempfile

        os.environ["COCKPIT_STATE_DIR"] = tempfile.mkdtemp(prefix="cockpit-screenshot-")
    from cockpit.app import make_demo_app, make_sim_app

    if mode == "demo" and not screenshot:
        app = make_demo_app(scenario, speed=speed, seed=seed)
    else:
        app = make_sim_app(scenario, speed=speed, seed=seed, advance_s=at,
                           start_clock=screenshot is None, mode=mode,
                           operator=operator or default_operator(),
                           briefing=briefing and not screenshot)
    app.set_keymap(default_keymap())
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
            from cockpit.paths import write_private

            # owner-only, atomic, never through a symlink: like every file the cockpit writes
            write_private(Path(path), app.export_screenshot())

    asyncio.run(shoot())
    click.echo(f"saved {path}")


def run_headless(scenario_id: str, speed: float | None, seed: int | None,
                 quiet: bool = False) -> int:
    """Play the autopilot on ``scenario_id`` without a UI; returns the exit code."""
    from cockpit.sim.scenario import find_scenario
    from cockpit.timeline.journal import JournalWriteError
    from cockpit.training.autopilot import Autopilot, AutopilotError
    from cockpit.training.session import TrainingSession
    from cockpit.yamlfile import DataFileError

    def cannot_record(exc: OSError | JournalWriteError) -> int:
        # a full disk or an unwritable state folder: one line, never a traceback
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        click.echo(f"cockpit: cannot record the training incident: {reason}", err=True)
        return 2

    try:
        session = TrainingSession(find_scenario(scenario_id), mode="demo", seed=seed,
                                  speed=speed, actor="autopilot")
    except DataFileError as exc:
        raise click.ClickException(str(exc)) from None
    except (OSError, JournalWriteError) as exc:
        return cannot_record(exc)
    narrate = None if quiet else click.echo
    try:
        score = Autopilot(session, narrate).play()
    except (OSError, JournalWriteError) as exc:
        session.abandon()
        return cannot_record(exc)
    except AutopilotError as exc:
        session.abandon()
        click.echo(f"cockpit: autopilot stopped: {exc}", err=True)
        click.echo(f"incident: {session.incident_id}")
        return 1
    except BaseException:
        session.abandon()
        raise
    click.echo("")
    for line in score.lines():
        click.echo(line)
    click.echo(f"incident: {session.incident_id}")
    click.echo(f"  cockpit export {session.incident_id} --format md")
    click.echo(f"  cockpit timeline verify {session.incident_id}")
    return 0 if score.restored else 1


@click.command()
@click.option("--scenario", "scenario", default=None, metavar="NAME",
              help="Scenario id (see `cockpit scenarios list`); default bad-deploy.")
@click.option("--mode", type=click.Choice(TRAIN_MODES), default=None,
              help="demo: the autopilot plays and explains; guided: hints when you stall or "
                   "err; exam: no hints, scored.")
@click.option("--headless", is_flag=True,
              help="No UI: play the autopilot (--mode demo), print the score and incident id.")
@click.option("--quiet", is_flag=True, help="With --headless: no narration, only the score.")
@click.option("--speed", type=SPEED, default=None,
              help="Simulated seconds per real second, 1 to 60 (default: the scenario's; "
                   "guided: 1; headless: as fast as possible).")
@click.option("--seed", type=int, default=None, help="Random seed (default: the scenario's).")
@click.option("--screenshot", type=click.Path(dir_okay=False), default=None, hidden=True,
              help="Save an SVG screenshot at 160x48 instead of opening the UI.")
@click.option("--at", type=float, default=0.0, hidden=True,
              help="With --screenshot: simulated seconds to advance first.")
@click.option("--no-briefing", is_flag=True,
              help="Start the clock at once, without the scenario's briefing (scripts).")
def train(scenario: str | None, mode: str | None, headless: bool, quiet: bool,
          speed: float | None, seed: int | None, screenshot: str | None, at: float,
          no_briefing: bool) -> None:
    """Open the war room on the simulated estate playing a training scenario."""
    if headless:
        if mode not in (None, "demo"):
            raise click.UsageError(f"--headless plays the autopilot; --mode {mode} needs the "
                                   "UI (drop --headless, or use --mode demo)")
        _check_scenario(scenario)
        sys.exit(run_headless(scenario or "bad-deploy", speed, seed, quiet))
    open_sim(scenario, speed, seed, screenshot, at, mode, briefing=not no_briefing)


@click.group()
def scenarios() -> None:
    """Training scenarios of the simulated estate."""


@scenarios.command("list")
def scenarios_list() -> None:
    """List the scenarios with a one-line summary."""
    from cockpit.sim.scenario import list_scenarios
    from cockpit.yamlfile import DataFileError

    try:
        scenarios = list_scenarios()
    except DataFileError as exc:
        raise BadDataFile(str(exc)) from None
    for scenario in scenarios:
        click.echo(f"{scenario.id:<24} {scenario.summary}")
