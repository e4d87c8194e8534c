"""Files copied out of a node into the run's directory: artifacts and test results.

``<run_dir>/artifacts/<job>/<node>/<destination>/...`` and
``<run_dir>/test-results/<job>/<node>/<path>/...``. What comes out of a node is extracted into
a staging directory first (a refused archive leaves nothing behind), and there a symbolic link
that resolves outside what was stored is dropped with a warning: these files stay on the host,
where a link to ``/etc`` (or a virtualenv's ``bin/python``) has no business.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path

from msgspec import Struct

from runner.archive import ArchiveError, LinkPolicy, safe_extract
from runner.archive.checks import clean_name
from runner.archive.merge import check_conflicts, merge
from runner.names import name_form


def default_destination(path: str) -> str:
    """Where artifacts go without ``destination``: the path as written, made relative.

    CircleCI uses the path in the container (``/tmp/artifacts`` -> ``tmp/artifacts``); a
    machine node's home moves from run to run, so ``~/x`` becomes ``x``."""
    text = path[2:] if path.startswith("~/") else path
    parts = [p for p in text.split("/") if p not in ("", ".", "..", "~")]
    return "/".join(parts) or "root"


class CopiedFiles(Struct, frozen=True):
    folder: Path  # where they are on the host
    files: tuple[tuple[str, int], ...]  # (path relative to folder, size)
    dropped: tuple[str, ...] = ()  # links that pointed outside, not kept

    @property
    def size(self) -> int:
        return sum(size for _name, size in self.files)


def target_dir(base: Path, job: str, node: int, destination: str) -> Path:
    """``base/<job>/<node>/<destination>``; a destination that climbs out is refused."""
    return base / name_form(job) / str(node) / clean_name(destination, what="destination")


def copy_out(stream: Iterable[bytes], target: Path, top: str) -> CopiedFiles:
    """Extract a node's tar of ``top`` (a file or a directory) so that it becomes ``target``
    (a directory's content is merged into ``target``; a file is renamed to it)."""
    staging = target.parent / f".tmp-{uuid.uuid4().hex}"
    try:
        return _copy_out(stream, staging, target, top)
    except OSError as exc:
        raise ArchiveError(f"cannot store {top} in {target}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _copy_out(stream: Iterable[bytes], staging: Path, target: Path, top: str) -> CopiedFiles:
    safe_extract(stream, staging, links=LinkPolicy.ANY)
    source = staging / top
    if not os.path.lexists(source):
        raise ArchiveError(f"the archive of {top} did not hold it")
    if source.is_dir() and not source.is_symlink():
        dropped = _drop_outward_links(source)
        files = _listing(source)
        target.mkdir(parents=True, exist_ok=True)
        _move_into(source, target)
        return CopiedFiles(target, files, dropped)
    if source.is_symlink():
        source.unlink()
        return CopiedFiles(target.parent, (), (top,))
    holder = staging / ".one"  # a directory holding the file under its new name
    holder.mkdir()
    os.rename(source, holder / target.name)
    _move_into(holder, target.parent)
    return CopiedFiles(target.parent, ((target.name, target.lstat().st_size),))


def _move_into(source: Path, folder: Path) -> None:
    check_conflicts(source, folder)
    merge(source, folder)


def _drop_outward_links(folder: Path) -> tuple[str, ...]:
    """Remove links that resolve outside ``folder`` (nothing follows them before this)."""
    root = os.path.realpath(folder)
    dropped: list[str] = []
    for where, dirs, names in os.walk(folder):
        for name in dirs + names:
            path = os.path.join(where, name)
            if os.path.islink(path):
                resolved = os.path.realpath(path)
                if resolved != root and not resolved.startswith(root + os.sep):
                    os.unlink(path)
                    dropped.append(os.path.relpath(path, folder))
    return tuple(sorted(dropped))


def _listing(folder: Path) -> tuple[tuple[str, int], ...]:
    out: list[tuple[str, int]] = []
    for root, _dirs, names in os.walk(folder):
        for name in names:
            path = Path(root) / name
            out.append((str(path.relative_to(folder)), path.lstat().st_size))
    return tuple(sorted(out))
