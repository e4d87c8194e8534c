"""Output held while a debugging shell owns the terminal (issue 18).

With ``--shell`` (or ``--shell-on-failure``) on a parallel job, or with other jobs running, the
other nodes go on while the shell is open; their lines printed over the shell's prompt would
garble it. The reporter that writes to the terminal is wrapped: while a shell is attached
(runner.executors.interactive) its events wait in order, and the first event after the shell
ended (at the latest the run's end) prints them first. The run's record (history) is never held.
The shell's banner tells the user (runner.debug.hooks).
"""

from __future__ import annotations

import threading

from msgspec import Struct, field

from runner.events import Event, Subscriber
from runner.executors.interactive import holding_terminal


class HeldWhileShell(Struct):
    inner: Subscriber
    _held: list[Event] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, event: Event) -> None:
        with self._lock:
            if holding_terminal():
                self._held.append(event)
                return
            held, self._held = self._held, []
            for earlier in held:
                self.inner(earlier)
            self.inner(event)
