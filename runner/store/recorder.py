"""The history subscriber: writes a run's progress (events) into its project's history store.

The CLI and the API server register the same recorder, so ``runner history`` and the API see
runs of either origin. Each run records its process id and an owner token; a run left
``queued``/``running`` whose owner is gone was cut off (a crash, a kill, a server restart) and
:func:`reconcile` marks it so.
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from msgspec import Struct

from runner.events import (
    Event,
    JobFinished,
    JobsJoined,
    JobStarted,
    NodeFinished,
    PlannedFacts,
    RunFinished,
    RunStarted,
    StepFinished,
    StepOutput,
    StepStarted,
)
from runner.store.history import INTERRUPTED, UNFINISHED, HistoryStore, RunRow, workflow_uuid

Statement = tuple[str, tuple[Any, ...]]
_MAX_UNWRITTEN = 10_000  # statements kept for a retry; a run's records are far fewer


def _disk_trouble(exc: Exception) -> bool:
    """SQLite's "database or disk is full" (SQLITE_FULL), or the OS's ENOSPC/EDQUOT."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    return "full" in str(exc) or "disk I/O" in str(exc)

# Owners (server instances, CLI runs) alive in this process: a run whose pid is ours but whose
# owner is missing here was cut off by an earlier server in this same process.
_LIVE_OWNERS: set[str] = set()


def new_owner() -> str:
    token = uuid.uuid4().hex
    _LIVE_OWNERS.add(token)
    return token


def release_owner(token: str) -> None:
    _LIVE_OWNERS.discard(token)


def owner_alive(row: RunRow) -> bool:
    if row.pid == os.getpid():
        return row.owner in _LIVE_OWNERS
    return pid_alive(row.pid)


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def reconcile(store: HistoryStore, alive: Callable[[RunRow], bool] = owner_alive) -> list[int]:
    """Mark runs left queued or running by a process that is gone as interrupted."""
    cut = [r.run for r in store.unfinished() if not alive(r)]
    if cut:
        mark_interrupted(store, cut, "cut off: the process running it went away")
    return cut


def mark_interrupted(
    store: HistoryStore, runs: list[int], message: str, *, cancelled_too: bool = False
) -> None:
    """Runs (and their jobs) that did not end on their own; ``cancelled_too`` also takes
    those the server cancelled because it was stopping."""
    now = time.time()
    among = (*UNFINISHED, "cancelled" if cancelled_too else "running")
    statements: list[tuple[str, tuple[Any, ...]]] = []
    for run in runs:
        for table in ("runs", "jobs"):
            statements.append((
                f"UPDATE {table} SET status = ?, stopped_at = COALESCE(stopped_at, ?), "
                "message = ? WHERE run = ? AND status IN (?, ?, ?)",
                (INTERRUPTED, now, message, run, *among),
            ))
        for table in ("nodes", "steps"):
            statements.append((
                f"UPDATE {table} SET status = ?, stopped_at = ? WHERE run = ? AND status = ?",
                (INTERRUPTED, now, run, "running"),
            ))
    store.write(statements)


class _Planned(Struct, frozen=True):
    name: str
    workflow: str
    requires: str  # JSON
    parallelism: int
    executor: str


