"""Which Engine API version runner speaks: the engine's newest, capped at the SDK's (issue 17).

A fake engine on a unix socket answers like Docker 29 (newest 1.52, oldest 1.44) or like
Docker 20.10 (newest 1.41), and refuses a request in a version it does not serve, in the
words and status Docker uses."""

from __future__ import annotations

import json
import re
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from runner.executors.docker.connection import connect


def _as_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


class FakeEngine(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: str, newest: str, oldest: str) -> None:
        self.newest, self.oldest = newest, oldest
        self.seen: list[str] = []
        super().__init__(path, Handler)


class Handler(BaseHTTPRequestHandler):
    server: FakeEngine

    def address_string(self) -> str:  # a unix socket has no client address
        return "fake"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.server.seen.append(self.path)
        asked = re.match(r"/v([\d.]+)/", self.path)
        if self.path == "/_ping":
            self._answer(200, b"OK", {"Api-Version": self.server.newest})
        elif asked and _as_tuple(asked[1]) < _as_tuple(self.server.oldest):
            message = (
                f"client version {asked[1]} is too old. Minimum supported API version is "
                f"{self.server.oldest}, please upgrade your client to a newer version"
            )
            self._answer(400, json.dumps({"message": message}).encode())
        elif self.path.endswith("/info"):
            self._answer(200, json.dumps({"NCPU": 2}).encode())
        else:
            self._answer(404, json.dumps({"message": "page not found"}).encode())

    def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FakeEngine]:
    newest, oldest = request.param
    server = FakeEngine(str(tmp_path / "engine.sock"), newest, oldest)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("engine", "spoken"),
    [(("1.52", "1.44"), "1.45"), (("1.41", "1.12"), "1.41")],
    indirect=["engine"],
    ids=["docker-29", "docker-20.10"],
)
def test_runner_speaks_a_version_the_engine_serves(engine: FakeEngine, spoken: str) -> None:
    api = connect({"DOCKER_HOST": f"unix://{engine.server_address}"})
    try:
        assert api.info() == {"NCPU": 2}
    finally:
        api.close()
    assert engine.seen == ["/_ping", f"/v{spoken}/info"]
