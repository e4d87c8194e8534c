"""Tar streams out of the host, and gzip in and out, as iterators of chunks (never spooled).

zstd, and telling compressed streams apart, is :mod:`runner.archive.compress`.

``tar_stream`` uses GNU tar when the host has it (a separate process, so reading files
overlaps with whatever consumes the stream), else :mod:`tarfile` in a thread writing into a
bounded queue. Memory stays flat either way.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import io
import os
import queue
import subprocess
import tarfile
import tempfile
import threading
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, TypeVar

from runner.archive.checks import ArchiveError
from runner.host_tools import probe

if TYPE_CHECKING:
    from concurrent.futures import Future

CHUNK = 1024 * 1024
In = TypeVar("In")
Out = TypeVar("Out")
GZIP_LEVEL = 1  # see benchmarks/bench_cache.py: level 1 is 2-3x faster than 6 for ~10% more bytes


@functools.cache
def gnu_tar() -> str | None:
    """The host's GNU tar, if there is one (its flags are what the fast path relies on)."""
    probed = probe("tar", ["--version"])
    return probed[0] if probed is not None and b"GNU tar" in probed[1].stdout else None


def tar_stream(path: Path, *, engine: str = "auto") -> Iterator[bytes]:
    """A tar of ``path`` (file or directory), members named relative to its parent."""
    if not os.path.lexists(path):
        raise ArchiveError(f"{path}: no such file or directory")
    tar = gnu_tar() if engine in ("auto", "tar") else None
    if tar is not None:
        return _gnu_tar_stream(tar, path)
    return from_writer(lambda out: _tarfile_write(out, path))


def _gnu_tar_stream(tar: str, path: Path) -> Iterator[bytes]:
    name = path.name if not path.name.startswith("-") else "./" + path.name
    return tar_output([tar, "-c", "-f", "-", "-C", str(path.parent), name], path)


def tar_output(
    argv: list[str], what: Path, stdin: IO[bytes] | int = subprocess.DEVNULL
) -> Iterator[bytes]:
    """The stdout of a ``tar -c`` as it is made; an ArchiveError with tar's words if it fails.
    Stopping early (the consumer is done, or interrupted) kills tar."""
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=errors, stdin=stdin)
        assert proc.stdout is not None
        widen_pipe(proc.stdout)
        try:
            while chunk := proc.stdout.read(CHUNK):
                yield chunk
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.stdout.close()
            code = proc.wait()
        if code > 1:  # 1 is "some files changed while being read": a live directory
            errors.seek(0)
            text = errors.read().decode(errors="replace").strip().splitlines()
            raise ArchiveError(f"tar could not read {what}: " + "; ".join(text[:3]))


def widen_pipe(pipe: IO[bytes]) -> None:
    """A pipe of CHUNK bytes instead of Linux's 64 KiB: tar and runner each move a chunk per
    wake-up instead of 16 (fewer context switches on a loaded machine). Best effort."""
    setter = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setter is not None:
        with contextlib.suppress(OSError):
            fcntl.fcntl(pipe.fileno(), setter, CHUNK)


def _tarfile_write(out: IO[bytes], path: Path) -> None:
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as archive:
        archive.add(str(path), arcname=path.name)


class _QueueFile:
    """A write-only file whose writes become chunks of a bounded queue."""

    def __init__(self, chunks: queue.Queue[bytes | BaseException | None]) -> None:
        self._chunks = chunks

    def write(self, data: bytes) -> int:
        self._chunks.put(bytes(data))
        return len(data)

    def flush(self) -> None:
        return None


