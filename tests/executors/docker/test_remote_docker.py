"""setup_remote_docker: later steps reach the engine; refused with --no-remote-docker."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.executors.docker.helpers import (
    BUSYBOX,
    DEBIAN,
    docker_executor,
    docker_project,
    run_with,
)

pytestmark = pytest.mark.docker

WARNING = (
    "warning: setup_remote_docker gives this job the host's Docker engine, which is root on "
    "this machine (--no-remote-docker refuses it)"
)


def test_later_steps_reach_the_engine_api(tmp_path: Path, no_leftovers: str) -> None:
    project = docker_project(tmp_path / "p", """
        steps:
          - run: echo "before=[$DOCKER_HOST]"
          - setup_remote_docker
          - run: |
              echo "after=[$DOCKER_HOST]"
              curl -sS --unix-socket /var/run/docker.sock http://engine/_ping && echo
              curl -sS --unix-socket /var/run/docker.sock \\
                  "http://engine/containers/$(hostname)/json" | grep -o '"com.runner.role":"primary"'
              grep -c DOCKER_HOST "$BASH_ENV"
    """, images=f"- image: {DEBIAN}\n  user: circleci\n")
    run = run_with(project, {"docker": docker_executor()})
    assert run.output() == [
        "before=[]",
        WARNING,
        "DOCKER_HOST=unix:///var/run/docker.sock for the following steps",
        "after=[unix:///var/run/docker.sock]",
        "OK",  # the engine's HTTP API, as the non-root job user
        '"com.runner.role":"primary"',  # the job sees its own container through it
        "1",
    ], run.output()


def test_sh_images_get_docker_host_too(tmp_path: Path, no_leftovers: str) -> None:
    project = docker_project(tmp_path / "p", """
        steps:
          - setup_remote_docker:
              version: 20.10.24
          - run: echo "[$DOCKER_HOST]" && [ -S /var/run/docker.sock ] && echo socket
          - run: {name: own environment wins, environment: {DOCKER_HOST: tcp://elsewhere:2375}, command: 'echo "[$DOCKER_HOST]"'}
    """, image=BUSYBOX)
    run = run_with(project, {"docker": docker_executor()})
    assert run.output() == [
        WARNING,
        "version 20.10.24 ignored: the engine is the host's own",
        "DOCKER_HOST=unix:///var/run/docker.sock for the following steps",
        "[unix:///var/run/docker.sock]",  # sh never reads BASH_ENV: the session sets it
        "socket",
        "[tcp://elsewhere:2375]",
    ]


def test_refused_with_no_remote_docker(tmp_path: Path, no_leftovers: str) -> None:
    project = docker_project(tmp_path / "p", """
        steps:
          - run: '[ ! -e /var/run/docker.sock ] && echo no socket'
          - setup_remote_docker
          - run: echo never
    """)
    run = run_with(project, {"docker": docker_executor(remote_docker=False)})
    assert run.output() == ["no socket"]
    step = run.steps()[1]
    assert step.outcome.status.value == "failed"
    assert step.outcome.message == (
        "setup_remote_docker is turned off (--no-remote-docker): this job cannot use a Docker engine"
    )


def test_jobs_without_the_step_never_get_the_socket(tmp_path: Path, no_leftovers: str) -> None:
    project = docker_project(tmp_path / "p", """
        steps:
          - run: '[ ! -e /var/run/docker.sock ] && echo "[$DOCKER_HOST]"'
    """)
    assert run_with(project, {"docker": docker_executor()}).output() == ["[]"]
