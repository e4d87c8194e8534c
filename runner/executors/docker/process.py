"""One step running as a ``docker exec``: its output pump, its phased stop, its result.

Observable behaviour is the machine executor's (:class:`runner.executors.machine.HostProcess`):
output reaches the sink as it comes and a partial line is flushed after 0.2 s of silence;
``no_output_timeout`` sends TERM then KILL and reports ``timed_out``; ``stop()`` sends INT,
TERM, then KILL with the same :class:`KillPolicy` graces; leftovers are stopped at the step's
end and listed. How signals reach an exec's process tree is explained in
:mod:`runner.executors.docker.scripts`.
"""

from __future__ import annotations

import contextlib
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

from runner.executors.base import ExecRequest, ExecResult, KillPolicy, OutputSink
from runner.executors.docker.connection import Api, EngineError
from runner.executors.docker.server import StepServer

_IDLE_FLUSH = 0.2  # seconds before a partial line is shown, as on the machine executor
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


@dataclass(frozen=True, slots=True)
class EndNotes:
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


@dataclass(frozen=True, slots=True)
class ExecPlan:
    argv: list[str]
    env: Mapping[str, str]
    prefix: str  # PREFIX.pid, PREFIX.sh, PREFIX.end in the container
    command: str | None = None  # the same for the serving shell (session.served_command)

    @property
    def pidfile(self) -> str:
        return self.prefix + ".pid"


class DockerProcess:
    def __init__(
        self,
        host: ExecHost,
        *,
        request: ExecRequest,
        plan: ExecPlan,
        sink: OutputSink,
        kill: KillPolicy,
        on_exit: Callable[[DockerProcess], None],
    ) -> None:
        self.host = host
        self.request = request
        self.plan = plan
        self.sink = sink
        self.kill = kill
        self.on_exit = on_exit
        self._result: ExecResult | None = None
        self._finished = threading.Event()
        self._stopping = threading.Event()
        self._timed_out = False
        self._sent: signal.Signals | None = None
        self._killed_at: float | None = None
        self._started = time.monotonic()

    def launch(self) -> None:
        threading.Thread(target=self._run, name=f"exec-{self.request.tag}", daemon=True).start()

    @property
    def done(self) -> bool:
        return self._finished.is_set()

    def wait(self) -> ExecResult:
        self._finished.wait()
        assert self._result is not None
        return self._result

    def stop(self) -> None:
        """INT, then TERM, then KILL to the step's process group; returns once it ended."""
        if self.done:
            return
        self._stopping.set()
        for sig, grace in (
            (signal.SIGINT, self.kill.interrupt_grace),
            (signal.SIGTERM, self.kill.terminate_grace),
        ):
            self._signal(sig)
            if self._finished.wait(grace):
                return
        self._signal(signal.SIGKILL)
        self._finished.wait(_GIVE_UP)

    def refuse(self) -> None:
        """Finish without starting: the session was interrupted before this step began."""
        self._stopping.set()
        self._finish(ExecResult(interrupted=True))

    def mark_killed(self) -> None:
        """The session is killing the whole container (a second Ctrl-C)."""
        self._stopping.set()
        self._sent = signal.SIGKILL
        self._killed_at = time.monotonic()

    def _signal(self, sig: signal.Signals) -> None:
        self._sent = sig
        if sig is signal.SIGKILL:
            self._killed_at = time.monotonic()
        with contextlib.suppress(EngineError):  # the container is gone: so is the step
            self.host.signal(self.plan.pidfile, sig)

    # ------------------------------------------------------------ the exec

    def _run(self) -> None:
        try:
            result = self._execute()
        except EngineError as exc:
            result = self._lost(f"lost the Docker engine during the step: {exc.reason}")
        except Exception as exc:  # a bug must never leave wait() hanging
            result = ExecResult(error=f"internal error: {type(exc).__name__}: {exc}")
        self._finish(result)

    def _finish(self, result: ExecResult) -> None:
        self._result = result
        self.on_exit(self)  # before wait() returns: the session no longer counts it as running
        self._finished.set()

    def _execute(self) -> ExecResult:
        api, request = self.host.api, self.request
        for attempt in range(2):
            if self._stopping.is_set():
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
        self._pump(api.exec_stream(exec_id))
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
        self._pump(channel.chunks())
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

    def _pump(self, stream: Iterator[bytes]) -> None:
        # Bounded: a console that stops reading must slow the step, not grow runner's memory.
        chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=16)

        def read() -> None:
            try:
                for chunk in stream:
                    chunks.put(chunk)
            except EngineError:
                pass  # the exec's end is read from exec_inspect
            finally:
                chunks.put(None)

        threading.Thread(target=read, name=f"read-{self.request.tag}", daemon=True).start()
        limit = self.request.no_output_timeout
        last_output = time.monotonic()
        while True:
            wait = _IDLE_FLUSH
            if limit is not None and not self._timed_out:
                wait = max(0.0, min(wait, last_output + limit - time.monotonic()))
            try:
                item = chunks.get(timeout=wait)
            except queue.Empty:
                self.sink.idle()
                now = time.monotonic()
                if limit is not None and not self._timed_out and now - last_output >= limit:
                    self._timed_out = True
                    threading.Thread(target=self._stop_for_timeout, daemon=True).start()
                if self._killed_at is not None and now - self._killed_at > _GIVE_UP:
                    return  # killed, yet something holds the stream open: stop waiting
                continue
            if item is None:
                break
            self.sink.write(item)
            last_output = time.monotonic()
        self.sink.idle()

    def _stop_for_timeout(self) -> None:
        self._signal(signal.SIGTERM)
        if not self._finished.wait(self.kill.terminate_grace):
            self._signal(signal.SIGKILL)

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
        stopped = self._stopping.is_set()
        return ExecResult(
            exit_code=exit_code,
            signal=sig,
            timed_out=self._timed_out,
            oom_killed=code == 137 and not stopped and notes.oom,
            interrupted=stopped and not self._timed_out,
            duration=time.monotonic() - self._started,
            leftovers=notes.leftovers,
        )

    def _lost(self, reason: str) -> ExecResult:
        duration = time.monotonic() - self._started
        if self._stopping.is_set():
            return ExecResult(signal=signal.SIGKILL, interrupted=True, duration=duration)
        if self.host.oom_killed():
            return ExecResult(exit_code=137, oom_killed=True, duration=duration)
        return ExecResult(error=reason, lost=True, duration=duration)
