"""A TCP proxy in front of the local Docker engine, for faults at a chosen moment.

Tests point runner at it with ``DOCKER_HOST=tcp://127.0.0.1:PORT``. Requests pass through
unchanged, except those a rule holds: the first bytes of a request (``METHOD /v1.41/PATH``) are
matched against a regular expression, the rule's event is set (the test's cue to act), and the
request waits ``seconds`` (or until :meth:`cut`) before it reaches the engine. :meth:`cut`
stops the engine for runner: every connection is closed and new ones are refused, exactly what
a client sees when ``dockerd`` goes away, without touching the engine other tests use.
:meth:`cut_during` cuts the engine once the answer to a matching request has passed
``after`` bytes on (an engine lost in the middle of an archive). :meth:`coalesce` makes the engine's answer to a matching request arrive in one piece with what
follows it for a while (the response head and the first output of an exec together), as a
loaded machine or a remote engine delivers them.
"""

from __future__ import annotations

import contextlib
import re
import select
import socket
import threading
import time
from dataclasses import dataclass, field

ENGINE = "/var/run/docker.sock"
_REQUEST = re.compile(rb"^(GET|POST|PUT|DELETE|HEAD) (\S+) HTTP/1\.[01]\r\n")


@dataclass
class Hold:
    method: str
    path: re.Pattern[str]
    seconds: float
    times: int = 1  # how many matching requests are held
    arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)  # pass it on now
    seen: list[str] = field(default_factory=list)


@dataclass
class Coalesce:
    method: str
    path: re.Pattern[str]
    seconds: float


@dataclass
class CutDuring:
    method: str
    path: re.Pattern[str]
    after: int  # bytes of the answer passed on before the cut
    arrived: threading.Event = field(default_factory=threading.Event)


@dataclass
class _Connection:
    coalesce: float = 0.0  # the next answer gathers this long before it is passed on
    cut_after: int | None = None  # bytes of the answer still to pass before the cut


class EngineProxy:
    def __init__(self) -> None:
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(64)
        self.port = self._server.getsockname()[1]
        self.holds: list[Hold] = []
        self.coalescing: list[Coalesce] = []
        self.cutting: list[CutDuring] = []
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._cut = threading.Event()
        self.requests: list[str] = []

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def hold(self, method: str, path: str, seconds: float, times: int = 1) -> Hold:
        rule = Hold(method, re.compile(path), seconds, times)
        self.holds.append(rule)
        return rule

    def cut_during(self, method: str, path: str, after: int) -> CutDuring:
        rule = CutDuring(method, re.compile(path), after)
        self.cutting.append(rule)
        return rule

    def coalesce(self, method: str, path: str, seconds: float) -> None:
        self.coalescing.append(Coalesce(method, re.compile(path), seconds))

    def start(self) -> EngineProxy:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def cut(self) -> None:
        """The engine goes away: close everything, refuse what comes next."""
        self._cut.set()
        with contextlib.suppress(OSError):  # wakes the thread blocked in accept()
            self._server.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._server.close()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()

    stop = cut

    def _accept(self) -> None:
        while not self._cut.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if self._cut.is_set():
                client.close()
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                upstream.connect(ENGINE)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            conn = _Connection()
            for args in ((client, upstream, True, conn), (upstream, client, False, conn)):
                threading.Thread(target=self._pump, args=args, daemon=True).start()

    def _pump(
        self, src: socket.socket, dst: socket.socket, from_client: bool, conn: _Connection
    ) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if from_client:
                    self._maybe_hold(data, conn)
                elif conn.coalesce:
                    data += _gather(src, conn.coalesce)
                    conn.coalesce = 0.0
                elif conn.cut_after is not None:
                    conn.cut_after -= len(data)
                    if conn.cut_after <= 0:
                        dst.sendall(data[: len(data) + conn.cut_after])
                        self.cut()
                        break
                if self._cut.is_set():
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

    def _maybe_hold(self, data: bytes, conn: _Connection) -> None:
        found = _REQUEST.match(data)
        if found is None:
            return
        method, path = found.group(1).decode(), found.group(2).decode()
        self.requests.append(f"{method} {path}")
        for rule in self.coalescing:
            if rule.method == method and rule.path.search(path):
                conn.coalesce = rule.seconds
        for cutting in self.cutting:
            if cutting.method == method and cutting.path.search(path):
                conn.cut_after = cutting.after
                cutting.arrived.set()
        for rule in self.holds:
            if rule.method == method and rule.path.search(path) and len(rule.seen) < rule.times:
                rule.seen.append(path)
                rule.arrived.set()
                deadline = time.monotonic() + rule.seconds
                while not (self._cut.is_set() or rule.released.is_set()):
                    if time.monotonic() > deadline:
                        break
                    rule.released.wait(0.05)
                return


def _gather(src: socket.socket, seconds: float) -> bytes:
    """Everything ``src`` delivers within ``seconds``."""
    out = b""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([src], [], [], left)
        if not ready:
            break
        data = src.recv(65536)
        if not data:
            break
        out += data
    return out
