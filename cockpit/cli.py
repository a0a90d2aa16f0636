"""The ``cockpit`` command line: thin click commands around one app factory.

Commands are imported only when invoked (a lazy group), so ``cockpit`` opens
the war room without importing the connectors' client libraries.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys

import click

#: command name -> "module:attribute"; each module is imported only when needed.
LAZY_COMMANDS: dict[str, str] = {
    "train": "cockpit.commands.train:train",
    "scenarios": "cockpit.commands.train:scenarios",
    "run": "cockpit.commands.run:run",
    "doctor": "cockpit.commands.doctor:doctor",
    "evaluate": "cockpit.commands.evaluate:evaluate",
    "runbooks": "cockpit.commands.runbooks:runbooks",
    "incidents": "cockpit.commands.incidents:incidents",
    "resume": "cockpit.commands.resume:resume",
    "replay": "cockpit.commands.replay:replay",
    "timeline": "cockpit.commands.timeline:timeline",
    "export": "cockpit.commands.export:export",
    "outbox": "cockpit.commands.outbox:outbox",
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


@click.group(cls=LazyGroup, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rollback-cockpit", prog_name="cockpit")
@click.option("--low-bandwidth", is_flag=True, default=False,
              help="A slow link (a VPN to a bastion): 16 colours, metric panels redrawn at "
                   "most every 5 s (also [ui] low_bandwidth in the config).")
@click.pass_context
def cli(ctx: click.Context, low_bandwidth: bool) -> None:
    """Rollback Cockpit: a terminal war room for production deployment rollbacks.

    With no command, opens the war room on the built-in simulated estate playing
    the default training scenario (no cluster, accounts or config needed). When an
    incident was left open (a dropped SSH session, a crash), it offers to resume it.
    """
    asks_low_bandwidth, operator, keymap = _default_config()
    if low_bandwidth or asks_low_bandwidth:
        os.environ["COCKPIT_LOW_BANDWIDTH"] = "1"  # what every war room of this process reads
    ctx.meta[OPERATOR_META] = operator
    ctx.meta[KEYMAP_META] = keymap
    if ctx.invoked_subcommand is None:
        from cockpit.commands.resume import offer_resume

        if offer_resume(operator):
            return
        from cockpit.commands.train import open_sim

        open_sim(None, None, None, operator=operator)


#: Where the default config's ``[cockpit] operator`` waits for the subcommands (click's
#: ``ctx.meta`` is shared by every context of the invocation).
OPERATOR_META = "cockpit.operator"
#: ... and its ``[keys]``, checked against the war room's bindings (a keymap).
KEYMAP_META = "cockpit.keymap"


def _default_config() -> tuple[bool, str, dict[str, str]]:
    """``[ui] low_bandwidth``, ``[cockpit] operator`` and ``[keys]`` (checked against the
    war room's bindings) of the config file, when there is one, read once (a broken file
    is a usage error naming the file and line, as for every command that reads it);
    ``(False, "", {})`` without one."""
    from cockpit.paths import config_file

    path = config_file()
    if path is None or not path.is_file():
        return False, "", {}
    from cockpit.config import ConfigError, load_config

    try:
        # the file's own operator: $COCKPIT_OPERATOR is only the fallback when it names none
        config = load_config(path)
        keymap = {}
        if config.keys.entries:  # the bindings are the screen's: imported only then
            from cockpit.app import keymap_from

            keymap = keymap_from(config.keys)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    return config.ui.low_bandwidth, config.cockpit.operator, keymap


def default_operator() -> str:
    """The default config's ``[cockpit] operator`` for this invocation (``""``: none, or
    a command run outside the ``cockpit`` group)."""
    ctx = click.get_current_context(silent=True)
    return str(ctx.meta.get(OPERATOR_META) or "") if ctx is not None else ""


def default_keymap() -> dict[str, str]:
    """The default config's ``[keys]`` as a keymap for this invocation (``{}``: none)."""
    ctx = click.get_current_context(silent=True)
    return dict(ctx.meta.get(KEYMAP_META) or {}) if ctx is not None else {}


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
