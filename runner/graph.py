"""The pure planner: Config + selection -> JobGraph.

No I/O. The graph lists what will run, in a stable topological order, with each job's
requirements, its parallel nodes, and what was left out and why (filters, schedules, ``when``).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import TypeVar

from msgspec import Struct, field
from msgspec.structs import replace

from runner.config import model as m
from runner.errors import UsageError, did_you_mean


class Selection(Struct, frozen=True, kw_only=True):
    """What the user asked to run; built by the CLI or the API from their arguments."""

    jobs: tuple[str, ...] = ()
    workflow: str | None = None
    with_requires: bool = False
    branch: str = ""
    tag: str = ""
    parallelism: int | None = None  # --parallelism: overrides every job's
    node_index: int | None = None  # --node-index: run only this node of each job
    # A workflow rerun [APIDEV rerunWorkflow]: names of the jobs that passed in the run being
    # rerun; they are left out and count as met requirements of the jobs that run again.
    passed: frozenset[str] = frozenset()


class PlannedJob(Struct, frozen=True, kw_only=True):
    id: str  # unique in the graph: "<workflow>/<name>" when several workflows run
    name: str  # the workflow entry's name; CIRCLE_JOB
    job: m.Job | None  # None for an approval
    workflow: str | None = None
    requires: tuple[str, ...] = ()  # ids of planned jobs
    requires_status: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    contexts: tuple[str, ...] = ()
    approval: bool = False
    no_op: bool = False  # ``type: no-op``: passes at once, its dependents proceed
    parallelism: int = 1  # CIRCLE_NODE_TOTAL
    nodes: tuple[int, ...] = (0,)  # the node indices that run here

    @property
    def executor_kind(self) -> str:
        if self.job is None:
            return "no-op" if self.no_op else "approval"
        return self.job.executor.kind


class Skipped(Struct, frozen=True):
    name: str
    workflow: str | None
    reason: str


class JobGraph(Struct, frozen=True):
    jobs: tuple[PlannedJob, ...]
    skipped: tuple[Skipped, ...] = ()
    workflows: tuple[str, ...] = ()

    def get(self, job_id: str) -> PlannedJob:
        for job in self.jobs:
            if job.id == job_id:
                return job
        raise KeyError(job_id)

    def dependents(self, job_id: str) -> tuple[PlannedJob, ...]:
        return tuple(j for j in self.jobs if job_id in j.requires)

    @property
    def node_count(self) -> int:
        return sum(len(j.nodes) for j in self.jobs)


def plan(config: m.Config, selection: Selection) -> JobGraph:
    graph = _plan(config, selection)
    if not selection.passed:
        return graph
    dropped = {j.id for j in graph.jobs if j.name in selection.passed}
    kept = tuple(
        replace(j, requires=tuple(r for r in j.requires if r not in dropped))
        for j in graph.jobs
        if j.id not in dropped
    )
    return JobGraph(kept, graph.skipped, graph.workflows)


def _plan(config: m.Config, selection: Selection) -> JobGraph:
    if selection.jobs:
        return _plan_named_jobs(config, selection)
    if selection.workflow is not None:
        workflow = config.workflows.get(selection.workflow)
        if workflow is None:
            raise UsageError(
                f"no workflow named '{selection.workflow}'",
                hint=did_you_mean(selection.workflow, config.workflows)
                or "workflows: " + (", ".join(config.workflows) or "none"),
            )
        return _plan_workflows(config, [workflow], selection, explicit=True)
    runnable = [w for w in config.workflows.values() if w.enabled and not w.scheduled]
    if config.workflows:
        skipped = [
            Skipped(
                w.name, w.name, "runs on a schedule only" if w.scheduled else "its 'when' is false"
            )
            for w in config.workflows.values()
            if not (w.enabled and not w.scheduled)
        ]
        graph = _plan_workflows(config, runnable, selection, explicit=False)
        return JobGraph(graph.jobs, (*skipped, *graph.skipped), graph.workflows)
    if "build" not in config.jobs:
        raise UsageError(
            "this config has no workflows and no job named 'build'",
            hint="name the jobs to run: runner run "
            + " ".join(sorted(config.jobs)[:5])
            + ("" if config.jobs else "(no jobs)"),
        )
    return JobGraph((_planned("build", config.jobs["build"], selection),))


def _planned(
    job_id: str,
    job: m.Job | None,
    selection: Selection,
    *,
    entry: m.WorkflowJob | None = None,
    workflow: str | None = None,
    requires: tuple[str, ...] = (),
    name: str | None = None,
) -> PlannedJob:
    total = 1 if job is None else (selection.parallelism or job.parallelism)
    if job is None:
        nodes: tuple[int, ...] = ()  # an approval runs nothing
    elif selection.node_index is not None:
        if selection.node_index >= total:
            raise UsageError(
                f"--node-index {selection.node_index} is outside job '{job.name}' "
                f"with {total} node(s)"
            )
        nodes = (selection.node_index,)
    else:
        nodes = tuple(range(total))
    statuses: Mapping[str, tuple[str, ...]] = MappingProxyType({})
    if entry is not None and entry.requires_status:
        prefix = job_id[: -len(entry.name)] if job_id.endswith(entry.name) else ""
        statuses = MappingProxyType({prefix + k: v for k, v in entry.requires_status.items()})
    return PlannedJob(
        id=job_id,
        name=name or (entry.name if entry else job_id),
        job=job,
        workflow=workflow,
        requires=requires,
        requires_status=statuses,
        contexts=entry.contexts if entry else (),
        approval=entry.approval if entry else False,
        no_op=entry.no_op if entry else False,
        parallelism=total,
        nodes=nodes,
    )


def _plan_named_jobs(config: m.Config, selection: Selection) -> JobGraph:
    for name in selection.jobs:
        if name not in config.jobs:
            raise UsageError(
                f"no job named '{name}'",
                hint=did_you_mean(name, config.jobs) or "jobs: " + ", ".join(sorted(config.jobs)),
            )
    if not selection.with_requires:
        return JobGraph(
            tuple(_planned(n, config.jobs[n], selection) for n in _unique(selection.jobs))
        )
    # --with-requires: the upstream entries of each job in the workflow that holds it.
    out: dict[str, PlannedJob] = {}
    used: list[str] = []
    for name in selection.jobs:
        workflow = _workflow_holding(config, name, selection.workflow)
        if workflow is None:
            out.setdefault(name, _planned(name, config.jobs[name], selection))
            continue
        entries = {e.name: e for e in workflow.jobs}
        wanted = _upstream(entries, name)
        if workflow.name not in used:
            used.append(workflow.name)
        for entry in workflow.jobs:
            if entry.name in wanted and entry.name not in out:
                out[entry.name] = _planned(
                    entry.name,
                    None if entry.approval or entry.no_op else config.jobs[entry.job],
                    selection,
                    entry=entry,
                    workflow=workflow.name,
                    requires=tuple(r for r in entry.requires if r in wanted),
                )
    return JobGraph(_toposort(list(out.values())), workflows=tuple(used))


def _workflow_holding(config: m.Config, name: str, preferred: str | None) -> m.Workflow | None:
    candidates = [w for w in config.workflows.values() if any(e.name == name for e in w.jobs)]
    for w in candidates:
        if w.name == preferred:
            return w
    return candidates[0] if candidates else None


def _upstream(entries: Mapping[str, m.WorkflowJob], name: str) -> set[str]:
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        if current in seen or current not in entries:
            continue
        seen.add(current)
        todo.extend(entries[current].requires)
    return seen


def applies(entry: m.WorkflowJob, *, branch: str, tag: str) -> str | None:
    """None when the entry's filters let it run for this branch or tag; else the reason."""
    if tag:
        # "CircleCI does not run workflows for tags unless you explicitly specify tag filters" [CR]
        if not entry.filters.tags.is_set:
            return f"no tag filter, and this is tag {tag}"
        return None if entry.filters.tags.allows(tag) else f"tag filter excludes {tag}"
    if not entry.filters.branches.allows(branch):
        return f"branch filter excludes {branch or '(no branch)'}"
    return None


