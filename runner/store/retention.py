"""How long job data is kept, applied by ``runner clean``.

Where job data lives in a project's state directory::

    caches/                  shared by every run: one complete entry per key (caches.py)
    timings/<job>.json       test times of earlier successful runs (test_results.py)
    runs/<n>/artifacts/<job>/<node>/       store_artifacts (artifacts.py)
    runs/<n>/test-results/<job>/<node>/    store_test_results
    runs/<n>/workspace/                    this run's workspace layers (workspaces.py)

The rule: the newest ``RUNNER_KEEP_RUNS`` runs (default 20) keep their directory (logs,
artifacts, test results, workspace layers); older ones are removed, except a run still going
(:mod:`runner.store.liveness`) or a run directory changed within the last hour. A cache that
no job restored (or saved) for ``RUNNER_CACHE_DAYS`` days (default 15, CircleCI's own cache
retention [CACHE]) is removed.
Timing data is small and kept: it is what ``circleci tests split --split-by=timings`` needs.
``runner clean --all`` removes every run, every cache and the timing data.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from msgspec import Struct

from runner.store.cache_tmp import DAY
from runner.store.caches import CacheStore
from runner.store.liveness import is_live
from runner.store.state import StateDir

LIVE_GRACE = 3600.0  # seconds: a run directory changed this recently may be in use


class Retention(Struct, frozen=True):
    keep_runs: int = 20
    cache_days: float = 15.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Retention:
        default = cls()
        try:
            keep = int(environ.get("RUNNER_KEEP_RUNS", default.keep_runs))
            days = float(environ.get("RUNNER_CACHE_DAYS", default.cache_days))
        except ValueError:
            return default
        return cls(keep_runs=max(keep, 0), cache_days=max(days, 0.0))


def apply(
    state: StateDir,
    policy: Retention,
    *,
    everything: bool = False,
    clock: Callable[[], float] = time.time,
) -> list[str]:
    """Remove what the rule says is old; one report line per kind of thing removed."""
    now = clock()
    report: list[str] = []
    store = CacheStore(state.root / "caches")
    if everything:
        count = len(store.entries())
        shutil.rmtree(store.root, ignore_errors=True)
        shutil.rmtree(state.root / "timings", ignore_errors=True)
        shutil.rmtree(state.root / "parsed", ignore_errors=True)  # runner.store.parsed
        return [f"removed {count} cache(s), the timing data and the kept config parses"]
    runs = _old_runs(state, policy.keep_runs, now)
    for run in runs:
        shutil.rmtree(run, ignore_errors=True)
    if runs:
        report.append(f"removed {len(runs)} run(s) beyond the newest {policy.keep_runs}")
    stale = [e for e in store.entries() if now - store.last_used(e) > policy.cache_days * DAY]
    for entry in stale:
        store.remove(entry)
    store.sweep_tmp(older_than=DAY)
    if stale:
        report.append(f"removed {len(stale)} cache(s) unused for {policy.cache_days:g} days")
    return report


def _old_runs(state: StateDir, keep: int, now: float) -> list[Path]:
    if not state.runs.is_dir():
        return []
    numbered = sorted(
        (p for p in state.runs.iterdir() if p.is_dir() and p.name.isdigit()),
        key=lambda p: int(p.name),
    )
    old = numbered[: max(len(numbered) - keep, 0)]
    return [p for p in old if now - p.stat().st_mtime > LIVE_GRACE and not is_live(p)]
