"""Test policy shared by every suite.

Tests marked ``docker`` need a Docker engine. They are skipped when none answers, unless
``RUNNER_REQUIRE_DOCKER=1`` (set by ``.ci/run``): then they fail, so a green CI run always
means the docker executor was really exercised.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support import docker_available


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not any(item.get_closest_marker("docker") for item in items):
        return
    if docker_available():
        return
    if os.environ.get("RUNNER_REQUIRE_DOCKER") == "1":
        for item in items:  # required Docker: these tests must fail, not skip
            if item.get_closest_marker("docker"):
                item.add_marker(pytest.mark.usefixtures("_docker_required"))
        return
    skip = pytest.mark.skip(reason="no Docker engine answers (set RUNNER_REQUIRE_DOCKER=1 to fail)")
    for item in items:
        if item.get_closest_marker("docker"):
            item.add_marker(skip)


@pytest.fixture
def _docker_required() -> None:
    pytest.fail("RUNNER_REQUIRE_DOCKER=1 but no Docker engine answers")


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
