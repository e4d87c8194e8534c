"""The state directory: one place per project for runs, logs, node homes, caches and workspaces.

Default: ``$XDG_STATE_HOME/runner/<project>-<hash>`` (``~/.local/state/runner/...``), outside
the project so a checkout never copies it; ``--state-dir`` or ``RUNNER_STATE_DIR`` override it.
Numbers (runs, and CIRCLE_BUILD_NUM per job) come from one counter file updated under a lock,
so two runs of one project at once never share a number or a directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from contextlib import AbstractContextManager
from pathlib import Path

from msgspec import Struct

from runner.names import name_form
from runner.store import liveness
from runner.store.atomic import locked

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str) -> str:
    """A file-name-safe form of a job id (``workflow/job`` -> ``workflow__job``)."""
    return _SAFE.sub("_", text.replace("/", "__")) or "_"


def default_root(project_root: Path, environ: Mapping[str, str]) -> Path:
    base = environ.get("XDG_STATE_HOME") or os.path.join(
        environ.get("HOME", os.path.expanduser("~")), ".local", "state"
    )
    digest = hashlib.sha256(str(project_root).encode()).hexdigest()[:8]
    return Path(base) / "runner" / f"{safe_name(project_root.name)}-{digest}"


def resolve_root(project_root: Path, override: Path | None, environ: Mapping[str, str]) -> Path:
    if override is not None:
        return override.expanduser().resolve()
    if environ.get("RUNNER_STATE_DIR"):
        return Path(environ["RUNNER_STATE_DIR"]).expanduser().resolve()
    return default_root(project_root, environ)


class StateDir(Struct, frozen=True):
    root: Path
    # Numbers taken earlier with ``reserve``: a queued API trigger answers with its build_num
    # before the run starts, and the run must then use that number [APIV1].
    reserved: tuple[int, tuple[int, ...]] | None = None

    @property
    def label(self) -> str:
        """Names this state directory on labels of what runs create (containers): its name
        plus a hash of its full path, so two projects whose state directories share a name
        (``--state-dir``, tests) never see each other's containers."""
        digest = hashlib.sha256(str(self.root).encode()).hexdigest()[:8]
        return f"{safe_name(self.root.name)}-{digest}"

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    def locked(self) -> AbstractContextManager[None]:
        return locked(self.root / "lock")

    def _bump(self, **counts: int) -> dict[str, int]:
        """Advance named counters under the lock; return each counter's first new number."""
        path = self.root / "counters.json"
        with self.locked():
            try:
                current = json.loads(path.read_text())
            except (OSError, ValueError):
                current = {}
            first = {name: int(current.get(name, 0)) + 1 for name in counts}
            for name, count in counts.items():
                current[name] = int(current.get(name, 0)) + count
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(current))
            os.replace(tmp, path)
        return first

    def peek_run_number(self) -> int:
        """The number the next run will probably get (pipeline.number while loading)."""
        if self.reserved is not None:
            return self.reserved[0]
        try:
            return int(json.loads((self.root / "counters.json").read_text()).get("run", 0)) + 1
        except (OSError, ValueError):
            return 1

    def new_run(self, job_count: int) -> tuple[int, list[int]]:
        """A fresh (or the reserved) run number and ``job_count`` build numbers; creates the
        run directory, live (``liveness.hold``) until the caller releases it."""
        if self.reserved is None:
            run, builds = self.reserve(job_count)
        else:
            run, builds = self.reserved
            if len(builds) != job_count:  # the config changed since the trigger: new job numbers
                first = self._bump(build=max(job_count, 0))["build"]
                builds = tuple(first + i for i in range(job_count))
        with self.locked():  # `runner clean` decides what is live under this lock too
            (self.runs / str(run)).mkdir(parents=True, exist_ok=False)
            liveness.hold(self.runs / str(run))
        return run, list(builds)

    def reserve(self, job_count: int) -> tuple[int, tuple[int, ...]]:
        """Take a run number and ``job_count`` build numbers now, for a run that starts later."""
        first = self._bump(run=1, build=max(job_count, 0))
        return first["run"], tuple(first["build"] + i for i in range(job_count))

    def more_builds(self, count: int) -> list[int]:
        """``count`` new build numbers for jobs that join a running run (a continuation)."""
        first = self._bump(build=max(count, 0))["build"]
        return [first + i for i in range(count)]

    def run_dir(self, run: int | str) -> Path:
        return self.runs / str(run)

    def node_dir(self, run: int | str, job_id: str, node: int) -> Path:
        # One folder per exact job name (issue 14); older runs are found through the log paths
        # their history recorded, and their kept.json records, never by recomputing a name.
        return self.run_dir(run) / "jobs" / name_form(job_id) / str(node)
