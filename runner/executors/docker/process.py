"""One step running as a ``docker exec``: how it starts, how it is signalled, its result.

Its lifecycle (output as it comes, the idle flush, ``no_output_timeout``, the phased stop) is
:class:`runner.executors.process.StepProcess`'s, as on the machine executor. Leftovers are
stopped at the step's end and listed. How signals reach an exec's process tree is explained
in :mod:`runner.executors.docker.scripts`."""

from __future__ import annotations

import contextlib
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Protocol

from msgspec import Struct

from runner.executors.base import ExecRequest, ExecResult, KillPolicy, OutputSink
from runner.executors.docker.connection import Api, EngineError
from runner.executors.docker.server import StepServer
from runner.executors.process import StepProcess

_GIVE_UP = 10.0  # seconds to wait for a killed exec's stream to end before abandoning it


class ExecHost(Protocol):
    """What a step needs from its session: the engine, the container, and helpers."""

    api: Api
    user: str
    server: StepServer | None

    @property
    def cid(self) -> str: ...

    def signal(self, pidfile: str, sig: signal.Signals) -> None: ...

    def read_text(self, path: str) -> str | None: ...

    def make_dir(self, path: str) -> bool: ...

    def saw_halt(self) -> None: ...

    def oom_killed(self) -> bool: ...


class EndNotes(Struct, frozen=True):
    """What the step wrapper left in ``PREFIX.end`` (see scripts.STEP)."""

    no_cwd: bool = False
    oom: bool = False
    halt: bool = False
    leftovers: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> EndNotes:
        if not text:
            return cls()
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return cls(
            no_cwd="nocwd" in lines,
            oom="oom" in lines,
            halt="halt" in lines,
            leftovers=tuple(
                line[:90] for line in lines if line.startswith(("pid ", "and "))
            ),
        )


class ExecPlan(Struct, frozen=True):
    argv: list[str]
    env: Mapping[str, str]
    prefix: str  # PREFIX.pid, PREFIX.sh, PREFIX.end in the container
    command: str | None = None  # the same for the serving shell (session.served_command)

    @property
    def pidfile(self) -> str:
        return self.prefix + ".pid"


