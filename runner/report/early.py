"""A reporter made, and fed a run's first lines, on a thread of its own (issue 17).

The console reporter needs rich, whose import is about 35 ms of CPU on every run here; the
run's first lines (``runner: run N``, ``▶ job``, notices) are printed just before the Docker
engine starts the first job's containers, a wait of a quarter of a second or more with the
process idle. :class:`EarlyOffThread` takes those first events on a thread that builds the
reporter (importing rich) and prints them while the run goes on to start the containers. The
thread starts at the first job's start (or the engine's first notice, such as an image pull)
and gives the run's own thread a head start of :data:`HEAD_START` before it imports: both need
the one interpreter lock, and the run's thread has about that much to do (the node's set-up,
the engine's create call) before it waits for the engine. Started earlier, the thread only
slowed the run down and printed nothing sooner. A step that starts meanwhile (the machine
executor waits for nothing) ends the head start at once.

From the first event of any other kind (the first step, a job's end, the run's end) it waits
for that thread and calls the reporter in line, as before: everything after start-up keeps the
bus's order and failure handling unchanged. A failure on the thread (a closed pipe, a reporter
bug) is raised again on the bus's thread at that point, so the bus reacts to it as it always
did. Only the three early kinds of event are ever taken off-thread, and no step can have
started while they are: nothing else writes to the terminal then.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from runner.events import Event, JobStarted, Notice, RunStarted, Subscriber

EARLY: tuple[type[Event], ...] = (RunStarted, JobStarted, Notice)
HEAD_START = 0.03  # seconds


class EarlyOffThread:
    """``make()``'s reporter, built and given the early events on a thread; then in line."""

    def __init__(self, make: Callable[[], Subscriber]) -> None:
        self._make = make
        self._inner: Subscriber | None = None
        self._pending: list[Event] = []
        self._wake = threading.Condition()  # guards _pending, _done, _in_line, _thread
        self._handover = threading.Lock()  # one settle() at a time, each until it is over
        self._done = False  # no more events for the thread
        self._in_line = False
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def __call__(self, event: Event) -> None:
        with self._wake:
            if not self._in_line and isinstance(event, EARLY):
                self._pending.append(event)
                self._wake.notify()
                # ``RunStarted`` waits for the next event, the first job's start or a notice
                # of the engine's: rich then loads while the engine works
                if self._thread is None and not isinstance(event, RunStarted):
                    self._thread = threading.Thread(
                        target=self._serve, name="reporter-start", daemon=True
                    )
                    self._thread.start()
                return
        self.settle()
        if self._inner is None:  # no event came before: made here, in line
            self._inner = self._make()
        self._inner(event)

    def settle(self) -> None:
        """Wait until every event given so far is printed; from now on, report in line. A
        failure met on the thread is raised here, on the caller's thread."""
        with self._handover:
            with self._wake:
                thread = self._thread
                first = not self._in_line
                self._in_line = self._done = True
                self._wake.notify()
            if first and thread is not None:
                thread.join()
            elif first and self._pending:
                self._serve()  # no thread yet: what is pending (RunStarted), here
        if self._error is not None:
            raise self._error

    def _serve(self) -> None:
        try:
            with self._wake:
                if not self._done:
                    self._wake.wait(HEAD_START)  # woken by settle(): no head start left
            inner = self._inner = self._make()
            while True:
                with self._wake:
                    while not self._pending and not self._done:
                        self._wake.wait()
                    batch, self._pending = self._pending, []
                if not batch:
                    return  # told to stop, and nothing left
                for event in batch:
                    inner(event)
        except BaseException as exc:  # raised again by settle(), where the bus sees it
            self._error = exc
