"""Nothing left behind: interrupts, crashes, --keep, `runner clean`, and reaping dead runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.executors.docker.helpers import BUSYBOX, DEBIAN, containers, docker_project
from tests.support import run_cli

pytestmark = pytest.mark.docker

LONG = """
parallelism: 2
steps:
  - run: |
      trap 'echo "node $CIRCLE_NODE_INDEX got INT"; exit 1' INT
      echo "node $CIRCLE_NODE_INDEX started"
      while :; do sleep 0.1; done
  - run: {name: after, when: always, command: echo never}
"""


def start_run(project: Path, *args: str) -> tuple[subprocess.Popen[str], Iterator[str]]:
    """``runner run`` as a process, and its output lines as they come."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "runner", "run", *args],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "NO_COLOR": "1", "RUNNER_STOP_GRACE": "1,1"},
    )
    assert proc.stdout is not None
    return proc, iter(proc.stdout)


def wait_for_lines(lines: Iterator[str], *needles: str) -> list[str]:
    seen: list[str] = []
    waiting = set(needles)
    for line in lines:
        seen.append(line)
        waiting = {n for n in waiting if n not in line}
        if not waiting:
            return seen
    raise AssertionError("the run ended before printing " + ", ".join(waiting) + "".join(seen))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_stops_steps_and_removes_every_container(
    tmp_path: Path, no_leftovers: str, sig: signal.Signals
) -> None:
    proc, lines = start_run(docker_project(tmp_path / "p", LONG, image=DEBIAN))
    wait_for_lines(lines, "node 0 started", "node 1 started")
    assert len(containers(no_leftovers)) == 2
    proc.send_signal(sig)
    rest = "".join(lines)
    assert proc.wait(timeout=30) == 130
    assert "node 0 got INT" in rest and "node 1 got INT" in rest
    assert "never" not in rest
    # the no_leftovers fixture asserts that no container of the run remains


def test_a_crashed_run_is_reaped_by_the_next_run(tmp_path: Path, no_leftovers: str) -> None:
    project = docker_project(tmp_path / "p", LONG)
    config = project / ".circleci" / "config.yml"
    config.write_text(
        config.read_text()
        + f"  quick:\n    docker:\n      - image: {BUSYBOX}\n    steps:\n      - run: echo quick\n"
    )
    proc, lines = start_run(project, "build")
    wait_for_lines(lines, "node 0 started", "node 1 started")
    proc.kill()  # SIGKILL: no cleanup can run
    proc.wait()
    assert len(containers(no_leftovers)) == 2
    result = run_cli(["run", "quick"], project)
    assert result.code == 0, result.stdout + result.stderr
    # Every run on this host reaps dead runs' containers: a concurrent one (another test
    # worker) may have come first, and a removal already under way is waited for. Either
    # way, none is left once this run ends (the message is checked in test_units).
    assert containers(no_leftovers) == []


def test_keep_prints_how_to_enter_and_clean_removes_only_ours(
    tmp_path: Path, no_leftovers: str
) -> None:
    project = docker_project(tmp_path / "p", "steps:\n  - run: echo kept", images=f"""
        - image: {DEBIAN}
        - image: {BUSYBOX}
          name: cache
          command: [sleep, "600"]
    """)
    result = run_cli(["run", "--keep"], project)
    assert result.code == 0, result.stderr
    kept = containers(no_leftovers)
    names = {box.name: box.labels["com.runner.role"] for box in kept}
    assert sorted(names.values()) == ["primary", "service:cache"]
    for name, role in names.items():
        hint = (
            f"docker exec -it -u 0 -w /root/project -e HOME=/root {name} bash\n"
            if role == "primary" else f"docker exec -it {name} sh\n"
        )
        assert f" container: {hint}" in result.stdout
    import docker

    client = docker.from_env()
    strangers = [
        client.containers.create(BUSYBOX, ["true"], labels={"com.runner.state": "someone-else"}),
        client.containers.create(BUSYBOX, ["true"]),
    ]
    try:
        cleaned = run_cli(["clean"], project)
        assert cleaned.code == 0
        assert "removed 2 container(s) left by earlier runs" in cleaned.stdout
        assert containers(no_leftovers) == []
        for box in strangers:
            box.reload()  # still there: raises NotFound otherwise
    finally:
        for box in strangers:
            box.remove(force=True)
        client.close()
