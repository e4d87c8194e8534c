"""CircleCI's tolerance, where CircleCI tolerates (issue 15 item 3): keys it ignores are warned
about, located, and the config runs; what it refuses stays refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner import runflow
from runner.errors import ConfigError
from tests.support import make_project, run_cli

# Shaped like CircleCI-Public/circleci-demo-java-spring: `when: always` on store_artifacts.
JAVA_SPRING = """
version: 2.1
jobs:
  build:
    machine: true
    steps:
      - run: mkdir -p target && echo built > target/app.jar
      - store_test_results:
          path: target/surefire-reports
          when: always
      - store_artifacts:
          path: target/app.jar
          when: always
workflows:
  main:
    jobs: [build]
"""

# A matrix with a key CircleCI ignored for weeks in a real project, and an orb whose top level
# keeps an anchor holder as older published orbs do.
MATRIX_AND_ORB = """
version: 2.1
orbs:
  tools: acme/tools@1.0.0
jobs:
  test:
    parameters:
      python: {type: string}
    machine: true
    steps:
      - tools/greet
      - run: echo "python << parameters.python >>"
workflows:
  main:
    jobs:
      - test:
          matrix:
            databases: [postgres, mysql]
            parameters:
              python: ["3.11", "3.12"]
"""
ORB = """
version: 2.1
description: tools
references:
  greeting: &greeting echo "hello from the orb"
commands:
  greet:
    steps:
      - run: *greeting
"""


def load(project: Path) -> runflow.Loaded:
    return runflow.load(runflow.ProjectRequest(project_dir=project))


def warnings_of(project: Path, loaded: runflow.Loaded) -> list[str]:
    return [w.render().replace(f"{project}/", "") for w in loaded.config.warnings]


def test_when_on_store_steps_is_ignored_with_a_warning(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", JAVA_SPRING)
    assert warnings_of(project, load(project)) == [
        ".circleci/config.yml:9:11: jobs.build.steps[1].store_test_results.when: 'when' is "
        "ignored on store_test_results (store_test_results runs after a failed step too, as on "
        "CircleCI)",
        ".circleci/config.yml:12:11: jobs.build.steps[2].store_artifacts.when: 'when' is ignored "
        "on store_artifacts (store_artifacts runs after a failed step too, as on CircleCI)",
    ]
    result = run_cli(["run"], project)
    assert result.code == 0, result.stdout + result.stderr
    assert "'when' is ignored on store_artifacts" in result.stdout + result.stderr
    validate = run_cli(["validate"], project)
    assert validate.code == 0
    assert validate.stderr.count("warning: ") == 2


def test_other_unknown_step_keys_stay_refused(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", JAVA_SPRING.replace("when: always", "paths: [x]", 1))
    with pytest.raises(ConfigError, match="unknown key 'paths'"):
        load(project)


def test_unknown_matrix_and_orb_keys_are_ignored_with_warnings(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p", MATRIX_AND_ORB, {".circleci/orbs/acme/tools@1.0.0.yml": ORB}
    )
    loaded = load(project)
    texts = warnings_of(project, loaded)
    assert texts[0] == (
        ".circleci/config.yml:17:13: workflows.main.jobs[0].test.matrix.databases: unknown matrix "
        "key 'databases' is ignored (a matrix takes parameters, exclude and alias)"
    )
    assert texts[1] == (
        ".circleci/orbs/acme/tools@1.0.0.yml:4:1: references: unknown orb key 'references' is "
        "ignored (an orb holds commands, jobs, executors and orbs)"
    )
    assert len(texts) == 2
    assert sorted(loaded.config.jobs) == ["test-3.11", "test-3.12"]
    result = run_cli(["run"], project)
    assert result.code == 0, result.stdout + result.stderr
    assert "hello from the orb" in result.stdout


def test_no_op_jobs_pass_at_once_and_dependents_run(tmp_path: Path) -> None:
    config = """
        version: 2.1
        jobs:
          build:
            machine: true
            steps: [run: echo building]
          deploy:
            machine: true
            steps: [run: echo deploying]
        workflows:
          main:
            jobs:
              - build
              - wait-for-nothing:
                  type: no-op
                  requires: [build]
              - deploy:
                  requires: [wait-for-nothing]
    """
    project = make_project(tmp_path / "p", config)
    plan = run_cli(["plan"], project)
    assert plan.code == 0, plan.stderr
    assert "  wait-for-nothing: no-op  after build" in plan.stdout
    result = run_cli(["run", "--json"], project)
    assert result.code == 0, result.stdout + result.stderr
    finished = [line for line in result.stdout.splitlines() if '"job_finished"' in line]
    order = [name for line in finished for name in ("build", "wait-for-nothing", "deploy")
             if f'"job": "{name}"' in line]
    assert order == ["build", "wait-for-nothing", "deploy"]
    assert all('"passed"' in line for line in finished)


def test_an_empty_jobs_list_is_refused_plainly(tmp_path: Path) -> None:
    config = """
        version: 2.1
        jobs:
          build: {machine: true, steps: [run: echo hi]}
        workflows:
          main:
            jobs: []
    """
    project = make_project(tmp_path / "p", config)
    result = run_cli(["validate"], project)
    assert result.code == 2
    assert result.stderr.strip() == (
        "config error:\n  .circleci/config.yml:6:11: workflows.main.jobs: a workflow needs at least one job; "
        "'jobs' is an empty list (add a job, or remove the workflow)"
    )
