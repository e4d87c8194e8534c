"""The process's end: the one place a ``runner`` process exits, with a code from
:class:`runner.errors.ExitCode` (or a command's own, such as a shell's status).

Two ways out. :func:`finish` is the normal end of a command; :func:`abandon` is the second
Ctrl-C of a run, which must not wait for anything (see :mod:`runner.cli.run_cmd`).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from typing import NoReturn

from runner.errors import ExitCode


def finish(code: int | str | None) -> NoReturn:
    """End the process with ``code`` (what ``SystemExit`` carried) without tearing the
    interpreter down: freeing what a run imported and built (the docker SDK, rich, the config
    model: some 560 modules) took 60-100 ms of every invocation, after everything the user
    waits for was done. What a normal exit does that matters still happens first: other
    threads are waited for, atexit handlers run (temporary directories, thread pools), and
    stdout and stderr are flushed. The history database commits every statement, so nothing
    is left unwritten."""
    if not isinstance(code, int):
        if code is not None:
            print(code, file=sys.stderr)
        code = 0 if code is None else 1
    current = threading.current_thread()
    for thread in threading.enumerate():
        if thread is not current and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed pipe (`runner list | head`)
            stream.flush()
    os._exit(code)


def abandon(code: ExitCode) -> NoReturn:
    """End the process at once: no thread is waited for and no stream flushed (a step's thread
    or a full pipe could hold either for ever). Whoever calls this has saved what must be
    saved already."""
    os._exit(int(code))
