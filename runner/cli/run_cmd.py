"""``runner run``: run jobs or workflows, live, then a summary; exit code from the result."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import typer

from runner.cli import common

if TYPE_CHECKING:
    from runner.engine import Engine


def register(app: typer.Typer) -> None:
    app.command(name="run", no_args_is_help=False)(run)


def run(
    jobs: list[str] = typer.Argument(
        None, help="Jobs to run (default: the workflows, or 'build')."
    ),
    config: Path = common.CONFIG,
    project_dir: Path = common.PROJECT_DIR,
    workflow: str = typer.Option(None, "-w", "--workflow", help="Run only this workflow."),
    branch: str = common.BRANCH,
    tag: str = common.TAG,
    param: list[str] = common.PARAM,
    env: list[str] = typer.Option([], "-e", "--env", help="Variable NAME=value (repeatable)."),
    env_file: list[Path] = typer.Option([], "--env-file", help="dotenv file of variables."),
    pass_env: list[str] = typer.Option(
        [], "--pass-env", help="Pass this variable of your environment to machine jobs."
    ),
    parallelism: int = typer.Option(
        None, "--parallelism", "--node-total", min=1, help="Override every job's parallelism."
    ),
    node_index: int = typer.Option(
        None, "--node-index", "--index", min=0, help="Run only this node of each job."
    ),
    jobs_limit: int = typer.Option(
        None, "-j", "--jobs", min=1, help="Nodes running at once (default: CPU count)."
    ),
    fail_fast: bool = typer.Option(
        False, "--fail-fast", help="Stop everything at the first failure."
    ),
    with_requires: bool = typer.Option(
        False, "--with-requires", help="Run the named jobs' upstream jobs first."
    ),
    strict: bool = typer.Option(
        False, "--strict", help="Refuse the run (exit 2) if a job cannot run on this machine "
        "(macOS, Windows, arm) instead of skipping it.",
    ),
    approve: list[str] = typer.Option([], "--approve", help="Approve this approval job, or 'all'."),
    contexts: Path = typer.Option(None, "--contexts", help="Contexts file (see README)."),
    orb_dir: Path = common.ORB_DIR,
    state_dir: Path = common.STATE_DIR,
    keep: bool = typer.Option(False, "--keep", help="Keep node homes and containers afterwards."),
    shell: bool = typer.Option(
        False, "--shell", help="After a job's steps, a shell in its environment (node 0); "
        "deploy steps are skipped, as in CircleCI's SSH reruns."
    ),
    shell_on_failure: bool = typer.Option(
        False, "--shell-on-failure",
        help="When a step fails, a shell in its environment; the job goes on after it.",
    ),
    from_step: str = typer.Option(
        None, "--from-step", metavar="N",
        help="Start the job at step N (from 0, or a name), restoring a kept earlier run.",
    ),
    only_step: str = typer.Option(
        None, "--only-step", metavar="N", help="Run only step N of the job (see --from-step)."
    ),
    json_output: bool = typer.Option(False, "--json", help="JSON lines events instead of text."),
    color: bool = typer.Option(None, "--color/--no-color", help="Colour (default: on a terminal)."),
    pull: str = typer.Option("missing", "--pull", help="Images: missing | never | always."),
    resource_limits: bool = typer.Option(
        True,
        "--resource-limits/--no-resource-limits",
        help="Apply resource_class CPU and memory limits.",
    ),
    remote_docker: bool = typer.Option(
        True,
        "--remote-docker/--no-remote-docker",
        help="Allow setup_remote_docker (the host's engine).",
    ),
) -> None:
    """Run jobs: the workflows that apply to this branch, 'build', or the named JOBs."""
    from runner.runflow import RunRequest

    request = RunRequest(
        project=common.project_request(config, project_dir, branch, tag, param, orb_dir, state_dir),
        jobs=tuple(jobs or ()),
        workflow=workflow,
        with_requires=with_requires,
        env=tuple(env),
        env_files=tuple(env_file),
        pass_env=tuple(pass_env),
        parallelism=parallelism,
        node_index=node_index,
        jobs_limit=jobs_limit,
        fail_fast=fail_fast,
        strict=strict,
        approve=tuple(approve),
        contexts_file=contexts,
        keep=keep,
        shell=shell,
        shell_on_failure=shell_on_failure,
        from_step=from_step,
        only_step=only_step,
        docker={"pull": pull, "resource_limits": resource_limits, "remote_docker": remote_docker},
    )
    code = common.call(lambda: _execute(request, json_output, common.color_choice(color)))
    raise typer.Exit(code)


def _execute(request: object, json_output: bool, color: bool | None) -> int:
    from runner import runflow
    from runner.events import Subscriber

    assert isinstance(request, runflow.RunRequest)
    subscribers: list[Subscriber] = []
    if json_output:
        from runner.report.jsonl import JsonLinesReporter

        subscribers.append(JsonLinesReporter(sys.stdout))
    else:
        from runner.report.console import ConsoleReporter

        subscribers.append(ConsoleReporter(sys.stdout, color=color))
    from runner.store.recorder import HistoryRecorder

    recorder = HistoryRecorder(source="cli")  # `runner history`/`logs` and the API read it
    subscribers.append(recorder)
    guard = _SignalGuard()
    with guard:
        result = runflow.run(
            request,
            subscribers=subscribers,
            approver=_terminal_approver if sys.stdin.isatty() and not json_output else None,
            on_engine=recorder.chain(guard.attach),
        )
    return int(result.exit_code)


def _terminal_approver(name: str) -> bool:
    answer = typer.prompt(f"Approve '{name}'? [y/N]", default="n", show_default=False)
    return answer.strip().lower() in ("y", "yes")


class _SignalGuard:
    """First INT/TERM/HUP: graceful stop and cleanup. A second one: exit at once."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.count = 0
        self.previous: dict[int, object] = {}

    def attach(self, engine: Engine) -> None:
        self.engine = engine

    def __enter__(self) -> _SignalGuard:
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self.previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        from runner.executors.interactive import attached

        if signum == signal.SIGINT and attached():
            return  # a Ctrl-C typed in the debugging shell belongs to it (issue 7)
        self.count += 1
        name = signal.Signals(signum).name
        if self.count == 1 and self.engine is not None:
            sys.stderr.write(
                f"\n{name}: stopping running steps and cleaning up (again to exit at once)\n"
            )
            self.engine.cancel()
            return
        sys.stderr.write(f"\n{name}: exiting now; `runner clean` removes anything left behind\n")
        if self.engine is not None:
            self.engine.force()
        from runner.output import close_open_logs

        close_open_logs()  # what runner received of each step is in its log (issue 13)
        os._exit(130)
