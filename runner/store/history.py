"""Run history in SQLite: runs, jobs, nodes and steps with status, times and log locations.

One database per project, ``history.sqlite`` in its state directory, written by an event
subscriber (:mod:`runner.store.recorder`), so runs started by ``runner run`` and by
``runner serve`` are recorded alike. WAL mode lets readers (``runner history``, the API) read
while a run writes. Each process keeps one writer connection per database behind a lock, and
``BEGIN IMMEDIATE`` with a busy timeout queues writers of different processes (a CLI run next
to the server) instead of failing them.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

from msgspec import Struct
from msgspec.structs import fields

FILE_NAME = "history.sqlite"
BUSY_TIMEOUT_MS = 30_000
UNFINISHED = ("queued", "running")
# A run is "interrupted" when its process went away (crash, kill, server shutdown) before it
# ended: the API reports it as CircleCI's ``infrastructure_fail``.
INTERRUPTED = "interrupted"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run INTEGER PRIMARY KEY, pipeline_id TEXT NOT NULL DEFAULT '', source TEXT NOT NULL,
    status TEXT NOT NULL, project TEXT NOT NULL DEFAULT '', branch TEXT NOT NULL DEFAULT '',
    tag TEXT NOT NULL DEFAULT '', revision TEXT NOT NULL DEFAULT '', queued_at REAL,
    started_at REAL, stopped_at REAL, exit_code INTEGER, message TEXT NOT NULL DEFAULT '',
    trigger TEXT NOT NULL DEFAULT '{}', run_dir TEXT NOT NULL DEFAULT '',
    pid INTEGER NOT NULL DEFAULT 0, owner TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS runs_pipeline ON runs (pipeline_id);
CREATE TABLE IF NOT EXISTS jobs (
    run INTEGER NOT NULL, job TEXT NOT NULL, name TEXT NOT NULL, workflow TEXT NOT NULL DEFAULT '',
    workflow_id TEXT NOT NULL DEFAULT '', requires TEXT NOT NULL DEFAULT '[]', build_num INTEGER,
    executor TEXT NOT NULL DEFAULT '',
    parallelism INTEGER NOT NULL DEFAULT 1, status TEXT NOT NULL, started_at REAL,
    stopped_at REAL, message TEXT NOT NULL DEFAULT '', PRIMARY KEY (run, job));
CREATE INDEX IF NOT EXISTS jobs_build ON jobs (build_num);
CREATE INDEX IF NOT EXISTS jobs_workflow ON jobs (workflow_id);
CREATE TABLE IF NOT EXISTS nodes (
    run INTEGER NOT NULL, job TEXT NOT NULL, node INTEGER NOT NULL, status TEXT NOT NULL,
    started_at REAL, stopped_at REAL, PRIMARY KEY (run, job, node));
CREATE TABLE IF NOT EXISTS steps (
    run INTEGER NOT NULL, job TEXT NOT NULL, node INTEGER NOT NULL, idx INTEGER NOT NULL,
    name TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL, exit_code INTEGER,
    started_at REAL, stopped_at REAL, log_path TEXT, message TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run, job, node, idx));
"""


class RunRow(Struct, frozen=True):
    run: int
    pipeline_id: str
    source: str  # cli | api
    status: str  # queued | running | passed | failed | cancelled | interrupted | errored
    project: str
    branch: str
    tag: str
    revision: str
    queued_at: float | None
    started_at: float | None
    stopped_at: float | None
    exit_code: int | None
    message: str
    trigger: str  # JSON: how the run was asked for (job, parameters, parallel, why)
    run_dir: str
    pid: int
    owner: str

    @property
    def trigger_data(self) -> dict[str, Any]:
        data = json.loads(self.trigger or "{}")
        return data if isinstance(data, dict) else {}


class JobRow(Struct, frozen=True):
    run: int
    job: str
    name: str
    workflow: str
    workflow_id: str  # the API's id for (pipeline, workflow); empty outside workflows
    requires: str  # JSON list of job ids
    build_num: int | None
    executor: str
    parallelism: int
    status: str
    started_at: float | None
    stopped_at: float | None
    message: str

    @property
    def requires_list(self) -> list[str]:
        return list(json.loads(self.requires or "[]"))


class NodeRow(Struct, frozen=True):
    run: int
    job: str
    node: int
    status: str
    started_at: float | None
    stopped_at: float | None


class StepRow(Struct, frozen=True):
    run: int
    job: str
    node: int
    idx: int
    name: str
    kind: str
    status: str
    exit_code: int | None
    started_at: float | None
    stopped_at: float | None
    log_path: str | None
    message: str


R = TypeVar("R", RunRow, JobRow, NodeRow, StepRow)

# Jobs planned outside any workflow (a config without workflows, a job named on the command
# line or through API v1.1) are shown under this name, as CircleCI 2.0 did for such configs.
DEFAULT_WORKFLOW = "workflow"


