"""A run's first lines are printed by a reporter made on a thread of its own (issue 17)."""

from __future__ import annotations

import io
import threading
import time

from runner.events import (
    Event,
    EventBus,
    JobStarted,
    Notice,
    RunFinished,
    RunStarted,
    Status,
    StepStarted,
)
from runner.report.console import ConsoleReporter
from runner.report.early import EarlyOffThread

RUN = RunStarted(run_id="7", project="p", jobs=("build",), state_dir="state/runs/7")
JOB = JobStarted(job="build", executor="docker", nodes=(0,), parallelism=1, build_num=7)
NOTE = Notice(text="pulling an image")
STEP = StepStarted(job="build", node=0, index=0, name="echo hi", kind="run")
END = RunFinished(run_id="7", status=Status.PASSED, duration=1.0, exit_code=0)


class Recorder:
    """A reporter noting each event and the thread it came on; slow to make, like rich."""

    def __init__(self, made_on: list[str], seen: list[tuple[str, str]], delay: float = 0.05):
        time.sleep(delay)
        made_on.append(threading.current_thread().name)
        self.seen = seen

    def __call__(self, event: Event) -> None:
        self.seen.append((event.topic, threading.current_thread().name))


def recording(delay: float = 0.05) -> tuple[EarlyOffThread, list[str], list[tuple[str, str]]]:
    made_on: list[str] = []
    seen: list[tuple[str, str]] = []
    return EarlyOffThread(lambda: Recorder(made_on, seen, delay)), made_on, seen


def test_the_first_events_go_to_a_reporter_made_off_thread_then_the_rest_in_line() -> None:
    early, made_on, seen = recording()
    caller = threading.current_thread().name
    early(RUN)
    early(JOB)
    early(NOTE)
    assert made_on in ([], ["reporter-start"])  # not made on the caller's thread
    early(STEP)
    early(Notice(text="after the first step"))
    early(END)
    assert made_on == ["reporter-start"]
    assert [topic for topic, _ in seen] == [
        "run_started", "job_started", "notice", "step_started", "notice", "run_finished",
    ]  # fmt: skip
    assert {thread for _, thread in seen[:3]} == {"reporter-start"}
    assert {thread for _, thread in seen[3:]} == {caller}


def test_the_run_started_line_alone_waits_for_the_next_event() -> None:
    early, made_on, seen = recording(delay=0)
    early(RUN)
    time.sleep(0.1)
    assert made_on == [] and seen == []  # nothing started: the engine has not started yet
    early(STEP)
    assert made_on == ["MainThread"]
    assert [topic for topic, _ in seen] == ["run_started", "step_started"]


def test_settle_prints_what_is_pending_before_the_caller_goes_on() -> None:
    early, _, seen = recording()
    early(RUN)
    early(JOB)
    early.settle()  # as before an approval question, or when a run ends in an error
    assert [topic for topic, _ in seen] == ["run_started", "job_started"]
    early(NOTE)  # from now on in line, though a notice is an early kind
    assert seen[-1] == ("notice", threading.current_thread().name)


def test_settle_with_nothing_given_makes_no_reporter() -> None:
    early, made_on, _ = recording(delay=0)
    early.settle()
    assert made_on == []


def test_a_closed_pipe_met_off_thread_reaches_the_bus_at_the_next_event() -> None:
    class ClosedPipe:
        def __call__(self, event: Event) -> None:
            if isinstance(event, JobStarted):
                raise BrokenPipeError(32, "the reader went away")

    bus = EventBus()
    closed: list[str] = []
    bus.on_output_closed(lambda: closed.append("closed"))
    early = EarlyOffThread(ClosedPipe)
    bus.subscribe(early)
    bus.emit(RUN)
    bus.emit(JOB)
    bus.emit(STEP)
    assert closed == ["closed"]  # the bus stopped writing there, as with an in-line reporter
    bus.emit(END)
    assert closed == ["closed"]  # once: the reporter is no longer subscribed


def test_a_reporter_bug_met_off_thread_is_reported_as_one_in_line_is() -> None:
    def broken() -> ConsoleReporter:
        raise RuntimeError("no console")

    bus = EventBus()
    failures: list[str] = []
    bus.on_reporter_failed(failures.append)
    bus.subscribe(EarlyOffThread(broken))
    bus.emit(RUN)
    bus.emit(JOB)
    bus.emit(STEP)
    assert len(failures) == 1 and "no console" in failures[0]


def test_the_console_prints_the_same_lines_through_it() -> None:
    direct, deferred = io.StringIO(), io.StringIO()
    plain = ConsoleReporter(direct, color=False)
    early = EarlyOffThread(lambda: ConsoleReporter(deferred, color=False))
    for event in (RUN, JOB, NOTE, STEP, END):
        plain(event)
        early(event)
    assert deferred.getvalue() == direct.getvalue()
    assert deferred.getvalue().startswith("runner: run 7 (state/runs/7)\n▶ build")


def emit_all(bus: EventBus, events: list[Event]) -> None:
    for event in events:
        bus.emit(event)


def test_events_from_other_threads_keep_their_order_through_the_hand_over() -> None:
    """Nodes emit from their own threads (the bus serialises them): the hand-over from the
    thread to in-line calls loses and reorders nothing."""
    for _ in range(20):
        bus = EventBus()
        got: list[Event] = []
        bus.subscribe(EarlyOffThread(lambda got=got: got.append))  # type: ignore[misc]
        bus.emit(RUN)
        bus.emit(JOB)
        notes: list[Event] = [Notice(text=f"n{i}", job="build") for i in range(30)]
        worker = threading.Thread(target=emit_all, args=(bus, notes))
        worker.start()
        bus.emit(STEP)
        worker.join()
        bus.emit(END)
        assert got[:2] == [RUN, JOB] and got[-1] == END and STEP in got
        assert [e for e in got if isinstance(e, Notice)] == notes
