"""The executors a suite runs the same config on: the machine executor, and the docker executor
on Debian (bash) and on busybox (``sh`` only). A test writes its job once, with ``EXECUTOR`` where
the executor goes, and ``target.config()`` fills it in. Used by the contract and step suites.
"""

from __future__ import annotations

import textwrap
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from runner.executors.base import Executor
from runner.store.state import StateDir
from tests.executors.docker.helpers import (
    BUSYBOX,
    DEBIAN,
    containers,
    docker_executor,
    machine_executor,
    run_with,
)
from tests.support import Collected, make_project, podman_host


@dataclass(frozen=True)
class Target:
    name: str
    executor_yaml: str  # the executor block, indented for a job's keys
    kind: str
    make: Callable[[], Executor]
    has_bash: bool = True
    host: str | None = None  # DOCKER_HOST for the test, when not the default engine (podman)

    def config(self, text: str) -> str:
        out: list[str] = []
        for line in textwrap.dedent(text).lstrip("\n").splitlines():
            if line.strip() == "EXECUTOR":
                indent = line[: len(line) - len(line.lstrip())]
                out.extend(indent + part for part in self.executor_yaml.splitlines())
            else:
                out.append(line)
        return "\n".join(out) + "\n"

    def executors(self) -> dict[str, Executor]:
        return {self.kind: self.make()}

    def project(self, root: Path, config: str, files: dict[str, str] | None = None) -> Path:
        return make_project(root, self.config(config), files)

    def run(self, project: Path, **fields: object) -> Collected:
        return run_with(project, self.executors(), **fields)


TARGETS = [
    pytest.param(Target("machine", "machine: true", "machine", machine_executor), id="machine"),
    pytest.param(
        Target("debian", f"docker:\n  - image: {DEBIAN}", "docker", docker_executor),
        id="docker-debian",
        marks=pytest.mark.docker,
    ),
    pytest.param(
        Target("busybox", f"docker:\n  - image: {BUSYBOX}", "docker", docker_executor, False),
        id="docker-busybox",
        marks=pytest.mark.docker,
    ),
]


# The contract suite also runs docker every way a foreground step can run (server.py): served
# by the primary's shell as root (above) or as the user through util-linux's `setpriv` (Debian
# as `circleci`), served by one exec as the user (busybox as `circleci`: its setpriv cannot), and
# one `docker exec` per step (RUNNER_DOCKER_SERVE=0). Each keeps the contract.
CONTRACT_TARGETS = [
    *TARGETS,
    pytest.param(
        Target("debian-user", f"docker:\n  - image: {DEBIAN}\n    user: circleci", "docker",
               docker_executor),
        id="docker-debian-user",
        marks=pytest.mark.docker,
    ),
    pytest.param(
        Target("busybox-user", f"docker:\n  - image: {BUSYBOX}\n    user: circleci", "docker",
               docker_executor, False),
        id="docker-busybox-user",
        marks=pytest.mark.docker,
    ),
    pytest.param(
        Target("busybox-exec", f"docker:\n  - image: {BUSYBOX}", "docker",
               lambda: docker_executor(serve=False), False),
        id="docker-busybox-exec",
        marks=pytest.mark.docker,
    ),
]

# The same docker executor against podman's Docker-compatible API (issue 18): served steps,
# cleanup and labels must hold there too. Marked `podman`, not `docker`: they need podman only.
PODMAN_TARGETS = [
    pytest.param(
        Target("podman-debian", f"docker:\n  - image: {DEBIAN}", "docker", docker_executor,
               host=podman_host()),
        id="podman-debian",
        marks=pytest.mark.podman,
    ),
    pytest.param(
        Target("podman-busybox-user", f"docker:\n  - image: {BUSYBOX}\n    user: circleci",
               "docker", docker_executor, False, host=podman_host()),
        id="podman-busybox-user",
        marks=pytest.mark.podman,
    ),
]
CONTRACT_TARGETS += PODMAN_TARGETS


def each_target(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Target]:
    """The body of a ``target`` fixture: a state directory of the test's own, and for docker,
    no container of its runs left behind, whatever the outcome."""
    state = (tmp_path / f"state-{uuid.uuid4().hex[:10]}").resolve()
    monkeypatch.setenv("RUNNER_STATE_DIR", str(state))
    chosen: Target = request.param
    if chosen.host is not None:
        monkeypatch.setenv("DOCKER_HOST", chosen.host)  # the executor and `containers` read it
    yield chosen
    if chosen.kind == "docker":
        left = containers(StateDir(state).label)  # containers carry the label, not the name
        for box in left:
            box.remove(force=True)
        assert not left, f"containers left behind: {[b.name for b in left]}"