def from_writer(write: Callable[[IO[bytes]], None], *, depth: int = 16) -> Iterator[bytes]:
    """Run ``write(file)`` in a thread; yield what it writes, at most ``depth`` chunks ahead."""
    chunks: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            write(_QueueFile(chunks))  # type: ignore[arg-type]
            chunks.put(None)
        except BaseException as exc:
            if not stop.is_set():
                chunks.put(exc)

    thread = threading.Thread(target=produce, name="tar-writer", daemon=True)
    thread.start()
    try:
        while (item := chunks.get()) is not None:
            if isinstance(item, BaseException):
                if isinstance(item, OSError) and not isinstance(item, ArchiveError):
                    raise ArchiveError(f"cannot archive: {item}") from None
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a writer waiting on a full queue
            with contextlib.suppress(queue.Empty):
                chunks.get(timeout=0.05)


def prefetch(chunks: Iterable[bytes], depth: int = 8) -> Iterator[bytes]:
    """Produce ``chunks`` in a thread, ahead of the consumer: zlib and file reads release the
    GIL, so decompressing overlaps with parsing and extracting."""

    def write(out: IO[bytes]) -> None:
        for chunk in chunks:
            out.write(chunk)

    return from_writer(write, depth=depth)


def ordered_map(work: Callable[[In], Out], items: Iterable[In], *, workers: int) -> Iterator[Out]:
    """``work(item)`` for each item, by ``workers`` threads, in order and a few ahead of the
    consumer (``Executor.map`` would take every item up front). Stopping early cancels what
    has not started."""
    from concurrent.futures import ThreadPoolExecutor  # only archives in job data need it

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="archive")
    pending: deque[Future[Out]] = deque()
    try:
        for item in items:
            pending.append(pool.submit(work, item))
            if len(pending) > 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def gzip_chunks(chunks: Iterable[bytes], level: int = GZIP_LEVEL) -> Iterator[bytes]:
    packer = zlib.compressobj(level, zlib.DEFLATED, 31)  # 31: a gzip member, as `gzip` writes
    for chunk in chunks:
        if out := packer.compress(chunk):
            yield out
    yield packer.flush()


def gunzip_chunks(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Decompress one gzip stream; a stream cut short or damaged is an ArchiveError."""
    unpacker = zlib.decompressobj(31)
    source = iter(chunks)
    try:
        for chunk in source:
            if unpacker.eof:
                break
            if out := unpacker.decompress(chunk):
                yield out
    except zlib.error as exc:
        raise ArchiveError(f"refused archive: corrupt compressed data ({exc})") from None
    if not unpacker.eof:
        raise ArchiveError("refused archive: truncated (the compressed stream ends early)")
    for _rest in source:  # read to the end: a source may verify a digest there (store.files)
        pass


class _ChunkFile(io.RawIOBase):
    def __init__(self, chunks: Iterable[bytes]) -> None:
        super().__init__()
        self._chunks = iter(chunks)
        self._left = memoryview(b"")  # a view: reading a chunk in parts copies each byte once
        self.touched = False

    def readable(self) -> bool:
        return True

    def rest(self) -> Iterator[bytes]:
        self.touched = True
        return self._chunks

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        self.touched = True
        while not self._left:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._left = memoryview(chunk)
        size = min(len(buffer), len(self._left))
        buffer[:size] = self._left[:size]
        self._left = self._left[size:]
        return size

    def close(self) -> None:
        closer = getattr(self._chunks, "close", None)
        if closer is not None:
            closer()  # stops a producer thread or a tar process early
        super().close()


class ChunkFile(io.BufferedReader):
    """A read-only binary file over chunks (what ``Session.put_archive`` takes) that gives a
    reader of chunks the chunks themselves: a restore copied every byte twice more through
    the file's buffer (issue 17)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._source = _ChunkFile(chunks)
        super().__init__(self._source, buffer_size=CHUNK)

    def chunks(self) -> Iterator[bytes]:
        """The rest of the file, as the chunks it is made of when nothing was read yet."""
        if not self._source.touched:
            return self._source.rest()
        return iter(functools.partial(self.read, CHUNK), b"")


def as_file(chunks: Iterable[bytes]) -> IO[bytes]:
    return ChunkFile(chunks)


def file_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk
