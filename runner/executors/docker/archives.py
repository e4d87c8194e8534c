"""Tar streams into a container: the project for ``checkout``, and caches or workspaces.

Everything reaches the container through the engine's archive API (``put_archive``), never a
bind mount of the user's tree, so a job cannot change the user's files. Ownership is the job
user's (docker keeps the uid/gid of tar headers when it extracts), and every directory runner
creates on the way gets an explicit entry: a parent the engine would make by itself would be
root's.
"""

from __future__ import annotations

import os
import stat
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from runner.archive.checks import LinkPolicy, MemberChecker, clean_name
from runner.archive.compress import decompressed
from runner.archive.headers import Header, ustar
from runner.archive.scanner import scan_fast

CHUNK = 1024 * 1024
BLOCK = tarfile.BLOCKSIZE
_FILE_TYPES = (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE)


def _inside(dest: str, name: str) -> str:
    """The member name that lands at ``dest/name`` when extracted at ``/``."""
    base = dest.strip("/")
    if name in ("", "."):
        return base or "."
    return f"{base}/{name}" if base else name


def _header(info: tarfile.TarInfo) -> bytes:
    """ustar where it can say the member (a fifth of the cost), else tarfile's pax."""
    fast = ustar(info.name, info.type, size=info.size, mode=info.mode, mtime=int(info.mtime),
                 uid=info.uid, gid=info.gid, linkname=info.linkname)  # fmt: skip
    return fast if fast is not None else info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def _owned(
    name: str, uid: int, gid: int, st: os.stat_result | None, kind: bytes
) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.uid, info.gid = uid, gid
    info.mode = stat.S_IMODE(st.st_mode) if st else 0o755
    info.mtime = int(st.st_mtime) if st else 0
    return info


def project_tar(root: Path, names: list[str], dest: str, uid: int, gid: int) -> Iterator[bytes]:
    """A tar of ``names`` (relative to ``root``) placed under ``dest``, built as it is sent:
    headers are made here and file data is read in chunks, so memory stays flat."""
    dirs = {"."}
    for name in names:
        parts = name.split("/")[:-1]
        dirs.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    for folder in sorted(dirs):  # a parent sorts before its children
        path = root / folder
        st = path.stat() if path.is_dir() else None
        yield _header(_owned(_inside(dest, folder), uid, gid, st, tarfile.DIRTYPE))
    for name in names:
        yield from _entry(root / name, _inside(dest, name), uid, gid)
    yield b"\0" * (2 * BLOCK)


def _entry(path: Path, member: str, uid: int, gid: int) -> Iterator[bytes]:
    try:
        st = path.lstat()
    except FileNotFoundError:
        return  # deleted since it was listed
    if stat.S_ISLNK(st.st_mode):
        info = _owned(member, uid, gid, st, tarfile.SYMTYPE)
        info.linkname = os.readlink(path)
        yield _header(info)
    elif stat.S_ISDIR(st.st_mode):
        yield _header(_owned(member, uid, gid, st, tarfile.DIRTYPE))
    elif stat.S_ISREG(st.st_mode):
        info = _owned(member, uid, gid, st, tarfile.REGTYPE)
        info.size = st.st_size
        yield _header(info)
        yield from _content(path, st.st_size)


def _content(path: Path, size: int) -> Iterator[bytes]:
    """Exactly ``size`` bytes (a file that changed size meanwhile is cut or zero-padded)."""
    left = size
    with open(path, "rb") as handle:
        while left > 0:
            chunk = handle.read(min(CHUNK, left))
            if not chunk:
                break
            left -= len(chunk)
            yield chunk
    if left:
        yield b"\0" * left
    if size % BLOCK:
        yield b"\0" * (BLOCK - size % BLOCK)


def owned_archive(data: IO[bytes], dest: str, uid: int, gid: int) -> IO[bytes]:
    """Check every member of ``data`` (hostile until proven otherwise: reliability note 6),
    re-own it to the job's user and move it under ``dest``; spooled to a temporary file, so a
    refused or truncated archive is refused before any of it reaches the container. The
    engine's archive API takes plain tar: zstd or gzip is decompressed here, as it streams.

    Members are read by runner's own reader and rewritten as ustar headers (``tarfile`` only
    for what ustar cannot say): through ``tarfile`` both ways a 20,000-file cache took four
    seconds here before anything reached the engine (issue 17)."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - returned open; the caller closes it
    try:
        source = decompressed(data)  # reads ahead: a damaged source may fail here
        spool.write(_header(_owned(_inside(dest, "."), uid, gid, None, tarfile.DIRTYPE)))

        def rewrite(member: Header, name: str, data: list[memoryview]) -> None:
            if name == ".":
                return
            kind = tarfile.REGTYPE if member.type in _FILE_TYPES else member.type
            info = tarfile.TarInfo(_inside(dest, name))
            info.type, info.size, info.mode = kind, member.size, member.mode & 0o7777
            info.mtime, info.uid, info.gid = int(member.mtime), uid, gid
            info.linkname = (_inside(dest, clean_name(member.linkname))
                             if kind == tarfile.LNKTYPE else member.linkname)  # fmt: skip
            spool.write(_header(info))
            spool.writelines(data)
            spool.write(bytes(-member.size % BLOCK))

        # read to its end (so a stored archive's digest is checked) before anything is sent
        scan_fast(source, MemberChecker(links=LinkPolicy.ANY), _discard, gated=False,
                  chunk=CHUNK, on_member=rewrite)  # fmt: skip
        spool.write(bytes(2 * BLOCK))
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


def _discard(_data: bytes) -> None:
    return None


def file_chunks(handle: IO[bytes]) -> Iterator[bytes]:
    try:
        while chunk := handle.read(CHUNK):
            yield chunk
    finally:
        handle.close()
