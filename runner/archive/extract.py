"""``safe_extract``: all or nothing, into a private staging directory, then merged in.

Two engines give the same result. With GNU tar on the host (the usual case), Python checks
every header (``reader.scan``) and only then lets ``tar -x`` see it, and afterwards the staging
tree is compared with what was checked, so a header that the two parsers read differently
cannot slip through. Without GNU tar, Python writes the members itself with ``O_EXCL |
O_NOFOLLOW``. Either way a refused, truncated or corrupt archive leaves the destination as it
was: the staging directory is removed and nothing was merged.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from runner.archive.checks import ArchiveError, Limits, LinkPolicy, MemberChecker, clean_name
from runner.archive.compress import decompressed
from runner.archive.merge import check_conflicts, merge
from runner.archive.reader import ScanResult, scan
from runner.archive.stream import gnu_tar, widen_pipe

STAGING_PREFIX = ".runner-extract-"
DEFAULT_LIMITS = Limits()
_NOFOLLOW_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


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
    source = decompressed(data)
    checker = MemberChecker(limits, links)
    try:
        tar = gnu_tar() if engine in ("auto", "tar") else None
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
    folders: list[tuple[Path, int, float]] = []

    def write(tar: tarfile.TarFile, member: tarfile.TarInfo, name: str) -> None:
        if name == ".":
            return
        path = staging / name
        # Parents are real directories: the checks refuse members below links and files.
        path.parent.mkdir(parents=True, exist_ok=True)
        if member.isdir():
            path.mkdir(exist_ok=True)
            folders.append((path, member.mode, member.mtime))
        elif member.issym():
            os.symlink(member.linkname, path)
        elif member.islnk():
            os.link(staging / clean_name(member.linkname), path, follow_symlinks=False)
        else:
            _write_file(tar, member, path)

    result = scan(source, checker, _discard, on_member=write)
    for path, mode, mtime in reversed(folders):
        os.chmod(path, (mode & 0o755) | 0o700)
        os.utime(path, (mtime, mtime))
    return result


def _write_file(tar: tarfile.TarFile, member: tarfile.TarInfo, path: Path) -> None:
    fd = os.open(path, _NOFOLLOW_NEW, 0o600)
    with os.fdopen(fd, "wb") as out:
        data = tar.extractfile(member)
        if data is not None:
            shutil.copyfileobj(data, out, 1 << 20)
        os.fchmod(out.fileno(), member.mode & 0o755)
        os.utime(out.fileno(), (member.mtime, member.mtime))


def _discard(_data: bytes) -> None:
    return None
