"""What every command shares: project options, error mapping, output streams."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import typer

from runner.errors import ExitCode, RunnerError, os_error_text

if TYPE_CHECKING:
    from runner.config.model import Config
    from runner.runflow import ProjectRequest

T = TypeVar("T")

# Help panels of `runner run --help` (and the commands sharing its options), so it reads at 80
# columns (issue 18).
PROJECT = "Project"
SELECTION = "Selection"
ENVIRONMENT = "Environment"
EXECUTORS = "Executors"
DEBUGGING = "Debugging"
OUTPUT = "Output"

CONFIG = typer.Option(
    None, "-c", "--config", help="Config file (default: .circleci/config.yml).",
    rich_help_panel=PROJECT,
)
PROJECT_DIR = typer.Option(
    None, "-C", "--project-dir", help="Project directory (default: the git top level).",
    rich_help_panel=PROJECT,
)
BRANCH = typer.Option(
    None, "--branch", help="Pretend the commit is on this branch.", rich_help_panel=SELECTION
)
TAG = typer.Option(
    None, "--tag", help="Pretend the commit carries this tag.", rich_help_panel=SELECTION
)
PARAM = typer.Option(
    [], "--param", help="Pipeline parameter KEY=VALUE (2.1 configs; repeatable).",
    rich_help_panel=SELECTION,
)
ORB_DIR = typer.Option(
    None, "--orb-dir", help="Vendored orbs (default: .circleci/orbs in the project).",
    rich_help_panel=PROJECT,
)
ORB_HOST = typer.Option(
    None, "--orb-host",
    help="CircleCI host of the orb registry (default: CIRCLECI_CLI_HOST, else circleci.com).",
)
OFFLINE = typer.Option(
    False, "--offline", help="Never ask the orb registry: vendored and cached orbs only."
)
PRIMARY_ENV = typer.Option(
    False, "--primary-env-to-steps",
    help="Give steps the primary image's environment too, below the job's (CircleCI before 2020).",
)
SCHEDULED = typer.Option(
    None, "--scheduled", metavar="NAME",
    help="Plan as the scheduled pipeline NAME (pipeline.trigger_source scheduled_pipeline).",
)
STATE_DIR = typer.Option(
    None,
    "--state-dir",
    envvar="RUNNER_STATE_DIR",
    help="Where runs, logs and caches live (default: ~/.local/state/runner/<project>).",
    rich_help_panel=PROJECT,
)
WORKFLOW = typer.Option(
    None, "-w", "--workflow", help="Only this workflow (even a scheduled one).",
    rich_help_panel=SELECTION,
)
PARALLELISM = typer.Option(
    None, "--parallelism", "--node-total", min=1, metavar="N",
    help="Override every job's parallelism (its node count).", rich_help_panel=SELECTION,
)
NODE_INDEX = typer.Option(
    None, "--node-index", "--index", min=0, metavar="I",
    help="Run only this node (from 0) of each job.", rich_help_panel=SELECTION,
)
WITH_REQUIRES = typer.Option(
    False, "--with-requires",
    help="Also the jobs the named jobs require in their workflow, first.",
    rich_help_panel=SELECTION,
)
IMAGE = typer.Option(
    [], "--image", metavar="FROM=TO",
    help="Run image TO where the config says FROM (FROM may end in *).",
    rich_help_panel=EXECUTORS,
)


@contextmanager
def errors_to_exit() -> Iterator[None]:
    """Turn runner errors into a message on stderr and their exit code; never a traceback."""
    try:
        yield
    except RunnerError as exc:
        from runner.sanitize import visible_lines  # names in it come from configs (issue 14)

        typer.echo(visible_lines(exc.render()), err=True)
        raise typer.Exit(int(exc.exit_code)) from None
    except OSError as exc:  # the disk (the state directory full, unwritable): the environment
        typer.echo(f"runner: {os_error_text(exc)}", err=True)
        raise typer.Exit(int(ExitCode.ENVIRONMENT)) from None
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


def call(fn: Callable[[], T]) -> T:
    with errors_to_exit():
        return fn()


def project_request(
    config: Path | None,
    project_dir: Path | None,
    branch: str | None = None,
    tag: str | None = None,
    params: list[str] | None = None,
    orb_dir: Path | None = None,
    state_dir: Path | None = None,
    *,
    primary_env_to_steps: bool = False,
    orb_host: str | None = None,
    offline: bool = False,
    schedule: str | None = None,
    images: list[str] | None = None,
) -> ProjectRequest:
    from runner.runflow import ProjectRequest

    return ProjectRequest(
        config=config,
        project_dir=project_dir,
        branch=branch,
        tag=tag,
        params=tuple(params or ()),
        orb_dir=orb_dir,
        state_dir=state_dir,
        primary_env_to_steps=primary_env_to_steps,
        orb_host=orb_host,
        offline=offline,
        schedule=schedule or None,
        images=tuple(images or ()),
    )


def echo_warnings(config: Config) -> None:
    """What CircleCI accepts and ignores, one located line each, on stderr (``run`` reports
    them as events instead)."""
    for warning in config.warnings:
        typer.echo(f"warning: {warning.render()}", err=True)


def color_choice(flag: bool | None) -> bool | None:
    """--color/--no-color, else decide from stdout (a terminal) and NO_COLOR."""
    import os

    if flag is not None:
        return flag
    if os.environ.get("NO_COLOR"):
        return False
    return None if sys.stdout.isatty() else False
