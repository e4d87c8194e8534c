"""History rows as API v1.1 JSON: the job summary and the job with its steps [APIV1].

Field names and status words are CircleCI's: ``status`` from ``queued|running|success|failed|
timedout|canceled|infrastructure_fail|not_run|...``, ``lifecycle`` from ``queued|not_run|
running|finished``, ``outcome`` null until finished [APIV1].
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from msgspec import Struct

from runner.store.history import JobRow, RunRow, StepRow

# Our statuses -> (status, lifecycle, outcome) of CircleCI's v1.1 job summary.
_V1: dict[str, tuple[str, str, str | None]] = {
    "queued": ("queued", "queued", None),
    "running": ("running", "running", None),
    "passed": ("success", "finished", "success"),
    "failed": ("failed", "finished", "failed"),
    "errored": ("failed", "finished", "failed"),  # the config no longer loads, say
    "timed_out": ("timedout", "finished", "timedout"),
    "cancelled": ("canceled", "finished", "canceled"),
    "interrupted": ("infrastructure_fail", "finished", "infrastructure_fail"),
    "blocked": ("not_run", "not_run", None),
    "waiting": ("not_run", "not_run", None),
    "skipped": ("not_run", "not_run", None),
    "not_supported": ("not_run", "not_run", None),
}


def v1_status(status: str) -> tuple[str, str, str | None]:
    return _V1.get(status, ("not_run", "not_run", None))


def iso(stamp: float | None) -> str | None:
    """CircleCI's timestamps: UTC, milliseconds, ``Z``."""
    if stamp is None:
        return None
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def millis(start: float | None, stop: float | None) -> int | None:
    return None if start is None or stop is None else max(0, round((stop - start) * 1000))


class Where(Struct, frozen=True):
    """The URL parts a request used, so links in the answer use the same ones."""

    base_url: str
    vcs: str
    org: str
    repo: str
    vcs_url: str
    user: str

    @property
    def project_path(self) -> str:
        return f"/api/v1.1/project/{self.vcs}/{self.org}/{self.repo}"


def build_summary(where: Where, run: RunRow, job: JobRow) -> dict[str, Any]:
    status, lifecycle, outcome = v1_status(job.status)
    trigger = run.trigger_data
    short = "bb" if where.vcs in ("bb", "bitbucket") else "gh"
    return {
        "build_num": job.build_num,
        "build_url": f"{where.base_url}/{short}/{where.org}/{where.repo}/{job.build_num}",
        "status": status,
        "lifecycle": lifecycle,
        "outcome": outcome,
        "job_name": job.name,
        "workflow_name": job.workflow or None,
        "branch": run.branch or None,
        "vcs_tag": run.tag or None,
        "vcs_revision": run.revision or None,
        "vcs_url": where.vcs_url or None,
        "username": where.org,
        "reponame": where.repo,
        "parallel": job.parallelism,
        "why": "api" if run.source == "api" else "runner",
        "queued_at": iso(run.queued_at),
        "start_time": iso(job.started_at),
        "stop_time": iso(job.stopped_at),
        "build_time_millis": millis(job.started_at, job.stopped_at),
        "canceled": status == "canceled",
        "failed": True if outcome == "failed" else None,  # "true or null" [APIV1]
        "timedout": outcome == "timedout",
        "infrastructure_fail": outcome == "infrastructure_fail",
        "build_parameters": trigger.get("build_parameters") or None,
        "retry_of": trigger.get("retry_of"),
        "previous": None,
        "dont_build": None,
        "user": {"login": where.user, "is_user": True},
        "messages": [m for m in (job.message or run.message,) if m],
        "run": run.run,  # runner: the run number of `runner history` and `runner logs`
    }


def build_detail(where: Where, run: RunRow, job: JobRow, steps: list[StepRow]) -> dict[str, Any]:
    """The summary plus ``steps``: one entry per step, one action per node [APIV1]."""
    grouped: dict[int, list[StepRow]] = {}
    for step in steps:
        grouped.setdefault(step.idx, []).append(step)
    return {
        **build_summary(where, run, job),
        "steps": [
            {"name": rows[0].name, "actions": [_action(where, job, s) for s in rows]}
            for _, rows in sorted(grouped.items())
        ],
    }


def _action(where: Where, job: JobRow, step: StepRow) -> dict[str, Any]:
    status, _lifecycle, outcome = v1_status(step.status)
    if step.status == "running":
        status = "running"
    return {
        "name": step.name,
        "index": step.node,
        "step": step.idx,
        "type": step.kind,
        "status": status,
        "exit_code": step.exit_code,
        "start_time": iso(step.started_at),
        "end_time": iso(step.stopped_at),
        "run_time_millis": millis(step.started_at, step.stopped_at),
        "failed": True if outcome == "failed" else None,
        "timedout": True if outcome == "timedout" else None,
        "canceled": True if outcome == "canceled" else None,
        "infrastructure_fail": True if outcome == "infrastructure_fail" else None,
        "has_output": step.log_path is not None,
        "output_url": f"{where.base_url}{where.project_path}/{job.build_num}/output/"
        f"{step.idx}/{step.node}",
        "messages": [step.message] if step.message else [],
    }
