"""The lifecycle of one running step, written once for every backend.

Shaped like tox's ``execute/api.py`` (``ExecuteStatus`` and ``LocalSubprocessExecuteStatus
.interrupt``): :class:`StepProcess` owns waiting, refusing a step that came too late, the
phased stop (INT, then TERM, then KILL with the :class:`KillPolicy` graces, reliability.md
point 2), the ``no_output_timeout`` (TERM, then KILL; CircleCI's "Too long with no output"),
the flush of a partial line after :data:`IDLE_FLUSH` seconds of silence, and the
:class:`ExecResult`. A backend supplies only how to run the step (:meth:`StepProcess._body`),
how to signal its processes (:meth:`StepProcess._send`), and its output as :class:`Chunks`.
:class:`RunningSteps` is the sessions' side: which steps run, and refusing new ones once
interrupted.
"""

from __future__ import annotations

import signal
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Protocol

from runner.executors.base import ExecRequest, ExecResult, KillPolicy, OutputSink

IDLE_FLUSH = 0.2  # seconds of silence before a partial line is shown


class Chunks(Protocol):
    """A step's output as it comes."""

    def read(self, timeout: float) -> bytes | None:
        """What came within ``timeout`` seconds: ``b""`` when nothing did, None at the end."""


class StepProcess(ABC):
    """One running step (the :class:`runner.executors.base.Process` of every backend)."""

    # How long stop() waits for the end after KILL; None: until the step has ended.
    kill_wait: float | None = None
    # Whether signals reach the step once it is made; a backend that starts it later says
    # False and calls _went_live() once they do.
    starts_live = True

    def __init__(
        self,
        request: ExecRequest,
        sink: OutputSink,
        kill: KillPolicy,
        on_exit: Callable[[StepProcess], None],
    ) -> None:
        self.request = request
        self.sink = sink
        self.kill = kill
        self.on_exit = on_exit
        self._result: ExecResult | None = None
        self._finished = threading.Event()
        self._stopping = threading.Event()
        self._timed_out = False
        self._sent: signal.Signals | None = None  # the last signal runner sent
        self._killed_at: float | None = None
        self._started = time.monotonic()
        self._live = self.starts_live

    # ------------------------------------------------------------ what a backend supplies

    @abstractmethod
    def _send(self, sig: signal.Signals) -> None:
        """Deliver ``sig`` to every process of the step; quietly when they are gone."""

    @abstractmethod
    def _body(self) -> ExecResult:
        """Run the step to its end, in its own thread; :meth:`_pump` passes its output on."""

    # ------------------------------------------------------------ the Process protocol

    @property
    def done(self) -> bool:
        return self._finished.is_set()

    @property
    def stopping(self) -> bool:
        """Whether runner is stopping the step (stop, kill, refuse, or a timeout)."""
        return self._stopping.is_set()

    def wait(self) -> ExecResult:
        self._finished.wait()
        assert self._result is not None
        return self._result

    def stop(self) -> None:
        """INT, then TERM, then KILL to the step's processes; returns once it has ended."""
        self._stopping.set()  # seen by _went_live() if the step is still being started
        if not self._live or self.done:
            return
        for sig, grace in (
            (signal.SIGINT, self.kill.interrupt_grace),
            (signal.SIGTERM, self.kill.terminate_grace),
        ):
            self._signal(sig)
            if self._finished.wait(grace):
                return
        self._signal(signal.SIGKILL)
        self._finished.wait(self.kill_wait)

    def kill_now(self) -> None:
        """KILL the step's processes at once (a second Ctrl-C)."""
        if self._live and not self.done:
            self._stopping.set()
            self._signal(signal.SIGKILL)

    def mark_killed(self) -> None:
        """Something else is killing the step (its container is being removed)."""
        self._stopping.set()
        self._sent = signal.SIGKILL
        self._killed_at = time.monotonic()

    def refuse(self) -> None:
        """Finish without starting: the session was interrupted before this step began."""
        self._stopping.set()
        self._finish(ExecResult(interrupted=True))

    # ------------------------------------------------------------ for the backends

    def _begin(self, name: str) -> None:
        """Run :meth:`_body` in a thread of its own; a bug must never leave wait() hanging."""
        threading.Thread(target=self._run, name=f"{name}-{self.request.tag}", daemon=True).start()

    def _run(self) -> None:
        try:
            result = self._body()
        except Exception as exc:
            result = ExecResult(error=f"internal error: {type(exc).__name__}: {exc}")
        self._finish(result)

    def _went_live(self) -> None:
        """Signals reach the step from now on: a stop() that came before takes effect now."""
        self._live = True
        if self._stopping.is_set():
            threading.Thread(target=self.stop, daemon=True).start()

    def _finish(self, result: ExecResult) -> None:
        self._result = result
        self.on_exit(self)  # before wait() returns: the session no longer counts it as running
        self._finished.set()

    def _signal(self, sig: signal.Signals) -> None:
        self._sent = sig
        if sig is signal.SIGKILL:
            self._killed_at = time.monotonic()
        self._send(sig)

    def _pump(self, chunks: Chunks, give_up: Callable[[float], bool]) -> None:
        """Pass output to the sink until its end; flush a partial line when idle, stop the
        step after ``no_output_timeout`` of silence, and return early once ``give_up(now)``
        (asked when idle) says so."""
        limit = self.request.no_output_timeout
        last_output = time.monotonic()
        while True:
            wait = IDLE_FLUSH
            if limit is not None and not self._timed_out:
                wait = max(0.0, min(wait, last_output + limit - time.monotonic()))
            data = chunks.read(wait)
            if data is None:
                break
            if data:
                self.sink.write(data)
                last_output = time.monotonic()
                continue
            self.sink.idle()
            now = time.monotonic()
            if limit is not None and not self._timed_out and now - last_output >= limit:
                self._timed_out = True
                threading.Thread(target=self._stop_for_timeout, daemon=True).start()
            if give_up(now):
                break
        self.sink.idle()

    def _stop_for_timeout(self) -> None:
        self._signal(signal.SIGTERM)
        if not self._finished.wait(self.kill.terminate_grace):
            self._signal(signal.SIGKILL)

    def _elapsed(self) -> float:
        return time.monotonic() - self._started

    def _ended(
        self,
        exit_code: int | None,
        sig: int | None,
        *,
        oom: bool = False,
        leftovers: tuple[str, ...] = (),
    ) -> ExecResult:
        """The result of a step that ran to its end (by itself or stopped by runner)."""
        return ExecResult(
            exit_code=exit_code,
            signal=sig,
            timed_out=self._timed_out,
            oom_killed=oom,
            interrupted=self.stopping and not self._timed_out,
            duration=self._elapsed(),
            leftovers=leftovers,
        )


class RunningSteps:
    """The steps a session has running, and whether it still starts new ones."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: list[StepProcess] = []
        self.stopped = False  # set by interrupt(): no new step may start

    def start(self, process: StepProcess, launch: Callable[[], None]) -> None:
        with self._lock:
            refused = self.stopped
            if not refused:
                self._running.append(process)
        if refused:  # interrupted between the node's cancel check and this start: never launch
            process.refuse()
        else:
            launch()

    def forget(self, process: StepProcess) -> None:
        with self._lock:
            if process in self._running:
                self._running.remove(process)

    def running(self, *, close: bool = False) -> list[StepProcess]:
        """The steps running now; with ``close``, no new one may start."""
        with self._lock:
            self.stopped = self.stopped or close
            return list(self._running)

    def interrupt(self) -> None:
        """Stop every running step, all at once, and return when they have ended."""
        threads = [
            threading.Thread(target=process.stop, daemon=True)
            for process in self.running(close=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
