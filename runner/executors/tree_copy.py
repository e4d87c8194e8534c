"""``checkout``'s copy of a big tree with GNU tar, on both executors (issue 17, item 2).

What a user would script by hand is ``git ls-files -z | tar --null -T - -c | tar -x`` (or the
same stream into ``docker cp -``): two C processes, reading and writing in parallel. Copying
50,000 files one by one from Python costs several times that (an ``open``, ``sendfile``,
``chmod`` and ``utime`` per file, each through Python), so both executors hand the list to the
host's GNU tar when there is one, and keep their own copy where there is none.

The project is the user's own tree, not a hostile archive: tar copies exactly the names given
(``--no-recursion``), keeps symbolic links as links, and a file deleted since it was listed is
skipped (``--ignore-failed-read``), as the Python copies do.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from runner.archive import ArchiveError, gnu_tar
from runner.archive.stream import tar_output, widen_pipe
from runner.errors import Interrupted

_POLL = 0.05  # seconds between looks at the stop flag while tar copies


def available() -> bool:
    return gnu_tar() is not None


def _listing(names: list[str]) -> IO[bytes]:
    listing = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the caller
    listing.write(b"".join(n.encode(errors="surrogateescape") + b"\0" for n in names))
    listing.seek(0)
    return listing


def _create(tar: str, root: Path, extra: list[str]) -> list[str]:
    return [tar, "-C", str(root), "--null", "--no-recursion", "--ignore-failed-read",
            "-T", "-", "-c", "-f", "-", *extra]  # fmt: skip


def copy_files(root: Path, names: list[str], dest: Path, stopped: Callable[[], bool]) -> None:
    """``names`` (relative to ``root``) into ``dest``, modes and links kept, by a pipe of two
    tar processes; ``stopped()`` turning true kills them (a Ctrl-C must not wait for a copy)."""
    tar = gnu_tar()
    assert tar is not None, "checked with available()"
    dest.mkdir(parents=True, exist_ok=True)
    with _listing(names) as listing, tempfile.TemporaryFile() as errors:
        reader = subprocess.Popen(_create(tar, root, []), stdin=listing,
                                  stdout=subprocess.PIPE, stderr=errors)  # fmt: skip
        assert reader.stdout is not None
        widen_pipe(reader.stdout)
        writer = subprocess.Popen(
            [tar, "-C", str(dest), "-x", "-f", "-", "-p", "--no-same-owner"],
            stdin=reader.stdout, stdout=subprocess.DEVNULL, stderr=errors,
        )  # fmt: skip
        reader.stdout.close()  # the writer holds it now
        codes = _wait_all((reader, writer), stopped)
        if any(codes):
            errors.seek(0)
            text = errors.read().decode(errors="replace").strip().splitlines()
            raise ArchiveError(f"cannot copy the project into {dest}: " + "; ".join(text[:3]))


def copy_files_here(
    root: Path, names: list[str], dest: Path, stopped: Callable[[], bool]
) -> None:
    """``copy_files`` without GNU tar: file by file from Python (several times slower)."""
    dest.mkdir(parents=True, exist_ok=True)
    made: set[Path] = set()
    for count, name in enumerate(names):
        if count % 64 == 0 and stopped():  # a Ctrl-C must not wait for a big copy
            raise Interrupted(f"interrupted after copying {count} of {len(names)} files")
        src = root / name
        out = dest / name
        if out.parent not in made:
            out.parent.mkdir(parents=True, exist_ok=True)
            made.add(out.parent)
        if src.is_symlink():
            if out.is_symlink() or out.exists():
                out.unlink()
            out.symlink_to(os.readlink(src))
        elif src.is_dir():
            out.mkdir(exist_ok=True)
        else:
            if out.is_symlink() or out.exists():  # a --from-step resync: replace, even a
                out.unlink()  # read-only file (git's objects), never write through a link
            shutil.copy2(src, out)


def _wait_all(procs: tuple[subprocess.Popen[bytes], ...], stopped: Callable[[], bool]) -> list[int]:
    try:
        while any(p.poll() is None for p in procs):
            if stopped():
                raise Interrupted("interrupted during the copy")
            time.sleep(_POLL)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    # GNU tar exits 1 when a file changed while it was read: a live tree, as with tar_stream
    return [code if code > 1 else 0 for code in (p.returncode for p in procs)]


def tar_chunks(root: Path, names: list[str], uid: int, gid: int) -> Iterator[bytes]:
    """A tar of ``names`` relative to ``root``, every member owned by ``uid``:``gid``
    (docker keeps the owner of tar headers when it extracts), made by GNU tar as it is read."""
    tar = gnu_tar()
    assert tar is not None, "checked with available()"
    # ":ID" is a number (GNU tar >= 1.29: "NAME:ID" with no name); "+ID" would be a name
    owner = ["--numeric-owner", f"--owner=:{int(uid)}", f"--group=:{int(gid)}"]
    with _listing(names) as listing:
        yield from tar_output(_create(tar, root, owner), root, stdin=listing)


def with_folders(names: list[str]) -> list[str]:
    """``names`` after every folder above them, parents first: each gets its own entry, so
    none is left for the engine to create (it would be root's)."""
    folders = {"."}
    for name in names:
        parts = name.split("/")[:-1]
        folders.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    return [*sorted(folders), *names]

