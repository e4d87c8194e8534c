"""``runner serve``: answer CircleCI's trigger APIs (v1.1 jobs, v2 pipelines) on this machine."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from runner.cli import common


def register(app: typer.Typer) -> None:
    app.command(name="serve")(serve)


def serve(
    project: list[Path] = typer.Option(
        [], "--project-dir", "--project", "-C",
        help="A project to serve (repeatable; default: the current one).",
    ),
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to bind (default loopback; others get a warning)."
    ),
    port: int = typer.Option(8642, "--port", "-p", min=0, max=65535, help="Port (0: any free)."),
    token: str = typer.Option(
        None, "--token", envvar="RUNNER_API_TOKEN", show_envvar=True,
        help="The API token (default: generated and printed).",
    ),
    concurrency: int = typer.Option(2, "--concurrency", min=1, help="Runs at once; others wait."),
    allow_parameter: list[str] = typer.Option(
        [], "--allow-parameter", metavar="NAME",
        help="A build parameter the API may set beyond those the config mentions (repeatable).",
    ),
    state_dir: Path = common.STATE_DIR,
) -> None:
    """Trigger jobs with CircleCI's API (curl -u TOKEN: -d build_parameters[CIRCLE_JOB]=...)."""
    from runner.api.server import ApiServer, ServeOptions

    options = ServeOptions(
        host=host, port=port, token=token, projects=tuple(project), state_dir=state_dir,
        concurrency=concurrency, allow_parameters=tuple(allow_parameter),
    )
    server = common.call(
        lambda: ApiServer(options, environ=os.environ, cwd=Path.cwd(), say=_say)
    )
    common.call(server.serve_forever)


def _say(text: str) -> None:
    typer.echo(text, err=text.startswith("warning"))