def _plan_workflows(
    config: m.Config, workflows: list[m.Workflow], selection: Selection, *, explicit: bool
) -> JobGraph:
    many = len(workflows) > 1
    planned: list[PlannedJob] = []
    skipped: list[Skipped] = []
    for workflow in workflows:
        if explicit and not workflow.enabled:
            skipped.append(Skipped(workflow.name, workflow.name, "its 'when' is false"))
            continue
        kept: dict[str, m.WorkflowJob] = {}
        for entry in _entries_in_order(workflow.jobs):
            reason = applies(entry, branch=selection.branch, tag=selection.tag)
            filtered_reqs = [r for r in entry.requires if r not in kept]
            if reason is None and entry.requires and len(filtered_reqs) == len(entry.requires):
                # "Dependencies not executed because of filters are ignored; if all are
                # filtered, the job doesn't run" [CR]
                reason = "every job it requires was filtered out"
            if reason is not None:
                skipped.append(Skipped(entry.name, workflow.name, reason))
                continue
            kept[entry.name] = entry
        prefix = f"{workflow.name}/" if many else ""
        for entry in kept.values():
            job = None if entry.approval or entry.no_op else config.jobs[entry.job]
            planned.append(
                _planned(
                    prefix + entry.name,
                    job,
                    selection,
                    entry=entry,
                    workflow=workflow.name,
                    requires=tuple(prefix + r for r in entry.requires if r in kept),
                )
            )
    return JobGraph(
        _toposort(planned),
        tuple(skipped),
        tuple(w.name for w in workflows if w.enabled or explicit),
    )


T = TypeVar("T")


def _stable_topo(
    items: Sequence[T], name: Callable[[T], str], requires: Callable[[T], Iterable[str]]
) -> tuple[list[T], list[T]]:
    """Kahn's algorithm taking ready items in written order: (sorted, left over in a cycle).

    Requirements that name no item are ignored (filtered-out jobs, external names)."""
    index = {name(item): i for i, item in enumerate(items)}
    pending = {i: {index[r] for r in requires(item) if r in index} for i, item in enumerate(items)}
    dependents: dict[int, list[int]] = {}
    for i, needs in pending.items():
        for needed in needs:
            dependents.setdefault(needed, []).append(i)
    ready = [i for i, needs in pending.items() if not needs]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        first = heapq.heappop(ready)
        order.append(first)
        for dependent in dependents.get(first, ()):
            pending[dependent].discard(first)
            if not pending[dependent]:
                heapq.heappush(ready, dependent)
    done = set(order)
    return [items[i] for i in order], [item for i, item in enumerate(items) if i not in done]


def _entries_in_order(entries: tuple[m.WorkflowJob, ...]) -> list[m.WorkflowJob]:
    """Entries with every requirement before its dependents, otherwise as written."""
    ordered, cyclic = _stable_topo(entries, lambda e: e.name, lambda e: e.requires)
    return ordered + cyclic  # a cycle is reported by validation; keep the written order here


def _toposort(jobs: list[PlannedJob]) -> tuple[PlannedJob, ...]:
    ordered, cyclic = _stable_topo(jobs, lambda j: j.id, lambda j: j.requires)
    if cyclic:  # validation refuses cycles; this guards the pure function anyway
        raise UsageError("requires form a cycle among: " + ", ".join(j.id for j in cyclic))
    return tuple(ordered)


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))
