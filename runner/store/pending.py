"""A folder of archives being written, that a store publishes all at once (by ``rename``).

The shared half of a cache being saved (:mod:`runner.store.caches`) and a workspace layer
being persisted (:mod:`runner.store.workspaces`): each stored path is its own archive, numbered
in the order added, and what each store records about a path is its own part type.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Generic, TypeVar

from runner.store.files import StoredArchive, store_archive

P = TypeVar("P")


class PendingArchives(Generic[P]):
    def __init__(self, folder: Path, part: Callable[[str, StoredArchive], P]) -> None:
        self.folder = folder
        self.parts: list[P] = []
        self._part = part

    def add(self, target: str, stream: Iterable[bytes]) -> P:
        """Store ``stream`` (a tar) as the next archive; ``target`` says where it goes."""
        stored = store_archive(stream, self.folder, f"{len(self.parts)}.tar.zst")
        part = self._part(target, stored)
        self.parts.append(part)
        return part

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    @contextlib.contextmanager
    def discarded_on_error(self) -> Iterator[None]:
        """Whatever ends the writing early (a failed archive, an interrupt) leaves nothing."""
        try:
            yield
        except BaseException:
            self.discard()
            raise
