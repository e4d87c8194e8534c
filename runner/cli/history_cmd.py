"""``runner history`` and ``runner logs``: past runs of a project, from the CLI or the API."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from runner.cli import common

if TYPE_CHECKING:
    from runner.store.history import HistoryStore


def register(app: typer.Typer) -> None:
    app.command(name="history")(history)
    app.command(name="logs")(logs)


def _store(config: Path | None, project_dir: Path | None, state_dir: Path | None) -> HistoryStore:
    import contextlib
    import sqlite3

    from runner.project import find_project
    from runner.store.history import HistoryStore
    from runner.store.recorder import reconcile
    from runner.store.state import resolve_root

    project = find_project(config=config, project_dir=project_dir)
    store = HistoryStore.for_state(resolve_root(project.root, state_dir, os.environ))
    # A run whose process is gone is shown as interrupted, not running; on a full disk or a
    # read-only state directory that cannot be written down, and what is recorded still shows.
    with contextlib.suppress(sqlite3.Error, OSError):
        reconcile(store)
    return store


def history(
    limit: int = typer.Option(20, "-n", "--limit", min=1, help="How many runs (newest first)."),
    json_output: bool = typer.Option(False, "--json", help="JSON: runs with their jobs."),
    config: Path = common.CONFIG,
    project_dir: Path = common.PROJECT_DIR,
    state_dir: Path = common.STATE_DIR,
) -> None:
    """Past runs of this project (from `runner run` and `runner serve`), newest first."""
    from runner.report.history import history_json, history_table

    store = common.call(lambda: _store(config, project_dir, state_dir))
    runs = store.runs(limit)
    jobs = store.jobs_of_runs([r.run for r in runs])
    if json_output:
        import json

        sys.stdout.write(json.dumps(history_json(runs, jobs), indent=2) + "\n")
    else:
        sys.stdout.write(history_table(runs, jobs))


def logs(
    run: str = typer.Argument(
        ..., help="The run number (see `runner history`), or 'last' (the newest)."
    ),
    job: str = typer.Argument(None, help="The job (default: every job of the run)."),
    node: int = typer.Option(None, "--node", min=0, help="Only this node."),
    step: str = typer.Option(
        None, "--step", metavar="STEP", help="Only this step: its number (from 0) or its name."
    ),
    config: Path = common.CONFIG,
    project_dir: Path = common.PROJECT_DIR,
    state_dir: Path = common.STATE_DIR,
) -> None:
    """Print the stored step logs of a run, a job, a node or a step."""
    from runner.report.history import LogQuery, write_logs
    from runner.store.run_ref import run_number

    store = common.call(lambda: _store(config, project_dir, state_dir))
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    number = common.call(lambda: run_number(store, run))
    query = LogQuery(run=number, job=job, node=node, step=step, color=color)
    code = common.call(lambda: write_logs(store, query, sys.stdout))
    raise typer.Exit(code)
