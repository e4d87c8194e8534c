"""Foreground steps served by the primary's own shell (no ``docker exec``), and when they are not.

The serving shell is runner's keep-alive (scripts.SERVE); the end of a step's output
is a marker on each stream (server.py). These tests count the engine's exec calls through a
proxy, and check that what a step prints and how it ends arrive exactly as by exec.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from runner.executors.docker import DockerExecutor
from runner.executors.docker.server import RS, US, Channel, Served, StepServer, _Stream
from runner.executors.docker.session import served_command
from tests.adversarial.engine_proxy import EngineProxy
from tests.executors.docker.helpers import (
    BUSYBOX,
    DEBIAN,
    Run,
    docker_executor,
    docker_project,
    run_with,
)

EXEC_CREATE = r"/containers/[0-9a-f]+/exec$"


def run(project: Path, **fields: object) -> Run:
    return run_with(project, {"docker": docker_executor(**fields)})


# ---------------------------------------------------------------- the marker, unit


def test_a_marker_split_anywhere_between_frames_is_found() -> None:
    token = b"0123456789abcdef"
    text = b"out\x1epartial" + RS + token + b" 3 halt" + US + b"pid 7: x" + US + b"\nlater"
    for size in range(1, len(text) + 1):
        stream, out, rest = _Stream(token), b"", None
        for at in range(0, len(text), size):
            got, found = stream.feed(text[at : at + size])
            out += got
            rest = found if found is not None else rest
            if found is not None:
                break
        assert out == b"out\x1epartial", size  # a lone RS is output like any other byte
        assert rest == b" 3 halt" + US + b"pid 7: x" + US, size


def test_output_that_only_looks_like_a_marker_passes() -> None:
    stream = _Stream(b"tok")
    out, rest = stream.feed(b"a" + RS + b"to")
    assert (out, rest) == (b"a", None)  # held back: it may become the marker
    out, rest = stream.feed(b"day\n")
    assert (out, rest) == (RS + b"today\n", None)


class _Pipe:
    """An attach connection over a socket pair: the test plays the engine."""

    def __init__(self) -> None:
        import socket

        self.ours, self.theirs = socket.socketpair()

    def frame(self, stream: int, data: bytes) -> None:
        self.theirs.sendall(bytes([stream, 0, 0, 0]) + len(data).to_bytes(4, "big") + data)

    def recv(self, size: int) -> bytes:
        return self.ours.recv(size)

    def sendall(self, data: bytes) -> None:
        self.ours.sendall(data)

    def close(self) -> None:
        self.ours.close()


def _collect(channel: Channel) -> tuple[bytes, Served]:
    return b"".join(channel.chunks()), channel.result(timeout=10)


def test_a_step_ends_only_when_both_streams_carried_their_marker() -> None:
    pipe = _Pipe()
    server = StepServer(pipe, "tok")
    assert server.claim()
    assert not server.claim()  # one step at a time: a second one would use an exec
    channel = server.submit("true")
    assert pipe.theirs.recv(100) == b"true\ntok\n"
    pipe.frame(1, b"hello\n" + RS + b"tok 4 oom" + US + b"\n")
    pipe.frame(2, b"late stderr\n")  # the engine copies the streams independently
    pipe.frame(2, RS + b"tok\n")
    out, served = _collect(channel)
    assert out == b"hello\nlate stderr\n"
    assert served == Served(status=4, note="oom\n")
    server.release()
    assert server.claim()
    server.release()
    server.close()


def test_a_connection_that_ends_mid_step_breaks_the_server() -> None:
    pipe = _Pipe()
    server = StepServer(pipe, "tok")
    assert server.claim()
    channel = server.submit("sleep 60")
    pipe.frame(1, b"started\n")
    pipe.theirs.close()
    out, served = _collect(channel)
    assert out == b"started\n"
    assert served.broken and served.status is None
    server.release()
    assert not server.claim()  # later steps fall back to an exec (and find the node gone)


def test_commands_that_cannot_be_said_safely_are_not_served() -> None:
    words = ["/tmp/.runner/steps/1", "tag", "5", "/root/project", "/bin/sh", "-eo", "pipefail"]
    command = served_command(words, {"A": "it's\nmultiline"}, "tok123")
    assert command is not None
    assert "'A=it'\\''s\nmultiline'" in command
    assert served_command(words, {"A": "x\ntok123\ny"}, "tok123") is None  # the end token
    assert served_command(words, {"-x": "1"}, "tok123") is None  # `env` would take an option


# ---------------------------------------------------------------- in containers


@pytest.mark.docker
@pytest.mark.parametrize(
    ("image", "user", "serve", "execs"),
    [
        (BUSYBOX, "", True, 0),  # the keep-alive serves: it runs as root
        (BUSYBOX, "root", True, 0),
        (DEBIAN, "nobody", True, 0),  # the keep-alive becomes the user with setpriv
        (BUSYBOX, "circleci", True, 1),  # busybox's setpriv cannot: one exec serves the steps
        (BUSYBOX, "root:circleci", True, 1),  # another group than the user's own
        (DEBIAN, "nobody:nogroup", True, 1),
        (BUSYBOX, "", False, 3),  # RUNNER_DOCKER_SERVE=0: every step is an exec
        (DEBIAN, "nobody", False, 3),
    ],
)
def test_which_steps_need_an_exec(
    tmp_path: Path, no_leftovers: str, *, image: str, user: str, serve: bool, execs: int
) -> None:
    proxy = EngineProxy().start()
    counted = proxy.hold("POST", EXEC_CREATE, seconds=0, times=1000)
    user_line = f"\n  user: {user}" if user else ""
    project = docker_project(tmp_path / "p", """
        steps:
          - run: id -u; id -g
          - run: echo two
          - run: {name: three, command: "echo three; exit 3"}
    """, images=f"- image: {image}{user_line}")
    environ = {**os.environ, "DOCKER_HOST": proxy.url, "RUNNER_DOCKER_SERVE": "1" if serve else "0"}
    executor = DockerExecutor.from_options(environ=environ)
    try:
        result = run_with(project, {"docker": executor})
    finally:
        proxy.stop()
    uid = {"circleci": "1000", "nobody": "65534", "nobody:nogroup": "65534"}.get(user, "0")
    gid = {"circleci": "1000", "root:circleci": "1000"}.get(user, "65534" if "nobody" in user else "0")
    assert result.output() == [uid, gid, "two", "three"]
    assert result.step("three").outcome.exit_code == 3
    assert len(counted.seen) == execs, counted.seen


@pytest.mark.docker
def test_a_background_step_runs_by_exec_beside_served_steps(
    tmp_path: Path, no_leftovers: str
) -> None:
    # The foreground step holds the serving shell until the background one has written twice.
    project = docker_project(tmp_path / "p", """
        steps:
          - run:
              background: true
              command: echo first > /tmp/bg; sleep 0.2; echo second >> /tmp/bg; echo bg done
          - run: |
              i=0
              until [ "$(grep -c . /tmp/bg 2>/dev/null)" = 2 ]; do
                i=$((i+1)); [ $i -lt 200 ] || exit 9; sleep 0.05
              done
              echo saw both
          - run: echo after
    """)
    result = run(project)
    assert result.job_status("build") == "passed"
    assert sorted(result.output()) == ["after", "bg done", "saw both"]


@pytest.mark.docker
@pytest.mark.parametrize("image", [BUSYBOX, DEBIAN])
def test_served_output_arrives_whole_and_in_order(tmp_path: Path, no_leftovers: str, image: str) -> None:
    project = docker_project(tmp_path / "p", r"""
        steps:
          - run: |
              i=0
              while [ $i -lt 20000 ]; do echo "line $i"; i=$((i+1)); done
              printf 'record\036separator\037and no newline'
          - run: printf 'err\n' >&2; printf 'out\n'
    """, image)
    result = run(project)
    lines = result.output()
    expected = [f"line {i}" for i in range(20000)]
    assert lines[:20000] == expected
    # the framing bytes did not end the frame: all the text arrived, and the sink then removed
    # the two control characters, as it does every C0 control but tab and newline (issue 14)
    assert lines[20000] == "recordseparatorand no newline"
    assert sorted(lines[20001:]) == ["err", "out"]
    digest = hashlib.sha256("\n".join(lines[:20000]).encode()).hexdigest()
    assert digest == hashlib.sha256("\n".join(expected).encode()).hexdigest()


@pytest.mark.docker
def test_a_step_that_kills_the_serving_shell_loses_the_node(
    tmp_path: Path, no_leftovers: str
) -> None:
    project = docker_project(tmp_path / "p", """
        steps:
          - run: echo before; kill -9 "$(cat /tmp/.runner/init.pid)"; sleep 30
          - run: {name: later, command: echo never, when: always}
    """)
    result = run(project)
    first = result.steps()[0]
    assert first.outcome.message == "the container stopped during the step", first.outcome
    assert "never" not in result.output()
    assert result.job_status("build") == "failed"


def test_an_abandoned_step_ends_its_output_and_drops_the_rest() -> None:
    # A killed step whose stream stays open is given up after a while (process._GIVE_UP): its
    # reader must end, and what still comes must not block the connection for later steps.
    import threading

    pipe = _Pipe()
    server = StepServer(pipe, "tok")
    assert server.claim()
    channel = server.submit("sleep 600")
    chunks = channel.chunks()
    pipe.frame(1, b"first\n")
    assert next(chunks) == b"first\n"
    channel.abandon()
    rest: list[bytes] = []
    reader = threading.Thread(target=lambda: rest.extend(chunks), daemon=True)
    reader.start()
    reader.join(5)
    assert not reader.is_alive() and rest == []
    for _ in range(100):  # far more than the queue holds: dropped, never waited for
        pipe.frame(1, b"x" * 1000)
    pipe.frame(1, RS + b"tok 137 \n")
    pipe.frame(2, RS + b"tok\n")
    assert channel.result(timeout=10) == Served(status=137, note="")
    server.release()
    server.close()
