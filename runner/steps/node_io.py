"""Reading from a node through the Session protocol only, so it works on both executors."""

from __future__ import annotations

import base64
import hashlib
import posixpath
import tarfile
from collections.abc import Callable, Iterable
from typing import Any

from msgspec import Struct, field

from runner.archive import ArchiveError, MemberChecker, scan
from runner.errors import RunnerError
from runner.executors.base import ExecRequest, Session
from runner.steps.context import StepContext
from runner.store.pending import PendingArchives

_MAX_LINKS = 16


def file_checksum(session: Session, path: str) -> str:
    """Base64 of the SHA-256 of a file in the node, following links [CR ``checksum``].

    Errors are worded as Go's ``os`` package words them, since CircleCI's agent prints them
    inside its ``error computing cache key`` line."""
    for _ in range(_MAX_LINKS):
        if not session.exists(path):
            raise RunnerError(f"open {path}: no such file or directory")
        member, digest = _first_member(session, path)
        if member.issym():
            path = posixpath.normpath(posixpath.join(posixpath.dirname(path), member.linkname))
            continue
        if not member.isreg():
            raise RunnerError(f"read {path}: is a directory" if member.isdir()
                              else f"read {path}: not a regular file")
        return base64.b64encode(digest).decode()
    raise RunnerError(f"open {path}: too many levels of symbolic links")


def _first_member(session: Session, path: str) -> tuple[tarfile.TarInfo, bytes]:
    """The archive's first member (``path`` itself) and the SHA-256 of its content."""
    digest = hashlib.sha256()
    seen: list[tarfile.TarInfo] = []

    def first(tar: tarfile.TarFile, member: tarfile.TarInfo, _name: str) -> None:
        if not seen:
            seen.append(member)
            data = tar.extractfile(member) if member.isreg() else None
            while data is not None and (chunk := data.read(1 << 20)):
                digest.update(chunk)

    try:
        scan(session.get_archive(path), MemberChecker(), _ignore, on_member=first)
    except ArchiveError as exc:
        raise RunnerError(f"read {path}: {exc.message}") from None
    if not seen:
        raise RunnerError(f"read {path}: cannot read it")
    return seen[0], digest.digest()


def _ignore(_data: bytes) -> None:
    return None


def _ignore_path(_path: str) -> None:
    return None


class _Collect(Struct):
    data: bytearray = field(default_factory=bytearray)

    def write(self, data: bytes) -> None:
        if len(self.data) < 64 * 1024 * 1024:
            self.data += data

    def idle(self) -> None:
        return None


def list_tree(ctx: StepContext, root: str, depth: int) -> list[str]:
    """Paths under ``root`` in the node, relative to it, up to ``depth`` levels deep.

    A quiet ``find`` in the node (POSIX, busybox too): only Go-style globs need it."""
    out = _Collect()
    script = f"cd {_quote(root)} && find . -mindepth 1 -maxdepth {int(depth)} -print0\n"
    request = ExecRequest(
        script=script, shell=("/bin/sh",), cwd="/", env=dict(ctx.env), tag=ctx.tag
    )
    result = ctx.session.start(request, out).wait()
    if not result.ok:
        text = bytes(out.data).decode(errors="replace").strip()
        raise RunnerError(f"cannot list {root} in the node: {text or result.error or 'failed'}")
    names = bytes(out.data).decode(errors="surrogateescape").split("\0")
    return sorted(n[2:] for n in names if n.startswith("./"))


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def archive_into(
    ctx: StepContext,
    pending: PendingArchives[Any],
    paths: Iterable[tuple[str, str]],
    added: Callable[[str], None] = _ignore_path,
) -> str | None:
    """Archive each ``(node path, target)`` of the node into ``pending`` (a cache or a
    workspace layer being written), telling ``added`` each path done. The error's text when a
    path could not be archived; then, as on an interrupt, nothing of ``pending`` is left."""
    try:
        with pending.discarded_on_error():
            for path, target in paths:
                pending.add(target, ctx.session.get_archive(path))
                added(path)
    except ArchiveError as exc:
        return str(exc)
    return None
