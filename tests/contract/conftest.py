"""The contract suite: the same config on every executor, the same observable result
(see ``tests.targets``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.targets import CONTRACT_TARGETS, Target, each_target


@pytest.fixture(params=CONTRACT_TARGETS)
def target(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Target]:
    yield from each_target(request, tmp_path, monkeypatch)


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
