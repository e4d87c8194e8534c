"""Podman tests: the docker executor against podman's Docker-compatible API. Every test here
talks to podman (``DOCKER_HOST``), with a state directory of its own (the ``state_name`` and
``no_leftovers`` fixtures of tests/executors/conftest.py, shared with the docker tests)."""

from __future__ import annotations

import pytest

from tests.support import podman_host


@pytest.fixture(autouse=True)
def _podman_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    # The executor, the `containers` helper and `runner` subprocesses all read DOCKER_HOST.
    monkeypatch.setenv("DOCKER_HOST", podman_host())
