"""Compression of stored archives: zstd is written, zstd and gzip are read (issue 17).

Caches and workspace layers are written as zstd (level 1, with zstd's content checksum), which
runs several times faster than zlib at level 1 for smaller files; caches written by earlier
versions of runner are gzip and still restore: a stream is recognised by its magic bytes, never
by its file name. Everything here works on iterators of chunks, so a whole archive is never in
memory, and a stream cut short or damaged is an :class:`ArchiveError`, never a partial result.

``zstandard`` is imported lazily: only the commands that save or restore job data pay for it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import IO, TYPE_CHECKING

from runner.archive.stream import CHUNK, gunzip_chunks, one_frame, prefetch

if TYPE_CHECKING:
    import zstandard

# Level 1: see benchmarks/bench_cache.py; on a tree of node_modules-like files level 3 takes
# about 1.6x the time of level 1 for about 5% fewer bytes.
ZSTD_LEVEL = 1
GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"  # RFC 8878 section 3.1.1


def _threads() -> int:
    """zstd's worker threads: its multithreaded mode compresses jobs of a few MiB in parallel
    while the caller goes on; 0 (single-threaded) where there is one core to use."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return min(cores, 4) if cores > 1 else 0


def zstd_packer() -> zstandard.ZstdCompressionObj:
    """A streaming zstd compressor: ``compress(chunk)`` and a final ``flush()``."""
    import zstandard

    options = zstandard.ZstdCompressor(level=ZSTD_LEVEL, threads=_threads(), write_checksum=True)
    return options.compressobj(size=-1)


def zstd_chunks(chunks: Iterable[bytes]) -> Iterator[bytes]:
    packer = zstd_packer()
    for chunk in chunks:
        if out := packer.compress(chunk):
            yield out
    yield packer.flush()


def unzstd_chunks(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Decompress one zstd frame; a frame cut short, damaged or failing its checksum is an
    ArchiveError."""
    import zstandard

    unpacker = zstandard.ZstdDecompressor().decompressobj(write_size=CHUNK)
    return one_frame(unpacker, chunks, zstandard.ZstdError)


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
    if hasattr(data, "read"):
        reader: IO[bytes] = data  # type: ignore[assignment]
        while chunk := reader.read(CHUNK):
            yield chunk
    else:
        yield from (bytes(c) for c in data if c)  # type: ignore[union-attr,unused-ignore]


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest
