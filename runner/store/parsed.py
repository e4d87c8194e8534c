"""Where parsed config trees are kept (:mod:`runner.config.parsed`): ``<state>/parsed/<key>``.

Trees are written when a run starts (:meth:`ParsedConfigs.commit`), never by a command that
only reads nor for a config that was refused. One file per key, written whole and renamed
into place, so a reader sees all of a tree or none; two runs writing one key write the same
bytes. The :data:`KEEP` last used are kept. A state directory that cannot be written only
means nothing is kept: the config is parsed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path

KEEP = 64
STALE_PART = 3600.0  # seconds: a part-written file older than this belonged to a dead writer


class ParsedConfigs:
    """A :class:`runner.config.parsed.ParsedStore` in a directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._pending: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        path = self.root / key
        try:
            data = path.read_bytes()
        except OSError:
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # in use: the last to be pruned
        return data

    def put(self, key: str, data: bytes) -> None:
        """Noted, and written by :meth:`commit`: only a run writes, once its config was
        accepted. A config with errors, or a command that only reads, leaves nothing behind."""
        self._pending[key] = data

    def commit(self, keep: Callable[[bytes], bool] = lambda _data: True) -> None:
        """Write what was noted, each only if ``keep`` accepts it (a run keeps no tree that
        holds one of its secrets: runner.runflow)."""
        pending, self._pending = self._pending, {}
        written = [self._write(key, data) for key, data in pending.items() if keep(data)]
        if any(written):  # once per run, however many trees (the config's, its orbs')
            with contextlib.suppress(OSError):
                self._prune()

    def _write(self, key: str, data: bytes) -> bool:
        part = self.root / f".{key}.{secrets.token_hex(4)}.part"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            part.write_bytes(data)
            os.replace(part, self.root / key)
        except OSError:
            with contextlib.suppress(OSError):
                part.unlink()
            return False
        return True

    def _prune(self) -> None:
        kept: list[tuple[float, Path]] = []
        now = time.time()
        for entry in self.root.iterdir():
            with contextlib.suppress(OSError):
                modified = entry.stat().st_mtime
                if not entry.name.startswith("."):
                    kept.append((modified, entry))
                elif now - modified > STALE_PART:
                    entry.unlink()
        kept.sort()
        for _, entry in kept[:-KEEP]:
            with contextlib.suppress(OSError):
                entry.unlink()
