"""The one gate every request passes: Host header, token, body size; in that order.

A plain ASGI middleware, so that it also covers ``/openapi.json``, unknown paths and wrong
methods, and so that an oversized body is refused before any route reads it. On a loopback
bind the Host header must name the loopback address (DNS rebinding: a web page must not reach
the server through a name that resolves to 127.0.0.1) [reliability 10].
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from msgspec import Struct

from runner.api.auth import offered_tokens, token_matches

CONTINUE_PATH = "/api/v2/pipeline/continue"  # runner.api.continue_route

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
DEFAULT_MAX_BODY = 256 * 1024  # v2 allows 100 parameters of 128 + 512 characters [PV]


class GuardSettings(Struct, frozen=True):
    token: str
    max_body: int = DEFAULT_MAX_BODY
    allowed_hosts: frozenset[str] | None = None  # None: no Host check (a non-loopback bind)


def loopback_hosts(port: int) -> frozenset[str]:
    return frozenset({*LOOPBACK_NAMES, *(f"{name}:{port}" for name in LOOPBACK_NAMES)})


class Guard:
    def __init__(self, app: App, settings: GuardSettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":  # no websockets here: refuse rather than pass unchecked
            await send({"type": "websocket.close", "code": 1008})
            return
        headers: list[tuple[bytes, bytes]] = list(scope.get("headers", []))
        # the continuation key authenticates a continuation, as on CircleCI (continue_route)
        keyed = (scope.get("method"), scope.get("path")) == ("POST", CONTINUE_PATH)
        refusal = self._refusal(headers, scope.get("query_string", b""), keyed=keyed)
        if refusal is not None:
            await _answer(send, *refusal)
            return
        body = await _read_body(receive, headers, self.settings.max_body)
        if body is None:
            await _answer(send, 413, f"request body exceeds {self.settings.max_body} bytes")
            return
        await self.app(scope, _replay(body, receive), send)

    def _refusal(
        self, headers: list[tuple[bytes, bytes]], query: bytes, *, keyed: bool = False
    ) -> tuple[int, str] | None:
        allowed = self.settings.allowed_hosts
        if allowed is not None:
            host = next((v.decode("latin-1") for k, v in headers if k.lower() == b"host"), "")
            if host.lower() not in allowed:
                return 400, "invalid Host header: this server answers on its loopback address"
        offered = offered_tokens(headers, query)
        if keyed:
            return None
        if not offered:
            return 401, "You must log in first."
        # Compare every offered token, so the time taken does not depend on which one matched.
        matches = [token_matches(t, self.settings.token) for t in offered]
        if not any(matches):
            return 401, "Invalid token provided."
        return None


async def _read_body(
    receive: Receive, headers: list[tuple[bytes, bytes]], limit: int
) -> bytes | None:
    """The whole body, or None past ``limit`` (checked on Content-Length first, then while
    reading, for chunked bodies that announce no length)."""
    for name, value in headers:
        if name.lower() == b"content-length":
            try:
                if int(value) > limit:
                    return None
            except ValueError:
                return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # e.g. http.disconnect, for streaming responses

    return replay


async def _answer(send: Send, status: int, message: str) -> None:
    body = json.dumps({"message": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b'Basic realm="runner"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
