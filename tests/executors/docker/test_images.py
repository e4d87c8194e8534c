"""Engine and images are checked before anything starts: exit 3 with one clear message."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.executors.docker.helpers import BUSYBOX, containers, docker_project
from tests.support import run_cli

pytestmark = pytest.mark.docker

ABSENT = "runner-test/absent-image:never-built"


def _two_jobs(tmp_path: Path, image: str) -> Path:
    """``ok`` would run on a local image; ``build`` needs ``image``: neither may start."""
    project = docker_project(tmp_path / "p", """
        steps:
          - run: echo started
    """, image=image)
    config = project / ".circleci" / "config.yml"
    config.write_text(
        config.read_text()
        + f"  ok:\n    docker:\n      - image: {BUSYBOX}\n    steps:\n      - run: echo ok\n"
        + "workflows:\n  main:\n    jobs: [ok, build]\n"
    )
    return project


def test_missing_image_that_cannot_be_pulled(tmp_path: Path, state_name: str) -> None:
    result = run_cli(["run"], _two_jobs(tmp_path, ABSENT))
    assert result.code == 3, result.stdout + result.stderr
    assert f"image {ABSENT} cannot be pulled: " in result.stderr  # the engine's reason follows
    assert f"hint: pull it where a registry answers (`docker pull {ABSENT}`; " in result.stderr
    assert "docker build" not in result.stderr
    assert "Traceback" not in result.stderr
    assert "started" not in result.stdout and "ok" not in result.stdout.split()  # nothing ran
    assert containers(state_name) == []


def test_pull_never_refuses_a_missing_image(tmp_path: Path, state_name: str) -> None:
    result = run_cli(["run", "--pull", "never"], _two_jobs(tmp_path, ABSENT))
    assert result.code == 3
    assert result.stderr.splitlines() == [
        f"image {ABSENT} is not on this machine (--pull never)",
        f"hint: pull it where a registry answers (`docker pull {ABSENT}`; `docker login` first "
        "for a private registry), or run the job on an image you have (`--image FROM=TO`), "
        "or use --pull missing",
    ]


@pytest.mark.parametrize("policy", ["never", "missing"])
def test_every_missing_image_is_reported_at_once(
    tmp_path: Path, state_name: str, policy: str
) -> None:
    # issue 13: three images missing (a job's primary, its service, another job's primary)
    # are named in one message, before anything starts; present images are not named
    absent = [f"runner-test/absent-{n}:never-built" for n in ("a", "b", "c")]
    project = docker_project(tmp_path / "p", "steps:\n  - run: echo started", images=f"""
        - image: {absent[0]}
        - image: {BUSYBOX}
        - image: {absent[1]}
    """)
    config = project / ".circleci" / "config.yml"
    config.write_text(
        config.read_text()
        + f"  other:\n    docker:\n      - image: {absent[2]}\n    steps:\n      - run: echo o\n"
        + f"  ok:\n    docker:\n      - image: {BUSYBOX}\n    steps:\n      - run: echo ok\n"
        + "workflows:\n  main:\n    jobs: [ok, build, other]\n"
    )
    result = run_cli(["run", "--pull", policy], project)
    assert result.code == 3, result.stdout + result.stderr
    assert result.stderr.startswith("3 images are missing:\n"), result.stderr
    for name in absent:
        assert f"  image {name} " in result.stderr
        assert f"docker pull {name}" in result.stderr
    assert BUSYBOX not in result.stderr and "docker build" not in result.stderr
    assert "--image FROM=TO" in result.stderr
    assert "started" not in result.stdout and "ok" not in result.stdout.split()
    assert containers(state_name) == []


def test_pull_never_and_missing_use_the_local_image(tmp_path: Path, state_name: str) -> None:
    project = docker_project(tmp_path / "p", "steps:\n  - run: echo local image used")
    for policy in ("never", "missing"):
        result = run_cli(["run", "--pull", policy], project)
        assert result.code == 0, result.stderr
        assert "build │ local image used" in result.stdout
        assert "pulling" not in result.stdout


def test_pull_always_fails_offline_and_says_the_image_is_here(
    tmp_path: Path, state_name: str
) -> None:
    project = docker_project(tmp_path / "p", "steps:\n  - run: echo never")
    result = run_cli(["run", "--pull", "always"], project)
    assert result.code == 3
    assert result.stderr.startswith(f"image {BUSYBOX} cannot be pulled: ")
    assert "hint: the image is on this machine: use --pull missing or --pull never" in result.stderr


def test_a_bad_pull_policy_is_a_usage_error(tmp_path: Path, state_name: str) -> None:
    project = docker_project(tmp_path / "p", "steps:\n  - run: echo never")
    result = run_cli(["run", "--pull", "sometimes"], project)
    assert result.code == 2
    assert "--pull takes one of missing, never, always, got 'sometimes'" in result.stderr


def test_no_engine_exits_3_with_how_to_start_one(tmp_path: Path, state_name: str) -> None:
    project = docker_project(tmp_path / "p", "steps:\n  - run: echo never")
    socket = tmp_path / "no-engine.sock"
    result = run_cli(["run"], project, env={"DOCKER_HOST": f"unix://{socket}"})
    assert result.code == 3
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"cannot reach the Docker engine at unix://{socket}: ")
    assert lines[1].startswith("hint: start the engine (`sudo systemctl start docker`")
    assert len(lines) == 2 and "Traceback" not in result.stderr
