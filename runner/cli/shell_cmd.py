"""``runner shell``: a shell in a node environment that ``runner run --keep`` kept."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from types import FrameType

import typer

from runner.cli import common


def register(app: typer.Typer) -> None:
    app.command(name="shell")(shell)


def shell(
    run: str = typer.Argument(
        ..., help="The run number (see `runner history`), or 'last' (the newest kept)."
    ),
    job: str = typer.Argument(None, help="The job (needed when the run kept several)."),
    node: int = typer.Option(None, "--node", min=0, help="This node (default: the lowest kept)."),
    config: Path = common.CONFIG,
    project_dir: Path = common.PROJECT_DIR,
    state_dir: Path = common.STATE_DIR,
) -> None:
    """Enter a kept environment: the job's shell, variables and working directory. Commands
    are read from stdin when it is not a terminal; the exit code is the shell's."""
    from runner.debug.reenter import enter_kept

    request = common.project_request(config, project_dir, state_dir=state_dir)
    # A handler, not SIG_IGN: an ignored signal would stay ignored in the shell after exec.
    previous = signal.signal(signal.SIGINT, _ignore)
    try:
        code = common.call(lambda: enter_kept(
            request, run=run, job=job, node=node, out=sys.stderr
        ))
    finally:
        signal.signal(signal.SIGINT, previous)
    raise typer.Exit(code)


def _ignore(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C belongs to the shell (and what runs in it), not to runner, which waits for it."""
