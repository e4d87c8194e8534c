"""The records a run is started with and ends with, and how a requirement is judged."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from msgspec import Struct, field

from runner.errors import ExitCode
from runner.events import Status

if TYPE_CHECKING:  # the workspace store and its archives load only when a run uses them
    from runner.node_hooks import HooksFactory
    from runner.store.workspace_from import EarlierWorkspace

# CircleCI's job statuses for ``requires`` in map form [CR], from ours.
REQUIRE_STATUS = {
    Status.PASSED: "success",
    Status.FAILED: "failed",
    Status.TIMED_OUT: "failed",
    Status.CANCELLED: "canceled",
    Status.BLOCKED: "not_run",
    Status.WAITING: "not_run",
    Status.SKIPPED: "not_run",
}
TERMINAL = {"success", "failed", "canceled", "unauthorized"}


class RunOptions(Struct, frozen=True, kw_only=True):
    jobs_limit: int = field(default_factory=lambda: os.cpu_count() or 1)
    fail_fast: bool = False
    project_env: Mapping[str, str] = field(default_factory=dict)
    contexts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()
    approve: frozenset[str] = frozenset()  # names, or {"all"}
    ssh_mode: bool = False
    user: str = ""
    # issue 7: per-node debugging hooks (shells, kept records, --from-step), or None
    debug: HooksFactory | None = None
    workspace_from: EarlierWorkspace | None = None  # issue 18: --workspace-from RUN
    # issue 13: planned job id -> why it cannot run on this machine (runner.hostfit)
    not_here: Mapping[str, str] = field(default_factory=dict)


class RunResult(Struct, frozen=True):
    run_id: str
    status: Status
    exit_code: ExitCode
    jobs: Mapping[str, Status]
    run_dir: Path


def accepts(wanted: tuple[str, ...], upstream: Status) -> bool:
    """Whether an upstream job's end satisfies a requirement (``requires`` map form [CR])."""
    status = REQUIRE_STATUS.get(upstream, "not_run")
    return status in wanted or ("terminal" in wanted and status in TERMINAL)


def run_outcome(
    ran: list[Status], *, cancelled: bool, environment_failed: bool
) -> tuple[Status, ExitCode]:
    """A run's status and exit code from the statuses of the jobs that ran here."""
    if cancelled:
        return Status.CANCELLED, ExitCode.INTERRUPTED
    if environment_failed:  # the engine or the disk failed under a job
        return Status.FAILED, ExitCode.ENVIRONMENT
    if any(s.failed or s is Status.BLOCKED for s in ran):
        return Status.FAILED, ExitCode.JOB_FAILED
    if any(s is Status.WAITING for s in ran):
        # stopped at an approval nobody gave: nothing failed, but it is not a full pass
        return Status.WAITING, ExitCode.OK
    return Status.PASSED, ExitCode.OK
