"""Foreground steps served by runner's own shell in the primary container, without an exec.

When the keep-alive can serve (see :data:`scripts.SERVE`), runner keeps the attach
connection it opened before the start to read the ready line, writes each foreground step's
command to the container's stdin and reads the step's output from the container's stdout and
stderr, up to a marker on each. One ``docker exec`` costs about 45 ms of engine work (runc
starts a process in the container's namespaces); a write to an open connection costs nothing.
Background steps, helper commands and steps whose text holds the marker's token still run by
exec: the shell serves one step at a time.

The stream is the engine's multiplexed one (no TTY): frames of an 8-byte header (stream,
0, 0, 0, big-endian size) and a payload. A marker may be split between frames, so the tail of
each stream that could be the start of a marker is held back until the next frame decides.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from typing import Any

from msgspec import Struct

from runner.executors.docker.connection import EngineError

RS, US = b"\x1e", b"\x1f"  # record and unit separators: the marker's start, the notes' joint
_QUEUE = 16  # chunks: a console that stops reading slows the step, never grows runner's memory


class Served(Struct, frozen=True):
    """How a served step ended: its status and end note, or why the stream broke."""

    status: int | None = None
    note: str = ""
    broken: str | None = None  # the connection ended before the step did


class _Stream:
    """One of stdout/stderr: finds the step's end marker, passes everything before it on."""

    def __init__(self, token: bytes) -> None:
        self.marker = RS + token
        self.pending = b""

    def feed(self, data: bytes) -> tuple[bytes, bytes | None]:
        """(output to pass on, the marker line's rest when the marker is complete)."""
        self.pending += data
        at = self.pending.find(self.marker)
        if at >= 0:
            end = self.pending.find(b"\n", at)
            if end < 0:
                out, self.pending = self.pending[:at], self.pending[at:]
                return out, None
            rest = self.pending[at + len(self.marker) : end]
            out, self.pending = self.pending[:at], self.pending[end + 1 :]
            return out, rest
        # Hold back a tail that may be the start of a marker split between two frames.
        cut = self.pending.rfind(RS, max(0, len(self.pending) - len(self.marker)))
        if cut >= 0 and self.marker.startswith(self.pending[cut:]):
            out, self.pending = self.pending[:cut], self.pending[cut:]
        else:
            out, self.pending = self.pending, b""
        return out, None


class Channel:
    """One served step: its output as it comes, then how it ended."""

    def __init__(self) -> None:
        self._chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=_QUEUE)
        self._ended = threading.Event()
        self._result = Served(broken="not finished")
        self._abandoned = False

    def chunks(self) -> Iterator[bytes]:
        while True:
            item = self._chunks.get()
            if item is None:
                return
            yield item

    def result(self, timeout: float | None = None) -> Served:
        if not self._ended.wait(timeout):
            return Served(broken="the step's end never came")
        return self._result

    def abandon(self) -> None:
        """The step's reader stopped waiting (a killed step): drop what still comes, and end
        :meth:`chunks` for whoever still iterates it."""
        self._abandoned = True
        with contextlib.suppress(queue.Empty):
            while True:
                self._chunks.get_nowait()
        with contextlib.suppress(queue.Full):
            self._chunks.put_nowait(None)

    def _put(self, item: bytes | None) -> None:
        while not self._abandoned:
            with contextlib.suppress(queue.Full):
                self._chunks.put(item, timeout=0.5)
                return

    def _end(self, result: Served) -> None:
        if self._ended.is_set():
            return
        self._result = result
        self._ended.set()
        self._put(None)


class StepServer:
    """The connection to the serving shell: one step at a time (:meth:`claim`)."""

    def __init__(self, attach: Any, token: str) -> None:
        self._attach = attach
        self._raw = getattr(attach, "_sock", attach)
        self.token = token
        self._busy = threading.Lock()
        self._current: Channel | None = None
        self._streams: dict[int, _Stream] = {}
        self._ends: dict[int, bytes] = {}
        self._broken: str | None = None
        self._closing = False
        with contextlib.suppress(OSError, AttributeError):
            self._raw.settimeout(None)  # a step may be silent for as long as it likes
        self._reader = threading.Thread(target=self._read, name="step-server", daemon=True)
        self._reader.start()

    @property
    def usable(self) -> bool:
        return self._broken is None and not self._closing

    def claim(self) -> bool:
        """Reserve the shell for one step; False when it is busy or gone (use an exec)."""
        # Broken meanwhile: submit() ends the step as broken, and the caller falls back.
        return self.usable and self._busy.acquire(blocking=False)

    def submit(self, command: str) -> Channel:
        """Send one command (after :meth:`claim`); the channel ends when the step did."""
        channel = Channel()
        self._streams = {1: _Stream(self.token.encode()), 2: _Stream(self.token.encode())}
        self._ends = {}
        self._current = channel
        if self._broken is not None:
            self._finish(Served(broken=self._broken))
            return channel
        try:
            self._raw.sendall(f"{command}\n{self.token}\n".encode())
        except OSError as exc:
            self._break(f"the engine connection broke: {exc}")
        return channel

    def retire(self) -> None:
        """Serve no more steps (one did not end cleanly): later steps use an exec."""
        if self._broken is None:
            self._broken = "retired"

    def release(self) -> None:
        self._current = None
        self._busy.release()

    def close(self) -> None:
        self._closing = True
        close_socket(self._attach)

    # ------------------------------------------------------------ the reader

    def _read(self) -> None:
        reason = "the container's output ended"
        try:
            while True:
                header = read_exactly(self._attach, 8)
                if len(header) < 8:
                    break
                payload = read_exactly(self._attach, int.from_bytes(header[4:], "big"))
                self._route(header[0], payload)
        except (OSError, ValueError, EngineError) as exc:  # ValueError: closed by close()
            reason = f"the engine connection broke: {exc}"
        self._break(reason)

    def _route(self, stream: int, data: bytes) -> None:
        channel, scanner = self._current, self._streams.get(stream)
        if channel is None or scanner is None or stream in self._ends:
            return  # between steps: what a stopped step's leftovers still wrote
        out, rest = scanner.feed(data)
        if out:
            channel._put(out)
        if rest is None:
            return
        self._ends[stream] = rest
        if len(self._ends) == 2:
            self._finish(_parse(self._ends[1]))

    def _finish(self, result: Served) -> None:
        channel = self._current
        self._streams, self._ends = {}, {}
        if channel is not None:
            channel._end(result)

    def _break(self, reason: str) -> None:
        if self._broken is None:
            self._broken = reason
        self._finish(Served(broken=reason))


def _parse(rest: bytes) -> Served:
    """`` STATUS NOTES`` after the token on stdout's marker."""
    status, _, note = rest.strip(b" ").partition(b" ")
    try:
        code = int(status)
    except ValueError:
        return Served(broken=f"a garbled end marker: {rest[:60]!r}")
    return Served(status=code, note=note.replace(US, b"\n").decode(errors="replace"))


def read_exactly(attach: Any, size: int) -> bytes:
    data = b""
    read = attach.read if hasattr(attach, "read") else attach.recv
    while len(data) < size:
        chunk = read(size - len(data))
        if not chunk:
            break
        data += chunk
    return bytes(data)


def close_socket(attach: Any) -> None:
    """Close a hijacked connection and the HTTP response it came from."""
    with contextlib.suppress(Exception):
        attach.close()
    with contextlib.suppress(Exception):
        attach._response.close()
