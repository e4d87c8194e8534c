"""API v2: trigger a pipeline, read it, its workflows and their jobs [APIDEV][APIPREV].

``POST /api/v2/project/gh/ORG/REPO/pipeline`` with ``{"branch": ...}`` or ``{"tag": ...}`` and
declared ``parameters`` answers 201 with ``{"id", "state", "number", "created_at"}``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from starlette.concurrency import run_in_threadpool

from runner.api import models
from runner.api import shapes_v2 as v2
from runner.api.body import pipeline_parameters
from runner.api.errors import bad_request
from runner.api.projects import ServedProject
from runner.api.routes_v1 import ERRORS, Service
from runner.api.shapes_v1 import iso
from runner.api.triggers import Refs

router = APIRouter(tags=["v2"], responses=ERRORS)


def _slug(project: ServedProject) -> str:
    return project.slug()


@router.post(
    "/api/v2/project/{vcs}/{org}/{repo}/pipeline",
    status_code=201,
    response_model=models.PipelineCreated,
    summary="Trigger a pipeline: the project's workflows for a branch or tag",
)
async def trigger_pipeline(
    *,
    vcs: str,
    org: str,
    repo: str,
    service: Service,
    body: Annotated[models.PipelineTriggerBody | None, Body()] = None,
) -> dict[str, Any]:
    project = service.project(vcs, org, repo)
    body = body or models.PipelineTriggerBody()
    if body.branch and body.tag:
        raise bad_request("branch and tag are mutually exclusive")  # [APIPREV]
    params = pipeline_parameters(body.parameters)
    if body.checkout_sha and body.tag:
        raise bad_request("checkout_sha and tag are mutually exclusive")
    refs = Refs(
        branch=body.branch or None,
        tag=body.tag or None,
        revision=body.checkout_sha or None,  # the commit to build (api.revisions)
        params=tuple(f"{k}={v}" for k, v in params.items()),
    )
    run = await run_in_threadpool(service.trigger_pipeline, project, refs)
    return {
        "id": run.pipeline_id,
        "state": "pending" if run.status == "queued" else v2.pipeline_state(run),
        "number": run.run,
        "created_at": iso(run.queued_at),
    }


@router.get("/api/v2/pipeline/{pipeline_id}", response_model=models.Pipeline, summary="A pipeline")
def get_pipeline(pipeline_id: str, service: Service) -> dict[str, Any]:
    project, run = service.pipeline(pipeline_id)
    return v2.pipeline(_slug(project), run, project.vcs or "gh", project.vcs_url, service.user)


@router.get(
    "/api/v2/pipeline/{pipeline_id}/workflow",
    response_model=models.WorkflowList,
    summary="A pipeline's workflows",
)
def pipeline_workflows(
    pipeline_id: str, service: Service
) -> dict[str, Any]:
    project, run = service.pipeline(pipeline_id)
    jobs = project.store.jobs(run.run)
    return {
        "items": v2.workflows(_slug(project), run, jobs, service.user),
        "next_page_token": None,
    }


@router.get("/api/v2/workflow/{workflow_id}", response_model=models.Workflow, summary="A workflow")
def get_workflow(workflow_id: str, service: Service) -> dict[str, Any]:
    project, run, jobs = service.workflow(workflow_id)
    return v2.workflow(_slug(project), run, jobs, service.user)


@router.get(
    "/api/v2/workflow/{workflow_id}/job", response_model=models.JobList, summary="Its jobs"
)
def workflow_jobs(workflow_id: str, service: Service) -> dict[str, Any]:
    project, _run, jobs = service.workflow(workflow_id)
    return {"items": v2.workflow_jobs(_slug(project), jobs), "next_page_token": None}


@router.post(
    "/api/v2/workflow/{workflow_id}/cancel",
    status_code=202,
    response_model=models.Message,
    summary="Cancel a workflow (its whole run)",
)
def cancel_workflow(workflow_id: str, service: Service) -> dict[str, str]:
    project, run, _jobs = service.workflow(workflow_id)
    service.cancel(project, run)
    return {"message": "Accepted."}
