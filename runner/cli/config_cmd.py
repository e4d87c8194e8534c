"""``runner config process``: the processed config, as runner will run it."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from runner.cli import common

config_app = typer.Typer(help="Inspect the config.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")


@config_app.command(name="process")
def process(
    config: Path = common.CONFIG,
    project_dir: Path = common.PROJECT_DIR,
    branch: str = common.BRANCH,
    tag: str = common.TAG,
    scheduled: str = common.SCHEDULED,
    param: list[str] = common.PARAM,
    orb_dir: Path = common.ORB_DIR,
    orb_host: str = common.ORB_HOST,
    offline: bool = common.OFFLINE,
) -> None:
    """Print the config after 2.1 processing (parameters, commands, executors, orbs, matrices)."""
    from runner import runflow

    request = common.project_request(config, project_dir, branch, tag, param, orb_dir,
                                     orb_host=orb_host, offline=offline, schedule=scheduled)
    sys.stdout.write(common.call(lambda: runflow.process_text(request)))


@config_app.command(name="show")
def show(
    ctx: typer.Context, config: Path = common.CONFIG, project_dir: Path = common.PROJECT_DIR
) -> None:
    """Print `runner run`'s settings: the value of each, and where it came from (the
    user's runner.yml, the project's .circleci/runner.yml, or the default)."""
    from runner.cli.run_settings import describe, option_kinds, read_settings

    root = ctx.find_root()
    run_command = root.command.get_command(root, "run")  # type: ignore[attr-defined]
    kinds = option_kinds(run_command)
    _root, settings = common.call(lambda: read_settings(config, project_dir, kinds))
    sys.stdout.write(describe(ctx, run_command, settings, kinds))
