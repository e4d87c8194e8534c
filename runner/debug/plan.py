"""The run-wide debugging choices, checked before anything starts, and the per-node hooks.

Which node gets the ``--shell``: the lowest-numbered node of each job that runs here, that is
node 0, or the one node ``--node-index I`` runs. CircleCI's SSH rerun gives every node SSH
access, but a terminal holds one shell at a time, and node 0 is where deploy steps (the ones SSH
mode skips) would run. ``--shell-on-failure`` opens a shell on every node whose step fails, one
after the other. Other jobs of the run go on while a shell is open and their output shares the
terminal: name the job (``runner run JOB --shell``) or pass ``-j 1`` for a quiet one.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

from msgspec import Struct

from runner.debug.kept import KeptNode, records
from runner.debug.steps import StepRange, step_range
from runner.executors.base import NodeSpec
from runner.executors.interactive import stdin_is_tty
from runner.executors.registry import kept_place
from runner.graph import JobGraph, PlannedJob
from runner.store.state import StateDir


class DebugOptions(Struct, frozen=True, kw_only=True):
    """What a run asks of debugging (``runner run``'s flags, built by :mod:`runner.runflow`)."""

    shell: bool = False  # --shell
    shell_on_failure: bool = False  # --shell-on-failure
    keep: bool = False  # --keep
    from_step: str | None = None  # --from-step: a step number from 0, or a step's name
    only_step: str | None = None  # --only-step
    resync: bool = True  # --from-step refreshes the restored checkout (--no-resync: keeps it)
    terminal: IO[str] | None = None  # where shell banners go: the CLI's stderr (none: not said)


class DebugPlan(Struct, frozen=True):
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

    def shell_here(self, spec: NodeSpec, job: PlannedJob) -> bool:
        """Whether ``--shell`` opens on this node (see the module's docstring)."""
        return self.shell and spec.node_index == min(job.nodes)

    def source_for(self, job: PlannedJob, node: int) -> KeptNode | None:
        """The newest kept environment of this job's node, of the same executor, still there."""
        for kept in records(self.state):
            if (
                kept.node == node
                and kept.executor == job.executor_kind
                and (job.id == kept.job or job.name in (kept.job, kept.job_name))
            ):
                place = kept_place(kept.executor)
                if place is not None and place.alive(kept):
                    return kept
        return None

    @staticmethod
    def labels_for(spec: NodeSpec) -> dict[str, str]:
        """How a kept node is found again: its backend says (for docker, the labels of the
        primary container)."""
        place = kept_place(spec.job.executor.kind)
        return place.labels(spec) if place is not None else {}


def debug_plan(
    options: DebugOptions, graph: JobGraph, state_root: Path, project_root: Path | None = None
) -> DebugPlan | None:
    """The run's debugging plan, or None when it asks for no debugging; raises UsageError for
    a ``--from-step``/``--only-step`` that does not fit the planned job."""
    steps = step_range(graph, options.from_step, options.only_step)
    if not (options.shell or options.shell_on_failure or options.keep or steps):
        return None
    return DebugPlan(
        state=StateDir(state_root),
        shell=options.shell,
        shell_on_failure=options.shell_on_failure,
        keep=options.keep,
        steps=steps,
        tty=stdin_is_tty(),
        resync=options.resync,
        project_root=project_root,
        out=options.terminal,
    )
