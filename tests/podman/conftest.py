"""Podman tests: the docker executor against podman's Docker-compatible API. Every test here
talks to podman (``DOCKER_HOST``), with a state directory of its own (see tests/docker)."""

from __future__ import annotations

import pytest

from tests.docker.conftest import no_leftovers, state_name
from tests.support import podman_host

__all__ = ["no_leftovers", "state_name"]


@pytest.fixture(autouse=True)
def _podman_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    # The executor, the `containers` helper and `runner` subprocesses all read DOCKER_HOST.
    monkeypatch.setenv("DOCKER_HOST", podman_host())
