"""Archive files with digests, as the job-data stores keep them.

An archive file is written through :class:`ArchiveWriter`: the tar stream coming out of a node
is checked member by member (:func:`runner.archive.scan`) while a second thread compresses
(zstd, :mod:`runner.archive.compress`), hashes and writes it, so checking overlaps with
compressing. Its SHA-256 goes into the
manifest; readers verify it as they read the file, so a file cut short or changed since it
was written is refused whole, never half-used.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from msgspec import Struct

from runner.archive.checks import ArchiveError, Limits, LinkPolicy, MemberChecker
from runner.errors import EnvironmentFailure, RunnerError, os_error_text
from runner.store.atomic import locked, read_json, write_json

if TYPE_CHECKING:
    from runner.archive import ScanResult

__all__ = [
    "StoredArchive",
    "locked",
    "open_archive",
    "read_json",
    "store_archive",
    "verify",
    "write_json",
]


class StoredArchive(Struct, frozen=True):
    """One compressed tar file and what was checked about it when it was written."""

    file: str  # name in its entry directory
    sha256: str
    size: int  # compressed bytes
    content: int  # bytes of file content in it
    members: int
    names: tuple[str, ...] = ()  # files and links in it (for workspace conflicts)
    frames: tuple[int, ...] = ()  # bytes of each zstd frame; none: read it as one stream

    def to_dict(self, *, with_names: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "file": self.file,
            "sha256": self.sha256,
            "size": self.size,
            "content": self.content,
            "members": self.members,
        }
        if self.frames:
            out["frames"] = list(self.frames)
        if with_names:
            out["names"] = list(self.names)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StoredArchive:
        return cls(
            file=str(data["file"]),
            sha256=str(data["sha256"]),
            size=int(data["size"]),
            content=int(data["content"]),
            members=int(data["members"]),
            names=tuple(str(n) for n in data.get("names", ())),
            frames=tuple(int(n) for n in data.get("frames", ())),
        )


class _CompressingWriter:
    """Compresses (a few frames at a time), hashes and writes chunks in its own thread, so the
    producer only checks members."""

    def __init__(self, path: Path) -> None:
        self._chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=32)
        self._error: Exception | None = None
        self._ended = False  # the producer's end marker was taken
        self._handle = open(path, "xb")  # noqa: SIM115 - closed by the thread
        self.digest = hashlib.sha256()
        self.size = 0
        self.frames: list[int] = []
        self._thread = threading.Thread(target=self._run, name="compress", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from runner.archive.compress import zstd_frames  # lazily: see runner.archive

        try:
            for frame in zstd_frames(self._taken()):
                self._handle.write(frame)
                self.digest.update(frame)
                self.size += len(frame)
                self.frames.append(len(frame))
        except Exception as exc:  # reported to the producer by write() and close()
            self._error = exc
        finally:
            while not self._ended:  # after an error: keep taking, the producer never blocks
                self._ended = self._chunks.get() is None
            try:
                self._handle.close()  # flushes: the disk may be full here too
            except OSError as exc:
                self._error = self._error or exc

    def _taken(self) -> Iterator[bytes]:
        while (chunk := self._chunks.get()) is not None:
            yield chunk
        self._ended = True

    def write(self, data: bytes) -> None:
        if self._error is not None:
            raise _write_error(self._error)
        self._chunks.put(data)

    def close(self) -> None:
        self._chunks.put(None)
        self._thread.join()
        if self._error is not None:
            raise _write_error(self._error)


def _write_error(exc: Exception) -> RunnerError:
    """The disk under the state directory (full, read-only) is the environment's failure
    (exit 3), never the archive's: issue 13 saw a full disk during save_cache end with exit 1."""
    if isinstance(exc, OSError):
        return EnvironmentFailure(f"cannot write the archive: {os_error_text(exc)}")
    return ArchiveError(f"cannot write the archive: {exc}")


