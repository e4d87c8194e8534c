"""A stand-in for CircleCI's orb registry on 127.0.0.1: the same request shape as CircleCI's CLI
sends (POST /graphql-unstable, the orbVersion query), answers shaped like the registry's, and
fixture orbs written for these tests (shaped like real ones, copied from none)."""

from __future__ import annotations

import json
import re
import textwrap
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HELPERS_1 = """\
version: 2.1
description: Small helpers other orbs use.
commands:
  note:
    parameters:
      text: {type: string}
    steps:
      - run:
          name: note
          command: 'echo "note: << parameters.text >>"'
"""

TOOLKIT = """\
version: 2.1
description: A toolkit orb {version}.
display:
  source_url: https://example.invalid/acme/toolkit
orbs:
  helpers: acme/helpers@1
executors:
  default:
    parameters:
      tag: {{type: string, default: "{version}"}}
    machine: true
    environment:
      TOOLKIT_TAG: << parameters.tag >>
commands:
  say:
    parameters:
      words: {{type: string}}
    steps:
      - run: echo "toolkit {version} says << parameters.words >> on $TOOLKIT_TAG"
  greet:
    description: Greets, through another command and the helpers orb.
    parameters:
      who: {{type: string, default: nobody}}
    steps:
      - say: {{words: "hello << parameters.who >>"}}
      - helpers/note: {{text: "greeted << parameters.who >>"}}
jobs:
  hello:
    parameters:
      who: {{type: string, default: world}}
    executor: default
    steps:
      - greet: {{who: << parameters.who >>}}
examples:
  simple:
    description: Say hello.
    usage:
      version: 2.1
      orbs: {{toolkit: acme/toolkit@1}}
      workflows: {{main: {{jobs: [toolkit/hello]}}}}
"""


def toolkit(version: str) -> str:
    return TOOLKIT.format(version=version)


@dataclass
class Registry:
    """Published versions per orb; ``private`` orbs answer only with ``token``."""

    orbs: dict[str, dict[str, str]] = field(default_factory=dict)
    private: set[str] = field(default_factory=set)
    token: str = "s3cret-token"
    requests: list[dict[str, Any]] = field(default_factory=list)
    garbage: str | None = None  # answer this body instead (a server that is not CircleCI)
    status: int = 200

    def publish(self, name: str, version: str, source: str) -> None:
        self.orbs.setdefault(name, {})[version] = source

    def answer(self, ref: str, authorization: str | None) -> dict[str, Any]:
        name, _, asked = ref.partition("@")
        versions = self.orbs.get(name, {})
        if name in self.private and authorization != self.token:
            return {"data": {"orbVersion": None}}
        exact = _pick(versions, asked)
        if exact is None:
            return {"data": {"orbVersion": None}}
        return {"data": {"orbVersion": {
            "id": f"id-{name}-{exact}", "version": exact, "orb": {"id": f"id-{name}"},
            "source": versions[exact]}}}


def _semver(version: str) -> tuple[int, ...] | None:
    return tuple(int(p) for p in version.split(".")) if re.fullmatch(r"\d+\.\d+\.\d+", version) \
        else None


def _pick(versions: dict[str, str], asked: str) -> str | None:
    """As the registry resolves: exact, a major or major.minor prefix (highest), volatile
    (highest of all), dev:label (exactly)."""
    if asked in versions:
        return asked
    released = sorted((v for v in versions if _semver(v)), key=lambda v: _semver(v) or ())
    if asked == "volatile":
        return released[-1] if released else None
    if re.fullmatch(r"\d+(\.\d+)?", asked):
        matching = [v for v in released if v.startswith(asked + ".")]
        return matching[-1] if matching else None
    return None


@contextmanager
def serve(registry: Registry) -> Iterator[str]:
    """The stand-in on 127.0.0.1; yields its host (``http://127.0.0.1:PORT``)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            registry.requests.append({"path": self.path, "headers": dict(self.headers),
                                      "body": json.loads(body)})
            if registry.status != 200:
                self.send_response(registry.status)
                self.end_headers()
                return
            if self.path != "/graphql-unstable":
                self.send_response(404)
                self.end_headers()
                return
            ref = json.loads(body)["variables"]["orbVersionRef"]
            out = (registry.garbage if registry.garbage is not None else
                   json.dumps(registry.answer(ref, self.headers.get("Authorization"))))
            data = out.encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def standard() -> Registry:
    registry = Registry()
    for version in ("1.0.0", "1.2.0", "1.2.3", "2.0.0"):
        registry.publish("acme/toolkit", version, toolkit(version))
    registry.publish("acme/toolkit", "dev:alpha", toolkit("dev-alpha"))
    registry.publish("acme/helpers", "1.0.0", HELPERS_1)
    registry.publish("acme/secret", "1.0.0", textwrap.dedent("""\
        version: 2.1
        commands:
          hush: {steps: [{run: echo hush}]}
    """))
    registry.private.add("acme/secret")
    return registry
