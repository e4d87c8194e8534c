"""Lists of v1.1 build summaries: a project's, a branch's, everyone's (``/recent-builds``).

Newest first, ``limit`` (1-100, default 30) and ``offset``, and ``filter`` as CircleCI documents
it: ``completed`` (finished), ``successful``, ``failed`` (any failed outcome), ``running``
[APIV1]. ``running`` also lists queued builds: a client waiting for "nothing running" before it
triggers must not start while a build waits in the queue.
"""

from __future__ import annotations

from msgspec import Struct

from runner.api.errors import bad_request
from runner.api.projects import ServedProject
from runner.api.service import owns
from runner.api.shapes_v1 import v1_status
from runner.store.history import JobRow, RunRow

MAX_LIMIT = 100
SCANNED_RUNS = 5000  # the history a list looks through
FILTERS = ("completed", "successful", "failed", "running")


class Page(Struct, frozen=True):
    limit: int = 30
    offset: int = 0
    filter: str | None = None
    branch: str | None = None


def page(limit: int, offset: int, filter_: str | None, branch: str | None = None) -> Page:
    if not 1 <= limit <= MAX_LIMIT:
        raise bad_request(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    if offset < 0:
        raise bad_request(f"offset must be 0 or more, got {offset}")
    if filter_ is not None and filter_ not in FILTERS:
        raise bad_request(f"filter must be one of {', '.join(FILTERS)}, got {filter_!r}")
    return Page(limit=limit, offset=offset, filter=filter_, branch=branch)


def _keeps(filter_: str | None, job: JobRow) -> bool:
    if filter_ is None:
        return True
    _status, lifecycle, outcome = v1_status(job.status)
    if filter_ == "running":
        return lifecycle in ("queued", "running")
    if filter_ == "completed":
        return lifecycle == "finished"
    if filter_ == "successful":
        return outcome == "success"
    return outcome in ("failed", "timedout", "infrastructure_fail")


def builds(
    projects: list[ServedProject], wanted: Page
) -> list[tuple[ServedProject, RunRow, JobRow]]:
    """The page of (project, run, job), newest build first, across ``projects``."""
    found: list[tuple[ServedProject, RunRow, JobRow]] = []
    for project in projects:
        runs = [r for r in project.store.runs(SCANNED_RUNS) if owns(project, r)]
        if wanted.branch is not None:
            runs = [r for r in runs if r.branch == wanted.branch]
        jobs = project.store.jobs_of_runs([r.run for r in runs]) if runs else {}
        for run in runs:
            found += [(project, run, j) for j in jobs[run.run] if _keeps(wanted.filter, j)]
    found.sort(key=lambda t: (t[1].queued_at or t[1].started_at or 0.0, t[2].build_num or 0),
               reverse=True)
    return found[wanted.offset : wanted.offset + wanted.limit]
