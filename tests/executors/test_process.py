"""The step lifecycle of every backend (runner.executors.process) over a fake backend.

The fake is a "process" that ends only on the signals it is told to obey, and whose output the
test feeds by hand, so each test asserts the order of what happened and the outcome; none
asserts how long anything took (graces are short only to keep the tests quick).
"""

from __future__ import annotations

import contextlib
import functools
import queue
import signal
import threading

import pytest

from runner.executors.base import ExecRequest, ExecResult, KillPolicy
from runner.executors.process import RunningSteps, StepProcess

HANG_GUARD = 10.0  # seconds: only a hang is a failure, never slowness
QUICK = KillPolicy(interrupt_grace=0.05, terminate_grace=0.05)


class Sink:
    """Records what the lifecycle passes on, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, bytes]] = []
        self.idle_after_output = threading.Event()

    def write(self, data: bytes) -> None:
        self.events.append(("write", data))

    def idle(self) -> None:
        self.events.append(("idle", b""))
        if any(kind == "write" for kind, _ in self.events):
            self.idle_after_output.set()


class Fake(StepProcess):
    """A step that ends when it receives one of ``obeys``, or when the test ends it."""

    def __init__(
        self,
        *,
        obeys: frozenset[signal.Signals] = frozenset(),
        no_output_timeout: float | None = None,
        kill: KillPolicy = QUICK,
        live: bool = True,
    ) -> None:
        request = ExecRequest(script="", shell=(), cwd="/", env={}, tag="t",
                              no_output_timeout=no_output_timeout)  # fmt: skip
        self.exits: list[str] = []
        super().__init__(request, Sink(), kill, on_exit=lambda p: self.exits.append("on_exit"))
        self._live = live
        self.obeys = obeys
        self.received: list[signal.Signals] = []
        self.chunks: queue.Queue[bytes | None] = queue.Queue()
        self.code: int | None = None
        self.by: int | None = None
        self.crash = False

    @property
    def sink_events(self) -> list[tuple[str, bytes]]:
        assert isinstance(self.sink, Sink)
        return self.sink.events

    def _send(self, sig: signal.Signals) -> None:
        self.received.append(sig)
        if sig in self.obeys:
            self.end(by=int(sig))

    def end(self, code: int | None = None, *, by: int | None = None) -> None:
        self.code, self.by = code, by
        self.chunks.put(None)

    def read(self, timeout: float) -> bytes | None:
        with contextlib.suppress(queue.Empty):
            return self.chunks.get(timeout=timeout)
        return b""  # nothing came

    def _body(self) -> ExecResult:
        if self.crash:
            raise RuntimeError("a bug in the backend")
        self._pump(self, lambda now: False)
        return self._ended(self.code, self.by)


def started(process: Fake) -> Fake:
    process._begin("fake")
    return process


def waited(process: StepProcess) -> ExecResult:
    ender = threading.Thread(target=process.wait, daemon=True)
    ender.start()
    ender.join(HANG_GUARD)
    assert process.done, "the step never ended"
    return process.wait()


def test_a_step_that_ignores_int_and_term_gets_kill_in_that_order() -> None:
    process = started(Fake(obeys=frozenset({signal.SIGKILL})))
    process.stop()
    result = waited(process)
    assert process.received == [signal.SIGINT, signal.SIGTERM, signal.SIGKILL]
    assert result.signal == signal.SIGKILL and result.exit_code is None
    assert result.interrupted and not result.timed_out and not result.ok


@pytest.mark.parametrize(
    ("how", "sig"), [("stop", signal.SIGINT), ("kill_now", signal.SIGKILL)]
)
def test_a_step_gets_no_more_signals_than_it_needs(how: str, sig: signal.Signals) -> None:
    # stop() begins with INT, which this step obeys; kill_now() sends KILL and nothing else
    process = started(Fake(obeys=frozenset({sig})))
    getattr(process, how)()
    result = waited(process)
    assert process.received == [sig]
    assert result.interrupted and result.signal == sig


def test_silence_past_no_output_timeout_ends_the_step_as_timed_out() -> None:
    process = started(Fake(obeys=frozenset({signal.SIGTERM}), no_output_timeout=0.3))
    process.chunks.put(b"working\n")
    result = waited(process)
    assert process.received == [signal.SIGTERM]  # CircleCI's timeout: TERM, never INT first
    assert result.timed_out and not result.interrupted and not result.ok
    assert process.sink_events[0] == ("write", b"working\n")


def test_a_timed_out_step_that_ignores_term_is_killed() -> None:
    process = started(Fake(obeys=frozenset({signal.SIGKILL}), no_output_timeout=0.2))
    result = waited(process)
    assert process.received == [signal.SIGTERM, signal.SIGKILL]
    assert result.timed_out and result.signal == signal.SIGKILL


def test_a_step_that_ends_by_itself_gets_no_signal_and_its_output_in_order() -> None:
    process = started(Fake(obeys=frozenset(signal.Signals), no_output_timeout=2.0))
    for number in range(4):
        process.chunks.put(b"%d\n" % number)
    process.end(0)
    result = waited(process)
    assert process.received == [] and result.ok
    assert [data for kind, data in process.sink_events if kind == "write"] == [
        b"0\n", b"1\n", b"2\n", b"3\n"
    ]


def test_a_partial_line_is_flushed_while_the_step_is_still_silent() -> None:
    process = started(Fake())
    process.chunks.put(b"Password: ")  # no newline, and nothing more for now
    assert isinstance(process.sink, Sink)
    assert process.sink.idle_after_output.wait(HANG_GUARD), "no idle flush while running"
    assert not process.done
    process.end(0)
    result = waited(process)
    assert result.ok
    assert process.sink_events.index(("write", b"Password: ")) < len(process.sink_events) - 1
    assert process.sink_events[-1] == ("idle", b"")  # and a last flush at the end


def test_a_step_refused_after_interrupt_never_launches() -> None:
    steps = RunningSteps()
    steps.interrupt()
    process = Fake()
    launched: list[str] = []
    steps.start(process, lambda: launched.append("launched"))
    result = waited(process)
    assert launched == [] and process.received == []
    assert result.interrupted and result.exit_code is None and result.error is None
    assert process.exits == ["on_exit"]


def test_a_stop_before_the_step_is_live_takes_effect_once_it_is() -> None:
    process = Fake(obeys=frozenset({signal.SIGINT}), live=False)
    process.stop()  # e.g. Ctrl-C while the process was being started: nothing to signal yet
    assert process.received == [] and not process.done
    process._begin("fake")
    process._went_live()
    result = waited(process)
    assert process.received == [signal.SIGINT]
    assert result.interrupted


def test_interrupt_stops_every_running_step_and_forgets_them() -> None:
    steps = RunningSteps()
    processes = [Fake(obeys=frozenset({signal.SIGTERM})) for _ in range(3)]
    for process in processes:
        process.on_exit = steps.forget
        steps.start(process, functools.partial(process._begin, "fake"))
    assert len(steps.running()) == 3
    steps.interrupt()
    assert steps.running() == [] and steps.stopped
    for process in processes:
        assert process.received == [signal.SIGINT, signal.SIGTERM]
        assert waited(process).interrupted


def test_a_finished_step_is_not_signalled() -> None:
    process = started(Fake())
    process.end(3)
    result = waited(process)
    process.stop()
    process.kill_now()
    assert process.received == []
    assert result.exit_code == 3 and not result.interrupted


def test_a_bug_in_a_backend_ends_the_step_with_an_error() -> None:
    process = Fake()
    process.crash = True
    process._begin("fake")
    result = waited(process)
    assert result.error == "internal error: RuntimeError: a bug in the backend"
    assert process.exits == ["on_exit"]


@pytest.mark.parametrize("given_up", [True, False])
def test_the_pump_stops_waiting_once_the_backend_gives_up(given_up: bool) -> None:
    process = Fake()
    asked: list[float] = []

    def give_up(now: float) -> bool:
        asked.append(now)
        if not given_up and len(asked) == 3:
            process.end(0)
        return given_up

    pump = threading.Thread(target=process._pump, args=(process, give_up), daemon=True)
    pump.start()  # when given_up, the output never ends by itself
    pump.join(HANG_GUARD)
    assert not pump.is_alive(), "the pump never returned"
    assert len(asked) == (1 if given_up else 3)
    assert process.sink_events[-1] == ("idle", b"")
