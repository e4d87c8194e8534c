"""A failed step, told so a person can act: in the run's summary, and above the debugging shell.

The explanation of the exit itself (127 and the PATH, 137, 143, 130, a timeout and its limit)
is made when the step ends (:func:`runner.explain.explain_exit`, via ``steps/run.py``), so it is
the outcome's ``message`` and every reporter tells the same story. This module adds what the
end-of-run report needs besides: how to read the full log with ``runner logs``, and the test
failures that ``store_test_results`` reported for the node (``TestResultsStored`` events).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import Any

from runner.config.model import RunStep, Step
from runner.events import StepOutcome, TestResultsStored
from runner.explain import explain_exit
from runner.sanitize import visible

TAIL_SHOWN = 10
COMMAND_SHOWN = 8
TESTS_SHOWN = 10


def reason(outcome: StepOutcome) -> str:
    if outcome.message:
        return outcome.message
    return explain_exit(outcome.exit_code, outcome.signal, oom=outcome.oom_killed)


def logs_command(run_id: str, job_id: str, node: int | None, index: int) -> str:
    """A command one can paste: the job's name quoted for the shell (``chk [b] [/]``)."""
    node_flag = f" --node {node}" if node is not None else ""
    return f"runner logs {run_id} {shlex.quote(job_id)}{node_flag} --step {index}"


def banner(
    *,
    who: str,
    run_id: str,
    job_id: str,
    node: int | None,
    index: int,
    step: Step,
    outcome: StepOutcome,
    tail: tuple[str, ...],
    log_path: str,
) -> list[str]:
    """What is printed above the ``--shell-on-failure`` prompt."""
    name = step.name.strip().splitlines()[0] if step.name.strip() else step.kind
    lines = [f"runner: step {index} {name!r} of {who} failed: {reason(outcome)}"]
    if isinstance(step, RunStep):
        command = step.command.rstrip("\n").splitlines()[:COMMAND_SHOWN]
        lines += [f"  $ {visible(line)}" for line in command]
    if tail:
        lines.append("  last lines:")
        lines += [f"    {line}" for line in tail[-TAIL_SHOWN:]]
    lines.append(f"  full log: {log_path}")
    lines.append(f"  (later: {logs_command(run_id, job_id, node, index)})")
    return lines


def extras(
    *, run_id: str | None, job: str, node: int | None, index: int, outcome: StepOutcome,
    tests: Sequence[TestResultsStored] = (),
) -> dict[str, Any]:
    """Fields the JSON summary adds to a failure, beyond the step's own. ``node`` is None for a
    job without parallelism."""
    return {
        "explanation": reason(outcome),
        "timed_out": outcome.timed_out,
        "timeout": outcome.timeout,
        "oom_killed": outcome.oom_killed,
        "duration": outcome.duration,
        "logs_command": logs_command(run_id, job, node, index) if run_id else None,
        "test_failures": failed_tests(tests, job, node or 0),
    }


def failed_tests(
    tests: Sequence[TestResultsStored], job: str, node: int
) -> list[dict[str, str]]:
    """The tests this node's ``store_test_results`` steps reported failed (issue 5's events)."""
    return [
        {"name": t.name, "classname": t.classname, "file": t.file, "message": t.message}
        for event in tests
        if event.job == job and event.node == node
        for t in event.failed
    ]


def report_lines(
    *, run_id: str | None, job: str, node: int | None, index: int,
    tests: Sequence[TestResultsStored] = (),
) -> list[str]:
    """What the console's failure block adds below the step's full log path."""
    lines = [f"  read it again: {logs_command(run_id, job, node, index)}"] if run_id else []
    failed = failed_tests(tests, job, node or 0)
    if failed:
        lines.append(f"  failed tests of this node ({len(failed)}):")
        for test in failed[:TESTS_SHOWN]:
            message = test["message"].strip().splitlines()[0] if test["message"].strip() else ""
            name = f"{test['classname']}.{test['name']}" if test["classname"] else test["name"]
            lines.append(f"    {name}" + (f": {message}" if message else ""))
        if len(failed) > TESTS_SHOWN:
            lines.append(f"    ... and {len(failed) - TESTS_SHOWN} more")
    return lines + next_tries(job, node, index)


def next_tries(job: str, node: int | None, index: int) -> list[str]:
    """The report ends with what to try next (issue 18): a shell where the step fails, or the
    job again from that step (runner.debug: ``--shell-on-failure``, ``--from-step``)."""
    node_flag = f" --node-index {node}" if node is not None else ""
    shell = f"runner run {job}{node_flag} --shell-on-failure"
    again = f"runner run {job}{node_flag} --from-step {index}"
    width = max(len(shell), len(again))
    return [
        f"  next: {shell:<{width}}  (a shell where it fails)",
        f"        {again:<{width}}  (again from this step)",
    ]
