"""A step's output on its way out: decode, split into lines, mask secrets, log, report.

Output is never held until a step ends: complete lines go out at once, a partial line after
a short idle time or when it grows large. Masking happens before anything leaves this module,
and is safe across chunk boundaries: a partial flush never cuts through a possible secret.
Memory stays flat whatever a step prints: the pending line is bounded and the stored log keeps
its head and tail, stating how much was dropped in between. Terminal control sequences other
than colour are removed first (:mod:`runner.sanitize`, issue 14), so no reporter, log or API
answer ever carries them.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import os
import threading
import weakref
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO

from runner.sanitize import Sanitizer

MASK = "********"
MIN_SECRET = 4  # CircleCI does not mask values shorter than this
MAX_PENDING = 64 * 1024  # a line without newline is flushed in pieces past this size
LOG_HEAD = 2 * 1024 * 1024
LOG_TAIL = 2 * 1024 * 1024
TAIL_LINES = 20
LOG_ROOM = 256 * 1024  # bytes a log that filled the disk gives back, for the run's records
TAIL_WIDTH = 1000  # characters kept of each tail line


class Masker:
    """Replaces every secret value (each line of it, for multi-line values) with ``********``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        parts: set[str] = set()
        for secret in secrets:
            for piece in secret.splitlines():
                if len(piece.strip()) >= MIN_SECRET:
                    parts.add(piece)
        # Longest first, so a secret that is a prefix of another never leaves a tail visible.
        self.secrets = sorted(parts, key=len, reverse=True)
        self.longest = len(self.secrets[0]) if self.secrets else 0

    def __bool__(self) -> bool:
        return bool(self.secrets)

    def found_in(self, data: bytes) -> bool:
        """Whether UTF-8 ``data`` holds a secret (a kept config tree: runner.store.parsed)."""
        return any(s.encode("utf-8", "surrogatepass") in data for s in self.secrets)

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def safe_cut(self, text: str) -> int:
        """How much of ``text`` can be shown now, masked on its own, without ever letting a
        secret through when the rest is shown later.

        Two conditions make it safe: no occurrence of a secret (overlapping ones included)
        spans the cut, and at least ``longest - 1`` characters stay back, so an occurrence
        completed by data still to come cannot start before the cut."""
        if not self.secrets:
            return len(text)
        cut = max(0, len(text) - (self.longest - 1))
        moved = True
        while moved and cut > 0:
            moved = False
            for secret in self.secrets:
                # an occurrence starting in [cut - len + 1, cut - 1] spans the cut
                start = text.find(secret, max(0, cut - len(secret) + 1), cut - 1 + len(secret))
                if start != -1 and start < cut:
                    cut, moved = start, True
        return cut


# Every step log still open: a run told to exit at once puts what it received on disk first.
_OPEN: weakref.WeakSet[CappedLog] = weakref.WeakSet()
_OPEN_LOCK = threading.Lock()


def close_open_logs() -> None:
    """Close every step log still open, as a step's end would (head, drop note, tail): the
    last thing done before runner exits at once (issue 13). Logs of steps that go on are
    cut there; what the process received is not lost."""
    with _OPEN_LOCK:
        logs = list(_OPEN)
    for log in logs:
        log.close()


