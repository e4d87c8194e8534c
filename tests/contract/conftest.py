"""The contract suite: the same config on every executor, the same observable result.

``target`` is the machine executor, the docker executor on Debian (bash), and the docker
executor on busybox (``sh`` only). A test writes its job once with ``EXECUTOR`` where the
executor goes; ``target.config()`` fills it in.
"""

from __future__ import annotations

import textwrap
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from runner.executors.base import Executor
from tests.docker.helpers import BUSYBOX, DEBIAN, containers, docker_executor, machine_executor


@dataclass(frozen=True)
class Target:
    name: str
    executor_yaml: str  # the executor block, indented for a job's keys
    kind: str
    make: Callable[[], Executor]
    has_bash: bool

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


TARGETS = [
    pytest.param(
        Target("machine", "machine: true", "machine", machine_executor, True), id="machine"
    ),
    pytest.param(
        Target("debian", f"docker:\n  - image: {DEBIAN}", "docker", docker_executor, True),
        id="docker-debian",
        marks=pytest.mark.docker,
    ),
    pytest.param(
        Target("busybox", f"docker:\n  - image: {BUSYBOX}", "docker", docker_executor, False),
        id="docker-busybox",
        marks=pytest.mark.docker,
    ),
]


@pytest.fixture(params=TARGETS)
def target(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Target]:
    """Each test's runs get a state directory of their own name; a docker target must leave
    no container behind, whatever the outcome."""
    name = f"state-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("RUNNER_STATE_DIR", str(tmp_path / name))
    chosen: Target = request.param
    yield chosen
    if chosen.kind == "docker":
        left = containers(name)
        for box in left:
            box.remove(force=True)
        assert not left, f"containers left behind: {[b.name for b in left]}"


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False

