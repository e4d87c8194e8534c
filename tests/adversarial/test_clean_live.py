"""Issue 13, defect 4: ``runner clean`` (and ``--all``) beside a live run of the project.

The run is another process, held in the middle of a step; ``runner clean`` and ``runner clean
--all`` run meanwhile. Nothing of the live run may go: its folder, its node's home, tmp and
task data. Once released, the run's next step still finds what the first one wrote, and the
run passes. Liveness comes from a lock the running process holds, so a crashed run (its
process gone) is still cleaned.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from runner.store.state import StateDir
from tests.adversarial.helpers import BUSYBOX_IMAGE, Running, no_traceback, runner, state_dir
from tests.support import make_project

STEPS = """
    steps:
      - run: mkdir -p ~/made && echo kept > ~/made/file && echo ready-for-clean
      - run: until [ -f "$RELEASE" ]; do sleep 0.1; done
      - run: cat ~/made/file && test -x "$CIRCLE_INTERNAL_TASK_DATA/bin/circleci"
"""


def _release_docker(name: str) -> None:
    from tests.executors.docker.helpers import containers

    primary = [c for c in containers(StateDir(state_dir().resolve()).label)
               if c.labels.get("com.runner.role") == "primary"]
    assert primary, "no primary container"
    primary[0].exec_run(["sh", "-c", f"touch {name}"])


@pytest.mark.parametrize("kind", [
    "machine", pytest.param("docker", marks=pytest.mark.docker),
])
def test_clean_leaves_a_live_run_alone(tmp_path: Path, kind: str) -> None:
    executor = "machine: true" if kind == "machine" else f"docker: [{{image: {BUSYBOX_IMAGE}}}]"
    project = make_project(tmp_path / "p", f"version: 2.1\njobs:\n  build:\n    {executor}{STEPS}")
    release = str(tmp_path / "release") if kind == "machine" else "/tmp/release-now"
    run = Running(["run", "-e", f"RELEASE={release}"], project)
    run.wait_for(lambda: run.saw("ready-for-clean"), "the first step")
    node = state_dir() / "runs" / "1" / "jobs" / "build" / "0"
    # the step's output may reach us before its node folder is written (the log is flushed
    # after it is shown): wait for the folder's step log, then take what is there
    run.wait_for((node / "logs").is_dir, "the node's log folder")
    before = sorted(p.name for p in node.iterdir())
    for args in (["clean"], ["clean", "--all"]):
        cleaned = runner(args, project, timeout=120)
        no_traceback(cleaned)
        assert cleaned.code == 0, cleaned.stderr
        assert "left run(s) still in progress alone: 1" in cleaned.stdout, cleaned.stdout
    assert set(before) <= {p.name for p in node.iterdir()}  # clean removed nothing of it
    if kind == "machine":
        assert (node / "home" / "made" / "file").read_text() == "kept\n"
        Path(release).touch()
    else:
        _release_docker(release)
    outcome = run.finish(timeout=120)
    no_traceback(outcome)
    assert outcome.code == 0, (outcome.stderr, outcome.stdout[-2000:])
    assert "kept" in outcome.stdout


def test_clean_removes_a_run_whose_process_died(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", f"version: 2.1\njobs:\n  build:\n    machine: true{STEPS}")
    run = Running(["run", "-e", f"RELEASE={tmp_path / 'never'}"], project)
    run.wait_for(lambda: run.saw("ready-for-clean"), "the first step")
    os.kill(run.proc.pid, signal.SIGKILL)  # no cleanup at all: the lock goes with the process
    run.finish(timeout=60)
    home = state_dir() / "runs" / "1" / "jobs" / "build" / "0" / "home"
    assert home.is_dir()
    cleaned = runner(["clean"], project, timeout=120)
    assert cleaned.code == 0, cleaned.stderr
    assert not home.exists()
    assert "still in progress" not in cleaned.stdout
    cleaned = runner(["clean", "--all"], project, timeout=120)
    assert not (state_dir() / "runs" / "1").exists(), cleaned.stdout
    (tmp_path / "never").touch()  # the killed run's step process is still waiting for it
