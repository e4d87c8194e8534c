"""Settings files (issue 18, item 2): defaults for `runner run`'s options, shown and checked."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.support import make_project, run_cli

CONFIG = """
version: 2
jobs:
  build:
    machine: true
    steps:
      - run: |
          # names, not values: values from -e and env files are masked
          [ "$TOKEN" = from-the-env-file ] && echo token from the file
          case "$MODE" in projectmode) echo mode A;; usermode) echo mode B;; cli*) echo mode C;; esac
          echo "nodes $CIRCLE_NODE_TOTAL"
"""


def _project(tmp_path: Path, settings: str | None = None) -> Path:
    project = make_project(tmp_path / "p", CONFIG)
    if settings is not None:
        (project / ".circleci" / "runner.yml").write_text(textwrap.dedent(settings))
    return project


def _user(tmp_path: Path, text: str) -> dict[str, str]:
    home = tmp_path / "xdg"
    (home / "runner").mkdir(parents=True)
    (home / "runner" / "runner.yml").write_text(textwrap.dedent(text))
    return {"XDG_CONFIG_HOME": str(home)}


def test_project_settings_are_defaults_and_the_command_line_wins(tmp_path: Path) -> None:
    project = _project(tmp_path, """
        env-file: vars.env
        env: [MODE=projectmode]
        parallelism: 2
    """)
    (project / "vars.env").write_text("TOKEN=from-the-env-file\n")
    result = run_cli(["run"], project)
    assert result.code == 0, result.stderr
    for line in ("token from the file", "mode A", "nodes 2"):
        assert f"build#1 │ {line}" in result.stdout
    result = run_cli(["run", "-e", "MODE=cliwins", "--parallelism", "1"], project)
    for line in ("token from the file", "mode C", "nodes 1"):
        assert f"build │ {line}" in result.stdout


def test_the_project_file_wins_over_the_users(tmp_path: Path) -> None:
    env = _user(tmp_path, "env: [MODE=usermode]\nparallelism: 3\n")
    project = _project(tmp_path, "env: [MODE=projectmode]\n")
    result = run_cli(["run"], project, env=env)
    assert result.code == 0, result.stderr
    assert "build#2 │ mode A" in result.stdout and "build#2 │ nodes 3" in result.stdout
    shown = [line.split() for line in run_cli(["config", "show"], project, env=env).stdout.splitlines()]
    assert ["env", "[MODE=********]", "(.circleci/runner.yml:1:6)"] in shown  # a secret
    user_file = str(tmp_path / "xdg" / "runner" / "runner.yml")
    assert ["parallelism", "3", f"({user_file}:2:14)"] in shown
    assert ["pull", "missing", "(default)"] in shown
    assert not any(line[0] in ("config", "project-dir") for line in shown)


def test_unknown_keys_and_wrong_values_are_located_errors(tmp_path: Path) -> None:
    project = _project(tmp_path, """
        jobs: 2
        imgae: [a=b]
        fail-fast: maybe
    """)
    for args in (["run"], ["config", "show"]):
        result = run_cli(args, project)
        assert result.code == 2
        assert result.stderr.splitlines() == [
            "2 config errors:",
            "  .circleci/runner.yml:3:1: imgae: unknown setting 'imgae' (did you mean 'image'?)",
            "  .circleci/runner.yml:4:12: fail-fast: expected true or false, found a string",
        ]
        assert "nodes" not in result.stdout  # nothing ran


def test_a_value_out_of_range_is_refused_with_its_place(tmp_path: Path) -> None:
    result = run_cli(["run"], _project(tmp_path, "jobs: 0\n"))
    assert result.code == 2
    assert result.stderr.startswith(".circleci/runner.yml:1:7: jobs: ")
