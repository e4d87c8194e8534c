"""``pipeline.trigger_source`` and ``pipeline.schedule.*`` as CircleCI sets them (issue 15 item 4).

Shaped like localstack's config: workflows gated on ``equal: [webhook, << pipeline.trigger_source
>>]`` for pushes and on ``scheduled_pipeline`` plus the schedule's name for nightly runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from runner import runflow
from runner.graph import Selection, plan
from tests.support import make_project, run_cli

CONFIG = """
version: 2.1
jobs:
  test:
    machine: true
    steps:
      - run: echo "source=<< pipeline.trigger_source >> schedule=<< pipeline.schedule.name >>"
  nightly-report:
    machine: true
    steps:
      - run: echo report
  api-only:
    machine: true
    steps:
      - run: echo api
workflows:
  main:
    when:
      equal: [ webhook, << pipeline.trigger_source >> ]
    jobs: [test]
  nightly:
    when:
      and:
        - equal: [ scheduled_pipeline, << pipeline.trigger_source >> ]
        - equal: [ nightly, << pipeline.schedule.name >> ]
    jobs: [nightly-report]
  triggered:
    when:
      equal: [ api, << pipeline.trigger_source >> ]
    jobs: [api-only]
"""


def planned(project: Path, **request: object) -> list[str]:
    loaded = runflow.load(runflow.ProjectRequest(project_dir=project, **request))  # type: ignore[arg-type]
    graph = plan(loaded.config, Selection(branch="main"))
    return [job.id for job in graph.jobs]


@pytest.mark.parametrize(
    ("request_fields", "jobs"),
    [
        ({}, ["test"]),  # a plain run stands for a push
        ({"trigger_source": "api"}, ["api-only"]),
        ({"schedule": "nightly"}, ["nightly-report"]),
        ({"schedule": "weekly"}, []),
    ],
)
def test_trigger_source_selects_the_workflows(
    tmp_path: Path, request_fields: dict[str, object], jobs: list[str]
) -> None:
    project = make_project(tmp_path / "p", CONFIG)
    assert planned(project, **request_fields) == jobs


def test_values_reach_the_steps_and_the_cli_takes_scheduled(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", CONFIG)
    result = run_cli(["config", "process", "--scheduled", "nightly"], project)
    assert result.code == 0, result.stderr
    assert "source=scheduled_pipeline schedule=nightly" in result.stdout
    result = run_cli(["plan", "--scheduled", "nightly", "--format", "json"], project)
    assert result.code == 0, result.stderr
    assert "nightly-report" in result.stdout and '"test"' not in result.stdout
    result = run_cli(["run"], project)
    assert result.code == 0, result.stderr
    assert "source=webhook schedule=" in result.stdout
