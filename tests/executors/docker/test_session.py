"""The docker Session used directly: files in and out, interrupts, close twice."""

from __future__ import annotations

import io
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.config import model as m
from runner.executors.base import ExecRequest, NodeSpec
from runner.output import Masker, StepSink
from tests.executors.docker.helpers import BUSYBOX, containers, docker_executor

pytestmark = pytest.mark.docker


@pytest.fixture
def session(tmp_path: Path, state_name: str) -> Iterator[object]:
    image = m.DockerImage(image=BUSYBOX, user="circleci")
    job = m.Job(name="j", executor=m.DockerExecutor(images=(image,)), steps=())
    spec = NodeSpec(
        job=job, job_id="j", node_index=0, node_total=1, run_id="1", node_dir=tmp_path / "n",
        labels={"com.runner.run": f"{state_name}.1"},
    )
    executor = docker_executor()
    executor.prepare([job], lambda _t: None)
    opened = executor.open(spec, lambda _t: None)
    yield opened
    opened.close()
    executor.shutdown()
    assert containers(state_name) == []


def request(script: str, cwd: str = "/home/circleci/project") -> ExecRequest:
    return ExecRequest(script=script, shell=("/bin/sh", "-eo", "pipefail"), cwd=cwd,
                       env={"PATH": "/bin"}, tag="1.j.0-0")


def sink(lines: list[str], seen: threading.Event | None = None) -> StepSink:
    def emit(text: str, _partial: bool) -> None:
        lines.append(text)
        if seen is not None:
            seen.set()

    return StepSink(emit, Masker())


def test_archives_in_and_out_and_exists(session) -> None:  # type: ignore[no-untyped-def]
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as archive:
        info = tarfile.TarInfo("dir/file.txt")
        info.size = 5
        archive.addfile(info, io.BytesIO(b"hello"))
    data.seek(0)
    session.put_archive("/home/circleci/restored", data)
    assert session.exists("/home/circleci/restored/dir/file.txt")
    assert not session.exists("/home/circleci/restored/nothing")
    lines: list[str] = []
    result = session.start(request("stat -c '%U' dir/file.txt", "/home/circleci/restored"),
                           sink(lines)).wait()
    assert result.ok and lines == ["circleci"]  # owned by the job's user
    out = b"".join(session.get_archive("/home/circleci/restored/dir"))
    with tarfile.open(fileobj=io.BytesIO(out)) as archive:
        member = archive.extractfile("dir/file.txt")
        assert member is not None and member.read() == b"hello"
    with pytest.raises(FileNotFoundError):
        session.get_archive("/no/such/path")


def test_interrupted_session_never_starts_a_step(session) -> None:  # type: ignore[no-untyped-def]
    session.interrupt()
    lines: list[str] = []
    result = session.start(request("echo should not run"), sink(lines)).wait()
    assert result.interrupted and lines == []


def test_kill_now_ends_a_running_step_at_once(session) -> None:  # type: ignore[no-untyped-def]
    lines: list[str] = []
    up = threading.Event()
    script = "trap '' INT TERM; echo up; while :; do sleep 1; done"
    process = session.start(request(script), sink(lines, up))
    assert up.wait(30)  # the step's first line is the event to act on
    session.kill_now()
    result = process.wait()
    assert result.interrupted and not result.ok
    session.close()
    session.close()  # twice is fine
