"""``--workspace-from RUN`` (issue 18, item 3): one downstream job on an earlier run's workspace."""

from __future__ import annotations

from pathlib import Path

from tests.support import make_project, run_cli

CONFIG = """
version: 2.1
jobs:
  build:
    machine: true
    steps:
      - run: mkdir -p out && echo "from build" > out/a.txt && echo "build only" > out/b.txt
      - persist_to_workspace: {root: out, paths: [.]}
  package:
    machine: true
    steps:
      - attach_workspace: {at: out}
      - run: echo "from package" > out/a.txt
      - persist_to_workspace: {root: out, paths: [a.txt]}
  test:
    machine: true
    steps:
      - attach_workspace: {at: ws}
      - run: cat ws/a.txt ws/b.txt
workflows:
  main:
    jobs:
      - build
      - package: {requires: [build]}
      - test: {requires: [package]}
"""


def test_a_downstream_job_runs_on_the_workspace_of_an_earlier_run(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", CONFIG)
    assert run_cli(["run"], project).code == 0  # run 1: the whole workflow
    alone = run_cli(["run", "test"], project)
    assert alone.code == 1
    assert "no job upstream of test (none in this run) persisted one in this run" in alone.stdout
    assert "--workspace-from RUN" in alone.stdout

    for ref in ("last", "1"):  # `last`: the newest run that persisted one (not run 2)
        result = run_cli(["run", "test", "--workspace-from", ref], project)
        assert result.code == 0, result.stdout + result.stderr
        lines = result.stdout.splitlines()
        assert "test │ With the workspace run 1 persisted (--workspace-from)" in lines
        # workflow order: package's a.txt replaced build's; build's b.txt is there too
        assert lines.index("test │ from package") + 1 == lines.index("test │ build only")


def test_a_job_gets_what_was_upstream_of_it_in_that_run(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", CONFIG)
    assert run_cli(["run"], project).code == 0
    result = run_cli(["run", "package", "--workspace-from", "1"], project)
    assert result.code == 0, result.stdout
    assert "package │   build (node 0, step 1): " in result.stdout
    assert "package │   package (" not in result.stdout  # its own layer of run 1 is not


def test_a_run_without_a_workspace_is_refused_before_anything(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", CONFIG)
    result = run_cli(["run", "test", "--workspace-from", "last"], project)
    assert result.code == 2
    assert "there is no run that persisted a workspace to take as 'last'" in result.stderr
    assert run_cli(["run", "build"], project).code == 0  # run 1
    assert run_cli(["run", "test", "--workspace-from", "2"], project).code == 2
    bad = run_cli(["run", "test", "--workspace-from", "newest"], project)
    assert bad.code == 2 and "takes a run number or 'last'" in bad.stderr
    assert "test │" not in bad.stdout


def test_from_step_on_a_job_of_a_workflow_attaches_the_last_workspace(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", CONFIG)
    assert run_cli(["run"], project).code == 0
    result = run_cli(["run", "test", "--from-step", "1"], project)
    assert result.code == 0, result.stdout + result.stderr
    assert "test │ With the workspace run 1 persisted (--workspace-from)" in result.stdout
    assert "test │ from package" in result.stdout
