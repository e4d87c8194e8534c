"""The `docker exec` hint `--keep` prints enters as the job does (issue 18, item 9): its user,
its working directory and its HOME, as `runner shell` does; not root with HOME=/root."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.executors.docker.helpers import DEBIAN, containers, docker_project
from tests.support import run_cli

pytestmark = pytest.mark.docker


def test_the_printed_command_enters_as_the_jobs_user(tmp_path: Path, no_leftovers: str) -> None:
    project = docker_project(
        tmp_path / "p", "working_directory: ~/app\nsteps:\n  - run: echo kept",
        images=f"- image: {DEBIAN}\n  user: circleci\n",
    )
    result = run_cli(["run", "--keep"], project)
    assert result.code == 0, result.stdout + result.stderr
    try:
        line = next(x for x in result.stdout.splitlines() if "kept primary container: " in x)
        command = re.sub(r".*kept primary container: ", "", line)
        words = shlex.split(command)
        assert words[:5] == ["docker", "exec", "-it", "-u", "circleci"]
        words.remove("-it")  # no terminal here; the rest as printed
        done = subprocess.run(
            [*words, "-c", 'echo "$(id -un) $HOME $(pwd)"'], capture_output=True, text=True,
            timeout=60, check=False,
        )
        assert done.stdout == "circleci /home/circleci /home/circleci/app\n", done.stderr
    finally:
        for box in containers(no_leftovers):
            box.remove(force=True)
