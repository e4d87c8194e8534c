"""What a step handler gets: the node's session and environment, and where to report."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from runner.config.model import Job, Step
from runner.events import StepOutcome
from runner.executors.base import NodeSpec, Process, Session
from runner.output import StepSink


@dataclass
class Background:
    """A ``background: true`` step still running; stopped and reported at the job's end."""

    index: int
    step: Step
    process: Process
    sink: StepSink
    log_path: str


class RunServices(Protocol):
    """Run-wide facilities a step may use (caches, workspaces, artifacts); see ``runner.store``."""

    @property
    def run_dir(self) -> Path: ...


@dataclass
class StepContext:
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
    failed: bool = False  # whether an earlier step of this node failed
    background: list[Background] = field(default_factory=list)


Handler = Callable[[Step, StepContext], StepOutcome]
