"""API v1.1: trigger a job, read a job (and its steps), read a step's log, cancel [APIV1].

``curl -u TOKEN: -d build_parameters[CIRCLE_JOB]=deploy .../api/v1.1/project/github/ORG/REPO/
tree/BRANCH`` works as it does against circleci.com [APIJOB]: the answer is the queued job's
summary with its ``build_num`` (HTTP 201, CircleCI's status for a created build).
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from runner.api import builds, models
from runner.api.body import JobTrigger, job_trigger, read_fields
from runner.api.logs import step_log, step_messages
from runner.api.projects import ServedProject
from runner.api.service import UNFINISHED, ApiService
from runner.api.shapes_v1 import Where, build_detail, build_summary
from runner.store.history import JobRow, RunRow

PROJECT = "/api/v1.1/project/{vcs}/{org}/{repo}"
CANCEL_WAIT = 20.0  # seconds: more than INT, TERM and KILL take with the default grace
Filter = Literal["completed", "successful", "failed", "running"] | None
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


@router.get(PROJECT, response_model=list[models.BuildSummary], summary="The project's jobs")
def project_builds(
    *, vcs: str, org: str, repo: str, service: Service, limit: int = 30, offset: int = 0,
    filter: Filter = None,
) -> list[dict[str, Any]]:
    """Newest first; ``filter``: completed, successful, failed, running (queued too)."""
    project = service.project(vcs, org, repo)
    wanted = builds.page(limit, offset, filter)
    w = where(service, vcs, org, repo)
    return [build_summary(w, r, j) for _p, r, j in builds.builds([project], wanted)]


@router.get(PROJECT + "/{build_num:int}", response_model=models.BuildDetail, summary="A job")
def get_build(
    *, vcs: str, org: str, repo: str, build_num: int, service: Service
) -> dict[str, Any]:
    project, run, job = service.job(vcs, org, repo, build_num)
    steps = project.store.steps(run.run, job.job)
    return build_detail(where(service, vcs, org, repo), run, job, steps)


@router.post(
    PROJECT + "/{build_num:int}/cancel", response_model=models.BuildSummary, summary="Cancel"
)
async def cancel_build(
    *, vcs: str, org: str, repo: str, build_num: int, service: Service
) -> dict[str, Any]:
    """Answers once the job has stopped, with its cancelled state [APIV1]."""
    project, run, job = await run_in_threadpool(service.job, vcs, org, repo, build_num)
    await run_in_threadpool(service.cancel, project, run)
    run, job = await _settled(service, project, build_num)
    return build_summary(where(service, vcs, org, repo), run, job)


async def _settled(
    service: ApiService, project: ServedProject, build_num: int
) -> tuple[RunRow, JobRow]:
    """The job once it has stopped (its steps get INT, TERM, KILL), up to a bound."""
    deadline = time.monotonic() + CANCEL_WAIT
    while True:
        run, job = await run_in_threadpool(service.build, project, build_num)
        if job.status not in UNFINISHED or time.monotonic() > deadline:
            return run, job
        await asyncio.sleep(0.05)


@router.get(
    PROJECT + "/{build_num:int}/output/{step:int}/{node:int}",
    response_model=list[models.OutputMessage],
    responses={200: {"content": {"text/plain": {}}, "description": "With Accept: text/plain: "
                     "the log as text, streamed while the step runs"}},
    summary="A step's output on one node (CircleCI's output_url)",
)
async def step_output(
    *, vcs: str, org: str, repo: str, build_num: int, step: int, node: int,
    request: Request, service: Service,
) -> Any:
    project, run, job = await run_in_threadpool(service.job, vcs, org, repo, build_num)
    accept = request.headers.get("accept", "")
    if "text/plain" in accept and "json" not in accept:
        return await step_log(service, project, run, job, index=step, node=node)
    return await step_messages(service, project, run, job, index=step, node=node)


@web.get("/{vcs}/{org}/{repo}/{build_num:int}", response_model=models.BuildDetail,
         summary="The job's build_url: the same as the v1.1 job")
def build_page(
    *, vcs: str, org: str, repo: str, build_num: int, service: Service
) -> dict[str, Any]:
    return get_build(vcs=vcs, org=org, repo=repo, build_num=build_num, service=service)
