"""Failure reports: the exit explained, last lines, the full log and how to read it again, test
failures; the same in ``--json``; and every step's full log through ``runner logs``."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from runner.events import (
    FailedTest,
    RunFinished,
    RunStarted,
    Status,
    StepFinished,
    StepOutcome,
    StepStarted,
)
from runner.events import TestResultsStored as ResultsStored  # not collected as a test class
from runner.explain import explain_exit
from runner.report.summary import RunSummary
from tests.debug.support import config, node_dir, summary
from tests.support import make_project, run_cli, run_in_process


def one_step(command: str, extra: str = "") -> str:
    return config("machine", f"    steps:\n      - run:\n          name: the step\n"
                             f"          command: {command!r}\n{extra}")


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("no-such-tool-xyz", "exit code 127: command not found: no-such-tool-xyz (PATH was /"),
        ("sh -c 'kill -TERM $$'", "exit code 143: terminated (SIGTERM)"),
        ("sh -c 'kill -INT $$'", "exit code 130: interrupted (SIGINT)"),
        ("sh -c 'kill -KILL $$'", "exit code 137: killed (SIGKILL)"),
    ],
)
def test_exit_codes_are_explained(tmp_path: Path, command: str, expected: str) -> None:
    project = make_project(tmp_path / "p", one_step(command))
    outcome = run_in_process(project).step("the step").outcome
    assert outcome.status is Status.FAILED
    assert outcome.message.startswith(expected)


def test_command_not_found_names_the_command_for_each_shell() -> None:
    for line in (
        "/scripts/x.sh: line 2: frob: command not found",  # bash
        "/scripts/x.sh: 2: frob: not found",  # dash
        "/opt/steps/1.sh: line 1: frob: not found",  # busybox ash
        "zsh: command not found: frob",
    ):
        text = explain_exit(127, None, path="/usr/bin:/bin", tail=["noise", line])
        assert text == "exit code 127: command not found: frob (PATH was /usr/bin:/bin)", line
    assert explain_exit(127, None) == "exit code 127: command not found"
    assert explain_exit(137, None, oom=True).startswith("out of memory")


def test_a_timeout_names_its_limit_in_text_and_json(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p", one_step("echo started; sleep 20", "          no_output_timeout: 1s\n")
    )
    done = run_cli(["run", "--json"], project, env={"RUNNER_STOP_GRACE": "0.5,0.5"})
    assert done.code == 1
    failure = summary(done.stdout)["failures"][0]
    assert failure["status"] == "timed_out"
    assert failure["explanation"] == "Too long with no output (exceeded 1s)"
    assert failure["timed_out"] is True and failure["timeout"] == 1.0


FAILING = config("machine", """\
    steps:
      - run: {name: passes, command: echo fine}
      - run:
          name: breaks
          command: |
            for i in $(seq 1 3000); do echo "line $i"; done
            missing-tool-xyz
