"""Moving a fully extracted staging tree into its destination, never through a link.

Staging lives inside the destination (same filesystem), so a new top-level entry arrives with
one ``rename``. Existing directories are merged into; an existing file or link in the way is
replaced (the link itself, as ``tar`` does without ``--keep-directory-symlink``), never written
through. A file that would replace a directory is a conflict, found before anything moves.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from pathlib import Path

from runner.archive.checks import ArchiveError


def _lstat_mode(path: Path) -> int | None:
    try:
        return os.lstat(path).st_mode
    except FileNotFoundError:
        return None


def check_conflicts(staging: Path, dest: Path) -> None:
    """Raise before anything moves if an archive file would replace a directory."""
    for entry in os.scandir(staging):
        target = dest / entry.name
        mode = _lstat_mode(target)
        if mode is None or not stat.S_ISDIR(mode):
            continue
        if entry.is_dir(follow_symlinks=False):
            check_conflicts(Path(entry.path), target)
        else:
            raise ArchiveError(
                f"cannot extract '{target}': a directory is in the way of a file of the archive"
            )


def merge(staging: Path, dest: Path) -> None:
    """Move every entry of ``staging`` into ``dest``; existing directories keep their modes."""
    for entry in os.scandir(staging):
        source = Path(entry.path)
        target = dest / entry.name
        mode = _lstat_mode(target)
        if mode is not None and stat.S_ISDIR(mode) and entry.is_dir(follow_symlinks=False):
            merge(source, target)
            continue
        if mode is not None and entry.is_dir(follow_symlinks=False):
            target.unlink()  # a file or a link where the archive has a directory
        _move(source, target)


def _move(source: Path, target: Path) -> None:
    try:
        os.replace(source, target)  # replaces a file or link atomically, never follows it
    except OSError as exc:
        if exc.errno != errno.EXDEV:  # a mount point inside the destination
            raise
        if _lstat_mode(target) is not None:
            target.unlink()
        shutil.move(str(source), str(target))
