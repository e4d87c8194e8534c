"""The orb cache: ``$XDG_CACHE_HOME/runner/orbs/<host>/``, one directory per registry.

- ``sources/<ns>/<name>@<version>.yml``: a source as the registry answered it, under the exact
  version it answered. Published semantic versions never change (the registry refuses to
  republish one), so these are kept for ever.
- ``refs/<ns>/<name>@<asked>.json``: what a partial reference (``@5``, ``@5.0``, ``@volatile``,
  ``@dev:label``) resolved to and when; re-asked at most once a day (:data:`REFRESH`).

Every file is written to a temporary name and renamed into place, so an interrupted write leaves
no partial entry; a damaged entry reads as absent.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from msgspec import Struct

from runner.orbs.settings import RegistrySettings

REFRESH = 24 * 3600.0  # seconds a partial reference is trusted without asking again
EXACT = re.compile(r"\d+\.\d+\.\d+\Z")
_UNSAFE = re.compile(r"[^A-Za-z0-9._@:+-]")


def is_exact(version: str) -> bool:
    return EXACT.match(version) is not None


class Resolved(Struct, frozen=True):
    version: str
    resolved_at: float


class OrbCache:
    def __init__(self, settings: RegistrySettings) -> None:
        netloc = urlsplit(settings.host).netloc or settings.host
        self.root = settings.cache_dir / _UNSAFE.sub("_", netloc)

    def source_path(self, name: str, version: str) -> Path:
        return self.root / "sources" / f"{_safe(name)}@{_safe(version)}.yml"

    def read_source(self, name: str, version: str) -> str | None:
        try:
            return self.source_path(name, version).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def write_source(self, name: str, version: str, source: str) -> Path:
        path = self.source_path(name, version)
        atomic_write(path, source)
        return path

    def read_ref(self, name: str, asked: str) -> Resolved | None:
        try:
            data = json.loads(self._ref_path(name, asked).read_text(encoding="utf-8"))
            version, when = data["version"], float(data["resolved_at"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return Resolved(version, when) if isinstance(version, str) and version else None

    def write_ref(self, name: str, asked: str, resolved: Resolved) -> None:
        text = json.dumps({"version": resolved.version, "resolved_at": resolved.resolved_at})
        atomic_write(self._ref_path(name, asked), text + "\n")

    def _ref_path(self, name: str, asked: str) -> Path:
        return self.root / "refs" / f"{_safe(name)}@{_safe(asked)}.json"


def _safe(part: str) -> str:
    """A name or version as a relative path: ``ns/name`` keeps its one slash, nothing climbs."""
    pieces = [_UNSAFE.sub("_", p) for p in part.split("/")]
    return "/".join(p if p not in ("", ".", "..") else "_" for p in pieces)


def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
