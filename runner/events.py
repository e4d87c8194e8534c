"""Frozen event records and statuses. The engine emits them; reporters render them.

Nothing in the core prints: the console, JSON lines, the run store and the API all subscribe
to the same stream of events through an :class:`EventBus`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from enum import Enum
from typing import Any

from msgspec import Struct
from msgspec.structs import force_setattr, replace


class Status(Enum):
    PENDING = "pending"
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"  # a step whose ``when`` did not match, or a deploy step off node 0
    NOT_SUPPORTED = "not_supported"  # a step kind runner does not implement yet
    BLOCKED = "blocked"  # a job whose requirement failed or was not approved
    CANCELLED = "cancelled"  # interrupted
    TIMED_OUT = "timed_out"
    WAITING = "waiting"  # an approval nobody gave

    @property
    def failed(self) -> bool:
        return self in (Status.FAILED, Status.TIMED_OUT, Status.CANCELLED)

    @property
    def finished(self) -> bool:
        return self not in (Status.PENDING, Status.RUNNING)


class StepOutcome(Struct, frozen=True, kw_only=True):
    """What a finished step amounts to, for reports: status plus the facts behind it."""

    status: Status
    exit_code: int | None = None
    signal: int | None = None
    timed_out: bool = False
    timeout: float | None = None  # the no_output_timeout that fired, in seconds
    oom_killed: bool = False
    interrupted: bool = False
    message: str = ""  # one line: why it failed or was skipped
    duration: float = 0.0


class Event(Struct, frozen=True, kw_only=True):
    time: float = 0.0

    @property
    def topic(self) -> str:
        """The event's type as a name: ``step_started``, ``job_finished``, ..."""
        return _TOPICS[type(self)]


class PlannedFacts(Struct, frozen=True, kw_only=True):
    """A planned job as the history records it (runner.store.recorder)."""

    id: str
    name: str
    workflow: str = ""
    requires: tuple[str, ...] = ()
    parallelism: int = 1
    executor: str = ""  # the executor kind


class RunStarted(Event, frozen=True, kw_only=True):
    run_id: str
    project: str
    jobs: tuple[str, ...]
    state_dir: str
    # What the history records of the run, carried here so that no subscriber needs the
    # engine (issue 19): where the state lives, the pipeline, its refs and the plan.
    state_root: str = ""
    pipeline_id: str = ""
    branch: str = ""
    tag: str = ""
    revision: str = ""
    plan: tuple[PlannedFacts, ...] = ()


class JobsJoined(Event, frozen=True, kw_only=True):
    """Jobs that join a running run: a dynamic config's continuation (runner.continuation)."""

    plan: tuple[PlannedFacts, ...]


class JobStarted(Event, frozen=True, kw_only=True):
    job: str  # planned job id
    executor: str
    nodes: tuple[int, ...]
    parallelism: int
    build_num: int
    substitutions: tuple[str, ...] = ()  # ``--image FROM=TO``: "TO (for FROM)" per image


class StepStarted(Event, frozen=True, kw_only=True):
    job: str
    node: int
    index: int  # position in the job's steps
    name: str
    kind: str
    command: str | None = None
    shell: str | None = None
    log_path: str | None = None  # where the step's full log is written


class StepOutput(Event, frozen=True, kw_only=True):
    job: str
    node: int
    index: int
    text: str  # one line without its newline, or a partial line flushed by time
    partial: bool = False


class StepFinished(Event, frozen=True, kw_only=True):
    job: str
    node: int
    index: int
    name: str
    kind: str
    outcome: StepOutcome
    tail: tuple[str, ...] = ()  # last lines, for failure reports
    log_path: str | None = None


class NodeFinished(Event, frozen=True, kw_only=True):
    job: str
    node: int
    status: Status
    duration: float


class JobFinished(Event, frozen=True, kw_only=True):
    job: str
    status: Status
    duration: float
    message: str = ""  # e.g. why it was blocked
    # skipped because it cannot run on this machine, or blocked only by such jobs (issue 13)
    not_here: bool = False


class Notice(Event, frozen=True, kw_only=True):
    """A line for the user that belongs to no step: warnings, hints, approvals."""

    text: str
    level: str = "info"  # info | warning | error
    job: str | None = None
    node: int | None = None


class FailedTest(Struct, frozen=True, kw_only=True):
    name: str
    classname: str
    file: str
    result: str  # failure | error
    message: str


