"""Step tests (caches, workspaces, artifacts, the in-job helper) run on every executor (see
``tests.targets``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.targets import TARGETS, Target, each_target


@pytest.fixture(params=TARGETS)
def target(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Target]:
    yield from each_target(request, tmp_path, monkeypatch)