def workflow_uuid(pipeline_id: str, workflow: str) -> str:
    """A stable id for one workflow of one pipeline (API v2)."""
    name = workflow or DEFAULT_WORKFLOW
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"runner:{pipeline_id}/{name}"))

# Readers: a few connections per thread, reused (each SELECT is its own WAL snapshot).
_READERS = threading.local()
READERS_PER_THREAD = 4
# One writer connection per database file per process, each with its lock.
_WRITERS: dict[str, tuple[sqlite3.Connection, threading.Lock]] = {}
_WRITERS_LOCK = threading.Lock()
def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.row_factory = sqlite3.Row
    return conn


class HistoryStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def for_state(cls, state_root: Path) -> HistoryStore:
        return cls(state_root / FILE_NAME)

    # ------------------------------------------------------------ writing

    def _writer(self) -> tuple[sqlite3.Connection, threading.Lock]:
        key = str(self.path)
        with _WRITERS_LOCK:
            found = _WRITERS.get(key)
            if found is not None and not self.path.exists():  # removed (``runner clean --all``)
                with found[1]:
                    found[0].close()
                found = None
            if found is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = _connect(self.path)
                # WAL: readers never block the writer; NORMAL sync is safe in WAL mode.
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.executescript(_SCHEMA)
                found = _WRITERS[key] = (conn, threading.Lock())
            return found

    def write(self, statements: Iterable[tuple[str, tuple[Any, ...]]]) -> None:
        """Run statements in one transaction; IMMEDIATE takes the write lock up front, so two
        processes never deadlock upgrading a read lock."""
        conn, lock = self._writer()
        with lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for sql, args in statements:
                    conn.execute(sql, args)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def execute(self, sql: str, *args: Any) -> None:
        self.write([(sql, args)])

    # ------------------------------------------------------------ reading

    def _reader(self) -> sqlite3.Connection | None:
        """This thread's reading connection (a few kept per thread: the API polls a lot);
        None while nothing was ever recorded (reading creates nothing)."""
        key = str(self.path)
        cache: dict[str, sqlite3.Connection] = _READERS.__dict__.setdefault("conns", {})
        if not self.path.exists():
            stale = cache.pop(key, None)
            if stale is not None:
                stale.close()
            return None
        conn = cache.pop(key, None) or _connect(self.path)
        cache[key] = conn  # most recently used last
        while len(cache) > READERS_PER_THREAD:
            cache.pop(next(iter(cache))).close()
        return conn

    def _rows(self, cls: type[R], sql: str, *args: Any) -> list[R]:
        conn = self._reader()
        if conn is None:
            return []
        try:
            rows = conn.execute(sql, args).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
            return []  # the file exists, its schema is being created by its first writer
        names = [f.name for f in fields(cls)]
        return [cls(*(row[n] for n in names)) for row in rows]

    def runs(self, limit: int = 50) -> list[RunRow]:
        return self._rows(RunRow, "SELECT * FROM runs ORDER BY run DESC LIMIT ?", limit)

    def run(self, run: int) -> RunRow | None:
        found = self._rows(RunRow, "SELECT * FROM runs WHERE run = ?", run)
        return found[0] if found else None

    def run_by_pipeline(self, pipeline_id: str) -> RunRow | None:
        found = self._rows(RunRow, "SELECT * FROM runs WHERE pipeline_id = ?", pipeline_id)
        return found[0] if found else None

    def jobs(self, run: int) -> list[JobRow]:
        return self._rows(JobRow, "SELECT * FROM jobs WHERE run = ? ORDER BY rowid", run)

    def jobs_of_runs(self, runs: list[int]) -> dict[int, list[JobRow]]:
        out: dict[int, list[JobRow]] = {r: [] for r in runs}
        marks = ",".join("?" * len(runs))
        for job in self._rows(
            JobRow, f"SELECT * FROM jobs WHERE run IN ({marks}) ORDER BY rowid", *runs
        ):
            out[job.run].append(job)
        return out

    def jobs_of_workflow(self, workflow_id: str) -> list[JobRow]:
        return self._rows(
            JobRow, "SELECT * FROM jobs WHERE workflow_id = ? ORDER BY rowid", workflow_id
        )

    def job_by_build(self, build_num: int) -> JobRow | None:
        found = self._rows(JobRow, "SELECT * FROM jobs WHERE build_num = ?", build_num)
        return found[0] if found else None

    def nodes(self, run: int, job: str) -> list[NodeRow]:
        return self._rows(
            NodeRow, "SELECT * FROM nodes WHERE run = ? AND job = ? ORDER BY node", run, job
        )

    def steps(self, run: int, job: str) -> list[StepRow]:
        return self._rows(
            StepRow,
            "SELECT * FROM steps WHERE run = ? AND job = ? ORDER BY idx, node",
            run,
            job,
        )

    # ------------------------------------------------------------ cut-off runs

    def unfinished(self) -> list[RunRow]:
        return self._rows(RunRow, "SELECT * FROM runs WHERE status IN (?, ?)", *UNFINISHED)

