"""Saves that dead runs left in the cache store's ``tmp`` (layout: :mod:`runner.store.caches`).

Every run sweeps them before it starts; this module holds only that, so that the sweep loads
none of the cache store's archive code (``tarfile`` with it: 8-16 ms of every run's start,
issue 17). Whoever caches nothing never loads the rest.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
from pathlib import Path

DAY = 86400.0


def sweep(caches: Path, older_than: float = DAY) -> int:
    """Remove saves abandoned by dead runs: those whose lock no live process holds, and
    unlocked leftovers (a removal cut short) older than ``older_than`` seconds."""
    removed = 0
    now = time.time()
    for item in sorted((caches / "tmp").glob("*")):
        if item.suffix == ".lock":
            if not item.with_suffix("").exists():
                removed += _remove_unowned(item, None)  # died before its folder existed
            continue
        lock = item.with_name(item.name + ".lock")
        try:
            if lock.exists():
                removed += _remove_unowned(lock, item)
            elif now - item.stat().st_mtime > older_than:
                shutil.rmtree(item, ignore_errors=True)
                removed += 1
        except OSError:
            continue
    return removed


def _remove_unowned(lock: Path, folder: Path | None) -> int:
    """Remove ``folder`` and ``lock`` if no live process holds the lock: 1, else 0."""
    try:
        fd = os.open(lock, os.O_RDWR)
    except OSError:
        return 0  # gone meanwhile: its writer finished
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return 0  # a live save
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        with contextlib.suppress(OSError):
            lock.unlink()
        return 1
    finally:
        os.close(fd)
