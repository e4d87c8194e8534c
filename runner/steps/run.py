"""``run`` and ``deploy`` steps: a script in the node's shell, streamed, with a faithful result."""

from __future__ import annotations

import shlex
import time
from collections.abc import Sequence

from msgspec.structs import replace

from runner.config.model import RunStep, Step
from runner.environment import step_environment
from runner.errors import NodeLost
from runner.events import Status, StepOutcome
from runner.executors.base import ExecRequest, ExecResult, Session
from runner.explain import explain_exit, format_duration
from runner.steps.context import Background, StepContext

BASH = ("/bin/bash", "-eo", "pipefail")
SH = ("/bin/sh", "-eo", "pipefail")


def shell_for(session: Session, *configured: str | None) -> tuple[str, ...]:
    """The step's shell, else the job's, else CircleCI's default [CR "Default shell options"]:
    ``/bin/bash -eo pipefail`` if bash exists in the node, otherwise ``/bin/sh -eo pipefail``."""
    for shell in configured:
        if shell:
            return tuple(shlex.split(shell))
    return BASH if session.has_bash else SH


def shebang(shell: tuple[str, ...]) -> str:
    return "#!" + " ".join(shell)


def request_for(step: RunStep, ctx: StepContext) -> ExecRequest:
    cwd = ctx.workdir
    if step.working_directory:
        # "interpreted relative to the working_directory of the job" [CR]
        cwd = ctx.session.resolve(step.working_directory, base=ctx.workdir)
    return ExecRequest(
        script=step.command if step.command.endswith("\n") else step.command + "\n",
        shell=shell_for(ctx.session, step.shell, ctx.job.shell),
        cwd=cwd,
        env=step_environment(ctx.env, step.environment),
        no_output_timeout=step.no_output_timeout,
        tag=ctx.tag,
        background=step.background,
    )


def outcome_of(
    result: ExecResult,
    timeout: float | None,
    *,
    path: str | None = None,
    tail: Sequence[str] = (),
) -> StepOutcome:
    base = StepOutcome(
        status=Status.PASSED,
        exit_code=result.exit_code,
        signal=result.signal,
        duration=result.duration,
        oom_killed=result.oom_killed,
    )
    if result.error is not None:
        return replace(base, status=Status.FAILED, message=result.error)
    if result.timed_out:
        limit = format_duration(timeout or 0)
        return replace(
            base,
            status=Status.TIMED_OUT,
            timed_out=True,
            timeout=timeout,
            message=f"Too long with no output (exceeded {limit})",
        )
    if result.interrupted:
        return replace(base, status=Status.CANCELLED, interrupted=True, message="interrupted")
    if result.ok:
        return base
    message = explain_exit(
        result.exit_code, result.signal, oom=result.oom_killed, path=path, tail=tail
    )
    return replace(base, status=Status.FAILED, message=message)


def run_step(step: Step, ctx: StepContext) -> StepOutcome:
    assert isinstance(step, RunStep)
    request = request_for(step, ctx)
    if step.background:
        process = ctx.session.start(request, ctx.sink)
        ctx.background.append(Background(ctx.index, step, process, ctx.sink, ctx.log_path))
        return StepOutcome(status=Status.RUNNING, message="running in the background")
    attempts = 1 + step.max_auto_reruns
    outcome = StepOutcome(status=Status.FAILED)
    for attempt in range(attempts):
        if attempt:
            ctx.notice(f"step failed; automatic rerun {attempt} of {step.max_auto_reruns}")
            time.sleep(step.auto_rerun_delay)
        result = ctx.session.start(request, ctx.sink).wait()
        if result.lost:
            raise NodeLost(result.error or "the node went away during the step")
        if result.leftovers:
            ctx.notice(
                "stopped what the step left running (use background: true for servers): "
                + "; ".join(result.leftovers)
            )
        # the PATH and output name a missing command for 127 (issue 7)
        outcome = outcome_of(
            result, step.no_output_timeout, path=request.env.get("PATH"), tail=ctx.sink.tail
        )
        if outcome.status is not Status.FAILED:
            break
    return outcome
