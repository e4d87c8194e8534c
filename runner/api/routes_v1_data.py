"""API v1.1 beyond triggers: the user, projects, build lists, artifacts, tests, retry [APIV1].

Paths, methods and JSON shapes are CircleCI's v1.1 ones (``GET /me``, ``GET /projects``,
``GET /recent-builds``, ``GET /project/:vcs/:org/:repo/tree/:branch``,
``GET .../:build_num/artifacts``, ``GET .../latest/artifacts``, ``GET .../:build_num/tests``,
``POST .../:build_num/retry``), so clients written for circleci.com work unchanged.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from runner.api import builds, jobdata, models
from runner.api.errors import not_found
from runner.api.projects import ServedProject
from runner.api.reruns import retry_build
from runner.api.routes_v1 import ERRORS, PROJECT, Filter, Service, where
from runner.api.service import ApiService
from runner.api.shapes_v1 import Where, build_summary
from runner.store.history import JobRow

router = APIRouter(tags=["v1.1"], responses=ERRORS)


def _where_of(service: ApiService, project: ServedProject) -> Where:
    vcs = "bitbucket" if project.vcs == "bb" else "github"
    org = project.org or "local"
    return Where(service.settings.base_url, vcs, org, project.repo, project.vcs_url, service.user)


@router.get("/api/v1.1/me", response_model=models.MeV1, summary="The user (this machine's)")
def me_v1(service: Service) -> dict[str, Any]:
    return {"login": service.user, "name": service.user, "admin": False,
            "basic_email_prefs": "none", "avatar_url": None,
            "projects": {p.vcs_url or str(p.root): {} for p in service.index.projects}}


@router.get("/api/v1.1/projects", response_model=list[models.ProjectV1],
            summary="The served projects, with recent builds by branch")
def projects_v1(service: Service) -> list[dict[str, Any]]:
    out = []
    for project in service.index.projects:
        w = _where_of(service, project)
        branches: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for _p, run, job in builds.builds([project], builds.page(100, 0, None)):
            entry = branches.setdefault(run.branch or "", {"recent_builds": [],
                                                            "running_builds": []})
            summary = build_summary(w, run, job)
            short = {k: summary[k] for k in ("build_num", "status", "outcome", "vcs_revision")}
            key = "running_builds" if summary["lifecycle"] in ("queued", "running") else \
                "recent_builds"
            entry[key].append({**short, "added_at": summary["queued_at"],
                               "pushed_at": summary["queued_at"]})
        out.append({"vcs_url": project.vcs_url or None, "vcs_type": w.vcs,
                    "username": w.org, "reponame": project.repo,
                    "default_branch": None, "following": True, "oss": False,
                    "branches": {k: v for k, v in branches.items() if k}})
    return out


@router.get("/api/v1.1/recent-builds", response_model=list[models.BuildSummary],
            summary="Every served project's jobs, newest first")
def recent_builds(
    service: Service, limit: int = 30, offset: int = 0
) -> list[dict[str, Any]]:
    wanted = builds.page(limit, offset, None)
    found = builds.builds(list(service.index.projects), wanted)
    return [build_summary(_where_of(service, p), r, j) for p, r, j in found]


@router.get(PROJECT + "/tree/{branch:path}", response_model=list[models.BuildSummary],
            summary="The jobs of a branch, newest first")
def branch_builds(
    *, vcs: str, org: str, repo: str, branch: str, service: Service, limit: int = 30,
    offset: int = 0, filter: Filter = None,
) -> list[dict[str, Any]]:
    project = service.project(vcs, org, repo)
    wanted = builds.page(limit, offset, filter, branch)
    w = where(service, vcs, org, repo)
    return [build_summary(w, r, j) for _p, r, j in builds.builds([project], wanted)]


def _artifacts(w: Where, project: ServedProject, job: JobRow) -> list[dict[str, Any]]:
    base = f"{w.base_url}{w.project_path}/{job.build_num}/artifacts"
    return [jobdata.artifact_json(a, base) for a in jobdata.artifacts(project, job)]


@router.get(PROJECT + "/{build_num:int}/artifacts", response_model=list[models.ArtifactV1],
            summary="A job's artifacts, with download URLs")
def build_artifacts(
    *, vcs: str, org: str, repo: str, build_num: int, service: Service
) -> list[dict[str, Any]]:
    project, _run, job = service.job(vcs, org, repo, build_num)
    return _artifacts(where(service, vcs, org, repo), project, job)


@router.get(PROJECT + "/latest/artifacts", response_model=list[models.ArtifactV1],
            summary="The artifacts of the newest job (of a branch) that matches the filter")
def latest_artifacts(
    *, vcs: str, org: str, repo: str, service: Service, branch: str | None = None,
    filter: Filter = "completed",
) -> list[dict[str, Any]]:
    project = service.project(vcs, org, repo)
    found = builds.builds([project], builds.page(1, 0, filter, branch))
    if not found:
        raise not_found("Build")
    return _artifacts(where(service, vcs, org, repo), project, found[0][2])


@router.get(PROJECT + "/{build_num:int}/artifacts/{node:int}/{path:path}",
            response_class=FileResponse, summary="Download one artifact (an artifact's url)",
            responses={200: {"content": {"application/octet-stream": {}}}})
async def download_artifact(
    *, vcs: str, org: str, repo: str, build_num: int, node: int, path: str, service: Service
) -> FileResponse:
    project, _run, job = await run_in_threadpool(service.job, vcs, org, repo, build_num)
    found = await run_in_threadpool(jobdata.artifact_file, project, job, node, path)
    if found is None:
        raise not_found("Artifact")
    return FileResponse(found, media_type="application/octet-stream", filename=found.name)


@router.get(PROJECT + "/{build_num:int}/tests", response_model=models.TestsV1,
            summary="A job's test results (store_test_results)")
def build_tests(
    *, vcs: str, org: str, repo: str, build_num: int, service: Service
) -> dict[str, Any]:
    project, _run, job = service.job(vcs, org, repo, build_num)
    return {"tests": jobdata.tests(project, job)}


@router.post(PROJECT + "/{build_num:int}/retry", status_code=201,
             response_model=models.BuildSummary, summary="Run a finished job again")
async def retry(
    *, vcs: str, org: str, repo: str, build_num: int, service: Service
) -> dict[str, Any]:
    project = service.project(vcs, org, repo)
    run, job = await run_in_threadpool(retry_build, service, project, build_num)
    return build_summary(where(service, vcs, org, repo), run, job)
