"""Dynamic config on the docker executor (issue 15 item 5): runner's circleci/continuation hands
the continuation over from inside a container, with no network, and the continued docker jobs
run in the same run."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.events import JobFinished
from runner.executors.options import DockerOptions
from tests.support import make_project, run_in_process

pytestmark = pytest.mark.docker

SETUP = """
version: 2.1
setup: true
orbs:
  continuation: circleci/continuation@0.3.1
executors:
  box:
    docker:
      - image: runner-test/busybox:latest
workflows:
  setup:
    jobs:
      - continuation/continue:
          executor: box
          configuration_path: .circleci/continue_config.yml
          parameters: '{"flavour": "docker"}'
"""
CONTINUED = """
version: 2.1
parameters:
  flavour: {type: string, default: none}
jobs:
  build:
    docker:
      - image: runner-test/busybox:latest
    steps:
      - run: echo "continued on << pipeline.parameters.flavour >> [${CIRCLE_CONTINUATION_KEY}]"
workflows:
  main:
    jobs: [build]
"""


def test_a_container_continues_the_pipeline_offline(tmp_path: Path, no_leftovers: str) -> None:
    project = make_project(tmp_path / "p", SETUP, {".circleci/continue_config.yml": CONTINUED})
    collected = run_in_process(project, docker=DockerOptions(pull="never"))
    assert collected.result is not None and collected.result.exit_code == 0
    jobs = [(e.job, e.status.value) for e in collected.events if isinstance(e, JobFinished)]
    assert jobs == [("continuation/continue", "passed"), ("build", "passed")]
    assert collected.output("build") == ["continued on docker []"]
