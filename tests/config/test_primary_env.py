"""Issue 15 item 7: the primary image's ``environment`` does not reach the steps (CircleCI since
2020); runner says so once per variable, and ``--primary-env-to-steps`` restores the old rule."""

from __future__ import annotations

import textwrap
from pathlib import Path

from runner.config.load import LoadOptions, load_config
from tests.support import make_project, run_cli

# Shaped like CircleCI's Django demo: DATABASE_URL on the primary image, a postgres service.
CONFIG = """\
version: 2.1
executors:
  py:
    docker:
      - image: cimg/python:3.12
        environment:
          DATABASE_URL: postgresql://root@localhost/circle_test
          PIPENV_VENV_IN_PROJECT: "true"
      - image: cimg/postgres:16.0
        environment:
          POSTGRES_USER: root
jobs:
  test:
    executor: py
    environment:
      PIPENV_VENV_IN_PROJECT: "yes"
    steps:
      - run: python manage.py test
  lint:
    executor: py
    steps:
      - run: flake8
  plain:
    docker:
      - image: cimg/base:stable
    steps:
      - run: "true"
workflows:
  main:
    jobs: [test, lint, plain]
"""


def write(tmp_path: Path, text: str = CONFIG) -> Path:
    path = tmp_path / "config.yml"
    path.write_text(textwrap.dedent(text))
    return path


def test_one_warning_per_primary_image_variable_the_steps_will_not_see(tmp_path: Path) -> None:
    config = load_config(write(tmp_path), "config.yml")
    assert [w.render() for w in config.warnings] == [
        "config.yml:7:11: jobs.test.docker[0].environment.DATABASE_URL: the primary image's "
        "environment variable DATABASE_URL does not reach the steps (CircleCI gives it only to "
        "that container's own command since 2020) (move it to the job's environment, or run "
        "with --primary-env-to-steps)",
        # PIPENV_VENV_IN_PROJECT: set by job `test` itself, but not by `lint`
        "config.yml:8:11: jobs.lint.docker[0].environment.PIPENV_VENV_IN_PROJECT: the primary "
        "image's environment variable PIPENV_VENV_IN_PROJECT does not reach the steps "
        "(CircleCI gives it only to that container's own command since 2020) (move it to the "
        "job's environment, or run with --primary-env-to-steps)",
    ]  # once per variable though two jobs use the executor; services' environment is fine
    assert "DATABASE_URL" not in config.jobs["test"].environment


def test_primary_env_to_steps_puts_the_image_variables_below_the_job_ones(tmp_path: Path) -> None:
    config = load_config(write(tmp_path), "config.yml", LoadOptions(primary_env_to_steps=True))
    assert config.warnings == ()
    assert dict(config.jobs["test"].environment) == {
        "DATABASE_URL": "postgresql://root@localhost/circle_test",
        "PIPENV_VENV_IN_PROJECT": "yes",  # the job's own value wins
    }
    assert dict(config.jobs["lint"].environment)["PIPENV_VENV_IN_PROJECT"] == "true"
    assert dict(config.jobs["plain"].environment) == {}
    assert "POSTGRES_USER" not in config.jobs["test"].environment  # a service's stays its own


def test_validate_and_plan_print_the_warning_and_still_pass(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", CONFIG)
    for command in (["validate"], ["plan"]):
        result = run_cli(command, project)
        assert result.code == 0, result.stderr
        warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
        assert len(warnings) == 2 and "DATABASE_URL" in warnings[0], result.stderr
        quiet = run_cli([*command, "--primary-env-to-steps"], project)
        assert quiet.code == 0 and "warning" not in quiet.stderr