def store_archive(
    stream: Iterable[bytes],
    folder: Path,
    name: str,
    *,
    limits: Limits = Limits(),  # noqa: B008 - frozen record
    links: LinkPolicy = LinkPolicy.ANY,
) -> StoredArchive:
    """Check a tar stream from a node and keep it as ``folder/name`` (zstd), with its digest."""
    try:
        writer = _CompressingWriter(folder / name)
    except OSError as exc:
        raise _write_error(exc) from None
    try:
        from runner.archive.reader import scan  # lazily: see runner.archive

        result: ScanResult = scan(stream, MemberChecker(limits, links), writer.write)
    finally:
        writer.close()
    return StoredArchive(
        file=name,
        sha256=writer.digest.hexdigest(),
        size=writer.size,
        content=result.bytes,
        members=result.members,
        names=result.files,
        frames=tuple(writer.frames),
    )


def verify(folder: Path, stored: StoredArchive, what: str) -> None:
    """Refuse an archive file that is missing, cut short or changed since it was written."""
    for _chunk in verified_chunks(folder, stored, what):
        pass


def verified_chunks(folder: Path, stored: StoredArchive, what: str) -> Iterator[bytes]:
    """The chunks of an archive file, hashed as they are read: read to its end, a file that
    is missing, cut short or changed since it was written is an ArchiveError."""
    from runner.archive.stream import file_chunks  # lazily: see runner.archive

    path = folder / stored.file
    digest = hashlib.sha256()
    size = 0
    try:
        for chunk in file_chunks(path):
            digest.update(chunk)
            size += len(chunk)
            yield chunk
    except OSError as exc:
        raise _missing(what, path, exc) from None
    if size != stored.size or digest.hexdigest() != stored.sha256:
        raise _damaged(what, path, stored)


def open_archive(folder: Path, stored: StoredArchive, what: str) -> Iterator[bytes]:
    """The uncompressed tar stream of an archive file, decompressed ahead in threads: zstd,
    or gzip for an archive written by runner before zstd (told apart by magic bytes).

    The digest is checked in the same pass (issue 17: a second read of the file was a tenth
    of a restore): a damaged file is an ArchiveError before the stream ends, which every
    consumer reaches before it keeps anything (an extraction's staging directory, the
    docker path's spool), so it is refused whole, never half-used."""
    from runner.archive.compress import MAX_FRAME, decompressed, unzstd_frames  # lazily

    # a listing that does not add up, or names a frame bigger than runner writes (it would be
    # read whole into memory), is not trusted: the file is read as one stream instead
    listed = stored.frames and sum(stored.frames) == stored.size
    if listed and max(stored.frames) <= MAX_FRAME:
        digest = hashlib.sha256()
        frames = unzstd_frames(_frames(folder, stored, what), digest)
        return _digest_checked(frames, digest, stored, what)
    return decompressed(verified_chunks(folder, stored, what))


def _frames(folder: Path, stored: StoredArchive, what: str) -> Iterator[bytes]:
    """The frames of an archive file, as its manifest lists them: a file with fewer or more
    bytes is an ArchiveError."""
    path = folder / stored.file
    try:
        with open(path, "rb") as handle:
            for size in stored.frames:
                frame = handle.read(size)
                if len(frame) < size:
                    raise _damaged(what, path, stored)
                yield frame
            if handle.read(1):
                raise _damaged(what, path, stored)
    except OSError as exc:
        raise _missing(what, path, exc) from None


def _digest_checked(
    chunks: Iterator[bytes], digest: hashlib._Hash, stored: StoredArchive, what: str
) -> Iterator[bytes]:
    yield from chunks
    if digest.hexdigest() != stored.sha256:
        raise _damaged(what, Path(stored.file), stored)


def _missing(what: str, path: Path, exc: OSError) -> ArchiveError:
    return ArchiveError(f"{what} is missing its data ({path.name}): {exc.strerror}")


def _damaged(what: str, path: Path, stored: StoredArchive) -> ArchiveError:
    return ArchiveError(
        f"{what} is damaged: {path.name} is not the {stored.size} bytes written; refusing it"
    )
