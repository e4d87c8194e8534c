"""resource_class as cgroup limits, out-of-memory reported as such, fork bombs contained."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runner.executors.docker.resources import LimitPolicy
from tests.executors.docker.helpers import docker_executor, docker_project, run_with

pytestmark = pytest.mark.docker

CGROUP = """
steps:
  - run: |
      cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us \\
          /sys/fs/cgroup/pids/pids.max
"""
GB = 1024**3
CPUS = os.cpu_count() or 1
UNLIMITED = "9223372036854771712"


@pytest.mark.parametrize(
    ("resource_class", "enabled", "expected", "notice"),
    [
        (None, True, [str(4 * GB), str(min(2, CPUS) * 100000), "4096"], None),  # medium
        ("small", True, [str(2 * GB), "100000", "4096"], None),
        ("large", True, [str(8 * GB), str(min(4, CPUS) * 100000), "4096"],
         f"resource_class large asks for 4 CPUs; the Docker engine has {CPUS}: using {CPUS}"
         if CPUS < 4 else None),
        ("acme/self-hosted", True, [UNLIMITED, "-1", "4096"],
         "resource_class acme/self-hosted has no docker equivalent here: the job runs without "
         "CPU and memory limits"),
        ("xlarge", False, [UNLIMITED, "-1", "4096"], None),  # --no-resource-limits; pids stay
    ],
)
def test_resource_class_limits(
    *,
    tmp_path: Path,
    no_leftovers: str,
    resource_class: str | None,
    enabled: bool,
    expected: list[str],
    notice: str | None,
) -> None:
    body = CGROUP + (f"resource_class: {resource_class}\n" if resource_class else "")
    project = docker_project(tmp_path / "p", body)
    run = run_with(project, {"docker": docker_executor(limits=LimitPolicy(enabled=enabled))})
    assert run.output() == expected
    if notice:
        assert notice in run.notices()


def small(memory_mib: int = 64, pids: int = 4096) -> LimitPolicy:
    """``small`` shrunk, so running out of memory costs a test almost nothing."""
    return LimitPolicy(table={"small": (1.0, memory_mib)}, memory_unit=1024**2, pids=pids)


def test_out_of_memory_is_reported_as_such(tmp_path: Path, no_leftovers: str) -> None:
    project = docker_project(tmp_path / "p", """
        resource_class: small
        steps:
          - run: {name: hog, command: "x=$(head -c 300000000 /dev/zero | tr '\\\\0' x)"}
          - run: {name: killed otherwise, when: always, command: "sh -c 'kill -KILL $$'"}
    """)
    run = run_with(project, {"docker": docker_executor(limits=small())})
    hog = run.step("hog").outcome
    assert (hog.status.value, hog.exit_code, hog.oom_killed) == ("failed", 137, True)
    assert hog.message == "out of memory: the kernel killed the step (exit code 137)"
    other = run.step("killed otherwise").outcome  # 137 without an OOM kill is not OOM
    assert (other.exit_code, other.oom_killed) == (137, False)


def test_a_fork_bomb_stays_inside_its_container(tmp_path: Path, no_leftovers: str) -> None:
    project = docker_project(tmp_path / "p", """
        steps:
          - run: {name: bomb, command: 'for i in $(seq 500); do sleep 60 & done'}
          - run: {name: after, when: always, command: echo the container still works}
    """)
    run = run_with(project, {"docker": docker_executor(limits=small(pids=64))})
    bomb = run.step("bomb")
    assert bomb.outcome.status.value == "failed"
    assert any("can't fork" in line for line in run.output())
    assert run.output()[-1] == "the container still works"
    assert any("and " in n and " more" in n for n in run.notices())  # its leftovers, stopped
