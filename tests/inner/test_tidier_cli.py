"""A tidier CLI (issue 18, items 7 and 9): help, JSON spellings, summary order, durations,
counts, the failure report's next step, detached HEAD."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from runner.report.duration import fmt_duration
from tests.support import git, make_project, run_cli

CONFIG = """
version: 2.1
jobs:
  zeta:
    machine: true
    steps:
      - run: |
          echo one
          echo two
          echo three
          echo four
          echo five
          echo six
          echo seven
  alpha:
    machine: true
    steps:
      - checkout
      - run: {name: Compile, command: exit 3}
workflows:
  main:
    jobs:
      - zeta
      - alpha: {requires: [zeta]}
"""


def test_run_help_is_grouped_in_panels_and_reads_at_80_columns(tmp_path: Path) -> None:
    text = run_cli(["run", "--help"], tmp_path, env={"COLUMNS": "80"}).stdout
    for panel in ("Project", "Selection", "Environment", "Executors", "Debugging", "Output"):
        assert f"\n{panel}:\n" in text  # a section of click's help (runner.cli.help)
    assert all(len(line) <= 80 for line in text.splitlines())
    plan = run_cli(["plan", "--help"], tmp_path, env={"COLUMNS": "200"}).stdout
    for option in ("--workflow", "--parallelism", "--node-index", "--with-requires"):
        line = next(x for x in plan.splitlines() if option in x)
        assert re.search(r"[A-Z][a-z]+ ", line.split(option)[-1]), line  # it has help text


def test_json_spellings_and_serve_project_dir(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", CONFIG)
    listing = json.loads(run_cli(["list", "--json"], project).stdout)
    assert [j["name"] for j in listing["jobs"]] == ["zeta", "alpha"]
    assert run_cli(["plan", "--json"], project).stdout == run_cli(
        ["plan", "--format", "json"], project
    ).stdout
    serve = run_cli(["serve", "--help"], tmp_path, env={"COLUMNS": "200"}).stdout
    assert "--project-dir, --project" in serve


def test_summary_in_workflow_order_one_duration_format_and_next_steps(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", CONFIG, {"src/a.txt": "a\n"})
    result = run_cli(["run"], project)
    assert result.code == 1
    lines = result.stdout.splitlines()
    assert "zeta │ ... (1 more line)" in lines
    # the working tree: config, src/a.txt (not the files of .git, which are copied too)
    assert any(re.match(r"alpha │ Copied 2 files of the working tree and its \.git into ", x)
               for x in lines)
    table = lines[lines.index("job    node  step           status  duration") + 1:]
    assert [row.split()[0] for row in table[:3]] == ["zeta", "alpha", "alpha"]  # not a-z
    assert lines[-5:-2] == [
        "  read it again: runner logs 1 alpha --step 1",
        "  next: runner run alpha --shell-on-failure  (a shell where it fails)",
        f"        {'runner run alpha --from-step 1':<35}  (again from this step)",
    ]
    history = run_cli(["history"], project).stdout.splitlines()[1]
    assert re.search(r"  \d+\.\d\ds  ", history), history  # as the run's summary writes it


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.095, "0.10s"), (1.10137, "1.10s"), (65.2, "1m05s"), (3725, "1h02m")],
)
def test_one_duration_format(seconds: float, text: str) -> None:
    assert fmt_duration(seconds) == text


def test_a_detached_head_is_named_and_branch_suggested(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", CONFIG)
    git(project, "checkout", "-q", "--detach")
    for command in (["run"], ["plan"]):
        result = run_cli(command, project)
        assert result.code == 2
        assert result.stderr.startswith("HEAD is detached (at ")
        assert "--branch NAME" in result.stderr
    assert run_cli(["plan", "--branch", "main"], project).code == 0
    assert run_cli(["run", "zeta"], project).code == 0  # named jobs need no branch
