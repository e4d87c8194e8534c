"""Tar streams in and out of a node, treating every archive as hostile.

Extraction refuses ``..`` members, absolute names, links that leave the destination, writes
through links, devices and FIFOs, and archives over a size or member budget, with one clear
message each. ``tarfile``'s ``data`` filter is used as well, but not relied on alone
(CVE-2025-4517, -4330, -4138 are bypasses of it).
"""

from __future__ import annotations

import os
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from runner.errors import RunnerError

CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    max_bytes: int = 20 * 1024**3
    max_members: int = 2_000_000


class ArchiveError(RunnerError):
    """An archive that runner refuses to extract."""


def _clean_name(name: str) -> str:
    path = PurePosixPath(name)
    if path.is_absolute() or name.startswith("/"):
        raise ArchiveError(f"refused archive member '{name}': absolute path")
    if ".." in path.parts:
        raise ArchiveError(f"refused archive member '{name}': '..' in its path")
    return str(path)


def _inside(root: Path, candidate: Path) -> bool:
    try:
        candidate.relative_to(root)
    except ValueError:
        return False
    return True


def check_member(member: tarfile.TarInfo, dest: Path) -> None:
    """Raise ArchiveError unless ``member`` is safe to create under ``dest`` (a real path)."""
    name = _clean_name(member.name)
    target = dest / name
    if member.ischr() or member.isblk() or member.isfifo() or member.isdev():
        raise ArchiveError(f"refused archive member '{name}': device or FIFO")
    parent = Path(os.path.realpath(target.parent))
    if not _inside(dest, parent):
        raise ArchiveError(f"refused archive member '{name}': it would be written through a link")
    if member.issym():
        link = member.linkname
        resolved = (
            Path(os.path.normpath(target.parent / link)) if not link.startswith("/") else None
        )
        if resolved is None or not _inside(dest, resolved):
            raise ArchiveError(
                f"refused archive member '{name}': link to {link} leaves the archive"
            )
    if member.islnk():
        _clean_name(member.linkname)


def safe_extract(data: IO[bytes], dest: Path, limits: Limits = Limits()) -> None:
    """Extract a (possibly compressed) tar stream under ``dest``, member by member."""
    dest.mkdir(parents=True, exist_ok=True)
    root = Path(os.path.realpath(dest))
    total = 0
    count = 0
    try:
        with tarfile.open(fileobj=data, mode="r|*") as archive:
            for member in archive:
                count += 1
                total += max(member.size, 0)
                if count > limits.max_members:
                    raise ArchiveError(f"refused archive: more than {limits.max_members} members")
                if total > limits.max_bytes:
                    raise ArchiveError(
                        f"refused archive: more than {limits.max_bytes // 1024**2} MiB"
                    )
                check_member(member, root)
                archive.extract(member, root, filter="data")
    except tarfile.TarError as exc:
        raise ArchiveError(f"cannot read archive: {exc}") from None


def tar_stream(path: Path) -> Iterator[bytes]:
    """A tar of ``path`` (file or directory), members named relative to its parent."""
    with tempfile.TemporaryFile() as spool:
        with tarfile.open(fileobj=spool, mode="w") as archive:
            archive.add(str(path), arcname=path.name)
        spool.seek(0)
        while chunk := spool.read(CHUNK):
            yield chunk
