"""``runner artifacts RUN [JOB] --to DIR``: the artifacts a run stored, copied out.

gitlab-ci-local users expect a job's artifacts back in their tree. Stored artifacts live at
``<run_dir>/artifacts/<job>/<node>/<destination>/...`` (runner.store.artifacts); they are copied
to ``DIR/<destination>/...`` for one job of one node, ``DIR/<node>/...`` for a parallel job, and
``DIR/<job>/...`` (then the same per node) for every job of the run. A file that exists in DIR
is never replaced without ``--force``: nothing is copied then, and runner names them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from msgspec import Struct

from runner.errors import UsageError, did_you_mean
from runner.store.state import safe_name


class Copy(Struct, frozen=True):
    source: Path  # a stored file (or symbolic link, which stays one)
    target: Path


def artifact_copies(run_dir: Path, job: str | None, to: Path) -> list[Copy]:
    """Every stored file of the run (or of one job) and where it goes under ``to``."""
    base = run_dir / "artifacts"
    stored = sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []
    if job is not None:
        if safe_name(job) not in stored:
            raise UsageError(
                f"job {job!r} stored no artifacts in run {run_dir.name}",
                hint=did_you_mean(job, stored) or _stored_hint(stored),
            )
        return _job_copies(base / safe_name(job), to)
    if not stored:
        raise UsageError(f"run {run_dir.name} stored no artifacts", hint=_stored_hint(stored))
    return [c for name in stored for c in _job_copies(base / name, to / name)]


def _stored_hint(stored: list[str]) -> str:
    return "jobs with artifacts: " + ", ".join(stored) if stored else "see `runner history`"


def _job_copies(job_dir: Path, to: Path) -> list[Copy]:
    nodes = sorted((p for p in job_dir.iterdir() if p.is_dir()), key=lambda p: p.name)
    out: list[Copy] = []
    for node in nodes:
        target = to if len(nodes) == 1 else to / node.name
        for path in sorted(node.rglob("*")):
            if path.is_symlink() or path.is_file():
                out.append(Copy(path, target / path.relative_to(node)))
    return out


def copy_artifacts(copies: list[Copy], *, force: bool) -> int:
    """Copy every file, or none when one would replace a file already there (and not
    ``force``). Returns how many were copied."""
    clashes = [c.target for c in copies if c.target.exists() or c.target.is_symlink()]
    if clashes and not force:
        shown = ", ".join(str(p) for p in clashes[:5]) + (" ..." if len(clashes) > 5 else "")
        raise UsageError(
            f"{len(clashes)} file(s) already exist, nothing was copied: {shown}",
            hint="copy to another --to DIR, or --force to replace them",
        )
    for copy in copies:
        copy.target.parent.mkdir(parents=True, exist_ok=True)
        if copy.target.is_symlink() or copy.target.is_file():
            copy.target.unlink()
        shutil.copy2(copy.source, copy.target, follow_symlinks=False)
    return len(copies)
