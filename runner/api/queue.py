"""The run queue: triggered runs wait here and run on a fixed number of worker threads.

A trigger is answered as soon as its run is queued (CircleCI answers with the queued build
[APIV1]); ``--concurrency`` workers take runs in order. Shutdown stops taking runs, hands back
the ones never started, and cancels the running ones (their engines stop their steps).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from msgspec import Struct

from runner.api.projects import ServedProject

if TYPE_CHECKING:
    from runner.engine import Engine
    from runner.runflow import RunRequest


class QueuedRun(Struct, frozen=True):
    project: ServedProject
    run: int
    request: RunRequest
    queued_at: float

    @property
    def key(self) -> tuple[str, int]:
        return (str(self.project.state_root), self.run)


class QueueClosed(Exception):
    pass


class RunQueue:
    def __init__(self, concurrency: int, execute: Callable[[QueuedRun], None]) -> None:
        self._execute = execute
        self._queue: queue.Queue[QueuedRun | None] = queue.Queue()
        self._lock = threading.Lock()
        self._closed = False
        self._engines: dict[tuple[str, int], Engine] = {}
        self._cancelled: set[tuple[str, int]] = set()
        self._taken: set[tuple[str, int]] = set()  # runs a worker has picked up
        self._threads = [
            threading.Thread(target=self._work, name=f"runner-api-worker-{i}", daemon=True)
            for i in range(max(1, concurrency))
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, item: QueuedRun) -> None:
        with self._lock:
            if self._closed:
                raise QueueClosed("the server is shutting down")
            self._queue.put(item)

    @property
    def closed(self) -> bool:
        return self._closed

    def waiting(self) -> int:
        return self._queue.qsize()

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            with self._lock:
                skip = item.key in self._cancelled or self._closed
                self._taken.add(item.key)
            if not skip:
                self._execute(item)

    # ------------------------------------------------------------ engines of running runs

    def track(self, item: QueuedRun, engine: Engine | None) -> None:
        with self._lock:
            if engine is None:
                self._engines.pop(item.key, None)
                return
            self._engines[item.key] = engine
            cancel = item.key in self._cancelled or self._closed
        if cancel:
            engine.cancel()

    def cancel(self, key: tuple[str, int]) -> bool:
        """Cancel a queued run (it will be skipped) or a running one (its engine stops).

        True when no worker had picked the run up: then nobody else will end it."""
        with self._lock:
            self._cancelled.add(key)
            engine = self._engines.get(key)
            waiting = key not in self._taken
        if engine is not None:
            engine.cancel()
        return waiting

    def shutdown(self, timeout: float) -> list[QueuedRun]:
        """Stop: cancel running runs, wait up to ``timeout`` seconds; return unstarted runs."""
        with self._lock:
            self._closed = True
            engines = list(self._engines.values())
        pending: list[QueuedRun] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                pending.append(item)
        for engine in engines:
            engine.cancel()
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout)
        return pending

    def running(self) -> list[tuple[str, int]]:
        with self._lock:
            return list(self._engines)