""")


def test_json_summary_carries_the_failure_report(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", FAILING)
    done = run_cli(["run", "--json"], project)
    assert done.code == 1
    failures = summary(done.stdout)["failures"]
    assert len(failures) == 1
    f = failures[0]
    assert (f["job"], f["step"], f["name"], f["exit_code"]) == ("build", 1, "breaks", 127)
    assert f["command"].endswith("missing-tool-xyz\n")
    assert f["explanation"] == f["message"]
    assert f["message"].startswith("exit code 127: command not found: missing-tool-xyz (PATH")
    assert f["tail"][-2] == "line 3000" and "missing-tool-xyz" in f["tail"][-1]
    assert f["log_path"] == str(node_dir(1) / "logs" / "001-run.log")
    assert f["logs_command"] == "runner logs 1 build --step 1"
    assert f["test_failures"] == []


def test_console_report_and_runner_logs_give_the_full_log(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", FAILING)
    done = run_cli(["run"], project)
    out = done.stdout
    report = out[out.index("FAILED build: breaks"):]
    assert "  $ missing-tool-xyz" in report
    assert "exit code 127: command not found: missing-tool-xyz (PATH was" in report
    assert "    line 3000" in report and "line 2990" not in report  # the last lines only
    assert f"full log: {node_dir(1) / 'logs' / '001-run.log'}" in report
    assert "read it again: runner logs 1 build --step 1" in report
    logs = run_cli(["logs", "1", "build", "--step", "1"], project)
    assert logs.code == 0, logs.stderr
    lines = logs.stdout.splitlines()
    assert lines[0] == "line 1" and "line 3000" in lines  # every line, not the tail
    assert "missing-tool-xyz: command not found" in lines[-1]
    passed = run_cli(["logs", "1", "build", "--step", "0"], project)
    assert passed.stdout == "fine\n"  # the passing step's log is kept too


def _events(outcome: StepOutcome, *, parallel: bool = False) -> RunSummary:
    from runner.events import JobStarted

    s = RunSummary()
    s.add(RunStarted(run_id="7", project="p", jobs=("build",), state_dir="/s"))
    s.add(JobStarted(job="build", executor="docker", nodes=(0, 1) if parallel else (0,),
                     parallelism=2 if parallel else 1, build_num=1))
    s.add(StepStarted(job="build", node=1 if parallel else 0, index=3, name="tests",
                      kind="run", command="make test"))
    s.add(StepFinished(job="build", node=1 if parallel else 0, index=3, name="tests",
                       kind="run", outcome=outcome, tail=("Killed",), log_path="/s/log"))
    s.add(ResultsStored(
        job="build", node=1 if parallel else 0, path="results", tests=3, failures=1, errors=0,
        skipped=0, duration=1.0,
        failed=(FailedTest(name="test_x", classname="pkg.T", file="t.py", result="failure",
                           message="assert 1 == 2\nmore"),),
    ))
    return s


def test_summary_explains_out_of_memory_and_lists_the_nodes_failed_tests() -> None:
    outcome = StepOutcome(status=Status.FAILED, exit_code=137, oom_killed=True)
    s = _events(outcome, parallel=True)
    buffer = io.StringIO()
    s.render(Console(file=buffer, width=200, no_color=True),
             RunFinished(run_id="7", status=Status.FAILED, duration=1.0, exit_code=1))
    text = buffer.getvalue()
    assert "out of memory: the kernel killed the step (exit code 137)" in text
    assert "read it again: runner logs 7 build --node 1 --step 3" in text
    assert "failed tests of this node (1):" in text
    assert "    pkg.T.test_x: assert 1 == 2" in text
    f = s.as_dict()["failures"][0]
    assert f["oom_killed"] is True
    assert f["explanation"].startswith("out of memory")
    assert f["test_failures"] == [
        {"name": "test_x", "classname": "pkg.T", "file": "t.py", "message": "assert 1 == 2\nmore"}
    ]


def test_stored_test_results_appear_in_a_real_failure_report(tmp_path: Path) -> None:
    junit = (
        '<testsuite name="s" tests="2" failures="1">'
        '<testcase classname="app.Tests" name="test_ok"/>'
        '<testcase classname="app.Tests" name="test_broken">'
        '<failure message="expected 2, got 3">trace</failure></testcase></testsuite>'
    )
    project = make_project(tmp_path / "p", config("machine", """\
    steps:
      - checkout
      - run: {name: tests, command: mkdir -p results && cp junit.xml results/ && exit 1}
      - store_test_results: {path: results}
"""), files={"junit.xml": junit})
    done = run_cli(["run", "--json"], project)
    if '"event": "test_results"' not in done.stdout:
        pytest.skip("store_test_results does not report its results yet (issue 5)")
    failure = summary(done.stdout)["failures"][0]
    names = [t["name"] for t in failure["test_failures"]]
    assert names == ["test_broken"]
