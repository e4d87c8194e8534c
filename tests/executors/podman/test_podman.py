"""The docker executor on podman (issue 18): nothing left behind, labels, --keep and
`runner clean`, interrupts and resource limits, by the same tests as on Docker."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.executors.docker.helpers import (
    BUSYBOX,
    containers,
    docker_executor,
    docker_project,
    run_with,
)
from tests.executors.docker.test_cleanup import (
    test_a_crashed_run_is_reaped_by_the_next_run,
    test_a_signal_stops_steps_and_removes_every_container,
    test_keep_prints_how_to_enter_and_clean_removes_only_ours,
)
from tests.executors.docker.test_limits import (
    test_a_fork_bomb_stays_inside_its_container,
    test_out_of_memory_is_reported_as_such,
)

pytestmark = pytest.mark.podman

__all__ = [  # collected here too, against podman
    "test_a_crashed_run_is_reaped_by_the_next_run",
    "test_a_fork_bomb_stays_inside_its_container",
    "test_a_signal_stops_steps_and_removes_every_container",
    "test_keep_prints_how_to_enter_and_clean_removes_only_ours",
    "test_out_of_memory_is_reported_as_such",
]


def test_a_job_with_services_leaves_no_container(tmp_path: Path, no_leftovers: str) -> None:
    # Podman refuses to remove a primary whose services share its network namespace while
    # they exist: removing them all at once left every primary behind.
    project = docker_project(tmp_path / "p", "steps:\n  - run: wget -qO- localhost:8080/", images=f"""
        - image: {BUSYBOX}
        - image: {BUSYBOX}
          name: web
          command: [sh, -c, "echo served > /index.html && httpd -f -p 8080 -h /"]
    """)
    run = run_with(project, {"docker": docker_executor()})
    assert run.output()[-1] == "served"
    assert run.notices() == []
    assert containers(no_leftovers) == []


def test_resource_limits_reach_podman(tmp_path: Path, no_leftovers: str) -> None:
    # Podman's containers here do not see their cpu and pids cgroups, so the engine's own
    # record of the limits is read, from a kept container.
    project = docker_project(tmp_path / "p", "resource_class: small\nsteps:\n  - run: 'true'")
    run = run_with(project, {"docker": docker_executor(keep=True)})
    assert run.result is not None and run.result.exit_code == 0
    (box,) = containers(no_leftovers)
    host = box.attrs["HostConfig"]
    box.remove(force=True)  # kept on purpose: removed here, so no_leftovers finds none
    assert (host["Memory"], host["NanoCpus"], host["PidsLimit"]) == (2 * 1024**3, 10**9, 4096)
