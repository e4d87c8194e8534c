"""API v2 beyond triggers: the user, the project, pipelines by project, a pipeline's config, a
job by number (and its cancel, artifacts, tests), workflow reruns [APIDEV].

Lists are pages of ``{"items": [...], "next_page_token": ...}``; pass the token back as
``page-token``. A pipeline's ``number`` is runner's run number.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from starlette.concurrency import run_in_threadpool

from runner.api import jobdata, models
from runner.api import shapes_v2 as v2
from runner.api.errors import bad_request, not_found
from runner.api.pipeline_config import pipeline_config
from runner.api.projects import ServedProject
from runner.api.reruns import rerun_workflow
from runner.api.routes_v1 import ERRORS, Service
from runner.api.service import ApiService, owns
from runner.api.shapes_jobs import job_detail, me_v2, project_v2
from runner.store.history import RunRow, workflow_uuid

router = APIRouter(tags=["v2"], responses=ERRORS)
SLUG = "/api/v2/project/{vcs}/{org}/{repo}"
PAGE = 20  # pipelines per page
SCANNED = 5000


@router.get("/api/v2/me", response_model=models.MeV2, summary="The user (this machine's)")
def me(service: Service) -> dict[str, Any]:
    return me_v2(service.user)


@router.get(SLUG, response_model=models.ProjectV2, summary="A project")
def project(*, vcs: str, org: str, repo: str, service: Service) -> dict[str, Any]:
    return project_v2(service.project(vcs, org, repo), vcs)


def _page_offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = int(base64.urlsafe_b64decode(token.encode()).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad_request("page-token is not a token this server gave") from None
    if offset < 0:
        raise bad_request("page-token is not a token this server gave")
    return offset


def _pipelines_page(
    service: ApiService, projects: list[ServedProject], branch: str | None, token: str | None
) -> dict[str, Any]:
    offset = _page_offset(token)
    found: list[tuple[ServedProject, RunRow]] = []
    for p in projects:
        found += [(p, r) for r in p.store.runs(SCANNED)
                  if owns(p, r) and (branch is None or r.branch == branch)]
    found.sort(key=lambda t: t[1].queued_at or t[1].started_at or 0.0, reverse=True)
    chunk = found[offset : offset + PAGE]
    more = offset + PAGE < len(found)
    return {
        "items": [v2.pipeline(p.slug(), r, p.vcs or "gh", p.vcs_url, service.user)
                  for p, r in chunk],
        "next_page_token": base64.urlsafe_b64encode(str(offset + PAGE).encode()).decode()
        if more else None,
    }


PageToken = Annotated[str | None, Query(alias="page-token")]


@router.get(SLUG + "/pipeline", response_model=models.PipelineList,
            summary="A project's pipelines, newest first (branch, page-token)")
def project_pipelines(
    *, vcs: str, org: str, repo: str, service: Service, branch: str | None = None,
    page_token: PageToken = None,
) -> dict[str, Any]:
    return _pipelines_page(service, [service.project(vcs, org, repo)], branch, page_token)


@router.get(SLUG + "/pipeline/mine", response_model=models.PipelineList,
            summary="The pipelines you triggered: all of them, on this machine")
def my_pipelines(
    *, vcs: str, org: str, repo: str, service: Service, page_token: PageToken = None
) -> dict[str, Any]:
    return _pipelines_page(service, [service.project(vcs, org, repo)], None, page_token)


@router.get("/api/v2/pipeline", response_model=models.PipelineList,
            summary="Recent pipelines of an organization (org-slug)")
def org_pipelines(
    service: Service, org_slug: Annotated[str | None, Query(alias="org-slug")] = None,
    page_token: PageToken = None,
) -> dict[str, Any]:
    org = (org_slug or "").rpartition("/")[2].lower()
    projects = [p for p in service.index.projects if not org or p.org.lower() == org]
    return _pipelines_page(service, projects, None, page_token)


@router.get(SLUG + "/pipeline/{number:int}", response_model=models.Pipeline,
            summary="A pipeline by number")
def pipeline_by_number(
    *, vcs: str, org: str, repo: str, number: int, service: Service
) -> dict[str, Any]:
    p = service.project(vcs, org, repo)
    run = p.store.run(number)
    if run is None or not owns(p, run):
        raise not_found("Pipeline")
    return v2.pipeline(p.slug(vcs), run, vcs, p.vcs_url, service.user)


@router.get("/api/v2/pipeline/{pipeline_id}/config", response_model=models.PipelineConfig,
            summary="A pipeline's configuration: source and compiled")
async def get_pipeline_config(pipeline_id: str, service: Service) -> dict[str, Any]:
    p, run = service.pipeline(pipeline_id)
    return await run_in_threadpool(pipeline_config, service, p, run)


@router.get(SLUG + "/job/{number:int}", response_model=models.JobDetail,
            summary="A job by number")
def get_job(*, vcs: str, org: str, repo: str, number: int, service: Service) -> dict[str, Any]:
    p, run, job = service.job(vcs, org, repo, number)
    return job_detail(service.settings.base_url, p, vcs, run, job, p.store.nodes(run.run, job.job))


@router.post(SLUG + "/job/{number:int}/cancel", status_code=202, response_model=models.Message,
             summary="Cancel a job (its whole run)")
def cancel_job(*, vcs: str, org: str, repo: str, number: int, service: Service) -> dict[str, str]:
    p, run, _job = service.job(vcs, org, repo, number)
    service.cancel(p, run)
    return {"message": "Accepted."}


@router.get(SLUG + "/{number:int}/artifacts", response_model=models.ArtifactList,
            summary="A job's artifacts")
def job_artifacts(
    *, vcs: str, org: str, repo: str, number: int, service: Service
) -> dict[str, Any]:
    p, _run, job = service.job(vcs, org, repo, number)
    host = "bitbucket" if p.vcs == "bb" else "github"
    base = f"{service.settings.base_url}/api/v1.1/project/{host}/{org}/{repo}/{number}/artifacts"
    items = [jobdata.artifact_json(a, base) for a in jobdata.artifacts(p, job)]
    return {"items": [{k: i[k] for k in ("path", "node_index", "url")} for i in items],
            "next_page_token": None}


@router.get(SLUG + "/{number:int}/tests", response_model=models.TestList,
            summary="A job's test results")
def job_tests(*, vcs: str, org: str, repo: str, number: int, service: Service) -> dict[str, Any]:
    p, _run, job = service.job(vcs, org, repo, number)
    return {"items": jobdata.tests(p, job), "next_page_token": None}


@router.post("/api/v2/workflow/{workflow_id}/rerun", status_code=202,
             response_model=models.RerunAnswer,
             summary="Rerun a workflow: all of it, from_failed, or some jobs")
async def rerun(
    workflow_id: str, service: Service,
    body: Annotated[models.RerunBody | None, Body()] = None,
) -> dict[str, str]:
    body = body or models.RerunBody()
    if body.enable_ssh:
        raise bad_request("enable_ssh: use `runner run --shell` on this machine instead")
    _p, _run, jobs = await run_in_threadpool(service.workflow, workflow_id)
    run = await run_in_threadpool(
        lambda: rerun_workflow(service, workflow_id, from_failed=body.from_failed,
                               job_ids=list(body.jobs or ()))
    )
    return {"workflow_id": workflow_uuid(run.pipeline_id, jobs[0].workflow if jobs else "")}
