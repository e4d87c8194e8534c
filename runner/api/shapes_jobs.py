"""API v2 JSON of a job by number, the user and a project [APIDEV].

Ids CircleCI gives as UUIDs are derived from what runner knows (the user name, the project
directory), so they stay the same from one server start to the next.
"""

from __future__ import annotations

import uuid
from typing import Any

from runner.api.projects import ServedProject
from runner.api.shapes_v1 import iso, millis
from runner.api.shapes_v2 import job_status
from runner.store.history import DEFAULT_WORKFLOW, JobRow, NodeRow, RunRow

_PROVIDERS = {"gh": "GitHub", "bb": "Bitbucket"}
_NODE = {"passed": "success", "failed": "failed", "running": "running", "cancelled": "canceled",
         "timed_out": "timedout", "interrupted": "infrastructure_fail", "queued": "queued"}


def _id(text: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"runner:{text}"))


def me_v2(user: str) -> dict[str, Any]:
    return {"id": _id(f"user/{user}"), "login": user, "name": user}


def project_v2(project: ServedProject, vcs: str) -> dict[str, Any]:
    slug = project.slug(vcs)
    short, org, _repo = slug.split("/", 2)
    return {
        "slug": slug,
        "name": project.repo,
        "id": _id(f"project/{project.root}"),
        "organization_name": org,
        "organization_slug": f"{short}/{org}",
        "organization_id": _id(f"org/{short}/{org}"),
        "vcs_info": {
            "vcs_url": project.vcs_url or None,
            "provider": _PROVIDERS.get(short, "GitHub"),
            "default_branch": None,  # git has no notion of it without a remote to ask
        },
    }


def job_detail(
    base_url: str, project: ServedProject, vcs: str, run: RunRow, job: JobRow,
    nodes: list[NodeRow],
) -> dict[str, Any]:
    slug = project.slug(vcs)
    short, org, repo = slug.split("/", 2)
    return {
        "number": job.build_num,
        "name": job.name,
        "status": job_status(job),
        "web_url": f"{base_url}/{short}/{org}/{repo}/{job.build_num}",
        "project": {"id": _id(f"project/{project.root}"), "slug": slug, "name": project.repo,
                    "external_url": project.vcs_url or None},
        "pipeline": {"id": run.pipeline_id},
        "latest_workflow": {"id": job.workflow_id, "name": job.workflow or DEFAULT_WORKFLOW},
        "parallel_runs": [{"index": n.node, "status": _NODE.get(n.status, n.status)}
                          for n in nodes],
        "parallelism": job.parallelism,
        "executor": {"type": job.executor or "machine", "resource_class": "medium"},
        "contexts": [],
        "messages": [{"type": "info", "message": job.message}] if job.message else [],
        "organization": {"name": org},
        "created_at": iso(run.queued_at or run.started_at),
        "queued_at": iso(run.queued_at or run.started_at),
        "started_at": iso(job.started_at),
        "stopped_at": iso(job.stopped_at),
        "duration": millis(job.started_at, job.stopped_at),
    }