class HistoryRecorder:
    """Subscribe it to a run: everything it records comes from the events (``RunStarted``
    carries the plan and the pipeline's facts; ``JobsJoined`` the jobs of a continuation)."""

    def __init__(self, *, source: str = "cli", owner: str | None = None) -> None:
        self.source = source
        self._own_owner = owner is None
        self.owner = owner or new_owner()
        self.store: HistoryStore | None = None
        self.run: int | None = None
        self._planned: dict[str, _Planned] = {}
        self._pipeline_id = ""
        # Statements a full disk refused: tried again, in order, before the next ones, so the
        # run's end is recorded once there is room (issue 13), never left `running`.
        self._unwritten: list[Statement] = []

    def __call__(self, event: Event) -> None:
        if type(event) is StepOutput:  # output lines: the hot path
            return
        if isinstance(event, RunStarted) and event.state_root:
            self.store = HistoryStore.for_state(Path(event.state_root))
        if self.store is None:
            return
        statements = self._statements(event)
        if statements:
            self._write(statements)
        if isinstance(event, RunFinished) and self._own_owner:
            release_owner(self.owner)

    def _write(self, statements: list[Statement]) -> None:
        assert self.store is not None
        pending = [*self._unwritten, *statements]
        try:
            self.store.write(pending)
        except (sqlite3.OperationalError, OSError) as exc:
            if not _disk_trouble(exc) or len(pending) > _MAX_UNWRITTEN:
                raise
            self._unwritten = pending
        else:
            self._unwritten = []

    def _statements(self, event: Event) -> list[Statement]:
        match event:
            case RunStarted():
                return self._run_started(event)
            case JobsJoined():
                self._planned.update(_plan_of(event.plan))
                return []
            case JobStarted():
                return self._job_started(event)
            case StepStarted():
                return [self._step_started(event)]
            case StepFinished():
                return [self._step_finished(event)]
            case NodeFinished():
                return [(
                    "UPDATE nodes SET status = ?, stopped_at = ? WHERE run = ? AND job = ? "
                    "AND node = ?",
                    (event.status.value, event.time, self.run, event.job, event.node),
                )]
            case JobFinished():
                return [self._job_row(event.job), (
                    "UPDATE jobs SET status = ?, stopped_at = ?, message = ? WHERE run = ? "
                    "AND job = ?",
                    (event.status.value, event.time, event.message, self.run, event.job),
                )]
            case RunFinished():
                return [(
                    "UPDATE runs SET status = ?, stopped_at = ?, exit_code = ? WHERE run = ?",
                    (event.status.value, event.time, event.exit_code, self.run),
                ), (  # planned at trigger time but not in the run's own plan: never ran
                    "UPDATE jobs SET status = 'skipped' WHERE run = ? AND status = 'queued'",
                    (self.run,),
                )]
        return []

    def _run_started(self, event: RunStarted) -> list[Statement]:
        self.run = int(event.run_id)
        self._planned = _plan_of(event.plan)
        self._pipeline_id = event.pipeline_id
        out: list[Statement] = [(
            "INSERT INTO runs (run, pipeline_id, source, status, project, branch, tag, "
            "revision, queued_at, started_at, run_dir, pid, owner) "
            "VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run) DO UPDATE "
            "SET status = 'running', started_at = excluded.started_at, run_dir = "
            "excluded.run_dir, pid = excluded.pid, owner = excluded.owner, revision = "
            "excluded.revision, branch = excluded.branch, tag = excluded.tag",
            (self.run, event.pipeline_id, self.source, event.project, event.branch, event.tag,
             event.revision, event.time, event.time, event.state_dir, os.getpid(), self.owner),
        )]
        out.extend(self._job_row(job_id) for job_id in event.jobs)
        return out

    def _job_row(self, job_id: str) -> Statement:
        """A job's row, once: at the start of the run, or when it joins the run later (the
        jobs of a dynamic config's continuation, runner.continuation)."""
        p = self._planned.get(job_id) or _Planned(job_id, "", "[]", 1, "")
        workflow_id = workflow_uuid(self._pipeline_id, p.workflow)
        return (
            "INSERT INTO jobs (run, job, name, workflow, workflow_id, requires, parallelism, "
            "executor, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued') "
            "ON CONFLICT (run, job) DO NOTHING",
            (self.run, job_id, p.name, p.workflow, workflow_id, p.requires, p.parallelism,
             p.executor),
        )

    def _job_started(self, event: JobStarted) -> list[Statement]:
        out: list[Statement] = [self._job_row(event.job), (
            "UPDATE jobs SET status = 'running', started_at = ?, build_num = ?, executor = ?, "
            "parallelism = ? WHERE run = ? AND job = ?",
            (event.time, event.build_num, event.executor, event.parallelism, self.run, event.job),
        )]
        for node in event.nodes:
            out.append((
                "INSERT OR REPLACE INTO nodes (run, job, node, status, started_at) "
                "VALUES (?, ?, ?, 'running', ?)",
                (self.run, event.job, node, event.time),
            ))
        return out

    def _step_started(self, event: StepStarted) -> Statement:
        log_path = event.log_path
        return (
            "INSERT OR REPLACE INTO steps (run, job, node, idx, name, kind, status, started_at, "
            "log_path) VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?)",
            (self.run, event.job, event.node, event.index, event.name, event.kind, event.time,
             log_path),
        )

    def _step_finished(self, event: StepFinished) -> Statement:
        o = event.outcome
        return (
            "INSERT INTO steps (run, job, node, idx, name, kind, status, exit_code, started_at, "
            "stopped_at, log_path, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (run, job, node, idx) DO UPDATE SET status = excluded.status, "
            "exit_code = excluded.exit_code, stopped_at = excluded.stopped_at, "
            "log_path = COALESCE(excluded.log_path, steps.log_path), message = excluded.message",
            (self.run, event.job, event.node, event.index, event.name, event.kind,
             o.status.value, o.exit_code, event.time - o.duration, event.time, event.log_path,
             o.message),
        )


def _plan_of(plan: tuple[PlannedFacts, ...]) -> dict[str, _Planned]:
    return {
        j.id: _Planned(j.name, j.workflow, json.dumps(list(j.requires)), j.parallelism, j.executor)
        for j in plan
    }
