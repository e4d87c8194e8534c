"""History rows as API v2 JSON: pipelines, their workflows, the workflows' jobs [APIDEV].

Pipeline ``state`` is one of ``created|errored|setup-pending|setup|pending``; workflow
``status`` one of ``success|running|not_run|failed|error|failing|on_hold|canceled|
unauthorized``; job ``status`` uses the v2 job words (``blocked`` while upstream jobs run).
"""

from __future__ import annotations

import uuid
from typing import Any

from runner.api.shapes_v1 import iso
from runner.store.history import DEFAULT_WORKFLOW, JobRow, RunRow

_JOB: dict[str, str] = {
    "running": "running",
    "passed": "success",
    "failed": "failed",
    "errored": "failed",
    "timed_out": "timedout",
    "cancelled": "canceled",
    "interrupted": "infrastructure_fail",
    "blocked": "not_run",
    "waiting": "on_hold",
    "skipped": "not_run",
}
_PROVIDERS = {"gh": "GitHub", "github": "GitHub", "bb": "Bitbucket", "bitbucket": "Bitbucket"}


def job_status(job: JobRow) -> str:
    if job.status == "queued":
        return "blocked" if job.requires_list else "queued"
    return _JOB.get(job.status, "not_run")


def job_uuid(workflow_id: str, job_id: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{workflow_id}/{job_id}"))


def workflow_status(jobs: list[JobRow]) -> str:
    statuses = {job_status(j) for j in jobs}
    bad = {"failed", "timedout", "infrastructure_fail"}
    if statuses & {"running", "queued", "blocked"}:
        return "failing" if statuses & bad else "running"
    if "on_hold" in statuses:
        return "on_hold"
    if "canceled" in statuses:
        return "canceled"
    if statuses & bad:
        return "error" if any(j.status == "errored" for j in jobs) else "failed"
    if "success" in statuses:
        return "success"
    return "not_run"


def pipeline_state(run: RunRow) -> str:
    if run.status == "queued":
        return "pending"
    return "errored" if run.status == "errored" else "created"


def pipeline(slug: str, run: RunRow, vcs: str, vcs_url: str, user: str) -> dict[str, Any]:
    errors = [{"type": "config", "message": run.message}] if run.status == "errored" else []
    trigger = run.trigger_data
    return {
        "id": run.pipeline_id,
        "errors": errors,
        "project_slug": slug,
        "number": run.run,
        "state": pipeline_state(run),
        "created_at": iso(run.queued_at or run.started_at),
        "updated_at": iso(run.stopped_at or run.started_at or run.queued_at),
        "trigger_parameters": trigger.get("parameters") or {},
        "trigger": {
            "type": "api" if run.source == "api" else "explicit",
            "received_at": iso(run.queued_at or run.started_at),
            "actor": {"login": user, "avatar_url": None},
        },
        "vcs": {
            "provider_name": _PROVIDERS.get(vcs, "GitHub"),
            "origin_repository_url": vcs_url or None,
            "target_repository_url": vcs_url or None,
            "revision": run.revision or None,
            "branch": run.branch or None,
            "tag": run.tag or None,
        },
    }


def workflows(slug: str, run: RunRow, jobs: list[JobRow], user: str) -> list[dict[str, Any]]:
    groups: dict[str, list[JobRow]] = {}
    for job in jobs:
        groups.setdefault(job.workflow_id, []).append(job)
    return [workflow(slug, run, rows, user) for rows in groups.values()]


def workflow(slug: str, run: RunRow, jobs: list[JobRow], user: str) -> dict[str, Any]:
    status = workflow_status(jobs)
    started = [j.started_at for j in jobs if j.started_at is not None]
    stopped = [j.stopped_at for j in jobs if j.stopped_at is not None]
    finished = status not in ("running", "failing", "on_hold")
    return {
        "pipeline_id": run.pipeline_id,
        "id": jobs[0].workflow_id,
        "name": jobs[0].workflow or DEFAULT_WORKFLOW,
        "project_slug": slug,
        "status": status,
        "started_by": user,
        "pipeline_number": run.run,
        "created_at": iso(min(started) if started else run.queued_at),
        "stopped_at": iso(max(stopped)) if finished and stopped else None,
    }


def workflow_jobs(slug: str, jobs: list[JobRow]) -> list[dict[str, Any]]:
    ids = {j.job: job_uuid(j.workflow_id, j.job) for j in jobs}
    return [
        {
            "id": ids[j.job],
            "name": j.name,
            "job_number": j.build_num,
            "project_slug": slug,
            "status": job_status(j),
            "type": j.executor if j.executor in ("approval", "no-op") else "build",
            "dependencies": [ids[r] for r in j.requires_list if r in ids],
            "started_at": iso(j.started_at),
            "stopped_at": iso(j.stopped_at),
        }
        for j in jobs
    ]
