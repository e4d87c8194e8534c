"""``runner artifacts RUN [JOB] [--to DIR]``: list, or copy out, what a run's jobs stored."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from runner.cli import common

if TYPE_CHECKING:
    from runner.store.artifact_copy import Copy


def register(app: typer.Typer) -> None:
    app.command(name="artifacts")(artifacts)


def artifacts(
    run: str = typer.Argument(
        ..., help="The run number (see `runner history`), or 'last' (the newest)."
    ),
    job: str = typer.Argument(None, help="Only this job's artifacts."),
    to: Path | None = typer.Option(None, "--to", metavar="DIR", help="Copy them into DIR."),
    force: bool = typer.Option(False, "--force", help="Replace files that exist in DIR."),
    config: Path = common.CONFIG,
    project_dir: Path = common.PROJECT_DIR,
    state_dir: Path = common.STATE_DIR,
) -> None:
    """List the artifacts a run stored (store_artifacts), or copy them out with --to DIR."""
    from runner.project import find_project
    from runner.store.artifact_copy import artifact_copies, copy_artifacts
    from runner.store.history import HistoryStore
    from runner.store.run_ref import run_number
    from runner.store.state import StateDir, resolve_root

    def copies() -> tuple[int, list[Copy]]:
        project = find_project(config=config, project_dir=project_dir)
        root = resolve_root(project.root, state_dir, os.environ)
        number = run_number(HistoryStore.for_state(root), run)
        return number, artifact_copies(StateDir(root).run_dir(number), job, to or Path("."))

    number, found = common.call(copies)
    if to is None:
        base = Path(".")
        for item in found:
            size = item.source.lstat().st_size
            sys.stdout.write(f"{item.target.relative_to(base)}  ({size} bytes)\n")
        return
    count = common.call(lambda: copy_artifacts(found, force=force))
    typer.echo(f"Copied {count} file{'s' * (count != 1)} of run {number} into {to}")
