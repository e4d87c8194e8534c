"""Two runs of one project at once: no shared containers, homes, state files or cache writes,
and both succeed [reliability.md point 12]."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from runner.store.state import StateDir
from tests.adversarial.helpers import (
    BUSYBOX_IMAGE,
    Outcome,
    no_traceback,
    runner,
    start,
    state_dir,
    watch,
)
from tests.support import make_project

MACHINE = """
version: 2.1
jobs:
  build:
    machine: true
    steps:
      - run: |
          echo "home=$HOME"
          echo "$HOME" >> "$SHARED/homes"
          # both runs wait here for each other, so everything after overlaps
          n=0
          while [ "$(wc -l < "$SHARED/homes")" -lt 2 ] && [ $n -lt 300 ]; do
            sleep 0.05; n=$((n+1))
          done
          mkdir -p ~/dep && head -c 3000000 /dev/urandom > ~/dep/blob
      - save_cache: {key: shared-key, paths: [~/dep]}
"""

DOCKER = f"""
version: 2.1
jobs:
  build:
    docker: [{{image: {BUSYBOX_IMAGE}}}]
    steps:
      - run: echo "box=$(hostname)"; sleep 2
      - run: mkdir -p ~/dep && head -c 1000000 /dev/urandom > ~/dep/blob
      - save_cache: {{key: shared-key, paths: [~/dep]}}
"""


def both(project: Path, *args: str) -> tuple[Outcome, Outcome]:
    first = start(["run", *args], project)
    second = start(["run", *args], project)
    return watch(first, timeout=120), watch(second, timeout=120)


def run_number(outcome: Outcome) -> int:
    found = re.search(r"^runner: run (\d+) ", outcome.stdout, re.M)
    assert found, outcome.stdout[:500]
    return int(found.group(1))


def one_complete_cache(key: str) -> None:
    entries = state_dir() / "caches" / "entries"
    manifests = [json.loads((d / "manifest.json").read_text()) for d in entries.iterdir()]
    assert [m["key"] for m in manifests] == [key], manifests
    assert not list((state_dir() / "caches" / "tmp").glob("*")), "a loser's files were kept"


def both_in_history(project: Path) -> None:
    history = runner(["history", "--json"], project)
    assert history.code == 0, history.stderr
    assert sorted((r["run"], r["status"]) for r in json.loads(history.stdout)) == [
        (1, "passed"), (2, "passed")
    ]


def test_two_machine_runs_at_once(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "homes").touch()
    project = make_project(tmp_path / "p", MACHINE)
    a, b = both(project, "-e", f"SHARED={shared}")
    for outcome in (a, b):
        no_traceback(outcome)
        assert outcome.code == 0, outcome.stdout[-2000:] + outcome.stderr
    assert {run_number(a), run_number(b)} == {1, 2}
    homes = (shared / "homes").read_text().split()
    assert len(homes) == 2 and homes[0] != homes[1]
    stored = [o for o in (a, b) if "Stored Cache to shared-key" in o.stdout]
    skipped = [o for o in (a, b) if "Skipping cache generation" in o.stdout]
    assert len(stored) == 1 and len(skipped) == 1  # the first writer wins, once
    one_complete_cache("shared-key")
    both_in_history(project)


@pytest.mark.docker
def test_two_docker_runs_at_once(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", DOCKER)
    a, b = both(project)
    for outcome in (a, b):
        no_traceback(outcome)
        assert outcome.code == 0, outcome.stdout[-2000:] + outcome.stderr
    assert {run_number(a), run_number(b)} == {1, 2}
    boxes = [re.search(r"│ box=(\S+)", o.stdout) for o in (a, b)]
    assert all(boxes) and boxes[0].group(1) != boxes[1].group(1)  # type: ignore[union-attr]
    one_complete_cache("shared-key")
    both_in_history(project)
    from tests.executors.docker.helpers import containers

    assert containers(StateDir(state_dir().resolve()).label) == []
