"""Issue 13, defect 2: ``runner run | head -N``, and a node thread that dies.

rich answered a closed stdout with ``SystemExit`` in whichever thread printed; a node thread
ended silently, the engine waited for it for ever, and neither SIGTERM nor Ctrl-C could stop
the run. Now a closed output stops the run as a first Ctrl-C does: steps stopped, containers
removed, history marked, exit 141 (128 + SIGPIPE). Any death of a node thread fails its node.
Real ``runner`` processes and real pipes; hang guards only, no timing asserted.
"""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from runner.events import Event, StepStarted
from runner.store.state import StateDir
from tests.adversarial.helpers import (
    BUSYBOX_IMAGE,
    alive,
    no_traceback,
    read_pids,
    runner,
    start,
    state_dir,
    wait_for,
    watch,
)
from tests.support import Collected, make_project

STEPS = """
    parallelism: 2
    steps:
      - run: echo $$ >> "$PIDS"; for i in $(seq 1 600); do echo line $i; sleep 0.1; done
      - run: echo never
"""
EXECUTORS = [
    pytest.param("machine: true", id="machine"),
    pytest.param(f"docker: [{{image: {BUSYBOX_IMAGE}}}]", id="docker", marks=pytest.mark.docker),
]


def _project(root: Path, executor: str) -> Path:
    return make_project(root, f"version: 2.1\njobs:\n  build:\n    {executor}{STEPS}")


def _run_and_close(project: Path, lines: int, pids: str, sig: signal.Signals | None) -> int:
    proc = start(["run", "-e", f"PIDS={pids}"], project, env={"RUNNER_STOP_GRACE": "0.5,0.5"})
    assert proc.stdout is not None
    for _ in range(lines):
        assert proc.stdout.readline(), "runner ended before printing enough lines"
    proc.stdout.close()  # what `head -N` does once it has its lines
    proc.stdout = None
    if sig is not None:
        proc.send_signal(sig)
    outcome = watch(proc, timeout=120)  # the hang guard: before the fix, this never ended
    no_traceback(outcome)
    return outcome.code


def _history(project: Path) -> list[dict[str, object]]:
    listed = runner(["history", "--json"], project, timeout=60)
    assert listed.code == 0, listed.stderr
    data = json.loads(listed.stdout)
    return data if isinstance(data, list) else list(data["runs"])


@pytest.mark.parametrize("executor", EXECUTORS)
@pytest.mark.parametrize("lines", [1, 2, 3, 7])
def test_a_closed_output_ends_the_run_cleanly(tmp_path: Path, executor: str, lines: int) -> None:
    project = _project(tmp_path / "p", executor)
    pids = str(tmp_path / "pids") if executor.startswith("machine") else "/tmp/pids"
    assert _run_and_close(project, lines, pids, None) == 141
    runs = _history(project)
    assert [r["status"] for r in runs] == ["cancelled"], runs
    if executor.startswith("machine"):
        assert not any(alive(pid) for pid in read_pids(Path(pids)))
    else:
        from tests.executors.docker.helpers import containers

        assert containers(StateDir(state_dir().resolve()).label) == []


@pytest.mark.parametrize("executor", EXECUTORS)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_a_signal_after_the_output_closed_still_ends_the_run(
    tmp_path: Path, sig: signal.Signals, executor: str
) -> None:
    project = _project(tmp_path / "p", executor)
    pids = str(tmp_path / "pids") if executor.startswith("machine") else "/tmp/pids"
    assert _run_and_close(project, 7, pids, sig) in (130, 141)
    if executor.startswith("machine"):
        assert not any(alive(pid) for pid in read_pids(Path(pids)))
    else:
        from tests.executors.docker.helpers import containers

        assert containers(StateDir(state_dir().resolve()).label) == []


class _Dies:
    """A subscriber that ends the thread that emits the first step: what rich's SystemExit did."""

    def __call__(self, event: Event) -> None:
        if isinstance(event, StepStarted):
            raise SystemExit(1)


def test_a_node_thread_that_dies_fails_its_node_and_the_run_ends(tmp_path: Path) -> None:
    from runner import runflow

    project = _project(tmp_path / "p", "machine: true")
    collected = Collected()
    request = runflow.RunRequest(
        project=runflow.ProjectRequest(project_dir=project), env=(f"PIDS={tmp_path / 'pids'}",)
    )

    def go() -> None:
        collected.result = runflow.run(request, subscribers=[collected, _Dies()], cwd=project)

    worker = threading.Thread(target=go, daemon=True)
    worker.start()
    worker.join(60)  # hang guard
    assert not worker.is_alive(), "the engine waited for a dead node thread"
    assert collected.result is not None
    assert collected.job_status("build") == "failed"
    assert int(collected.result.exit_code) == 1
    wait_for(lambda: not any(alive(p) for p in read_pids(tmp_path / "pids")), timeout=30)


def test_subprocess_pipe_is_what_head_sees(tmp_path: Path) -> None:
    """The shell pipeline itself, as the issue's users typed it."""
    project = _project(tmp_path / "p", "machine: true")
    done = subprocess.run(
        ["bash", "-c", f"{shlex.quote(sys.executable)} -m runner run -e PIDS={tmp_path / 'pids'}"
         " | head -2; "
         "echo \"${PIPESTATUS[0]}\""],
        cwd=project, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.stdout.splitlines()[-1] == "141", done
