"""``--from-step`` after a fix: the restored checkout gets the working tree as it is now.

The loop people want is: a step fails, they edit a file, they rerun from that step (issue 13).
The kept environment holds the project as the earlier run's ``checkout`` copied it, so without
this the rerun would test the old code. After the restore, every directory that a ``checkout``
step before the starting step filled is refreshed from the working tree, the way ``checkout``
sees it (tracked files and untracked ones that are not ignored, with ``.git``): those files
are copied over, and tracked files deleted from the tree (``git ls-files --deleted``, and
deletions staged since ``HEAD``) are removed. Everything else in the directory stays: the
build outputs of earlier steps (``node_modules``, ``build/``, ...) are what ``--from-step``
is for. ``--no-resync`` keeps the kept copy as it was.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Mapping
from pathlib import Path

from runner.config.model import CheckoutStep, Job
from runner.errors import EnvironmentFailure
from runner.executors.base import ExecRequest, Session
from runner.steps.checkout import project_files


def checkout_dirs(job: Job, start: int, session: Session, workdir: str) -> list[str]:
    """Where the ``checkout`` steps before step ``start`` put the project, in the node."""
    found = [
        session.resolve(step.path, base=workdir)
        for step in job.steps[:start]
        if isinstance(step, CheckoutStep)
    ]
    return list(dict.fromkeys(found))


def deleted_files(root: Path) -> list[str]:
    """Tracked files that are gone from the working tree (deleted, or ``git rm``-ed)."""
    found: list[str] = []
    for args in (("ls-files", "-z", "--deleted"),
                 ("diff", "-z", "--name-only", "--diff-filter=D", "--cached", "HEAD")):
        try:
            out = subprocess.run(
                ["git", *args], cwd=root, capture_output=True, check=True
            ).stdout
        except (OSError, subprocess.CalledProcessError):
            continue  # not a git repository, or no commit yet: nothing is tracked as deleted
        found += [n for n in out.decode(errors="surrogateescape").split("\0") if n]
    return [n for n in dict.fromkeys(found) if not (root / n).exists()]


def resync(
    session: Session, root: Path, dirs: list[str], env: Mapping[str, str]
) -> tuple[int, int]:
    """Refresh ``dirs`` from the working tree at ``root``; returns (files copied, removed)."""
    names, _note = project_files(root)  # the note was said by the earlier run's checkout
    gone = deleted_files(root)
    for dest in dirs:
        session.put_files(dest, root, names)
        if gone:
            _remove(session, dest, gone, env)
    return len(names), len(gone)


class _Quiet:
    """Output of the removal: ``rm -f`` prints nothing unless something is wrong."""

    def __init__(self) -> None:
        self.text = b""

    def write(self, data: bytes) -> None:
        self.text = (self.text + data)[-2000:]

    def idle(self) -> None:
        pass


def _remove(session: Session, dest: str, names: list[str], env: Mapping[str, str]) -> None:
    script = "rm -f -- " + " ".join(shlex.quote(name) for name in names) + "\n"
    sink = _Quiet()
    result = session.start(
        ExecRequest(script=script, shell=("/bin/sh",), cwd=dest, env=env), sink
    ).wait()
    if not result.ok:
        why = result.error or sink.text.decode(errors="replace").strip() or "rm failed"
        raise EnvironmentFailure(f"could not remove deleted files from {dest}: {why}")
