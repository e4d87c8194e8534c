"""The run history: what the recorder writes, `runner history` and `runner logs`, cut-off runs."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from runner.errors import UsageError
from runner.report.history import LogQuery, write_logs
from runner.store.history import HistoryStore
from runner.store.recorder import new_owner, reconcile, release_owner
from runner.store.state import StateDir
from tests.support import make_project, run_cli

CONFIG = """
version: 2
jobs:
  build:
    machine: true
    parallelism: 2
    steps:
      - run: {name: Greet, command: echo "hello from $CIRCLE_NODE_INDEX"}
      - run: {name: Fail on node 1, command: 'echo checking; test $CIRCLE_NODE_INDEX = 0'}
      - run: {name: Never on 1, command: echo after}
  other:
    machine: true
    steps:
      - run: {name: Other, command: echo other}
"""


def store_of(tmp_path: Path) -> HistoryStore:
    return HistoryStore.for_state(tmp_path / "state")  # RUNNER_STATE_DIR of the test


def test_cli_runs_are_recorded_with_jobs_nodes_steps_and_logs(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", CONFIG)
    assert run_cli(["run"], project).code == 1
    assert run_cli(["run", "other"], project).code == 0
    store = store_of(tmp_path)
    first, second = sorted(store.runs(), key=lambda r: r.run)
    assert (first.run, first.status, first.source, first.exit_code) == (1, "failed", "cli", 1)
    assert (second.status, second.branch, len(second.revision)) == ("passed", "main", 40)
    assert first.started_at and first.stopped_at and first.stopped_at >= first.started_at
    (job,) = store.jobs(1)
    assert (job.job, job.build_num, job.status, job.parallelism) == ("build", 1, "failed", 2)
    assert [(n.node, n.status) for n in store.nodes(1, "build")] == [(0, "passed"), (1, "failed")]
    steps = {(s.node, s.idx): s for s in store.steps(1, "build")}
    assert steps[1, 1].status == "failed" and steps[1, 1].exit_code == 1
    assert steps[1, 2].status == "skipped" and steps[1, 2].log_path is None
    assert Path(steps[0, 0].log_path or "").read_text() == "hello from 0\n"
    assert store.jobs(2)[0].build_num == 2


def test_history_table_json_and_logs(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", CONFIG)
    run_cli(["run"], project)
    run_cli(["run", "other"], project)
    table = run_cli(["history"], project)
    assert table.code == 0
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["RUN", "STATUS", "FROM", "REF", "STARTED", "TOOK", "JOBS"]
    assert lines[1].split()[:4] == ["2", "passed", "cli", "main"]
    assert lines[1].endswith("other#2 passed") and lines[2].endswith("build#1 failed")
    data = json.loads(run_cli(["history", "--json", "-n", "1"], project).stdout)
    assert [r["run"] for r in data] == [2] and data[0]["jobs"][0]["name"] == "other"

    everything = run_cli(["logs", "1"], project).stdout
    assert everything.splitlines() == [
        "==> build #1 node 0 step 0: Greet (passed)",
        "hello from 0",
        "==> build #1 node 0 step 1: Fail on node 1 (passed)",
        "checking",
        "==> build #1 node 0 step 2: Never on 1 (passed)",
        "after",
        "==> build #1 node 1 step 0: Greet (passed)",
        "hello from 1",
        "==> build #1 node 1 step 1: Fail on node 1 (failed, exit code 1)",
        "checking",
        "==> build #1 node 1 step 2: Never on 1 (skipped)",
        "skipped: an earlier step failed",
    ]
    one = run_cli(["logs", "1", "build", "--node", "1", "--step", "0"], project)
    assert (one.code, one.stdout) == (0, "hello from 1\n")  # one step: the bare log
    missing = run_cli(["logs", "1", "buidl"], project)
    assert missing.code == 2 and "did you mean 'build'" in missing.stderr

    def logs(**query: object) -> str:  # the same code in-process: quicker than a process each
        out = io.StringIO()
        write_logs(store_of(tmp_path), LogQuery(**query), out)  # type: ignore[arg-type]
        return out.getvalue()

    assert logs(run=2, job="other") == "other\n"
    assert logs(run=1, job="1", node=0, step="2") == "after\n"  # a job by its build number
    with pytest.raises(UsageError, match="no run 7"):
        logs(run=7)
    with pytest.raises(UsageError, match="no step matches"):
        logs(run=1, step="9")


def test_empty_history(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", CONFIG)
    result = run_cli(["history"], project)
    assert (result.code, result.stdout) == (0, "no runs recorded for this project yet\n")
    assert not (tmp_path / "state").exists()  # reading the history creates nothing


def test_runs_of_a_gone_process_are_marked_interrupted(tmp_path: Path) -> None:
    store = store_of(tmp_path)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    live_owner = new_owner()
    dead_owner = new_owner()
    release_owner(dead_owner)
    rows = [
        (1, gone.pid, "x", "running"),
        (2, os.getppid(), "y", "running"),  # another live process (a CLI run, say)
        (3, os.getpid(), live_owner, "queued"),  # this process, owner alive
        (4, os.getpid(), dead_owner, "queued"),  # an earlier server in this process
        (5, gone.pid, "x", "passed"),
    ]
    store.write(
        [("INSERT INTO runs (run, source, status, pid, owner) VALUES (?, 'api', ?, ?, ?)",
          (run, status, pid, owner)) for run, pid, owner, status in rows]
        + [("INSERT INTO jobs (run, job, name, status) VALUES (1, 'build', 'build', 'running')",
            ())]
    )
    assert reconcile(store) == [1, 4]
    assert [r.status for r in sorted(store.runs(), key=lambda r: r.run)] == [
        "interrupted", "running", "queued", "interrupted", "passed",
    ]
    assert store.jobs(1)[0].status == "interrupted"
    release_owner(live_owner)


def test_reserved_numbers_are_the_runs_numbers(tmp_path: Path) -> None:
    state = StateDir(tmp_path / "s")
    assert state.reserve(2) == (1, (1, 2))
    assert state.new_run(1) == (2, [3])
    assert StateDir(state.root, reserved=(1, (1, 2))).new_run(2) == (1, [1, 2])
    assert StateDir(state.root, reserved=(1, (1, 2))).peek_run_number() == 1
    # the plan changed since the trigger: the run keeps its number, its jobs get new ones
    reserved = state.reserve(1)
    assert StateDir(state.root, reserved=reserved).new_run(2) == (reserved[0], [5, 6])
