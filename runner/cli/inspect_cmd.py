"""``runner list``, ``runner validate``, ``runner plan``: look at a config without running it."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import typer

from runner.cli import common


def register(app: typer.Typer) -> None:
    app.command(name="list")(list_jobs)
    app.command(name="validate")(validate)
    app.command(name="plan")(plan)


def list_jobs(
    config: Path = common.CONFIG,
    project_dir: Path = common.PROJECT_DIR,
    param: list[str] = common.PARAM,
    orb_dir: Path = common.ORB_DIR,
) -> None:
    """List jobs (executor, parallelism, steps) and workflows."""
    from runner import runflow
    from runner.report.listing import render_listing

    request = common.project_request(config, project_dir, params=param, orb_dir=orb_dir)
    loaded = common.call(lambda: runflow.load(request))
    sys.stdout.write(render_listing(loaded.config))


def validate(
    config: Path = common.CONFIG,
    project_dir: Path = common.PROJECT_DIR,
    param: list[str] = common.PARAM,
    orb_dir: Path = common.ORB_DIR,
) -> None:
    """Check the config; print every problem with its file:line:col. Exit 2 if any."""
    from runner import runflow

    request = common.project_request(config, project_dir, params=param, orb_dir=orb_dir)
    loaded = common.call(lambda: runflow.load(request))
    jobs, workflows = len(loaded.config.jobs), len(loaded.config.workflows)
    typer.echo(
        f"{loaded.project.config_display}: valid (version {loaded.config.version}, "
        f"{jobs} job{'s' * (jobs != 1)}, {workflows} workflow{'s' * (workflows != 1)})"
    )


def plan(
    jobs: list[str] = typer.Argument(None, help="Jobs to plan (default: as `runner run`)."),
    config: Path = common.CONFIG,
    project_dir: Path = common.PROJECT_DIR,
    workflow: str = typer.Option(None, "-w", "--workflow"),
    branch: str = common.BRANCH,
    tag: str = common.TAG,
    param: list[str] = common.PARAM,
    orb_dir: Path = common.ORB_DIR,
    parallelism: int = typer.Option(None, "--parallelism", "--node-total", min=1),
    node_index: int = typer.Option(None, "--node-index", "--index", min=0),
    with_requires: bool = typer.Option(False, "--with-requires"),
    output: str = typer.Option("text", "--format", help="text | json | mermaid"),
) -> None:
    """Show what `runner run` would run, without running it."""
    from runner import runflow
    from runner.graph import plan as make_plan
    from runner.hostfit import not_here
    from runner.report.plan import render_plan

    if output not in ("text", "json", "mermaid"):
        raise typer.BadParameter("--format takes text, json or mermaid")
    request = runflow.RunRequest(
        project=common.project_request(config, project_dir, branch, tag, param, orb_dir),
        jobs=tuple(jobs or ()),
        workflow=workflow,
        with_requires=with_requires,
        parallelism=parallelism,
        node_index=node_index,
    )

    def build() -> str:
        loaded = runflow.load(request.project)
        graph = make_plan(loaded.config, runflow.selection_for(request, loaded.project))
        return render_plan(
            graph, output, branch=loaded.project.git.branch, tag=loaded.project.git.tag,
            not_here=not_here(graph, platform.machine()),
        )

    sys.stdout.write(common.call(build))
