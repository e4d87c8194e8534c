"""Docker and podman tests (docker/, podman/): each gets a state directory of its own name, so
the containers of its runs carry a label no other test (or xdist worker, or concurrent developer
run) shares."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.store.state import StateDir
from tests.executors.docker.helpers import containers


@pytest.fixture
def state_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The label value (``com.runner.state``) of this test's state directory."""
    path = (tmp_path / f"state-{uuid.uuid4().hex[:10]}").resolve()
    monkeypatch.setenv("RUNNER_STATE_DIR", str(path))
    return StateDir(path).label


@pytest.fixture
def no_leftovers(state_name: str) -> Iterator[str]:
    """Fails the test if any container of its runs is still there when it ends."""
    yield state_name
    left = containers(state_name)
    for box in left:  # never let one failure leak into the next tests
        box.remove(force=True)
    assert not left, f"containers left behind: {[b.name for b in left]}"
