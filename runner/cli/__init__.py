"""The command line: thin typer commands. Each parses, calls one core function, maps errors.

Heavy modules are imported inside commands so that ``runner --help`` stays fast.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading

import typer

from runner import __version__
from runner.cli import (
    artifacts_cmd,
    clean_cmd,
    config_cmd,
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
    """The ``runner`` command. When the command has ended, the process ends without tearing
    the interpreter down: freeing what a run imported and built (the docker SDK, rich, the
    config model: some 560 modules) took 60-100 ms of every invocation, after everything the
    user waits for was done. What a normal exit does that matters still happens first: other
    threads are waited for, atexit handlers run (temporary directories, thread pools), and
    stdout and stderr are flushed. The history database commits every statement, so nothing
    is left unwritten. An unexpected exception keeps Python's own exit (and its traceback)."""
    try:
        app()
        code: int | str | None = 0
    except SystemExit as exc:
        code = exc.code
    if not isinstance(code, int):
        if code is not None:
            print(code, file=sys.stderr)
        code = 0 if code is None else 1
    current = threading.current_thread()
    for thread in threading.enumerate():
        if thread is not current and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed pipe (`runner list | head`)
            stream.flush()
    os._exit(code)
