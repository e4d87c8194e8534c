"""host_tools.probe: the one way runner asks whether a host program is there and works."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runner.host_tools import probe


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PATH", str(tmp_path))
    return tmp_path


def tool(bin_dir: Path, name: str, body: str) -> Path:
    path = bin_dir / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    os.chmod(path, 0o755)
    return path


def test_a_tool_on_path_answers_with_its_path_and_output(bin_dir: Path) -> None:
    path = tool(bin_dir, "fake-tar", 'echo "fake-tar (GNU tar) $1"; exit 3')
    probed = probe("fake-tar", ["--version"])
    assert probed is not None
    found, done = probed
    assert (found, done.stdout, done.returncode) == (str(path), b"fake-tar (GNU tar) --version\n", 3)


def test_a_missing_or_broken_tool_is_none(bin_dir: Path) -> None:
    assert probe("no-such-tool", []) is None
    broken = bin_dir / "broken"
    broken.write_text("#!/no/such/interpreter\n")
    os.chmod(broken, 0o755)
    assert probe("broken", []) is None  # cannot start: OSError, not a crash
