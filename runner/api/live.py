"""Live step output for the log endpoint, fed by the events of the runs this server started.

A step's log file is written through a buffer and completed when the step ends, so a client
following a running step reads the lines from here instead. Each step keeps at most
``LIVE_LIMIT`` characters; a step that prints more is served from its log file once it ends.
Buffers of a run are dropped when it ends: its log files are complete by then.
"""

from __future__ import annotations

import threading
from pathlib import Path

from msgspec import Struct, field

from runner.events import Event, RunFinished, RunStarted, StepFinished, StepOutput, StepStarted

LIVE_LIMIT = 1024 * 1024
StepKey = tuple[str, int, str, int, int]  # state root, run, job, node, step index


class LiveStep(Struct):
    chunks: list[str] = field(default_factory=list)
    size: int = 0
    done: bool = False
    overflowed: bool = False

    def add(self, text: str) -> None:
        if self.size + len(text) > LIVE_LIMIT:
            self.overflowed = True
            return
        self.chunks.append(text)
        self.size += len(text)


class LiveLogs:
    def __init__(self) -> None:
        self._steps: dict[StepKey, LiveStep] = {}
        self._lock = threading.Lock()

    def get(self, state_root: Path, run: int, job: str, node: int, index: int) -> LiveStep | None:
        with self._lock:
            return self._steps.get((str(state_root), run, job, node, index))

    def subscriber(self, state_root: Path) -> LiveSubscriber:
        return LiveSubscriber(self, str(state_root))

    def open_step(self, key: StepKey) -> None:
        with self._lock:
            self._steps[key] = LiveStep()

    def add_output(self, key: StepKey, text: str) -> None:
        step = self._steps.get(key)  # appends need no lock: one writer per step, GIL-atomic
        if step is not None:
            step.add(text)

    def close_step(self, key: StepKey) -> None:
        step = self._steps.get(key)
        if step is not None:
            step.done = True

    def drop_run(self, root: str, run: int) -> None:
        with self._lock:
            for key in [k for k in self._steps if k[0] == root and k[1] == run]:
                self._steps[key].done = True
                del self._steps[key]


class LiveSubscriber:
    """One run's events into the shared :class:`LiveLogs`."""

    def __init__(self, logs: LiveLogs, root: str) -> None:
        self.logs = logs
        self.root = root
        self.run = 0

    def __call__(self, event: Event) -> None:
        if isinstance(event, StepOutput):
            key = (self.root, self.run, event.job, event.node, event.index)
            self.logs.add_output(key, event.text if event.partial else event.text + "\n")
        elif isinstance(event, StepStarted):
            self.logs.open_step((self.root, self.run, event.job, event.node, event.index))
        elif isinstance(event, StepFinished):
            self.logs.close_step((self.root, self.run, event.job, event.node, event.index))
        elif isinstance(event, RunStarted):
            self.run = int(event.run_id)
        elif isinstance(event, RunFinished):
            self.logs.drop_run(self.root, self.run)
