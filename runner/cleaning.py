"""Removing what runs left: kept node homes, run data, and labelled containers.

A live run's data (its folder, node homes, ``tmp``, ``task-data``) is never touched: whether a
run is live comes from the lock its process holds (:mod:`runner.store.liveness`), decided under
the state directory's lock, which a new run also holds while it makes its folder live.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from runner.loading import ProjectRequest, open_project
from runner.store import liveness, retention
from runner.store.retention import Retention
from runner.store.state import StateDir, resolve_root

NODE_LEFTOVERS = ("home", "tmp", "task-data", "kept.json")  # kept.json: runner.debug.kept


def clean(request: ProjectRequest, *, everything: bool) -> list[str]:
    project = open_project(request)
    state = StateDir(resolve_root(project.root, request.state_dir, os.environ))
    report: list[str] = []
    live: list[str] = []
    if state.runs.is_dir():
        # decided under the lock a new run holds while it makes its folder live; a finished
        # run's number is never used again, so what is decided here stays true afterwards
        with state.locked():
            runs = [p for p in state.runs.iterdir() if p.is_dir()]
            live = sorted((p.name for p in runs if liveness.is_live(p)), key=_number)
        done = [p for p in runs if p.name not in live]
        if everything:
            for run in done:
                shutil.rmtree(run, ignore_errors=True)
            report.append(f"removed {len(done)} run(s) from {state.root}")
        else:
            report.append(f"removed {_remove_node_leftovers(done)} kept node environment(s)")
    if live:
        report.append(f"left run(s) still in progress alone: {', '.join(live)}")
    if everything and live:  # their jobs may be saving or restoring a cache right now
        report.append("caches and timing data kept while a run is in progress")
    else:
        report.extend(retention.apply(state, Retention.from_env(os.environ), everything=everything))
    report.extend(_clean_containers(state))
    return report


def _number(name: str) -> int:
    return int(name) if name.isdigit() else 0


def _remove_node_leftovers(runs: list[Path]) -> int:
    removed = 0
    for node_dir in (n for run in runs for n in run.glob("jobs/*/*")):
        found = False
        for name in NODE_LEFTOVERS:
            if (node_dir / name).is_dir():
                shutil.rmtree(node_dir / name, ignore_errors=True)
                found = True
            elif (node_dir / name).exists():
                (node_dir / name).unlink()
        removed += found
    return removed


def _clean_containers(state: StateDir) -> list[str]:
    from runner.executors.registry import clean_all

    return clean_all(state.label)
