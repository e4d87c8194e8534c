"""Test policy shared by every suite.

Tests marked ``docker`` need a Docker engine. They are skipped when none answers, unless
``RUNNER_REQUIRE_DOCKER=1`` (set by ``.ci/run``): then they fail, so a green CI run always
means the docker executor was really exercised. Tests marked ``podman`` run the docker executor
against podman's Docker-compatible API (``RUNNER_PODMAN_HOST``, by default the socket
``.ci/podman-up.sh`` starts), with ``RUNNER_REQUIRE_PODMAN=1`` in the same way.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import docker_available, podman_available, podman_host


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _engine_policy(items, "docker", docker_available, "no Docker engine answers")
    _engine_policy(
        items, "podman", podman_available, f"podman's API does not answer at {podman_host()}"
    )


def _engine_policy(
    items: list[pytest.Item], marker: str, available: Callable[[], bool], why: str
) -> None:
    """Skip the tests marked ``marker`` when the engine is absent, or make them fail when
    ``RUNNER_REQUIRE_<MARKER>=1``."""
    marked = [item for item in items if item.get_closest_marker(marker)]
    if not marked or available():
        return
    variable = f"RUNNER_REQUIRE_{marker.upper()}"
    if os.environ.get(variable) == "1":
        fail = pytest.mark.usefixtures(f"_{marker}_required")
        for item in marked:  # a required engine: these tests must fail, not skip
            item.add_marker(fail)
        return
    skip = pytest.mark.skip(reason=f"{why} (set {variable}=1 to fail)")
    for item in marked:
        item.add_marker(skip)


@pytest.fixture
def _docker_required() -> None:
    pytest.fail("RUNNER_REQUIRE_DOCKER=1 but no Docker engine answers")


@pytest.fixture
def _podman_required() -> None:
    pytest.fail(f"RUNNER_REQUIRE_PODMAN=1 but podman's API does not answer at {podman_host()}")


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own state directory and contexts file location."""
    monkeypatch.setenv("RUNNER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    # orbs: a private cache, and never CircleCI's real registry (port 9 refuses at once)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("CIRCLECI_CLI_HOST", "http://127.0.0.1:9")
    monkeypatch.delenv("CIRCLECI_CLI_TOKEN", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    # The machine executor's mount namespace (machine.namespace) only where a test asks for it, so the
    # suite means the same with and without bubblewrap; tests/executors/machine/test_namespace.py asks.
    monkeypatch.setenv("RUNNER_MACHINE_NAMESPACE", "0")
