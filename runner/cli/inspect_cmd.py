"""``runner list``, ``runner validate``, ``runner plan``: look at a config without running it."""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from runner.cli import common

if TYPE_CHECKING:
    from runner.runflow import Loaded, ProjectRequest


def register(app: typer.Typer) -> None:
    app.command(name="list")(list_jobs)
    app.command(name="validate")(validate)
    app.command(name="plan")(plan)


def _load(request: ProjectRequest) -> Loaded:
    """The project and its config, its warnings said (imported late: --help stays light)."""
    from runner import runflow

    loaded = runflow.load(request)
    common.echo_warnings(loaded.config)
    return loaded


def list_jobs(
    config: Path = common.CONFIG,
    project_dir: Path = common.PROJECT_DIR,
    param: list[str] = common.PARAM,
    orb_dir: Path = common.ORB_DIR,
    orb_host: str = common.ORB_HOST,
    offline: bool = common.OFFLINE,
    image: list[str] = common.IMAGE,
    json_output: bool = typer.Option(False, "--json", help="JSON instead of text."),
) -> None:
    """List jobs (executor, parallelism, steps) and workflows."""
    from runner.report.listing import listing_json, render_listing
    from runner.sanitize import visible_lines

    request = common.project_request(config, project_dir, params=param, orb_dir=orb_dir,
                                     orb_host=orb_host, offline=offline, images=image)
    loaded = common.call(lambda: _load(request))
    if json_output:
        sys.stdout.write(json.dumps(listing_json(loaded.config), indent=2) + "\n")
    else:  # names may hold controls
        sys.stdout.write(visible_lines(render_listing(loaded.config)))


def validate(
    config: Path = common.CONFIG,
    project_dir: Path = common.PROJECT_DIR,
    param: list[str] = common.PARAM,
    orb_dir: Path = common.ORB_DIR,
    orb_host: str = common.ORB_HOST,
    offline: bool = common.OFFLINE,
    primary_env_to_steps: bool = common.PRIMARY_ENV,
) -> None:
    """Check the config; print every problem with its file:line:col. Exit 2 if any."""
    request = common.project_request(config, project_dir, params=param, orb_dir=orb_dir,
                                     primary_env_to_steps=primary_env_to_steps,
                                     orb_host=orb_host, offline=offline)
    loaded = common.call(lambda: _load(request))
    jobs, workflows = len(loaded.config.jobs), len(loaded.config.workflows)
    typer.echo(
        f"{loaded.project.config_display}: valid (version {loaded.config.version}, "
        f"{jobs} job{'s' * (jobs != 1)}, {workflows} workflow{'s' * (workflows != 1)})"
    )


def plan(
    jobs: list[str] = typer.Argument(None, help="Jobs to plan (default: as `runner run`)."),
    config: Path = common.CONFIG,
    project_dir: Path = common.PROJECT_DIR,
    workflow: str = common.WORKFLOW,
    branch: str = common.BRANCH,
    tag: str = common.TAG,
    scheduled: str = common.SCHEDULED,
    param: list[str] = common.PARAM,
    orb_dir: Path = common.ORB_DIR,
    orb_host: str = common.ORB_HOST,
    offline: bool = common.OFFLINE,
    primary_env_to_steps: bool = common.PRIMARY_ENV,
    parallelism: int = common.PARALLELISM,
    node_index: int = common.NODE_INDEX,
    with_requires: bool = common.WITH_REQUIRES,
    image: list[str] = common.IMAGE,
    output: str = typer.Option(
        "text", "--format", help="text | json | mermaid.", rich_help_panel=common.OUTPUT
    ),
    json_output: bool = typer.Option(
        False, "--json", help="JSON (the same as --format json).", rich_help_panel=common.OUTPUT
    ),
) -> None:
    """Show what `runner run` would run, without running it."""
    from runner import runflow
    from runner.graph import plan as make_plan
    from runner.hostfit import not_here
    from runner.report.plan import render_plan
    from runner.sanitize import visible_lines

    if output not in ("text", "json", "mermaid"):
        raise typer.BadParameter("--format takes text, json or mermaid")
    if json_output:
        output = "json"
    request = runflow.RunRequest(
        project=common.project_request(config, project_dir, branch, tag, param, orb_dir,
                                       primary_env_to_steps=primary_env_to_steps,
                                       orb_host=orb_host, offline=offline,
                                       schedule=scheduled, images=image),
        jobs=tuple(jobs or ()),
        workflow=workflow,
        with_requires=with_requires,
        parallelism=parallelism,
        node_index=node_index,
    )

    def build() -> str:
        loaded = _load(request.project)
        graph = make_plan(loaded.config, runflow.selection_for(request, loaded.project))
        return render_plan(
            graph, output, branch=loaded.project.git.branch, tag=loaded.project.git.tag,
            not_here=not_here(graph, platform.machine()),
        )

    text = common.call(build)  # JSON escapes controls itself; text and mermaid show them
    sys.stdout.write(text if output == "json" else visible_lines(text))
