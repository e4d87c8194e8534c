"""Checking a tar stream as it passes, at the speed of the pipe it passes through (issue 17).

The stream arrives in chunks (1-4 MiB from a decompressor or a ``tar -c`` pipe). Headers are
read with :mod:`runner.archive.headers` where they lie in the chunk; member data is only
stepped over, never copied. What reaches ``forward`` is whole chunks wherever possible: an
ungated scan (saving) forwards each chunk as it moves on, and a gated scan (extracting with
``tar -x``) forwards only bytes below its watermark, the end of the last member that passed,
so the consumer never sees a header runner has not approved; a header that spans two chunks
is the only copy made.

The stream must end with tar's end-of-archive block: a stream cut at a member boundary, or
one whose next header is garbage, is refused. What follows that block is read (to its end, so
that a decompressor verifies its checksum) but, when gated, not passed on.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import IO

from runner.archive.checks import ArchiveError, MemberChecker
from runner.archive.headers import (
    BLOCK,
    EXTENDED,
    MAX_EXTENDED,
    ZEROS,
    Extended,
    Header,
    corrupt,
    finish,
    padded,
    parse,
    read_extended,
)

UNGATED = 1 << 62
MAX_CHAIN = 8  # extended headers before one member: writers use three at most (g, then L and K)


class Feed:
    """A position in a stream of chunks, forwarding whole chunks once below a watermark."""

    def __init__(
        self, chunks: Iterator[bytes], forward: Callable[[bytes], None], *, gated: bool
    ) -> None:
        self._chunks = chunks
        self._forward = forward
        self._held: deque[tuple[int, bytes]] = deque()  # (offset, chunk): read, not forwarded
        self._cur = b""  # the chunk being read
        self._view = memoryview(self._cur)  # of _cur: member data is handed on as slices of it
        self._at = 0  # read position in _cur
        self._base = 0  # stream offset of _cur[0]
        self.watermark = 0 if gated else UNGATED

    @property
    def position(self) -> int:
        return self._base + self._at

    def _next(self) -> bool:
        """Move on to the next chunk; False at the end of the stream."""
        more = next(self._chunks, None)
        if more is None:
            return False
        self._held.append((self._base, self._cur))
        self._base += len(self._cur)
        self._cur, self._view, self._at = more, memoryview(more), 0
        while self._held and _end(self._held[0]) <= self.watermark:
            self._forward(self._held.popleft()[1])
        return True

    def take(self, size: int) -> bytes:
        """The next ``size`` bytes (fewer at the end of the stream)."""
        if len(self._cur) - self._at >= size:
            self._at += size
            return self._cur[self._at - size : self._at]
        # a header across the end of a chunk: the only copy made, of the header alone
        parts = [self._cur[self._at :]]
        self._at = len(self._cur)
        need = size - len(parts[0])
        while need > 0 and self._next():
            parts.append(self._cur[:need])
            self._at = len(parts[-1])
            need -= self._at
        return b"".join(parts)

    def step(self, size: int) -> bool:
        """Pass over ``size`` bytes; False if the stream ends first."""
        while size > len(self._cur) - self._at:
            size -= len(self._cur) - self._at
            self._at = len(self._cur)
            if not self._next():
                return False
        self._at += size
        return True

    def over(self, size: int, padding: int, *, keep: bool) -> list[memoryview] | None:
        """Past a member's ``size`` bytes of data and the ``padding`` after them; with ``keep``,
        the data as views into the chunks it lies in (no copy), else []. None if the stream
        ends first."""
        end = self._at + size + padding
        if end <= len(self._cur):  # the usual case: all of it in this chunk (one step a member)
            out = [self._view[self._at : self._at + size]] if keep and size else []
            self._at = end
            return out
        if not keep:
            return [] if self.step(size + padding) else None
        rest = self._pieces(size)
        return rest if rest is not None and self.step(padding) else None

    def _pieces(self, size: int) -> list[memoryview] | None:
        out: list[memoryview] = []
        while size > len(self._cur) - self._at:
            if self._at < len(self._cur):
                out.append(self._view[self._at :])
            size -= len(self._cur) - self._at
            self._at = len(self._cur)
            if not self._next():
                return None
        if size:
            out.append(self._view[self._at : self._at + size])
        self._at += size
        return out

    def drain(self) -> None:
        """Forward what was read below the watermark, then read to the end of the stream
        (forwarding it only when ungated)."""
        self._held.append((self._base, self._cur))
        for offset, chunk in self._held:
            end = min(len(chunk), self.watermark - offset)
            if end > 0:
                self._forward(chunk if end == len(chunk) else chunk[:end])
        self._held.clear()
        self._base += len(self._cur)
        self._cur, self._view, self._at = b"", memoryview(b""), 0
        for more in self._chunks:
            if self.watermark == UNGATED:
                self._forward(more)


def _end(held: tuple[int, bytes]) -> int:
    return held[0] + len(held[1])


def chunks_of(source: Iterable[bytes] | IO[bytes], size: int) -> Iterator[bytes]:
    """The bytes of a file object or of an iterable of chunks, ``size`` at a time from a file."""
    if hasattr(source, "read"):
        reader: IO[bytes] = source  # type: ignore[assignment,unused-ignore]
        while chunk := reader.read(size):
            yield chunk
        return
    for chunk in source:  # type: ignore[union-attr,unused-ignore]
        if chunk:
            yield bytes(chunk)


OnMember = Callable[[Header, str, list[memoryview]], None]


def _cut_short(checker: MemberChecker, block: bytes, extended: Extended) -> ArchiveError:
    if checker.members == 0 and not block and not extended:
        return corrupt("empty file")
    return ArchiveError(
        "refused archive: truncated or corrupt (no end-of-archive marker after "
        f"{checker.members} member(s))"
    )


def scan_fast(
    source: Iterable[bytes] | IO[bytes],
    checker: MemberChecker,
    forward: Callable[[bytes], None],
    *,
    gated: bool,
    chunk: int,
    on_member: OnMember | None = None,
) -> None:
    """Check every member of an uncompressed tar stream; see the module's docstring.
    ``on_member`` gets each member that passed, with its clean name and its data."""
    feed = Feed(chunks_of(source, chunk), forward, gated=gated)
    extended, chain = Extended(), 0
    while True:
        block = feed.take(BLOCK)
        if len(block) < BLOCK:
            raise _cut_short(checker, block, extended)
        if block == ZEROS:
            if extended:
                raise corrupt("an extended header with no member after it")
            break
        header = parse(block)
        if header.type in EXTENDED:
            chain += 1
            # bounded: a gated scan holds back everything from the chain's first header on
            if header.size > MAX_EXTENDED or chain > MAX_CHAIN:
                raise corrupt("extended headers beyond any writer's: too long or too many")
            data = feed.take(padded(header.size))
            if len(data) < padded(header.size):
                raise corrupt("the stream ends in an extended header")
            read_extended(header.type, data[: header.size], extended)
            continue
        header = finish(header, extended)
        if chain:
            extended, chain = Extended(), 0
        name = checker.check(header)
        size = header.size
        if gated:
            feed.watermark = max(feed.watermark, feed.position + padded(size))
        pieces = feed.over(size, -size % BLOCK, keep=on_member is not None)
        if pieces is None:
            raise corrupt(f"the stream ends in the data of '{header.name}'")
        if on_member is not None:
            on_member(header, name, pieces)
    if not gated:
        feed.drain()
        return
    # ``tar -x`` gets every member that passed, then both end-of-archive blocks in one write
    # (it may exit once it read them: nothing may follow), never what trails the archive
    feed.watermark = feed.position - BLOCK
    feed.drain()
    forward(ZEROS + ZEROS)
