"""Bad requests: CircleCI-shaped JSON errors, the right status, and nothing queued."""

from __future__ import annotations

import base64
import socket
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import PROJECT, TOKEN, Api


def history_is_empty(api: Api) -> bool:
    store = api.server.service.index.projects[0].store
    return store.runs() == [] and api.server.service.queue.waiting() == 0


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Circle-Token": "wrong-token-0123456789"},
        {"Circle-Token": TOKEN[:-1]},
        {"Authorization": "Bearer " + TOKEN + "x"},
        {"Authorization": "Basic " + base64.b64encode(b"nope:").decode()},
        {"Authorization": "Basic !!!not-base64"},
        {"Authorization": "Token " + TOKEN},
    ],
)
def test_missing_or_bad_token_is_401(shared_api: Api, headers: dict[str, str]) -> None:
    api = shared_api
    response = httpx.post(f"{api.url}{PROJECT}/tree/main", headers=headers, data={"x": "1"})
    assert response.status_code == 401
    assert response.json()["message"] in ("You must log in first.", "Invalid token provided.")
    assert history_is_empty(api)


def test_every_endpoint_needs_the_token(api: Api) -> None:
    for path in ("/openapi.json", "/docs", f"{PROJECT}/1", "/api/v2/pipeline/x", "/nowhere"):
        assert httpx.get(api.url + path).status_code == 401
        assert httpx.get(api.url + path + "?circle-token=bad-token-0123456789").status_code == 401


def test_foreign_host_header_is_refused(api: Api) -> None:
    # DNS rebinding: a page on evil.example resolving to 127.0.0.1 must not get through.
    for host in ("evil.example", f"evil.example:{api.server.port}", "127.0.0.1.nip.io"):
        response = api.client.get("/openapi.json", headers={"Host": host})
        assert response.status_code == 400
        assert "Host" in response.json()["message"]
    for host in (f"localhost:{api.server.port}", f"127.0.0.1:{api.server.port}"):
        assert api.client.get("/openapi.json", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize(
    ("send", "status", "words"),
    [
        (lambda c: c.post("/api/v1.1/project/github/acme/nothing/tree/main"), 404, "Project"),
        (lambda c: c.post("/api/v1.1/project/svn/acme/widget/tree/main"), 404, "Project"),
        (lambda c: c.get(f"{PROJECT}/999"), 404, "Build"),
        (lambda c: c.get(f"{PROJECT}/999/output/0/0"), 404, "Build"),
        (lambda c: c.get("/api/v2/pipeline/no-such-id"), 404, "Pipeline"),
        (lambda c: c.get("/no/such/path/at/all"), 404, "Not Found"),
        (
            lambda c: c.post(f"{PROJECT}/tree/main", data={"build_parameters[CIRCLE_JOB]": "nope"}),
            400,
            "Job 'nope' not found",
        ),
        (
            lambda c: c.post(
                f"{PROJECT}/tree/main", content=b'{"build_parameters": ',
                headers={"Content-Type": "application/json"},
            ),
            400,
            "malformed JSON",
        ),
        (lambda c: c.post(f"{PROJECT}/tree/main", json=["a"]), 400, "must be an object"),
        (lambda c: c.post(f"{PROJECT}/tree/main", json={"build_parameters": "x"}), 400, "map"),
        (
            lambda c: c.post(f"{PROJECT}/tree/main", data={"build_parameters[1BAD]": "v"}),
            400,
            "invalid build parameter name",
        ),
        (
            lambda c: c.post(f"{PROJECT}/tree/main", data={"build_parameters[A-B]": "v"}),
            400,
            "invalid build parameter name",
        ),
        (
            lambda c: c.post(f"{PROJECT}/tree/main", data={"build_parameters[LD_PRELOAD]": "x"}),
            400,
            "reserved",
        ),
        (lambda c: c.post(f"{PROJECT}/tree/main", data={"build_parameters[X": "v"}), 400, "form"),
        (lambda c: c.post(f"{PROJECT}/tree/main", content=b"a=1&&&b"), 400, "form body"),
        (lambda c: c.post(f"{PROJECT}/tree/main", content=b"\xff\xfe"), 400, "UTF-8"),
        (lambda c: c.post(f"{PROJECT}/tree/main", json={"parallel": 0}), 400, "parallel"),
        (lambda c: c.post(f"{PROJECT}/tree/main", json={"parallel": "x"}), 400, "parallel"),
        (lambda c: c.post(PROJECT, json={"tag": "v1", "revision": "abc"}), 400, "together"),
        (lambda c: c.post(f"{PROJECT}/tree/ma%01in"), 400, "control character"),
        (lambda c: c.post(PROJECT, json={"revision": "a\nb"}), 400, "control character"),
        (lambda c: c.put(f"{PROJECT}/tree/main"), 405, "Method Not Allowed"),
        (lambda c: c.delete(f"{PROJECT}/1"), 405, "Method Not Allowed"),
        (lambda c: c.post(f"{PROJECT}/1"), 405, "Method Not Allowed"),
    ],
)
def test_bad_requests(
    shared_api: Api, send: Callable[[httpx.Client], httpx.Response], status: int, words: str
) -> None:
    api = shared_api
    response = send(api.client)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert words in response.json()["message"]
    assert history_is_empty(api)


def test_oversized_bodies_are_413(api: Api) -> None:
    big = {"build_parameters[FOO]": "x" * 300_000}
    response = api.client.post(f"{PROJECT}/tree/main", data=big)
    assert response.status_code == 413
    assert "exceeds" in response.json()["message"]

    def chunks() -> object:  # no Content-Length: counted while reading
        for _ in range(40):
            yield b"x" * 10_000

    response = api.client.post(f"{PROJECT}/tree/main", content=chunks())  # type: ignore[arg-type]
    assert response.status_code == 413
    assert history_is_empty(api)


def test_lying_content_length_does_not_hang_or_queue(api: Api) -> None:
    with socket.create_connection(("127.0.0.1", api.server.port), timeout=10) as sock:
        sock.sendall(
            f"POST {PROJECT}/tree/main HTTP/1.1\r\nHost: 127.0.0.1:{api.server.port}\r\n"
            f"Circle-Token: {TOKEN}\r\nContent-Length: 999999999\r\n\r\nabc".encode()
        )
        assert sock.recv(4096).startswith(b"HTTP/1.1 413")
    assert history_is_empty(api)


def test_config_error_is_400(start_api: Callable[..., Api], tmp_path: Path) -> None:
    from tests.support import make_project

    broken = make_project(
        tmp_path / "widget", "version: 2\njobs:\n  build: [not, a, map]\n", remote=None
    )
    api = start_api(broken)
    response = api.client.post("/api/v1.1/project/gh/anyone/widget/tree/main")
    assert response.status_code == 400
    assert "config.yml" in response.json()["message"]
    assert history_is_empty(api)
