"""``--from-step N`` and ``--only-step N``: iterate on one step of one job.

N is a step's number, counted from 0 as ``runner logs --step`` and the log files count, or a
step's name. Steps before N are skipped when an earlier run's kept environment of the job was
restored (their effects are in it); when there is none they run first, and runner says so.
``--only-step`` also skips the steps after N.
"""

from __future__ import annotations

from msgspec import Struct

from runner.config.model import Job
from runner.errors import UsageError, did_you_mean
from runner.graph import JobGraph, PlannedJob


class StepRange(Struct, frozen=True):
    job: PlannedJob
    start: int
    only: bool

    @property
    def flag(self) -> str:
        return f"--{'only' if self.only else 'from'}-step {self.start}"

    @property
    def before(self) -> str:
        """The steps before the start, in words."""
        return "step 0" if self.start == 1 else f"steps 0 to {self.start - 1}"

    def skip_reason(self, index: int, restored_from: str | None) -> str | None:
        if index < self.start and restored_from is not None:
            return f"skipped: {self.flag}; its effects come from {restored_from}"
        if self.only and index > self.start:
            return f"skipped: {self.flag} runs step {self.start} only"
        return None


def step_range(graph: JobGraph, from_step: str | None, only_step: str | None) -> StepRange | None:
    if from_step is None and only_step is None:
        return None
    if from_step is not None and only_step is not None:
        raise UsageError("--from-step and --only-step cannot be used together")
    flag = "--from-step" if from_step is not None else "--only-step"
    selector = from_step if from_step is not None else only_step
    assert selector is not None
    runnable = [j for j in graph.jobs if j.job is not None]
    if len(runnable) != 1:
        names = ", ".join(j.id for j in runnable) or "none"
        raise UsageError(
            f"{flag} applies to one job, and this run has {len(runnable)} ({names})",
            hint=f"name the job: runner run JOB {flag} {selector}",
        )
    planned = runnable[0]
    assert planned.job is not None
    return StepRange(planned, resolve_step(planned.job, selector, flag), only_step is not None)


def resolve_step(job: Job, selector: str, flag: str) -> int:
    """A step number (from 0) or a step's name, as an index into ``job.steps``."""
    steps = job.steps
    listing = "; ".join(f"{i}: {s.name.splitlines()[0] if s.name else s.kind}"
                        for i, s in enumerate(steps))
    if selector.strip().lstrip("-").isdigit():
        index = int(selector)
        if not 0 <= index < len(steps):
            raise UsageError(
                f"{flag} {selector}: {job.name} has steps 0 to {len(steps) - 1}",
                hint=f"steps: {listing}",
            )
        return index
    found = [i for i, s in enumerate(steps) if s.name == selector]
    if len(found) == 1:
        return found[0]
    if found:
        raise UsageError(
            f"{flag} {selector!r}: {len(found)} steps of {job.name} have that name "
            f"({', '.join(map(str, found))})",
            hint="give the step's number instead",
        )
    raise UsageError(
        f"{flag} {selector!r}: {job.name} has no step of that name",
        hint=did_you_mean(selector, [s.name for s in steps]) or f"steps: {listing}",
    )
