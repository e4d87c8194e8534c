"""The command line: thin typer commands. Each parses, calls one core function, maps errors.

Heavy modules are imported inside commands so that ``runner --help`` stays fast.
"""

from __future__ import annotations

import typer

from runner import __version__
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


def main() -> None:
    """The ``runner`` command. The process ends at :func:`runner.cli.edge.finish`; an
    unexpected exception keeps Python's own exit (and its traceback)."""
    try:
        app()
        code: int | str | None = 0
    except SystemExit as exc:
        code = exc.code
    edge.finish(code)
