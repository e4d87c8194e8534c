"""API v1.1: trigger a job, read a job (and its steps), read a step's log, cancel [APIV1].

``curl -u TOKEN: -d build_parameters[CIRCLE_JOB]=deploy .../api/v1.1/project/github/ORG/REPO/
tree/BRANCH`` works as it does against circleci.com [APIJOB]: the answer is the queued job's
summary with its ``build_num`` (HTTP 201, CircleCI's status for a created build).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from runner.api import models
from runner.api.body import JobTrigger, job_trigger, read_fields
from runner.api.logs import step_log
from runner.api.service import ApiService, owns
from runner.api.shapes_v1 import Where, build_detail, build_summary

PROJECT = "/api/v1.1/project/{vcs}/{org}/{repo}"
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": models.ErrorBody, "description": text}
    for code, text in (
        (400, "Malformed body, bad parameter name, unknown job"),
        (401, "Missing or wrong token"),
        (404, "Unknown project or build"),
        (413, "Body too large"),
    )
}
_BODY = {
    "requestBody": {
        "content": {
            "application/json": {"schema": models.JobTriggerBody.model_json_schema()},
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "build_parameters[CIRCLE_JOB]": {"type": "string"},
                        "revision": {"type": "string"},
                        "parallel": {"type": "integer"},
                    },
                    "additionalProperties": {"type": "string"},
                }
            },
        }
    }
}

router = APIRouter(tags=["v1.1"], responses=ERRORS)
web = APIRouter(tags=["web"], responses=ERRORS)


def service_of(request: Request) -> ApiService:
    service: ApiService = request.app.state.service
    return service


Service = Annotated[ApiService, Depends(service_of)]


def where(service: ApiService, vcs: str, org: str, repo: str) -> Where:
    project = service.project(vcs, org, repo)
    return Where(service.settings.base_url, vcs, org, repo, project.vcs_url, service.user)


async def _trigger(
    request: Request, service: ApiService, vcs: str, org: str, repo: str, *, branch: str | None
) -> dict[str, Any]:
    project = service.project(vcs, org, repo)
    data = read_fields(await request.body(), request.headers.get("content-type", ""))
    trigger: JobTrigger = job_trigger(data, branch=branch)
    run, job = await run_in_threadpool(service.trigger_job, project, trigger)
    return build_summary(where(service, vcs, org, repo), run, job)


@router.post(
    PROJECT + "/tree/{branch:path}",
    status_code=201,
    response_model=models.BuildSummary,
    openapi_extra=_BODY,
    summary="Trigger a job on a branch",
)
async def trigger_on_branch(
    *, vcs: str, org: str, repo: str, branch: str, request: Request,
    service: Service,
) -> dict[str, Any]:
    return await _trigger(request, service, vcs, org, repo, branch=branch)


@router.post(
    PROJECT,
    status_code=201,
    response_model=models.BuildSummary,
    openapi_extra=_BODY,
    summary="Trigger a job (branch, tag or revision in the body)",
)
async def trigger_on_project(
    *, vcs: str, org: str, repo: str, request: Request, service: Service
) -> dict[str, Any]:
    return await _trigger(request, service, vcs, org, repo, branch=None)


@router.get(PROJECT, response_model=list[models.BuildSummary], summary="Recent jobs")
def recent_builds(
    *, vcs: str, org: str, repo: str, limit: int = 30, service: Service
) -> list[dict[str, Any]]:
    w = where(service, vcs, org, repo)
    project = service.project(vcs, org, repo)
    runs = [r for r in project.store.runs(max(1, min(limit, 100))) if owns(project, r)]
    jobs = project.store.jobs_of_runs([r.run for r in runs])
    return [build_summary(w, r, j) for r in runs for j in jobs[r.run]][:limit]


@router.get(PROJECT + "/{build_num:int}", response_model=models.BuildDetail, summary="A job")
def get_build(
    *, vcs: str, org: str, repo: str, build_num: int, service: Service
) -> dict[str, Any]:
    project = service.project(vcs, org, repo)
    run, job = service.build(project, build_num)
    steps = project.store.steps(run.run, job.job)
    return build_detail(where(service, vcs, org, repo), run, job, steps)


@router.post(
    PROJECT + "/{build_num:int}/cancel", response_model=models.BuildSummary, summary="Cancel"
)
def cancel_build(
    *, vcs: str, org: str, repo: str, build_num: int, service: Service
) -> dict[str, Any]:
    project = service.project(vcs, org, repo)
    run, _job = service.build(project, build_num)
    service.cancel(project, run)
    run, job = service.build(project, build_num)
    return build_summary(where(service, vcs, org, repo), run, job)


@router.get(
    PROJECT + "/{build_num:int}/output/{step:int}/{node:int}",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "The log, streamed live"}},
    summary="A step's log on one node (plain text; follows a running step)",
)
async def step_output(
    *, vcs: str, org: str, repo: str, build_num: int, step: int, node: int,
    service: Service,
) -> Response:
    project = service.project(vcs, org, repo)
    run, job = await run_in_threadpool(service.build, project, build_num)
    return await step_log(service, project, run, job, index=step, node=node)


@web.get("/{vcs}/{org}/{repo}/{build_num:int}", response_model=models.BuildDetail,
         summary="The job's build_url: the same as the v1.1 job")
def build_page(
    *, vcs: str, org: str, repo: str, build_num: int, service: Service
) -> dict[str, Any]:
    return get_build(vcs=vcs, org=org, repo=repo, build_num=build_num, service=service)
