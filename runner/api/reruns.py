"""Retrying a job (v1.1 ``POST .../:build_num/retry``) and rerunning a workflow (v2 ``POST
/workflow/:id/rerun`` with ``from_failed`` or ``jobs``) [APIV1][APIDEV].

A rerun is a new run with what the first one was asked for: the same job or workflow, build
parameters or pipeline parameters, branch or tag, and the same commit when the first one built
a commit (api.revisions). ``from_failed`` and ``jobs`` run the chosen jobs and every job that
requires them; the other jobs of the workflow count as passed and do not run again. Unlike
circleci.com, the rerun is a pipeline (a run) of its own: a job that attaches the workspace of a
job that is not run again fails, saying which layer is missing, instead of running without it.
"""

from __future__ import annotations

from typing import Any

from runner.api.body import JobTrigger
from runner.api.errors import bad_request
from runner.api.projects import ServedProject
from runner.api.service import UNFINISHED, ApiService
from runner.api.shapes_v2 import job_uuid
from runner.api.triggers import Refs
from runner.store.history import JobRow, RunRow


def retry_build(
    service: ApiService, project: ServedProject, build_num: int
) -> tuple[RunRow, JobRow]:
    """The job again, as a new build; ``retry_of`` names the first one."""
    run, job = service.build(project, build_num)
    _check_finished(run)
    asked = run.trigger_data
    if asked.get("job"):  # a v1.1 job trigger: the same trigger again
        return service.trigger_job(
            project, _job_trigger(run, asked), why={"retry_of": build_num}
        )
    new = _rerun(service, project, run, [j for j in project.store.jobs(run.run)
                                          if j.workflow_id == job.workflow_id], {job.name})
    jobs = [j for j in project.store.jobs(new.run) if j.name == job.name]
    return new, jobs[0]


def rerun_workflow(
    service: ApiService, workflow_id: str, *, from_failed: bool, job_ids: list[str]
) -> RunRow:
    project, run, jobs = service.workflow(workflow_id)
    _check_finished(run)
    if from_failed and job_ids:
        raise bad_request("from_failed and jobs are mutually exclusive")
    targets: set[str] | None = None
    if job_ids:
        ids = {job_uuid(j.workflow_id, j.job): j.name for j in jobs}
        unknown = [i for i in job_ids if i not in ids]
        if unknown:
            raise bad_request("jobs not in this workflow: " + ", ".join(unknown))
        targets = {ids[i] for i in job_ids}
    elif from_failed:
        targets = {j.name for j in jobs if j.status != "passed"}
        if not targets:
            raise bad_request("the workflow has no failed jobs to rerun")
    asked = run.trigger_data
    if asked.get("job"):  # a v1.1 job trigger has one job: rerunning it is retrying it
        new, _job = service.trigger_job(project, _job_trigger(run, asked),
                                        why={"retry_of": jobs[0].build_num})
        return new
    return _rerun(service, project, run, jobs, targets)


def _rerun(
    service: ApiService, project: ServedProject, run: RunRow, jobs: list[JobRow],
    targets: set[str] | None,
) -> RunRow:
    asked = run.trigger_data
    passed: tuple[str, ...] = ()
    if targets is not None:
        again = _with_dependents(jobs, targets)
        passed = tuple(j.name for j in jobs if j.name not in again)
    params: dict[str, Any] = asked.get("parameters") or {}
    refs = Refs(
        branch=run.branch or None, tag=run.tag or None, revision=asked.get("commit") or None,
        params=tuple(f"{k}={v}" for k, v in params.items()),
    )
    workflow = jobs[0].workflow or None if jobs else None
    service.log(f"rerun: workflow {workflow or '(default)'} of run {run.run} of "
                f"{project.slug()}" + (f", without {len(passed)} passed job(s)" if passed else ""))
    return service.trigger_pipeline(
        project, refs, workflow=workflow, passed=passed, why={"rerun_of": run.run}
    )


def _with_dependents(jobs: list[JobRow], targets: set[str]) -> set[str]:
    """The target jobs and every job that requires one of them, directly or not."""
    name_of = {j.job: j.name for j in jobs}
    again = set(targets)
    changed = True
    while changed:
        changed = False
        for job in jobs:
            if job.name not in again and any(name_of.get(r) in again for r in job.requires_list):
                again.add(job.name)
                changed = True
    return again


def _job_trigger(run: RunRow, asked: dict[str, Any]) -> JobTrigger:
    return JobTrigger(
        job=str(asked["job"]),
        build_parameters=dict(asked.get("build_parameters") or {}),
        parallel=asked.get("parallel"),
        branch=run.branch or None,
        tag=run.tag or None,
        revision=asked.get("commit") or None,
    )


def _check_finished(run: RunRow) -> None:
    if run.status in UNFINISHED:
        raise bad_request("the workflow is still running: cancel it, or wait for it to end")
