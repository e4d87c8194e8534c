"""The command line: thin typer commands. Each parses, calls one core function, maps errors.

Heavy modules are imported inside commands so that ``runner --help`` stays fast.
"""

from __future__ import annotations

import typer

from runner import __version__
from runner.cli import (
    clean_cmd,
    config_cmd,
    history_cmd,
    inspect_cmd,
    run_cmd,
    serve_cmd,
    shell_cmd,
)

app = typer.Typer(
    name="runner",
    help="Run CircleCI jobs and workflows on this machine, before you push.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
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
clean_cmd.register(app)
serve_cmd.register(app)
history_cmd.register(app)
shell_cmd.register(app)


def main() -> None:
    app()
