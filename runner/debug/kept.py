"""The registry of kept environments: one small JSON record per kept node.

``runner run --keep`` leaves a node's home (machine) or containers (docker) in place; the record
says how to find and enter it again: executor kind, home, working directory, BASH_ENV, the shell,
the node's environment, and for docker the labels of its primary container. It lives in the
node's directory (``runs/<n>/jobs/<job>/<node>/kept.json``), so ``runner clean`` removes it with
the environment, and ``--from-step`` finds the newest kept environment of a job by reading them.

The record holds the job's environment, which may include secrets given with ``-e``: it is
written readable by its owner only, like the kept home next to it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from msgspec.structs import asdict, fields

from runner.executors.kept import KeptNode
from runner.store.state import StateDir

__all__ = ["RECORD", "KeptNode", "load", "records", "save"]

RECORD = "kept.json"
VERSION = 1  # KeptNode.version


def save(node_dir: Path, kept: KeptNode) -> Path:
    node_dir.mkdir(parents=True, exist_ok=True)
    path = node_dir / RECORD
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(asdict(kept), handle, indent=1)
    os.replace(tmp, path)
    return path


def load(path: Path) -> KeptNode | None:
    """A record, or None when it is missing or not one runner can read."""
    try:
        data: Any = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        return None
    known = {f.name for f in fields(KeptNode)}
    try:
        return KeptNode(**{k: v for k, v in data.items() if k in known})
    except TypeError:
        return None


def records(state: StateDir, run: str | None = None) -> list[KeptNode]:
    """Kept records of one run, or of every run, newest run first, then job and node."""
    pattern = f"{run}/jobs/*/*/{RECORD}" if run is not None else f"*/jobs/*/*/{RECORD}"
    found = [k for k in (load(p) for p in state.runs.glob(pattern)) if k is not None]
    return sorted(found, key=lambda k: (-_number(k.run), k.job, k.node))


def _number(run: str) -> int:
    try:
        return int(run)
    except ValueError:
        return 0
