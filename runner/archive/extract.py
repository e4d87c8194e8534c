"""``safe_extract``: all or nothing, into a private staging directory, then merged in.

Two engines give the same result. By default runner writes the members itself as its reader
checks them (:mod:`runner.archive.direct`: faster than ``tar -x``, issue 17). With
``engine="tar"``, Python checks every header and only then lets GNU ``tar -x`` see it, and
afterwards the staging tree is compared with what was checked, so a header that the two
parsers read differently cannot slip through; the tests extract every hostile archive both
ways, which is how runner's reader is held to what GNU tar makes of the same bytes. Either
way a refused, truncated or corrupt archive leaves the destination as it was: the staging
directory is removed and nothing was merged.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from runner.archive.checks import ArchiveError, Limits, LinkPolicy, MemberChecker
from runner.archive.compress import decompressed
from runner.archive.direct import TreeWriter
from runner.archive.merge import check_conflicts, merge
from runner.archive.reader import ScanResult, scan
from runner.archive.scanner import scan_fast
from runner.archive.stream import CHUNK, gnu_tar, widen_pipe

STAGING_PREFIX = ".runner-extract-"
DEFAULT_LIMITS = Limits()


def safe_extract(
    data: IO[bytes] | Iterable[bytes],
    dest: Path,
    limits: Limits = DEFAULT_LIMITS,
    *,
    links: LinkPolicy = LinkPolicy.ANY,
    engine: str = "auto",
) -> ScanResult:
    """Extract a tar stream (zstd, gzip or plain) under ``dest``, completely or not at all."""
    try:
        dest.mkdir(parents=True, exist_ok=True)
        root = Path(os.path.realpath(dest))
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=root))
    except OSError as exc:
        raise ArchiveError(f"cannot extract into {dest}: {exc.strerror or exc}") from None
    checker = MemberChecker(limits, links)
    try:
        source = decompressed(data)  # reads ahead: a damaged source may fail right here
        tar = gnu_tar() if engine == "tar" else None
        if tar is not None:
            result = _with_gnu_tar(tar, source, staging, checker)
        else:
            result = _with_python(source, staging, checker)
        check_conflicts(staging, root)
        merge(staging, root)
    except OSError as exc:  # the disk, mostly: full, read-only, permissions
        raise ArchiveError(f"cannot extract into {dest}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return result


def _with_gnu_tar(
    tar: str, source: Iterable[bytes], staging: Path, checker: MemberChecker
) -> ScanResult:
    argv = [tar, "-x", "-f", "-", "-C", str(staging), "--no-same-owner",
            "--no-same-permissions", "--delay-directory-restore"]  # fmt: skip
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errors, umask=0o022
        )
        assert proc.stdin is not None
        widen_pipe(proc.stdin)
        try:
            stdin = proc.stdin

            def forward(data: bytes) -> None:
                stdin.write(data)

            result = scan(source, checker, forward, gated=True)
            proc.stdin.close()
        except BrokenPipeError:
            result = None  # tar stopped early: its own message says why
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        code = proc.wait()
        if code != 0 or result is None:
            errors.seek(0)
            text = errors.read().decode(errors="replace").strip().splitlines()
            raise ArchiveError("tar could not extract the archive: " + "; ".join(text[:3]))
    _verify_tree(staging, checker)
    return result


def _verify_tree(staging: Path, checker: MemberChecker) -> None:
    """Everything tar created must be something the checks saw, of the same kind."""
    implied: set[str] = set()  # folders tar makes for members below them
    for name in checker.kinds:
        parent = name.rpartition("/")[0]
        while parent and parent not in implied:  # stops at the first folder already seen
            implied.add(parent)
            parent = parent.rpartition("/")[0]
    wanted = {"dir": "dir", "file": "file", "link": "link"}
    stack = [(staging, "")]
    while stack:
        folder, prefix = stack.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                name = prefix + entry.name
                if entry.is_symlink():
                    kind = "link"
                elif entry.is_dir(follow_symlinks=False):
                    kind = "dir"
                    stack.append((Path(entry.path), name + "/"))
                elif entry.is_file(follow_symlinks=False):
                    kind = "file"
                else:
                    raise ArchiveError(f"refused archive member '{name}': special file")
                expected = wanted.get(checker.kinds.get(name, ""), "")
                if kind != expected and not (kind == "dir" and name in implied):
                    raise ArchiveError(
                        f"refused archive member '{name}': tar created a {kind} the checks "
                        "did not see"
                    )


def _with_python(source: Iterable[bytes], staging: Path, checker: MemberChecker) -> ScanResult:
    writer = TreeWriter(staging)
    try:
        scan_fast(source, checker, _discard, gated=False, chunk=CHUNK, on_member=writer.member)
    except BaseException:
        writer.close()  # the staging tree is removed: its folders' modes do not matter
        raise
    writer.finish()
    return ScanResult(checker.members, checker.total, tuple(checker.files))


def _discard(_data: bytes) -> None:
    return None
