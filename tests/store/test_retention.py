"""The retention rule ``runner clean`` applies: the newest runs, and caches in use."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from runner import cleaning
from runner.runflow import ProjectRequest
from runner.store.caches import CacheStore
from runner.store.retention import DAY, Retention, apply
from runner.store.state import StateDir
from tests.archive.archives import M, tar_bytes
from tests.support import make_project


def old(path: Path, seconds: float) -> None:
    when = time.time() - seconds
    os.utime(path, (when, when))


def cache(store: CacheStore, key: str, unused_for: float) -> None:
    pending = store.begin()
    pending.add("~/d", [tar_bytes(M("d/f", key.encode()))])
    entry, _won = store.publish(pending, key=key, build_num=1, job="j", run_id="1")
    old(entry.folder / "used", unused_for)


def test_keeps_the_newest_runs_and_the_caches_in_use(tmp_path: Path) -> None:
    state = StateDir(tmp_path / "state")
    for run in range(1, 8):
        (state.runs / str(run) / "artifacts").mkdir(parents=True)
        old(state.runs / str(run), 2 * DAY)
    old(state.runs / "2", 60)  # changed a minute ago: perhaps still running
    store = CacheStore(state.root / "caches")
    cache(store, "fresh", 1 * DAY)
    cache(store, "stale", 20 * DAY)
    (store.root / "tmp" / "abandoned").mkdir(parents=True)
    old(store.root / "tmp" / "abandoned", 2 * DAY)

    report = apply(state, Retention(keep_runs=3, cache_days=15))
    assert sorted(int(p.name) for p in state.runs.iterdir()) == [2, 5, 6, 7]
    assert [e.key for e in store.entries()] == ["fresh"]
    assert not (store.root / "tmp" / "abandoned").exists()
    assert report == ["removed 3 run(s) beyond the newest 3", "removed 1 cache(s) unused for 15 days"]

    (state.root / "parsed").mkdir()
    (state.root / "parsed" / ("0" * 64)).write_bytes(b"kept")
    assert apply(state, Retention(), everything=True) == [
        "removed 1 cache(s), the timing data and the kept config parses"
    ]
    assert store.entries() == [] and not (state.root / "parsed").exists()


def test_policy_from_the_environment() -> None:
    assert Retention.from_env({"RUNNER_KEEP_RUNS": "5", "RUNNER_CACHE_DAYS": "1.5"}) == Retention(5, 1.5)
    assert Retention.from_env({"RUNNER_KEEP_RUNS": "many"}) == Retention()


def test_runner_clean_applies_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(tmp_path / "p", "version: 2.1\njobs: {build: {machine: true, steps: [checkout]}}\n")
    state = StateDir(Path(os.environ["RUNNER_STATE_DIR"]))
    for run in range(1, 4):
        (state.runs / str(run)).mkdir(parents=True)
        old(state.runs / str(run), 2 * DAY)
    monkeypatch.setenv("RUNNER_KEEP_RUNS", "1")
    report = cleaning.clean(ProjectRequest(project_dir=project), everything=False)
    assert "removed 2 run(s) beyond the newest 1" in report
    assert [p.name for p in state.runs.iterdir()] == ["3"]
