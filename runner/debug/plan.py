"""The run-wide debugging choices, checked before anything starts, and the per-node hooks.

Which node gets the ``--shell``: the lowest-numbered node of each job that runs here, that is
node 0, or the one node ``--node-index I`` runs. CircleCI's SSH rerun gives every node SSH
access, but a terminal holds one shell at a time, and node 0 is where deploy steps (the ones SSH
mode skips) would run. ``--shell-on-failure`` opens a shell on every node whose step fails, one
after the other. Other jobs of the run go on while a shell is open and their output shares the
terminal: name the job (``runner run JOB --shell``) or pass ``-j 1`` for a quiet one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from runner.debug.hooks import DebugNode, NodeHooks
from runner.debug.kept import KeptNode, records
from runner.debug.steps import StepRange, step_range
from runner.executors.base import NodeSpec
from runner.executors.interactive import stdin_is_tty
from runner.graph import JobGraph, PlannedJob
from runner.store.state import StateDir

if TYPE_CHECKING:
    from runner.runflow import RunRequest

HooksFactory = Callable[[NodeSpec, PlannedJob], NodeHooks | None]


@dataclass(frozen=True)
class DebugPlan:
    state: StateDir
    shell: bool = False
    shell_on_failure: bool = False
    keep: bool = False
    steps: StepRange | None = None
    tty: bool = False  # whether shells get a terminal: runner's stdin is one
    # --from-step refreshes restored checkouts from this working tree; --no-resync: not
    resync: bool = True
    project_root: Path | None = None
    out: IO[str] | None = None  # where shell banners go: the CLI's stderr (none: not said)

    def hooks_for(self, spec: NodeSpec, job: PlannedJob) -> NodeHooks | None:
        shell_here = self.shell and spec.node_index == min(job.nodes)
        return DebugNode(plan=self, spec=spec, job=job, shell_here=shell_here)

    def source_for(self, job: PlannedJob, node: int) -> KeptNode | None:
        """The newest kept environment of this job's node, of the same executor, still there."""
        from runner.debug.places import PLACES

        for kept in records(self.state):
            if (
                kept.node == node
                and kept.executor == job.executor_kind
                and (job.id == kept.job or job.name in (kept.job, kept.job_name))
            ):
                place = PLACES.get(kept.executor)
                if place is not None and place.alive(kept):
                    return kept
        return None

    @staticmethod
    def labels_for(spec: NodeSpec) -> dict[str, str]:
        """How a kept primary container is found again: the labels the docker executor gave it
        (imported only for docker jobs, whose run has imported the executor already)."""
        if spec.job.executor.kind != "docker":
            return {}
        from runner.executors.docker import labels as lab

        return {
            lab.RUN: spec.labels.get(lab.RUN, spec.run_id),
            lab.JOB: spec.job_id,
            lab.NODE: str(spec.node_index),
            lab.ROLE: "primary",
        }


def debug_hooks(
    request: RunRequest, graph: JobGraph, state_root: Path, project_root: Path | None = None
) -> HooksFactory | None:
    """Hooks for a run, or None when it asks for no debugging; raises UsageError for a
    ``--from-step``/``--only-step`` that does not fit the planned job."""
    steps = step_range(graph, request.from_step, request.only_step)
    if not (request.shell or request.shell_on_failure or request.keep or steps):
        return None
    plan = DebugPlan(
        state=StateDir(state_root),
        shell=request.shell,
        shell_on_failure=request.shell_on_failure,
        keep=request.keep,
        steps=steps,
        tty=stdin_is_tty(),
        resync=request.resync,
        project_root=project_root,
        out=request.terminal,
    )
    return plan.hooks_for
