"""The command line as a user runs it: exit codes, messages, output forms."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import make_project, run_cli

SIMPLE = """
version: 2
jobs:
  build:
    machine: true
    steps:
      - run: {name: Say hello, command: echo hello}
  other:
    machine: true
    parallelism: 2
    steps:
      - run: echo other
      - deploy: {command: echo shipped}
"""


def test_version_and_help(tmp_path: Path) -> None:
    result = run_cli(["--version"], tmp_path)
    assert (result.code, result.stdout.strip()) == (0, "runner 0.1.0")
    result = run_cli(["--help"], tmp_path)
    assert result.code == 0
    for command in ("run", "list", "validate", "plan", "config", "clean"):
        assert command in result.stdout


def test_run_passes_with_live_output_and_summary(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", SIMPLE)
    result = run_cli(["run"], project)
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "build ▸ Say hello" in lines
    assert "build │ hello" in lines
    assert any(line.startswith("build ✓ Say hello") for line in lines)
    assert any(line.split()[:4] == ["build", "Say", "hello", "passed"] for line in lines)
    assert lines[-1].startswith("run 1 passed in ")
    assert "\x1b[" not in result.stdout  # NO_COLOR (set by run_cli) and not a terminal


def test_parallel_output_is_prefixed_by_node(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", SIMPLE)
    result = run_cli(["run", "other"], project)
    assert result.code == 0
    assert "other#0 │ other" in result.stdout and "other#1 │ other" in result.stdout
    assert "other#0 │ shipped" in result.stdout
    assert "other#1 - echo shipped" in result.stdout


def test_colour_can_be_forced(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", SIMPLE)
    assert "\x1b[" in run_cli(["run", "--color"], project, env={"NO_COLOR": ""}).stdout


def test_failed_job_exits_1_with_a_report(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p",
        """
        version: 2
        jobs:
          build:
            machine: true
            steps:
              - run:
                  name: Compile
                  command: |
                    echo step one
                    echo "it broke" >&2
                    exit 7
    """,
    )
    result = run_cli(["run"], project)
    assert result.code == 1
    report = result.stdout[result.stdout.index("FAILED build: Compile") :]
    assert "  $ echo step one" in report
    assert "  exit code 7" in report
    assert "    it broke" in report
    assert "full log: " in report and "logs/000-run.log" in report


def test_config_errors_exit_2_and_start_nothing(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p",
        """
        version: 2
        jobs:
          build:
            machine: true
            steps:
              - run:
                  comand: echo hi
    """,
    )
    result = run_cli(["run"], project, env={"RUNNER_STATE_DIR": str(tmp_path / "state")})
    assert result.code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "2 config errors:",
        "  .circleci/config.yml:7:11: jobs.build.steps[0].run.comand: unknown key 'comand' "
        "(did you mean 'command'?)",
        "  .circleci/config.yml:7:11: jobs.build.steps[0].run: missing required key 'command'",
    ]
    assert not (tmp_path / "state").exists()


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", SIMPLE)
    result = run_cli(["run", "biuld"], project)
    assert (result.code, result.stderr.strip()) == (
        2,
        "no job named 'biuld'\nhint: did you mean 'build'?",
    )
    result = run_cli(["run", "-e", "1BAD=x"], project)
    assert result.code == 2 and "expected NAME=value with a valid variable name" in result.stderr
    result = run_cli(["run", "--branch", "a", "--tag", "b"], project)
    assert result.code == 2 and "cannot be used together" in result.stderr


def test_missing_config_exits_2(tmp_path: Path) -> None:
    result = run_cli(["run"], tmp_path)
    assert result.code == 2
    assert "no config file at .circleci/config.yml" in result.stderr


def test_config_and_project_dir_options(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", SIMPLE)
    (project / "alt.yml").write_text(SIMPLE.replace("echo hello", "echo alternative"))
    assert "build │ alternative" in run_cli(["run", "-c", "alt.yml"], project).stdout
    assert "build │ hello" in run_cli(["run", "-C", str(project)], tmp_path).stdout
    sub = project / "src" / "deep"
    sub.mkdir(parents=True)
    assert "build │ hello" in run_cli(["run"], sub).stdout  # found from a subdirectory


def test_json_lines(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", SIMPLE)
    result = run_cli(["run", "--json"], project)
    events = [json.loads(line) for line in result.stdout.splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "run_started" and kinds[-2:] == ["run_finished", "summary"]
    output = [e for e in events if e["event"] == "step_output"]
    assert [(e["job"], e["node"], e["text"]) for e in output] == [("build", 0, "hello")]
    finished = next(e for e in events if e["event"] == "step_finished")
    assert finished["outcome"]["status"] == "passed" and finished["outcome"]["exit_code"] == 0
    assert events[-2]["exit_code"] == 0


def test_list_validate_plan(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", SIMPLE)
    listing = run_cli(["list"], project)
    assert listing.stdout.splitlines() == [
        "jobs:",
        "  build  machine, 1 node, 1 step",
        "  other  machine, 2 nodes, 2 steps, deploy steps",
    ]
    valid = run_cli(["validate"], project)
    assert (valid.code, valid.stdout.strip()) == (
        0,
        ".circleci/config.yml: valid (version 2, 2 jobs, 0 workflows)",
    )
    text = run_cli(["plan", "other"], project).stdout.splitlines()
    assert text == [
        "plan for branch main: 1 job(s), 2 node(s)",
        "  other: machine, 2 node(s)",
        "     0. run: echo other",
        "     1. deploy: echo shipped  [runs once, on node 0, after every node passed]",
    ]
    data = json.loads(run_cli(["plan", "--format", "json"], project).stdout)
    assert [j["id"] for j in data["jobs"]] == ["build"]
    assert data["jobs"][0]["steps"][0]["name"] == "Say hello"
    mermaid = run_cli(["plan", "--format", "mermaid", "build", "other"], project).stdout
    assert mermaid.splitlines()[0] == "flowchart LR" and 'n_other["other x2"]' in mermaid
    bad = run_cli(["plan", "--format", "xml"], project)
    assert bad.code == 2


def test_validate_reports_errors_exit_2(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p", SIMPLE.replace("machine: true\n    steps", "machin: true\n    steps", 1)
    )
    result = run_cli(["validate"], project)
    assert result.code == 2
    assert "unknown job key 'machin' (did you mean 'machine'?)" in result.stderr


def test_python_dash_m_runner(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", SIMPLE)
    assert run_cli(["run", "build"], project).code == 0
