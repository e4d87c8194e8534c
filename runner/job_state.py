"""What the engine knows of each job of a run while it runs, the facts a node is given, and
the plan's facts the events carry.

Split from :mod:`runner.engine` so the engine module stays the scheduler only.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from msgspec import Struct, field

from runner.barrier import DeployBarrier
from runner.environment import NodeFacts
from runner.errors import UsageError
from runner.events import PlannedFacts, Status
from runner.graph import JobGraph, PlannedJob
from runner.project import Project


class JobState(Struct):
    job: PlannedJob
    status: Status = Status.PENDING
    build_num: int = 0
    started: float = 0.0
    nodes_left: int = 0
    node_status: dict[int, Status] = field(default_factory=dict)
    barrier: DeployBarrier | None = None

    def outcome(self) -> Status:
        """The job's status from its nodes' statuses."""
        statuses = self.node_status.values()
        if any(s is Status.CANCELLED for s in statuses):
            return Status.CANCELLED
        if any(s.failed for s in statuses):
            return Status.FAILED
        return Status.PASSED


def node_facts(
    state: JobState, node: int, project: Project, *, workflow_id: str, pipeline_id: str,
    user: str,
) -> NodeFacts:
    """The built-in variables' values for one node of a job (``CIRCLE_*`` [ENV])."""
    job = state.job
    assert job.job is not None
    git = project.git
    in_workflow = job.workflow is not None
    return NodeFacts(
        job_name=job.name,
        node_index=node,
        node_total=job.parallelism,
        build_num=state.build_num,
        working_directory=job.job.working_directory,
        branch=git.branch,
        sha=git.sha,
        tag=git.tag,
        repository_url=git.remote_url,
        username=git.username,
        reponame=git.reponame,
        workflow_id=workflow_id if in_workflow else "",
        workflow_job_id=workflow_job_id(workflow_id, job.id) if in_workflow else "",
        pipeline_id=pipeline_id,
        user=user,
    )


def workflow_job_id(workflow_id: str, job_id: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{workflow_id}/{job_id}"))


def plan_facts(graph: JobGraph) -> tuple[PlannedFacts, ...]:
    """The planned jobs as the events carry them (what the history records)."""
    return tuple(
        PlannedFacts(id=j.id, name=j.name, workflow=j.workflow or "", requires=j.requires,
                     parallelism=j.parallelism, executor=j.executor_kind)
        for j in graph.jobs
    )


def check_contexts(graph: JobGraph, contexts: Mapping[str, object]) -> None:
    """Refuse a run whose jobs name contexts that are not defined, before anything starts."""
    missing = sorted({c for j in graph.jobs for c in j.contexts if c not in contexts})
    if missing:
        raise UsageError(
            "context(s) not found: " + ", ".join(missing),
            hint="define them in the contexts file (see `runner run --help`, --contexts)",
        )
