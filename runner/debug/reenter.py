"""``runner shell RUN [JOB] [--node I]``: enter a node environment that ``--keep`` left in place.

The shell is the one ``runner run --shell`` opens (same program, start-up file, prompt and
environment, from the kept record), in the kept home (machine) or primary container (docker).
Leaving it leaves the environment as it is; ``runner clean`` removes it.
"""

from __future__ import annotations

import os
import shlex
from typing import IO

from runner.debug.kept import KeptNode, records
from runner.debug.shell import plan_shell, say
from runner.errors import EnvironmentFailure, UsageError, did_you_mean
from runner.executors.interactive import stdin_is_tty
from runner.executors.registry import place_of
from runner.loading import ProjectRequest, open_project
from runner.store.state import StateDir, resolve_root


def enter_kept(
    request: ProjectRequest, *, run: str, job: str | None, node: int | None, out: IO[str]
) -> int:
    """Open the shell; returns its exit status. ``run`` is a number, or ``last``: the newest
    run that kept an environment. ``out``: the CLI's stream for the line about it."""
    project = open_project(request)
    state = StateDir(resolve_root(project.root, request.state_dir, os.environ))
    number = _run_number(state, run)
    kept = choose(records(state, str(number)), number, job, node)
    place = place_of(kept)
    if not place.alive(kept):
        raise EnvironmentFailure(
            f"the kept environment of {kept.title} is gone",
            hint="`runner clean` removed it, or it was removed by hand; run the job again "
            "with --keep",
        )
    tty = stdin_is_tty()
    label = f"{kept.job}#{kept.node}" if kept.node else kept.job
    plan = plan_shell(
        configured=kept.shell or None, has_bash=kept.has_bash, env=kept.env, cwd=kept.workdir,
        task_data=kept.task_data, label=label, tty=tty,
    )
    say([
        f"runner: a shell in the environment {kept.title} kept ({kept.executor}), in "
        f"{kept.workdir}; `exit` leaves it in place (`runner clean` removes it)"
    ], out)
    return place.enter(kept, plan.argv, env=plan.env, tty=tty)


def _run_number(state: StateDir, run: str) -> int:
    if run.isdigit():
        return int(run)
    if run != "last":
        raise UsageError(f"RUN takes a run number or 'last', got {run!r}")
    kept = records(state)
    if not kept:
        raise UsageError(
            "no run kept an environment", hint="`runner run --keep` keeps one"
        )
    return int(kept[0].run)


def choose(found: list[KeptNode], run: int, job: str | None, node: int | None) -> KeptNode:
    if not found:
        raise UsageError(
            f"run {run} kept no environment",
            hint="`runner run --keep` keeps one; `runner history` lists the runs",
        )
    jobs = sorted({k.job for k in found})
    if job is not None:
        found = [k for k in found if k.matches(job)]
        if not found:
            raise UsageError(
                f"run {run} kept no environment of job {job!r}",
                hint=did_you_mean(job, jobs) or "kept: " + ", ".join(jobs),
            )
    elif len(jobs) > 1:
        raise UsageError(
            f"run {run} kept several jobs: {', '.join(jobs)}",
            hint=f"name one: runner shell {run} {shlex.quote(jobs[0])}",
        )
    if node is not None:
        nodes = sorted(k.node for k in found)
        found = [k for k in found if k.node == node]
        if not found:
            raise UsageError(
                f"run {run} kept no node {node} of that job",
                hint="kept nodes: " + ", ".join(map(str, nodes)),
            )
    return min(found, key=lambda k: k.node)
