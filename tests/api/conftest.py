"""A real server on a free loopback port (uvicorn on a thread), and an httpx client for it."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from runner.api.server import ApiServer, ServeOptions
from tests.support import make_project

TOKEN = "test-token-0123456789abcdef"
PROJECT = "/api/v1.1/project/github/acme/widget"

CONFIG = """
version: 2
jobs:
  build:
    machine: true
    environment:
      FROM_CONFIG: config-value
    steps:
      - run: echo "build $CIRCLE_BUILD_NUM FOO=$FOO FROM_CONFIG=$FROM_CONFIG"
  deploy_production:
    machine: true
    steps:
      - run: echo "deploying to production $CIRCLE_SHA1 on $CIRCLE_BRANCH"
  show_params:
    machine: true
    parallelism: 2
    environment:
      FROM_CONFIG: config-value
    steps:
      - run: printf '%s|%s|%s\\n' "$JSONISH" "$TRICKY" "$FROM_CONFIG"
  slow:
    machine: true
    steps:
      - run: echo first; sleep 1.5; echo second
  sleeper:
    machine: true
    steps:
      - run: |
          echo started
          sleep 30 &
          echo $! > "${PIDFILE:-/dev/null}"
          wait
"""


@dataclass
class Api:
    server: ApiServer
    client: httpx.Client
    project: Path

    @property
    def url(self) -> str:
        return self.server.url

    def trigger(self, job: str | None = None, branch: str = "main", **params: str) -> httpx.Response:
        form = {f"build_parameters[{k}]": v for k, v in params.items()}
        if job is not None:
            form["build_parameters[CIRCLE_JOB]"] = job
        return self.client.post(f"{PROJECT}/tree/{branch}", data=form)

    def build(self, build_num: int) -> dict[str, Any]:
        response = self.client.get(f"{PROJECT}/{build_num}")
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    def wait(self, build_num: int, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            data = self.build(build_num)
            if data["lifecycle"] in ("finished", "not_run"):
                return data
            assert time.monotonic() < deadline, f"build {build_num} still {data['status']}"
            time.sleep(0.05)

    def log(self, build_num: int, step: int = 0, node: int = 0) -> str:
        return output_text(self.client.get(f"{PROJECT}/{build_num}/output/{step}/{node}"))


def output_text(response: httpx.Response) -> str:
    """The text of an ``output_url`` answer: CircleCI's list of ``{message, time, type}``."""
    assert response.status_code == 200, response.text
    messages = response.json()
    assert all(set(m) >= {"message", "time", "type"} for m in messages), messages
    return "".join(m["message"] for m in messages)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "widget", CONFIG)


def _start(started: list[Api], *projects: Path, **options: Any) -> Api:
    options.setdefault("token", TOKEN)
    server = ApiServer(
        ServeOptions(port=0, projects=projects, **options),
        environ=dict(os.environ),
        cwd=projects[0] if projects else Path.cwd(),
    )
    server.start()
    client = httpx.Client(
        base_url=server.url, headers={"Circle-Token": options["token"]}, timeout=30
    )
    api = Api(server, client, projects[0] if projects else Path.cwd())
    started.append(api)
    return api


def _stop(started: list[Api]) -> None:
    for api in started:
        api.client.close()
        api.server.stop(timeout=10)


@pytest.fixture
def start_api() -> Iterator[Callable[..., Api]]:
    started: list[Api] = []
    yield lambda *projects, **options: _start(started, *projects, **options)
    _stop(started)


@pytest.fixture(scope="module")
def shared_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """One server for a module of tests that never queue a run (bad requests)."""
    root = tmp_path_factory.mktemp("shared")
    started: list[Api] = []
    yield _start(started, make_project(root / "widget", CONFIG), state_dir=root / "state")
    _stop(started)


@pytest.fixture
def api(start_api: Callable[..., Api], project: Path) -> Api:
    return start_api(project)
