"""Restoring an earlier run's kept environment into a new node (``--from-step``).

What is restored, and why this way:

* machine: the kept home (so ``~/project``, ``~/.cache``, ``~/.local``...), the working
  directory when it lies outside the home (it is a path on this computer, so already there),
  and the BASH_ENV file. The home is *copied* (``cp -a``-like: modes, times, symlinks as they
  are); the kept home is never changed, so every ``--from-step`` run starts from the same state
  and a person can iterate. Files that recorded the kept home's absolute path (a virtualenv's
  scripts, say) still point into it, and that still works while it is kept.
* docker: the home, the working directory (when outside the home) and the BASH_ENV file are
  read from the kept container (``docker cp CONTAINER:PATH -``, a tar stream) and extracted
  into the new primary container with the session's own archive primitive, owned by the step
  user. Changes outside those (``apt-get install`` into ``/usr``) are not carried over: the
  alternative, ``docker commit`` of the kept container into a temporary image used as the new
  primary image, would carry everything but needs the executor to take an image override and
  to clean such images; runner says what it restored so nobody is surprised.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterator

from runner.archive.stream import as_file
from runner.debug.kept import KeptNode
from runner.executors.base import Session
from runner.executors.registry import place_of


def restore(kept: KeptNode, session: Session, workdir: str) -> list[str]:
    """Copy the kept environment's state into ``session``; returns what was restored."""
    pairs = [(kept.home, session.home)]
    if not _inside(workdir, session.home) and not _inside(kept.workdir, kept.home):
        pairs.append((kept.workdir, workdir))
    pairs.append((kept.bash_env, session.bash_env))
    done: list[str] = []
    on_host = place_of(kept).on_host
    for old, new in pairs:
        if on_host:
            _copy_on_host(old, new)
        else:
            _copy_by_tar(kept, old, new, session)
        done.append(new)
    return done


def _inside(path: str, root: str) -> bool:
    path, root = os.path.normpath(path), os.path.normpath(root)
    return path == root or path.startswith(root.rstrip("/") + "/")


def _copy_on_host(old: str, new: str) -> None:
    if os.path.normpath(old) == os.path.normpath(new) or not os.path.lexists(old):
        return
    if os.path.isdir(old):
        shutil.copytree(old, new, symlinks=True, dirs_exist_ok=True)
    else:
        os.makedirs(os.path.dirname(new), exist_ok=True)
        shutil.copy2(old, new)


def _copy_by_tar(kept: KeptNode, old: str, new: str, session: Session) -> None:
    chunks = place_of(kept).archive(kept, old)
    old_name, new_name = os.path.basename(old.rstrip("/")), os.path.basename(new.rstrip("/"))
    dest = os.path.dirname(new.rstrip("/")) or "/"
    if old_name == new_name:
        session.put_archive(dest, as_file(chunks))
        return
    with tempfile.TemporaryFile() as spool:
        _renamed(chunks, old_name, new_name, spool)
        spool.seek(0)
        session.put_archive(dest, spool)


def _renamed(chunks: Iterator[bytes], old: str, new: str, out: io.BufferedRandom) -> None:
    """Copy a tar stream, renaming its top entry ``old`` to ``new`` (a home at a new path)."""

    def rename(name: str) -> str:
        head, sep, rest = name.partition("/")
        return new + sep + rest if head == old else name

    with (
        tarfile.open(fileobj=as_file(chunks), mode="r|*") as source,
        tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as target,
    ):
        for member in source:
            member.name = rename(member.name)
            if member.islnk():
                member.linkname = rename(member.linkname)
            target.addfile(member, source.extractfile(member) if member.isfile() else None)
