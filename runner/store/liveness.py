"""Whether a run is still going: a lock its process holds for the run's whole life.

``runner clean`` must never touch a live run's data (issue 13). A PID in a file can lie: the
process may be gone and its number reused, or the file may be left from a crash. A
``flock`` on ``runs/<n>/live.lock``, taken when the run directory is made and held until the
run ends, cannot: the kernel drops it when the process dies, however it dies (``kill -9``
included), so "someone holds the lock" means "the run is live", on this host.

A run directory without the lock file is one made by an older runner, or one whose making was
cut off: it is not live.
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

LOCK_NAME = "live.lock"

_held: dict[Path, int] = {}  # run directory -> descriptor holding its lock (this process)
_guard = threading.Lock()


def hold(run_dir: Path) -> None:
    """Mark ``run_dir`` live until :func:`release` (or this process ends)."""
    fd = os.open(run_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise
    with _guard:
        _held[run_dir.resolve()] = fd


def release(run_dir: Path) -> None:
    with _guard:
        fd = _held.pop(run_dir.resolve(), None)
    if fd is not None:
        os.close(fd)  # closing the only descriptor of the open file drops the lock


def is_live(run_dir: Path) -> bool:
    """Whether a process (this one or another) holds ``run_dir``'s lock now."""
    with _guard:
        if run_dir.resolve() in _held:
            return True
    try:
        fd = os.open(run_dir / LOCK_NAME, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False  # no lock file: not a run of this runner that is still going
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # also drops the shared lock taken just to test
    return False
