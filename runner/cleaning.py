"""Removing what runs left: kept node homes, run data, and labelled containers."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from runner.runflow import ProjectRequest, open_project
from runner.store import retention
from runner.store.retention import Retention
from runner.store.state import StateDir, resolve_root

NODE_LEFTOVERS = ("home", "tmp", "task-data", "kept.json")  # kept.json: runner.debug.kept


def clean(request: ProjectRequest, *, everything: bool) -> list[str]:
    project = open_project(request)
    state = StateDir(resolve_root(project.root, request.state_dir, os.environ))
    report: list[str] = []
    if state.runs.is_dir():
        if everything:
            count = sum(1 for _ in state.runs.iterdir())
            shutil.rmtree(state.runs, ignore_errors=True)
            report.append(f"removed {count} run(s) from {state.root}")
        else:
            removed = _remove_node_leftovers(state.runs)
            report.append(f"removed {removed} kept node environment(s)")
    report.extend(retention.apply(state, Retention.from_env(os.environ), everything=everything))
    report.extend(_clean_containers(state))
    return report


def _remove_node_leftovers(runs: Path) -> int:
    removed = 0
    for node_dir in runs.glob("*/jobs/*/*"):
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
    try:
        from runner.executors.docker_cleanup import remove_labelled
    except ImportError:
        return []
    return remove_labelled(state.label)
