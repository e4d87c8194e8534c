"""The cache store: ``<state>/caches``, shared by every run of a project, on both executors.

Layout::

    caches/lock                     taken to publish or remove an entry
    caches/entries/<sha256(key)>/   one complete cache: manifest.json, 0.tar.zst, 1.tar.zst ...
                                    (0.tar.gz ... in caches of runner before zstd)
    caches/entries/<...>/used       its mtime is when a job last restored it (retention)
    caches/tmp/<random>/            a save in progress
    caches/tmp/<random>.lock        held (``flock``) by the process writing it, while it lives

Keys are immutable, the first writer wins [CR][CACHE]: a save builds its entry in ``tmp`` and
publishes it with one ``rename`` under the lock, after checking again that no other node
published the key meanwhile; the loser's files are removed. So concurrent nodes saving one key
leave exactly one complete cache, and readers never see a partial one. Each saved path is its
own archive, named relative to the path's parent, and the manifest records where it goes:
under the node's home as ``~/...`` (a machine node's home moves with every run), or absolute.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from msgspec import Struct

from runner.store.cache_tmp import sweep
from runner.store.files import StoredArchive, locked, open_archive, read_json, write_json
from runner.store.pending import PendingArchives

MANIFEST = "manifest.json"


class CachedPath(Struct, frozen=True):
    target: str  # "~/.npm" or "/usr/local/lib/x": where it is restored
    archive: StoredArchive


class CacheEntry(Struct, frozen=True):
    key: str
    created: float
    build_num: int
    job: str
    run_id: str
    paths: tuple[CachedPath, ...]
    folder: Path

    @property
    def size(self) -> int:
        return sum(p.archive.size for p in self.paths)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "created": self.created,
            "build_num": self.build_num,
            "job": self.job,
            "run_id": self.run_id,
            "paths": [{"target": p.target, **p.archive.to_dict()} for p in self.paths],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], folder: Path) -> CacheEntry:
        return cls(
            key=str(data["key"]),
            created=float(data["created"]),
            build_num=int(data.get("build_num", 0)),
            job=str(data.get("job", "")),
            run_id=str(data.get("run_id", "")),
            paths=tuple(
                CachedPath(str(p["target"]), StoredArchive.from_dict(p)) for p in data["paths"]
            ),
            folder=folder,
        )


def _folder_name(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:40]


class PendingCache(PendingArchives[CachedPath]):
    """A cache being written; :meth:`CacheStore.publish` makes it visible, all at once.

    Its writer holds an exclusive ``flock`` on ``<folder>.lock`` while it lives: the kernel
    drops the lock when the process dies (even by ``kill -9``), so the next run and
    ``runner clean`` can tell an abandoned save from a live one without trusting a PID
    (issue 13)."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder, CachedPath)
        self._lock = folder.with_name(folder.name + ".lock")
        self._fd: int | None = os.open(self._lock, os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)  # new and unique: never waits

    def discard(self) -> None:
        super().discard()
        self.release()

    def release(self) -> None:
        """The save is over (published or discarded): drop the lock and its file."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            self._lock.unlink()
        os.close(self._fd)
        self._fd = None


class CacheStore(Struct, frozen=True):
    root: Path  # <state>/caches

    @property
    def entries_dir(self) -> Path:
        return self.root / "entries"

    def get(self, key: str) -> CacheEntry | None:
        """The cache saved under exactly ``key``."""
        return self._read(self.entries_dir / _folder_name(key))

    def _read(self, folder: Path) -> CacheEntry | None:
        try:
            return CacheEntry.from_dict(read_json(folder / MANIFEST), folder)
        except (OSError, ValueError, KeyError, TypeError):
            return None  # absent, or not a complete entry: never half-used

    def entries(self) -> list[CacheEntry]:
        try:
            folders = list(self.entries_dir.iterdir())
        except FileNotFoundError:
            return []
        found = (self._read(folder) for folder in folders)
        return [entry for entry in found if entry is not None]

    def find(self, prefix: str) -> CacheEntry | None:
        """The most recently saved cache whose key starts with ``prefix``: "A key is searched
        against existing keys as a prefix", and the most recent match wins, even over an exact
        one [CR][CACHE]."""
        matches = [e for e in self.entries() if e.key.startswith(prefix)]
        return max(matches, key=lambda e: (e.created, e.key), default=None)

    def begin(self) -> PendingCache:
        folder = self.root / "tmp" / uuid.uuid4().hex
        folder.parent.mkdir(parents=True, exist_ok=True)
        pending = PendingCache(folder)  # the lock first: a sweep never sees it unowned
        try:
            folder.mkdir()
        except BaseException:
            pending.release()
            raise
        return pending

    def publish(
        self, pending: PendingCache, *, key: str, build_num: int, job: str, run_id: str
    ) -> tuple[CacheEntry, bool]:
        """Publish ``pending`` under ``key`` unless the key exists: (entry, whether ours won)."""
        entry = CacheEntry(
            key=key,
            created=time.time(),
            build_num=build_num,
            job=job,
            run_id=run_id,
            paths=tuple(pending.parts),
            folder=self.entries_dir / _folder_name(key),
        )
        write_json(pending.folder / MANIFEST, entry.to_dict())
        (pending.folder / "used").touch()
        self.entries_dir.mkdir(parents=True, exist_ok=True)
        with locked(self.root / "lock"):
            existing = self.get(key)
            if existing is None:
                if entry.folder.exists():  # a damaged leftover: no readable manifest
                    shutil.rmtree(entry.folder)
                os.rename(pending.folder, entry.folder)
                pending.release()
                return entry, True
        pending.discard()
        return existing, False

    def open(self, entry: CacheEntry, cached: CachedPath) -> Iterator[bytes]:
        """The tar stream of one cached path, verified first (complete and unchanged)."""
        return open_archive(entry.folder, cached.archive, f"cache '{entry.key}'")

    def mark_used(self, entry: CacheEntry) -> None:
        try:
            os.utime(entry.folder / "used")
        except OSError:
            (entry.folder / "used").touch()

    def last_used(self, entry: CacheEntry) -> float:
        try:
            return (entry.folder / "used").stat().st_mtime
        except OSError:
            return entry.created

    def remove(self, entry: CacheEntry) -> None:
        """Remove an entry: renamed away under the lock first, so no reader sees it half gone."""
        trash = self.root / "tmp" / f"removed-{uuid.uuid4().hex}"
        trash.parent.mkdir(parents=True, exist_ok=True)
        with locked(self.root / "lock"):
            try:
                os.rename(entry.folder, trash)
            except FileNotFoundError:
                return
        shutil.rmtree(trash, ignore_errors=True)

    def sweep_tmp(self, older_than: float) -> int:
        """Remove saves abandoned by dead runs (:func:`runner.store.cache_tmp.sweep`)."""
        return sweep(self.root, older_than)
