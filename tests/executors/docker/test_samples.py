"""The docker sample projects run with the outcome they are there to show."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.executors.docker.helpers import containers
from tests.support import run_cli
from tests.test_sample_projects import copy_sample

pytestmark = pytest.mark.docker


def test_docker_service(tmp_path: Path, no_leftovers: str) -> None:
    project = copy_sample("docker-service", tmp_path)
    result = run_cli(["run"], project)
    assert result.code == 0, result.stdout + result.stderr
    assert "build │ http://localhost:8080/ is up" in result.stdout
    assert result.stdout.count("build │ hello from the web service") == 2  # localhost, then "web"
    assert "build │ MESSAGE in the primary container=[]" in result.stdout


def test_docker_deploy(tmp_path: Path, no_leftovers: str) -> None:
    project = copy_sample("docker-deploy", tmp_path)
    result = run_cli(["run", "build"], project)
    assert result.code == 0, result.stdout + result.stderr
    ran = sorted(line.split("│ ")[1] for line in result.stdout.splitlines() if "│ test " in line)
    assert ran == [
        "test 1 ok on node 0 in /my-project",
        "test 2 ok on node 1 in /my-project",
        "test 3 ok on node 0 in /my-project",
        "test 4 ok on node 1 in /my-project",
    ]
    triggered = [line for line in result.stdout.splitlines() if "│ would trigger" in line]
    assert len(triggered) == 1 and triggered[0].startswith("build#0 │ would trigger deploy_docker")
    assert triggered[0].endswith("from node 0")

    result = run_cli(["run", "deploy_docker"], project)
    assert result.code == 0, result.stdout + result.stderr
    assert "deploy_docker │ deploy section running" in result.stdout
    assert "deploy_docker │ OK (engine)" in result.stdout
    assert "root on this machine" in result.stdout  # the one-line warning
    assert containers(no_leftovers) == []
