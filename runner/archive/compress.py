"""Compression of stored archives: zstd is written, zstd and gzip are read (issue 17).

Caches and workspace layers are written as zstd (level 2, with zstd's content checksum), which
runs several times faster than zlib at level 1 for smaller files; caches written by earlier
versions of runner are gzip and still restore: a stream is recognised by its magic bytes, never
by its file name. Everything here works on iterators of chunks, so a whole archive is never in
memory, and a stream cut short or damaged is an :class:`ArchiveError`, never a partial result.

An archive is a run of independent zstd frames of about :data:`FRAME` tar bytes each (any zstd
reader takes the file as one stream). ``zstandard``'s streaming objects hold the GIL while they
work, and its one-shot calls do not, so frames are packed and unpacked one-shot by a few
threads at once, overlapping with the thread that checks and writes the members: a restore
spent half its time waiting for the decompressor before this. The frame sizes go in the
store's manifest (:mod:`runner.store.files`); a file without them is read as a stream.

``zstandard`` is imported lazily: only the commands that save or restore job data pay for it.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable, Iterator
from typing import IO, TYPE_CHECKING, Protocol

from runner.archive.checks import ArchiveError
from runner.archive.stream import CHUNK, ChunkFile, gunzip_chunks, ordered_map, prefetch

if TYPE_CHECKING:
    import zstandard

# Level 2: on benchmarks/bench_cache.py's tree (frames of 4 MiB, one thread) level 1 packs
# 200 MiB in 1.35 s to 122 MiB and unpacks it in 0.54 s; level 2 takes 1.42 s, for 103 MiB that
# unpack in 0.38 s; level 3 takes 1.72 s for 92 MiB. A cache is restored more often than saved.
ZSTD_LEVEL = 2
GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"  # RFC 8878 section 3.1.1
FRAME = 4 * CHUNK  # tar bytes per frame: at level 2 the window is far smaller, so no loss
MAX_FRAME = 16 * FRAME  # what one frame may say it holds: runner writes FRAME and a chunk


def _packers() -> int:
    """Threads packing frames: one a core this process may use, at most four."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(min(cores, 4), 1)


def _unpackers() -> int:
    """One core is left to the thread that checks and writes what comes out: with every core
    unpacking, a restore on two cores took a fifth longer (benchmarks/bench_cache.py)."""
    return max(_packers() - 1, 1)


def zstd_frames(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The tar stream in ``chunks`` as zstd frames, one item each, packed a few at a time."""
    import zstandard

    local = threading.local()

    def pack(data: bytes) -> bytes:
        if (packer := getattr(local, "packer", None)) is None:
            packer = local.packer = zstandard.ZstdCompressor(level=ZSTD_LEVEL,
                                                             write_checksum=True)  # fmt: skip
        return bytes(packer.compress(data))

    return ordered_map(pack, _blocks(chunks, FRAME), workers=_packers())


def _blocks(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    """The bytes of ``chunks`` regrouped into blocks of at least ``size`` (the last: what is
    left, if anything)."""
    held: list[bytes] = []
    length = 0
    for chunk in chunks:
        held.append(chunk)
        length += len(chunk)
        if length >= size:
            yield b"".join(held)
            held.clear()
            length = 0
    if held:
        yield b"".join(held)


class Digest(Protocol):
    def update(self, data: bytes, /) -> None: ...


def unzstd_frames(frames: Iterable[bytes], digest: Digest | None = None) -> Iterator[bytes]:
    """What each of ``frames`` (whole zstd frames, in order) holds, unpacked a few at a time,
    each frame added to ``digest`` first, in order. A frame that is damaged, fails its
    checksum or claims more than runner writes is an ArchiveError.

    The digest is taken by the unpacking threads rather than a thread of its own: on two
    cores a third busy thread cost a restore a fifth of its time (benchmarks/bench_cache.py).
    """
    import zstandard

    local = threading.local()
    turns = _Turns()

    def unpack(item: tuple[int, bytes]) -> bytes:
        index, frame = item
        if digest is not None:
            with turns.turn(index):
                digest.update(frame)
        if (unpacker := getattr(local, "unpacker", None)) is None:
            unpacker = local.unpacker = zstandard.ZstdDecompressor()
        try:
            if not 0 <= zstandard.frame_content_size(frame) <= MAX_FRAME:
                raise ArchiveError("refused archive: a compressed frame of unknown or huge size")
            return bytes(unpacker.decompress(frame))
        except zstandard.ZstdError as exc:
            raise ArchiveError(f"refused archive: corrupt compressed data ({exc})") from None

    return ordered_map(unpack, enumerate(frames), workers=_unpackers())


class _Turns:
    """One step of each task in the order the tasks were made, the rest of them in parallel.

    Cannot deadlock: a pool starts tasks in the order they were submitted, so the task whose
    turn it is has started, and it waits for nothing else."""

    def __init__(self) -> None:
        self._next = 0
        self._changed = threading.Condition()

    @contextlib.contextmanager
    def turn(self, index: int) -> Iterator[None]:
        with self._changed:
            self._changed.wait_for(lambda: self._next == index)
        try:
            yield
        finally:
            with self._changed:
                self._next += 1
                self._changed.notify_all()


def unzstd_chunks(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Decompress a stream of one or more zstd frames (a frame after another is how runner
    writes them); one cut short, damaged or failing its checksum is an ArchiveError."""
    import zstandard

    unpacker: zstandard.ZstdDecompressionObj | None = None
    try:
        for chunk in chunks:
            data = chunk
            while data:
                if unpacker is None:
                    unpacker = zstandard.ZstdDecompressor().decompressobj(write_size=CHUNK)
                if out := unpacker.decompress(data):
                    yield out
                data = b""
                if unpacker.eof:  # the frame ended: what follows it starts the next one
                    data, unpacker = unpacker.unused_data, None
    except zstandard.ZstdError as exc:
        raise ArchiveError(f"refused archive: corrupt compressed data ({exc})") from None
    if unpacker is not None:
        raise ArchiveError("refused archive: truncated (the compressed stream ends early)")


def decompressed(data: IO[bytes] | Iterable[bytes]) -> Iterator[bytes]:
    """The tar stream in ``data``: zstd or gzip (told by their magic bytes) is decompressed
    ahead in a thread (both libraries release the GIL), anything else passes as it is."""
    chunks = _chunks(data)
    first = b""
    while len(first) < len(ZSTD_MAGIC) and (more := next(chunks, b"")):
        first += more
    rest = _chain(first, chunks)
    if first.startswith(ZSTD_MAGIC):
        return prefetch(unzstd_chunks(rest))
    if first.startswith(GZIP_MAGIC):
        return prefetch(gunzip_chunks(rest))
    return rest


def _chunks(data: IO[bytes] | Iterable[bytes]) -> Iterator[bytes]:
    if isinstance(data, ChunkFile):
        yield from data.chunks()
    elif hasattr(data, "read"):
        reader: IO[bytes] = data  # type: ignore[assignment]
        while chunk := reader.read(CHUNK):
            yield chunk
    else:
        yield from (bytes(c) for c in data if c)  # type: ignore[union-attr,unused-ignore]


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest
