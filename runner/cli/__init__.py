"""The command line: thin typer commands. Each parses, calls one core function, maps errors.

Heavy modules are imported inside commands so that ``runner --help`` stays fast.
"""

from __future__ import annotations

import copy
import sys

import typer
from typer.models import CommandInfo

from runner import __version__, collector
from runner.cli import (
    artifacts_cmd,
    clean_cmd,
    config_cmd,
    edge,
    history_cmd,
    inspect_cmd,
    orb_cmd,
    run_cmd,
    serve_cmd,
    shell_cmd,
)
from runner.cli.help import plain_panelled_help

app = typer.Typer(
    name="runner",
    help="Run CircleCI jobs and workflows on this machine, before you push.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
    # Plain click help, grouped by panel (runner.cli.help): typer's rich help imports rich's
    # markdown and pygments, half of what `runner --help` loaded (issue 17).
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"runner {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Run CircleCI jobs and workflows on this machine, before you push."""


run_cmd.register(app)
inspect_cmd.register(app)
config_cmd.register(app)
orb_cmd.register(app)
clean_cmd.register(app)
serve_cmd.register(app)
history_cmd.register(app)
shell_cmd.register(app)
artifacts_cmd.register(app)
plain_panelled_help(app)


def invoked_only(whole: typer.Typer, args: list[str]) -> typer.Typer:
    """``whole`` with only the command ``args`` start with, when they start with one.

    typer turns every registered command into a click command, with a signature read per
    parameter, on every invocation: about 15 ms here, 4 ms of it for ``run``. A process runs
    one command, so the others are left out, except ``run``: its options are the settings
    other commands read (``config show``). Help, ``--version`` and an unknown or mistyped
    command (whose error suggests the known ones) keep the whole app."""
    name = args[0] if args else ""
    groups = [g for g in whole.registered_groups if g.name == name]
    if not groups and not any(_command_name(c) == name for c in whole.registered_commands):
        return whole
    commands = [c for c in whole.registered_commands if _command_name(c) in (name, "run")]
    only = copy.copy(whole)
    only.registered_commands, only.registered_groups = commands, groups
    return only


def _command_name(command: CommandInfo) -> str:
    # typer's own rule for a command without a name (typer.main.get_command_name)
    callback = command.callback.__name__ if command.callback else ""
    return command.name or callback.lower().replace("_", "-")


def main() -> None:
    """The ``runner`` command. The process ends at :func:`runner.cli.edge.finish`; an
    unexpected exception keeps Python's own exit (and its traceback)."""
    if sys.argv[1:2] != ["run"]:
        collector.resume()  # a run resumes it at its first step (run_cmd); see runner.collector
    try:
        invoked_only(app, sys.argv[1:])()
        code: int | str | None = 0
    except SystemExit as exc:
        code = exc.code
    edge.finish(code)
