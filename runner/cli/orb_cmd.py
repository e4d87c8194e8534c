"""``runner orb fetch | vendor | lock``: orbs from CircleCI's registry, cached, vendored, locked."""

from __future__ import annotations

from pathlib import Path

import typer

from runner.cli import common

orb_app = typer.Typer(help="Orbs from CircleCI's orb registry.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(orb_app, name="orb")


def _do(action: str, config: Path | None, project_dir: Path | None, orb_dir: Path | None,
        orb_host: str | None, offline: bool = False) -> None:
    from runner.orb_flow import orbs

    request = common.project_request(config, project_dir, orb_dir=orb_dir, orb_host=orb_host,
                                     offline=offline)
    for line in common.call(lambda: orbs(request, action)):
        typer.echo(line)


@orb_app.command(name="fetch")
def fetch(config: Path = common.CONFIG, project_dir: Path = common.PROJECT_DIR,
          orb_dir: Path = common.ORB_DIR, orb_host: str = common.ORB_HOST,
          offline: bool = common.OFFLINE) -> None:
    """Put every orb the config needs into the orb cache, and write .circleci/orbs.lock."""
    _do("fetch", config, project_dir, orb_dir, orb_host, offline)


@orb_app.command(name="vendor")
def vendor(config: Path = common.CONFIG, project_dir: Path = common.PROJECT_DIR,
           orb_dir: Path = common.ORB_DIR, orb_host: str = common.ORB_HOST,
           offline: bool = common.OFFLINE) -> None:
    """Write the sources of the config's orbs into .circleci/orbs/ (to commit them)."""
    _do("vendor", config, project_dir, orb_dir, orb_host, offline)


@orb_app.command(name="lock")
def lock(config: Path = common.CONFIG, project_dir: Path = common.PROJECT_DIR,
         orb_dir: Path = common.ORB_DIR, orb_host: str = common.ORB_HOST) -> None:
    """Resolve every orb reference again and rewrite .circleci/orbs.lock."""
    _do("lock", config, project_dir, orb_dir, orb_host)
