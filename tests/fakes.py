"""A fake executor: scripted results, no processes. Proves the Executor/Session protocol is
enough for the engine, and lets scheduling be tested without shells or containers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from runner.config.model import Job
from runner.executors.base import ExecRequest, ExecResult, NodeSpec, OutputSink


@dataclass
class FakeProcess:
    result: ExecResult
    delay: float
    cancel: threading.Event
    done_flag: threading.Event = field(default_factory=threading.Event)

    def wait(self) -> ExecResult:
        if self.cancel.wait(self.delay):
            self.done_flag.set()
            return ExecResult(exit_code=None, signal=2, interrupted=True)
        self.done_flag.set()
        return self.result

    def stop(self) -> None:
        self.cancel.set()

    @property
    def done(self) -> bool:
        return self.done_flag.is_set()


@dataclass
class FakeSession:
    spec: NodeSpec
    script: Callable[[NodeSpec, ExecRequest], tuple[int, float, str]]
    log: list[tuple[str, int, str, Mapping[str, str]]]
    cancel: threading.Event = field(default_factory=threading.Event)
    closed: bool = False

    @property
    def home(self) -> str:
        return "/fake/home"

    @property
    def has_bash(self) -> bool:
        return True

    @property
    def bash_env(self) -> str:
        return "/fake/bash_env"

    @property
    def task_data(self) -> str:
        return "/fake/task"

    def base_env(self) -> Mapping[str, str]:
        return {"PATH": "/bin"}

    def resolve(self, path: str, base: str | None = None) -> str:
        if path.startswith("~"):
            return self.home + path[1:]
        return (
            path
            if path.startswith("/")
            else f"{base or self.resolve(self.spec.job.working_directory)}/{path}"
        )

    def start(self, request: ExecRequest, sink: OutputSink) -> FakeProcess:
        code, delay, output = self.script(self.spec, request)
        self.log.append(
            (self.spec.job_id, self.spec.node_index, request.script.strip(), request.env)
        )
        if output:
            sink.write(output.encode())
        return FakeProcess(ExecResult(exit_code=code, duration=delay), delay, self.cancel)

    def interrupt(self) -> None:
        self.cancel.set()

    def kill_now(self) -> None:
        self.cancel.set()

    def put_files(self, dest: str, root: Path, names: list[str]) -> None:
        self.log.append((self.spec.job_id, self.spec.node_index, f"put {len(names)} files", {}))

    def put_archive(self, dest: str, data: IO[bytes]) -> None:
        data.read()  # every node gets the in-job helper (runner/steps/tools.py): accept it

    def get_archive(self, path: str) -> Iterator[bytes]:
        raise NotImplementedError

    def exists(self, path: str) -> bool:
        return False

    def halted(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True


@dataclass
class FakeExecutor:
    """Runs every step 'successfully' unless ``script`` says otherwise: (exit code, seconds, output)."""

    script: Callable[[NodeSpec, ExecRequest], tuple[int, float, str]] = lambda _s, _r: (0, 0.0, "")
    kind: str = "machine"
    log: list[tuple[str, int, str, Mapping[str, str]]] = field(default_factory=list)
    sessions: list[FakeSession] = field(default_factory=list)
    prepared: list[list[Job]] = field(default_factory=list)
    opened_at: dict[tuple[str, int], float] = field(default_factory=dict)

    def prepare(self, jobs: list[Job], notice: Callable[[str], None]) -> None:
        self.prepared.append(jobs)

    def open(self, spec: NodeSpec, notice: Callable[[str], None]) -> FakeSession:
        self.opened_at[(spec.job_id, spec.node_index)] = time.monotonic()
        session = FakeSession(spec, self.script, self.log)
        self.sessions.append(session)
        return session

    def shutdown(self) -> None:
        return None