class CappedLog:
    """A log file that keeps its first and last bytes and says how much it dropped.

    The cap counts bytes as stored (UTF-8), not characters: output that decodes to U+FFFD
    (3 bytes each) or to other multi-byte characters must not store several times the cap
    (issue 13). Text is encoded once: the head's as it comes (cut on a character boundary),
    the tail's a block of lines at a time (one call per block, not per line, keeps it fast).
    """

    def __init__(self, path: Path, head: int = LOG_HEAD, tail: int = LOG_TAIL) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file: IO[bytes] = open(path, "wb")  # noqa: SIM115
        self._head_left = head
        self._tail: deque[bytes] = deque()
        self._tail_size = 0
        self._tail_limit = tail
        self._dropped = 0
        # Lines wait here and join the tail in blocks: a deque of millions of one-character
        # lines (``yes ''``) costs ~60 bytes a line, a hundred megabytes for a 2 MiB tail.
        self._block: list[str] = []
        self._block_size = 0
        self._block_limit = max(1, min(MAX_PENDING, tail // 32))
        # The disk filling up must not stop the step (nor the thread pumping its output):
        # the first error is kept for the step's result, and the log stops growing.
        self.error: OSError | None = None
        # close() may come from another thread (close_open_logs) while the step writes
        self._lock = threading.Lock()
        with _OPEN_LOCK:
            _OPEN.add(self)

    def write(self, text: str) -> None:
        with self._lock:
            if not self._file.closed:
                self._write(text)

    def _write(self, text: str) -> None:
        if self._head_left > 0:
            data = text.encode("utf-8", "replace")
            cut = _char_boundary(data, self._head_left)
            self._disk(self._file.write, data[:cut])
            self._head_left = 0 if cut < len(data) else self._head_left - cut
            if cut == len(data):
                return
            text = data[cut:].decode("utf-8", "replace")
        self._block.append(text)
        self._block_size += len(text)  # characters: a block is at most 4 times that in bytes
        if self._block_size >= self._block_limit:
            self._seal()

    def _seal(self) -> None:
        """The waiting lines join the tail as one block of bytes; the oldest blocks go."""
        data = "".join(self._block).encode("utf-8", "replace")
        self._block.clear()
        self._block_size = 0
        self._tail.append(data)
        self._tail_size += len(data)
        while self._tail_size > self._tail_limit and self._tail:
            old = self._tail.popleft()
            self._tail_size -= len(old)
            self._dropped += len(old)

    def flush(self) -> None:
        """Put what is buffered on disk: a follower of the file (the API serving a CLI run's
        log) sees it, and a crash of runner loses nothing of the head."""
        with self._lock:
            if not self._file.closed:
                self._disk(self._file.flush)

    def close(self) -> None:
        with self._lock:
            self._close()
        with _OPEN_LOCK:
            _OPEN.discard(self)

    def _close(self) -> None:
        if self._file.closed:
            return
        if self._block:
            self._seal()
        if self._dropped:
            note = f"\n[runner: {self._dropped} bytes of output dropped here]\n"
            self._disk(self._file.write, note.encode())
        self._disk(self._file.writelines, self._tail)
        self._disk(self._file.close)

    def _disk(self, call: Callable[..., object], *args: object) -> None:
        if self.error is not None:
            return
        try:
            call(*args)
        except OSError as exc:
            self.error = exc
            self._head_left = 0
            with contextlib.suppress(OSError):  # what is buffered cannot be written either
                self._file.close()
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                self._make_room(exc)

    def _make_room(self, exc: OSError) -> None:
        """This log filled the disk: give back its last bytes, so that the step's end and the
        run's can still be recorded in the history (issue 13), and say where it was cut."""
        with contextlib.suppress(OSError):
            size = self.path.stat().st_size
            os.truncate(self.path, max(0, size - LOG_ROOM))
            with open(self.path, "ab") as handle:
                handle.write(f"\n[runner: log cut here: {exc.strerror}]\n".encode())


def _char_boundary(data: bytes, limit: int) -> int:
    """The largest cut at most ``limit`` that does not split a UTF-8 character."""
    if limit >= len(data):
        return len(data)
    cut = limit
    while cut > 0 and data[cut] & 0xC0 == 0x80:  # a continuation byte: back to its start
        cut -= 1
    return cut


class StepSink:
    """Implements the executors' ``OutputSink`` for one step."""

    def __init__(
        self,
        emit: Callable[[str, bool], None],
        masker: Masker,
        log: CappedLog | None = None,
    ) -> None:
        self._emit = emit
        self._masker = masker
        self._log = log
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._clean = Sanitizer()
        self._pending = ""
        self._tail_piece = ""
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)
        self.bytes_seen = 0

    def write(self, data: bytes) -> None:
        self.bytes_seen += len(data)
        self._lines(self._pending + self._clean.feed(self._decoder.decode(data)))
        if len(self._pending) > MAX_PENDING:
            self._flush_partial()

    def _lines(self, text: str) -> None:
        """Send the complete lines of ``text`` (no carriage returns left: the sanitizer made
        them newlines) and keep the rest pending."""
        lines = text.split("\n")
        self._pending = lines.pop()
        for line in lines:
            self._line(line, partial=False)

    def idle(self) -> None:
        if self._pending:
            self._flush_partial()
        if self._log is not None:  # a quiet moment: the log on disk catches up
            self._log.flush()

    def _flush_partial(self) -> None:
        cut = self._masker.safe_cut(self._pending)
        if cut <= 0 and len(self._pending) > 2 * MAX_PENDING:
            # A huge line made only of overlapping secret text: memory must stay flat, so part
            # of it goes out masked on its own (the rest stays back as usual).
            cut = len(self._pending) - (self._masker.longest - 1)
        if cut <= 0:
            return
        piece, self._pending = self._pending[:cut], self._pending[cut:]
        self._line(piece, partial=True)

    def _line(self, text: str, *, partial: bool) -> None:
        shown = self._masker.mask(text) if self._masker else text
        if self._log is not None:
            self._log.write(shown if partial else shown + "\n")
        if partial:
            self._tail_piece = (self._tail_piece + shown)[-TAIL_WIDTH:]
        else:
            self.tail.append((self._tail_piece + shown)[-TAIL_WIDTH:])
            self._tail_piece = ""
        self._emit(shown, partial)

    @property
    def log_error(self) -> OSError | None:
        """Why the step's log could not be written in full (the disk), if it could not."""
        return self._log.error if self._log is not None else None

    def close(self) -> None:
        end = self._clean.feed(self._decoder.decode(b"", final=True)) + self._clean.finish()
        self._lines(self._pending + end)
        rest, self._pending = self._pending, ""
        if rest:
            self._line(rest, partial=False)
        elif self._tail_piece:
            self.tail.append(self._tail_piece)
        if self._log is not None:
            self._log.close()