class TestResultsStored(Event, frozen=True, kw_only=True):
    """A ``store_test_results`` step read JUnit XML: counts and failures, for the summary."""

    job: str
    node: int
    path: str
    tests: int
    failures: int
    errors: int
    skipped: int
    duration: float  # sum of the tests' own times
    failed: tuple[FailedTest, ...] = ()


class TestsReportedTwice(Event, frozen=True, kw_only=True):
    """Test cases that more than one node of one job reported: the split went wrong
    (issue 13). Emitted when the job ends, before its ``JobFinished``."""

    job: str
    tests: tuple[str, ...]  # "classname.name (file) on nodes 0, 2"


class RunFinished(Event, frozen=True, kw_only=True):
    run_id: str
    status: Status
    duration: float
    exit_code: int


_TOPICS: dict[type[Event], str] = {
    RunStarted: "run_started",
    JobsJoined: "jobs_joined",
    JobStarted: "job_started",
    StepStarted: "step_started",
    StepOutput: "step_output",
    StepFinished: "step_finished",
    NodeFinished: "node_finished",
    JobFinished: "job_finished",
    TestsReportedTwice: "tests_reported_twice",
    Notice: "notice",
    TestResultsStored: "test_results",
    RunFinished: "run_finished",
}

Subscriber = Callable[[Event], None]


class EventBus:
    """Delivers events to subscribers in order, one event at a time across threads."""

    def __init__(
        self,
        clock: Callable[[], float] | None = None,
        mask: Callable[[str], str] | None = None,
    ) -> None:
        import time

        self._subscribers: list[Subscriber] = []
        self._closed: list[Callable[[], None]] = []  # told when a reporter's reader went away
        self._failed: list[Callable[[str], None]] = []  # told when a reporter broke
        self._lock = threading.Lock()
        self._clock = clock or time.time
        # Secrets out of every text an event carries, whoever built it (a step's name or
        # command, a failure message, a notice): no reporter, store or API ever sees one.
        self._mask = mask

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def on_output_closed(self, callback: Callable[[], None]) -> None:
        """``callback`` runs (once per closed reporter, outside the bus's lock) when a
        reporter's reader went away, so the run can be stopped rather than go on unseen."""
        self._closed.append(callback)

    def on_reporter_failed(self, callback: Callable[[str], None]) -> None:
        """``callback`` gets a line saying which reporter failed (it was turned off so the run
        goes on). The bus prints nothing itself: whoever owns the terminal says it."""
        self._failed.append(callback)

    def emit(self, event: Event) -> None:
        if not event.time:
            force_setattr(event, "time", self._clock())  # stamped once, on the way out
        if self._mask is not None and type(event) is not StepOutput:  # its sink masked it
            event = _masked(event, self._mask)
        closed = False
        failures: list[str] = []
        with self._lock:
            for subscriber in list(self._subscribers):
                try:
                    subscriber(event)
                except BrokenPipeError:
                    # The reader went away (``runner run | head``): stop writing there.
                    self._subscribers.remove(subscriber)
                    closed = True
                except Exception as exc:  # a reporter bug must not break the run
                    self._subscribers.remove(subscriber)
                    failures.append(f"a reporter failed and was turned off: {exc!r}")
        # outside the lock: a callback may stop the run, which emits events
        for text in failures:
            for told in list(self._failed):
                told(text)
        if closed:
            for callback in list(self._closed):
                callback()


def _masked(event: Event, mask: Callable[[str], str]) -> Event:
    """``event`` with ``mask`` applied to its texts (and its outcome's message)."""
    changes: dict[str, Any] = {}
    for name in event.__struct_fields__:
        value = getattr(event, name)
        if isinstance(value, str):
            new: Any = mask(value)
        elif isinstance(value, tuple) and all(isinstance(v, str) for v in value):
            new = tuple(mask(v) for v in value)
        elif isinstance(value, StepOutcome):
            new = replace(value, message=mask(value.message))
        else:
            continue
        if new != value:
            changes[name] = new
    return replace(event, **changes) if changes else event


def event_to_dict(event: Event) -> dict[str, Any]:
    """A JSON-ready form of an event (enums by value, tuples as lists)."""
    out: dict[str, Any] = {"event": event.topic}
    for name in event.__struct_fields__:
        out[name] = _plain(getattr(event, name))
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Struct):
        return {name: _plain(getattr(value, name)) for name in value.__struct_fields__}
    return value
