"""What a step handler gets: the node's session and environment, and where to report."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from msgspec import Struct, field

from runner.config.model import Job, Step
from runner.environment import NodeFacts
from runner.events import Event, StepOutcome
from runner.executors.base import NodeSpec, Process, Session
from runner.graph import JobGraph, PlannedJob
from runner.output import StepSink
from runner.project import Project
from runner.store.job_timings import RunTimings
from runner.store.state import StateDir

if TYPE_CHECKING:  # the workspace store and its archives load only when a run uses them
    from runner.store.workspace_from import EarlierWorkspace


class Background(Struct):
    """A ``background: true`` step still running; stopped and reported at the job's end."""

    index: int
    step: Step
    process: Process
    sink: StepSink
    log_path: str


class RunServices(Struct, frozen=True):
    """Run-wide facts and places a step may use (caches, workspaces, artifacts, results)."""

    state: StateDir  # per project: caches live under state.root
    run_dir: Path  # this run: artifacts, test results, workspace layers
    run_id: str
    graph: JobGraph  # workspaces are layered in the order of the graph
    project: Project
    timings: RunTimings  # one snapshot per job run, written after the job (issue 13)
    workspace_from: EarlierWorkspace | None = None  # --workspace-from RUN


class StepContext(Struct):
    session: Session
    spec: NodeSpec
    job: Job
    env: Mapping[str, str]  # the node's complete environment, before the step's own
    workdir: str  # the job's working directory, resolved in the node
    project_root: Path
    sink: StepSink
    index: int
    tag: str  # marks this step's processes
    log_path: str
    notice: Callable[[str], None]
    services: RunServices
    facts: NodeFacts  # branch, revision, build number, job name of this node
    planned: PlannedJob  # the job as planned: workflow, requires
    failed: bool = False  # whether an earlier step of this node failed
    background: list[Background] = field(default_factory=list)
    emit: Callable[[Event], None] = lambda _event: None  # structured events (test results)


Handler = Callable[[Step, StepContext], StepOutcome]
