"""``runner run JOB --workspace-from RUN``: attach the workspace an earlier run persisted.

``runner run test`` alone cannot attach the workspace ``build`` makes; with
``--workspace-from RUN`` a job attaches the layers RUN persisted, so ``test`` can be iterated on
without rebuilding. Which layers: those of the jobs upstream of the same job in RUN (through
the ``requires`` RUN recorded), or every layer of RUN when the job was not part of it; in RUN's
workflow order (the order its jobs were planned), node then step within a job, as CircleCI
applies them [WS]. Jobs that also run upstream in this run replace RUN's layers with theirs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from msgspec import Struct

from runner.graph import JobGraph, PlannedJob
from runner.store.workspaces import Layer, WorkspaceStore


class EarlierWorkspace(Struct, frozen=True):
    run: int
    store: WorkspaceStore
    order: tuple[str, ...]  # RUN's jobs, in the order it planned them
    requires: Mapping[str, tuple[str, ...]]

    def upstream(self, job_id: str) -> list[str]:
        if job_id not in self.requires:
            return list(self.order)
        wanted: set[str] = set()
        todo = list(self.requires[job_id])
        while todo:
            current = todo.pop()
            if current not in wanted:
                wanted.add(current)
                todo.extend(self.requires.get(current, ()))
        return [job for job in self.order if job in wanted]

    def ancestors(self) -> dict[str, set[str]]:
        return {job: set(self.upstream(job)) for job in self.order}

    def layers(self, job_id: str, skip: set[str]) -> tuple[list[Layer], list[str]]:
        """The layers for ``job_id`` (but those of jobs in ``skip``), and what is broken."""
        layers: list[Layer] = []
        problems: list[str] = []
        for job in self.upstream(job_id):
            if job in skip:
                continue
            found, broken = self.store.layers_of(job)
            layers += found
            problems += [f"{job} layer {item} of run {self.run}" for item in broken]
        return layers, problems


def has_workspace(run_dir: Path) -> bool:
    layers = run_dir / "workspace" / "layers"
    return layers.is_dir() and any(layers.iterdir())


def earlier_workspace(state_root: Path, text: str) -> EarlierWorkspace:
    """RUN (a number, or ``last``: the newest run that persisted a workspace), checked before
    anything starts: a run that is not recorded, or persisted nothing, is a usage error."""
    from runner.errors import UsageError
    from runner.store.history import HistoryStore
    from runner.store.run_ref import run_number
    from runner.store.state import StateDir

    state = StateDir(state_root)
    history = HistoryStore.for_state(state_root)
    run = run_number(
        history, text, what="--workspace-from",
        having=lambda n: has_workspace(state.run_dir(n)), wanted="that persisted a workspace",
    )
    jobs = history.jobs(run)
    if not jobs or not has_workspace(state.run_dir(run)):
        why = "is not recorded" if not jobs else "persisted no workspace"
        raise UsageError(f"--workspace-from {text}: run {run} {why}",
                         hint="see `runner history`; a run that persists one is in its steps")
    return EarlierWorkspace(
        run=run,
        store=WorkspaceStore(state.run_dir(run) / "workspace"),
        order=tuple(j.job for j in jobs),
        requires={j.job: tuple(j.requires_list) for j in jobs},
    )


def workspace_source(
    state_root: Path, text: str | None, graph: JobGraph, *, stepping: bool
) -> EarlierWorkspace | None:
    """``--workspace-from RUN``; and for ``--from-step``/``--only-step`` on a job that attaches
    a workspace nothing upstream in this run persists (a job of a workflow, run alone), the
    newest run that persisted one, when there is such a run."""
    from runner.errors import UsageError

    if text is not None:
        return earlier_workspace(state_root, text)
    if not stepping or not any(_needs_earlier(graph, job) for job in graph.jobs):
        return None
    try:
        return earlier_workspace(state_root, "last")
    except UsageError:
        return None  # the attach step then fails and says how to get a workspace


def _needs_earlier(graph: JobGraph, job: PlannedJob) -> bool:
    from runner.config.model import AttachWorkspaceStep

    attaches = job.job is not None and any(
        isinstance(s, AttachWorkspaceStep) for s in job.job.steps
    )
    return attaches and not job.requires
