"""``runner clean``: remove what runs left behind."""

from __future__ import annotations

from pathlib import Path

import typer

from runner.cli import common


def register(app: typer.Typer) -> None:
    app.command(name="clean")(clean)


def clean(
    project_dir: Path = common.PROJECT_DIR,
    config: Path = common.CONFIG,
    state_dir: Path = common.STATE_DIR,
    everything: bool = typer.Option(
        False, "--all", help="Also remove every run's logs and results of this project."
    ),
) -> None:
    """Remove kept node homes and labelled containers (and with --all, all run data)."""
    from runner import cleaning

    request = common.project_request(config, project_dir, state_dir=state_dir)
    for line in common.call(lambda: cleaning.clean(request, everything=everything)):
        typer.echo(line)