class DockerProcess(StepProcess):
    """A step as an exec in the primary container; the lifecycle is :class:`StepProcess`'s."""

    kill_wait = _GIVE_UP

    def __init__(
        self,
        host: ExecHost,
        *,
        request: ExecRequest,
        plan: ExecPlan,
        sink: OutputSink,
        kill: KillPolicy,
        on_exit: Callable[[StepProcess], None],
    ) -> None:
        super().__init__(request, sink, kill, on_exit)
        self.host = host
        self.plan = plan

    def launch(self) -> None:
        self._begin("exec")

    def _send(self, sig: signal.Signals) -> None:
        with contextlib.suppress(EngineError):  # the container is gone: so is the step
            self.host.signal(self.plan.pidfile, sig)

    # ------------------------------------------------------------ the exec

    def _body(self) -> ExecResult:
        try:
            return self._execute()
        except EngineError as exc:
            return self._lost(f"lost the Docker engine during the step: {exc.reason}")

    def _execute(self) -> ExecResult:
        api, request = self.host.api, self.request
        for attempt in range(2):
            if self.stopping:
                return ExecResult(interrupted=True)
            server = self.host.server
            if self.plan.command is not None and server is not None and server.claim():
                try:
                    code, notes = self._served(server, self.plan.command)
                finally:
                    server.release()
            else:
                code, notes = self._exec(api)
            if code is None:
                return self._lost("the container stopped during the step")
            if not notes.no_cwd:
                if notes.halt:
                    self.host.saw_halt()
                return self._result_of(code, notes)
            # The wrapper could not enter the working directory and ran nothing: create it
            # (as root, owned by the job's user) and try once more.
            if attempt or not self.host.make_dir(request.cwd):
                break
        return ExecResult(
            error=f"cannot enter the working directory {request.cwd} as user "
            f"{self.host.user or 'root'}: it cannot be created, or that user may not enter it"
        )

    def _exec(self, api: Api) -> tuple[int | None, EndNotes]:
        exec_id = api.exec_create(self.host.cid, self.plan.argv, user=self.host.user,
                                  env=self.plan.env, workdir="/")
        self._pump_stream(api.exec_stream(exec_id))
        # The wrapper wrote its note before it exited: read it while the engine is asked
        # for the exit code (two round trips at once).
        note: list[str | None] = []
        reader = threading.Thread(target=self._read_note, args=(note,), daemon=True)
        reader.start()
        code = self._exit_code(exec_id)
        reader.join()
        return code, EndNotes.parse(note[0] if note else None)

    def _served(self, server: StepServer, command: str) -> tuple[int | None, EndNotes]:
        channel = server.submit(command)
        self._pump_stream(channel.chunks())
        # The pump returns early only when a killed step still holds the stream open.
        served = channel.result(timeout=None if self._killed_at is None else 0.0)
        channel.abandon()
        if served.broken is None and served.status is not None:
            return served.status, EndNotes.parse(served.note)
        server.retire()  # whatever happened, that shell is not to be trusted with another step
        try:  # the engine answers: the container stopped (or was removed); else it is gone
            self.host.api.inspect(self.host.cid)
        except EngineError as exc:
            if exc.status is None:
                raise EngineError(served.broken or "the connection broke") from None
        return None, EndNotes()

    def _read_note(self, into: list[str | None]) -> None:
        into.append(self.host.read_text(self.plan.prefix + ".end"))

    def _pump_stream(self, stream: Iterator[bytes]) -> None:
        self._pump(_Queued(stream, f"read-{self.request.tag}"), self._abandoned)

    def _abandoned(self, now: float) -> bool:
        """Killed, yet something holds the stream open: stop waiting for its end."""
        return self._killed_at is not None and now - self._killed_at > _GIVE_UP

    def _exit_code(self, exec_id: str) -> int | None:
        """The exec's exit code; the stream can end a moment before the engine records it."""
        deadline = time.monotonic() + 5
        while True:
            try:
                state = self.host.api.exec_inspect(exec_id)
            except EngineError as exc:
                if exc.status is None:
                    raise  # no answer at all: the engine is gone, not just the container
                return None
            code = state.get("ExitCode")
            if not state.get("Running") and isinstance(code, int):
                return code
            if time.monotonic() > deadline:
                return None
            time.sleep(0.01)

    def _result_of(self, code: int, notes: EndNotes) -> ExecResult:
        sig: int | None = None
        exit_code: int | None = code
        # A signal runner sent shows as 128+N (containerd); report it as the signal, as the
        # machine executor does. Any other 128+N stays an exit code (see scripts.py).
        if self._sent is not None and code == 128 + int(self._sent):
            sig, exit_code = int(self._sent), None
        oom = code == 137 and not self.stopping and notes.oom
        return self._ended(exit_code, sig, oom=oom, leftovers=notes.leftovers)

    def _lost(self, reason: str) -> ExecResult:
        duration = self._elapsed()
        if self.stopping:
            return ExecResult(signal=signal.SIGKILL, interrupted=True, duration=duration)
        if self.host.oom_killed():
            return ExecResult(exit_code=137, oom_killed=True, duration=duration)
        return ExecResult(error=reason, lost=True, duration=duration)


class _Queued:
    """A stream read by a thread of its own into a queue, so silence can be timed."""

    def __init__(self, stream: Iterator[bytes], name: str) -> None:
        # Bounded: a console that stops reading must slow the step, not grow runner's memory.
        self._chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=16)
        threading.Thread(target=self._read, args=(stream,), name=name, daemon=True).start()

    def _read(self, stream: Iterator[bytes]) -> None:
        try:
            for chunk in stream:
                if chunk:  # an empty chunk is no output
                    self._chunks.put(chunk)
        except EngineError:
            pass  # the exec's end is read from exec_inspect
        finally:
            self._chunks.put(None)

    def read(self, timeout: float) -> bytes | None:
        try:
            return self._chunks.get(timeout=timeout)
        except queue.Empty:
            return b""
