"""The executor protocol both backends implement, and the records that cross it.

A frozen :class:`ExecRequest` goes in, a live :class:`Process` comes back (so background
steps and interrupts work the same way), and a frozen :class:`ExecResult` comes out.
Everything else a step needs from a node (paths, files in and out) is a :class:`Session`
method, so step kinds are written once for both executors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Protocol

from msgspec import Struct, field

from runner.config.model import Job
from runner.errors import UsageError


class KillPolicy(Struct, frozen=True, kw_only=True):
    """Grace periods of the phased stop: INT, then TERM, then KILL [reliability.md point 2]."""

    interrupt_grace: float = 2.0
    terminate_grace: float = 5.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> KillPolicy:
        """``RUNNER_STOP_GRACE=INT,TERM``: seconds a step gets after SIGINT, then after SIGTERM
        (one number: both). Every backend reads it here, so all stop alike."""
        text = environ.get("RUNNER_STOP_GRACE", "")
        if not text:
            return cls()
        try:
            first, _, second = text.partition(",")
            return cls(interrupt_grace=float(first), terminate_grace=float(second or first))
        except ValueError:
            raise UsageError(
                f"RUNNER_STOP_GRACE takes seconds like '2,5', got {text!r}"
            ) from None


class ExecRequest(Struct, frozen=True, kw_only=True):
    script: str  # the step's command text
    shell: tuple[str, ...]  # argv before the script file, e.g. ("/bin/bash", "-eo", "pipefail")
    cwd: str  # absolute, in the node's filesystem
    env: Mapping[str, str]  # the step's complete environment
    no_output_timeout: float | None = None  # seconds of silence before the step is stopped
    tag: str = ""  # marks every process of this step so leftovers can be found
    background: bool = False  # runs while later steps do (`background: true`)


class ExecResult(Struct, frozen=True, kw_only=True):
    exit_code: int | None = None  # None when killed by a signal or never started
    signal: int | None = None
    timed_out: bool = False
    oom_killed: bool = False
    interrupted: bool = False
    duration: float = 0.0
    error: str | None = None  # could not start at all: the reason
    lost: bool = False  # with error: the node itself went away (engine stopped, container gone)
    leftovers: tuple[str, ...] = ()  # processes the step left running, stopped at its end

    @property
    def ok(self) -> bool:
        return (
            self.exit_code == 0
            and not self.timed_out
            and not self.interrupted
            and self.error is None
        )


class OutputSink(Protocol):
    """Receives a step's raw output as it comes; splits lines, masks, logs and reports."""

    def write(self, data: bytes) -> None: ...

    def idle(self) -> None:
        """Called when no output came for a while: flush a partial line."""


class Process(Protocol):
    """A running step."""

    def wait(self) -> ExecResult: ...

    def stop(self) -> None:
        """Interrupt, then terminate, then kill: used for background steps at the job's end."""

    @property
    def done(self) -> bool: ...


class TaskFile(Struct, frozen=True):
    """A text file runner puts under the node's task data when it opens the node (the in-job
    ``circleci`` helper, timing data): part of setting the node up, not an extra round trip."""

    path: str  # relative to task_data, e.g. "bin/circleci"
    text: str
    mode: int = 0o644


class NodeSpec(Struct, frozen=True, kw_only=True):
    """Which node of which job a session is for, and where its state lives on the host."""

    job: Job
    job_id: str  # planned job id, for labels
    node_index: int
    node_total: int
    run_id: str
    node_dir: Path  # host directory for this node's state (home, logs, scratch)
    labels: Mapping[str, str] = field(default_factory=dict)
    # names this run among every run on the engine (state directory's label and run number):
    # a backend marks what it creates with it, so `runner clean` finds it (store.state)
    run_label: str = ""
    task_files: tuple[TaskFile, ...] = ()  # installed by ``open`` under the session's task_data

    @property
    def tag(self) -> str:
        """Marks every process of this node; a step's tag is this plus ``-<index>``."""
        return f"{self.run_id}.{self.job_id}.{self.node_index}"


class Session(Protocol):
    """One job node's environment: a home on the host, or a set of containers."""

    @property
    def home(self) -> str:
        """HOME inside the node."""

    @property
    def has_bash(self) -> bool: ...

    @property
    def bash_env(self) -> str:
        """The node's BASH_ENV file (exists, starts empty)."""

    @property
    def task_data(self) -> str:
        """CIRCLE_INTERNAL_TASK_DATA: a directory for runner's in-job helpers."""

    def base_env(self) -> Mapping[str, str]:
        """Variables the node itself provides (PATH, HOME, USER...), lowest precedence."""

    def resolve(self, path: str, base: str | None = None) -> str:
        """An absolute path in the node: ``~`` is the home, relative paths join ``base``."""

    def start(self, request: ExecRequest, sink: OutputSink) -> Process: ...

    def interrupt(self) -> None:
        """Stop every process of this node now, gracefully first (INT, TERM, then KILL)."""

    def kill_now(self) -> None:
        """Stop every process of this node at once (a second Ctrl-C); must not block long."""

    def put_files(self, dest: str, root: Path, names: list[str]) -> None:
        """Copy host files ``names`` (relative to ``root``) under ``dest``, keeping modes and
        symlinks, owned by the node's user (checkout)."""

    def put_archive(self, dest: str, data: IO[bytes]) -> None:
        """Extract a tar stream at ``dest`` (created if missing), owned by the node's user."""

    def get_archive(self, path: str) -> Iterator[bytes]:
        """A tar stream of ``path`` (a file or a directory), named relative to its parent."""

    def exists(self, path: str) -> bool: ...

    def halted(self) -> bool:
        """Whether a step ran ``circleci-agent step halt`` (its marker is in task data)."""

    def shell(
        self, argv: list[str], *, env: Mapping[str, str], cwd: str, stdin_is_tty: bool
    ) -> int:
        """Run an interactive program (the debugging shell, issue 7) in the node as the step
        user, attached to runner's own stdin, stdout and stderr, and return its exit status.
        With ``stdin_is_tty`` it gets a terminal (the host's, or ``docker exec -t``); otherwise
        it reads its commands from stdin. See :mod:`runner.executors.interactive`."""

    def close(self) -> None:
        """Remove what the session created (unless kept); must be safe to call twice."""


class Executor(Protocol):
    kind: str

    def prepare(self, jobs: list[Job], notice: Callable[[str], None]) -> None:
        """Check before anything starts that these jobs can run (engine up, images present);
        raise EnvironmentFailure otherwise."""

    def open(self, spec: NodeSpec, notice: Callable[[str], None]) -> Session:
        """Prepare a node (home directory, or containers), with ``spec.task_files`` in place
        under its task data, and return its session."""

    def shutdown(self) -> None:
        """Release shared resources (an engine connection) at the end of a run."""
