"""``runner run``: run jobs or workflows, live, then a summary; exit code from the result."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import typer

from runner.cli import common
from runner.errors import ExitCode

_SEL, _ENV, _EXE = common.SELECTION, common.ENVIRONMENT, common.EXECUTORS
_DBG, _OUT = common.DEBUGGING, common.OUTPUT

if TYPE_CHECKING:
    from runner.engine import Engine


def register(app: typer.Typer) -> None:
    app.command(name="run", no_args_is_help=False)(run)


def run(
    ctx: typer.Context,
    jobs: list[str] = typer.Argument(
        None, help="Jobs to run (default: the workflows, or 'build')."
    ),
    config: Path = common.CONFIG,
    project_dir: Path = common.PROJECT_DIR,
    workflow: str = common.WORKFLOW,
    branch: str = common.BRANCH,
    tag: str = common.TAG,
    scheduled: str = common.SCHEDULED,
    param: list[str] = common.PARAM,
    with_requires: bool = common.WITH_REQUIRES,
    parallelism: int = common.PARALLELISM,
    node_index: int = common.NODE_INDEX,
    approve: list[str] = typer.Option(
        [], "--approve", help="Approve this approval job, or 'all'.", rich_help_panel=_SEL
    ),
    env: list[str] = typer.Option(
        [], "-e", "--env", help="Variable NAME=value (repeatable).", rich_help_panel=_ENV
    ),
    env_file: list[Path] = typer.Option(
        [], "--env-file", help="dotenv file of variables (repeatable).", rich_help_panel=_ENV
    ),
    pass_env: list[str] = typer.Option(
        [], "--pass-env", help="Pass this variable of yours to machine jobs.",
        rich_help_panel=_ENV,
    ),
    contexts: Path = typer.Option(
        None, "--contexts", help="Contexts file (see README).", rich_help_panel=_ENV
    ),
    workspace_from: str = typer.Option(
        None, "--workspace-from", metavar="RUN",
        help="Attach the workspace run RUN (a number or 'last') persisted.",
        rich_help_panel=_ENV,
    ),
    image: list[str] = common.IMAGE,
    pull: str = typer.Option(
        "missing", "--pull", metavar="WHEN", show_default=False,
        help="Pull images: missing (default) | never | always.", rich_help_panel=_EXE
    ),
    jobs_limit: int = typer.Option(
        None, "-j", "--jobs", min=1, metavar="N",
        help="Nodes running at once (default: CPU count).",
        rich_help_panel=_EXE,
    ),
    fail_fast: bool = typer.Option(
        False, "--fail-fast", help="Stop everything at the first failure.", rich_help_panel=_EXE
    ),
    resource_limits: bool = typer.Option(
        True, "--resource-limits/--no-resource-limits", show_default=False,
        help="resource_class CPU and memory limits (default: on).", rich_help_panel=_EXE,
    ),
    remote_docker: bool = typer.Option(
        True, "--remote-docker/--no-remote-docker", show_default=False,
        help="Allow setup_remote_docker (default: on).", rich_help_panel=_EXE,
    ),
    strict: bool = typer.Option(
        False, "--strict", help="Refuse the run (exit 2) if a job cannot run on this machine "
        "(macOS, Windows, arm) instead of skipping it.", rich_help_panel=_SEL,
    ),
    orb_dir: Path = common.ORB_DIR,
    orb_host: str = common.ORB_HOST,
    offline: bool = common.OFFLINE,
    primary_env_to_steps: bool = common.PRIMARY_ENV,
    state_dir: Path = common.STATE_DIR,
    keep: bool = typer.Option(
        False, "--keep", help="Keep node homes and containers afterwards.", rich_help_panel=_DBG
    ),
    shell: bool = typer.Option(
        False, "--shell", help="After a job's steps, a shell in its environment (node 0); "
        "deploy steps are skipped, as in CircleCI's SSH reruns.", rich_help_panel=_DBG,
    ),
    shell_on_failure: bool = typer.Option(
        False, "--shell-on-failure",
        help="When a step fails, a shell in its environment; the job goes on after it.",
        rich_help_panel=_DBG,
    ),
    from_step: str = typer.Option(
        None, "--from-step", metavar="N",
        help="Start the job at step N (from 0, or a name), restoring a kept earlier run.",
        rich_help_panel=_DBG,
    ),
    only_step: str = typer.Option(
        None, "--only-step", metavar="N", help="Run only step N of the job (see --from-step).",
        rich_help_panel=_DBG,
    ),
    resync: bool = typer.Option(
        True, "--resync/--no-resync", show_default=False,
        help="With --from-step: refresh the restored checkout from the working tree (default).",
        rich_help_panel=_DBG,
    ),
    watch: bool = typer.Option(
        False, "--watch", help="Run again whenever a file of the project changes.",
        rich_help_panel=_DBG,
    ),
    json_output: bool = typer.Option(
        False, "--json", help="JSON lines events instead of text.", rich_help_panel=_OUT
    ),
    color: bool = typer.Option(
        None, "--color/--no-color", help="Colour (default: on a terminal).", rich_help_panel=_OUT
    ),
) -> None:
    """Run jobs: the workflows that apply to this branch, 'build', or the named JOBs.

    Defaults for these options can be set in .circleci/runner.yml and
    $XDG_CONFIG_HOME/runner/runner.yml (see `runner config show`)."""
    from runner.cli.run_settings import apply_settings
    from runner.runflow import RunRequest

    o = apply_settings(ctx)
    request = RunRequest(
        project=common.project_request(
            config, o["project_dir"], o["branch"], o["tag"], o["param"], o["orb_dir"],
            o["state_dir"], images=o["image"], primary_env_to_steps=o["primary_env_to_steps"],
            orb_host=o["orb_host"], offline=o["offline"], schedule=o["scheduled"],
        ),
        jobs=tuple(jobs or ()),
        workflow=o["workflow"],
        with_requires=o["with_requires"],
        env=tuple(o["env"]),
        env_files=tuple(o["env_file"]),
        pass_env=tuple(o["pass_env"]),
        parallelism=o["parallelism"],
        node_index=o["node_index"],
        jobs_limit=o["jobs_limit"],
        fail_fast=o["fail_fast"],
        strict=o["strict"],
        approve=tuple(o["approve"]),
        contexts_file=o["contexts"],
        keep=o["keep"],
        shell=o["shell"],
        shell_on_failure=o["shell_on_failure"],
        from_step=o["from_step"],
        only_step=o["only_step"],
        resync=o["resync"],
        workspace_from=o["workspace_from"],
        docker={"pull": o["pull"], "resource_limits": o["resource_limits"],
                "remote_docker": o["remote_docker"]},
    )
    json_out, colour = o["json_output"], common.color_choice(o["color"])
    if o["watch"]:
        from runner.cli.watch import watch_runs

        code = common.call(lambda: watch_runs(
            request, lambda hook: _execute(request, json_out, colour, hook)
        ))
    else:
        code = common.call(lambda: _execute(request, json_out, colour))
    raise typer.Exit(code)


def _execute(
    request: object,
    json_output: bool,
    color: bool | None,
    on_engine: Callable[[Engine], None] = lambda _e: None,
) -> int:
    from runner import runflow
    from runner.cli.hold import HeldWhileShell
    from runner.events import Subscriber

    assert isinstance(request, runflow.RunRequest)
    subscribers: list[Subscriber] = []
    if json_output:
        from runner.report.jsonl import JsonLinesReporter

        subscribers.append(HeldWhileShell(JsonLinesReporter(sys.stdout)))
    else:
        from runner.report.console import ConsoleReporter

        subscribers.append(HeldWhileShell(ConsoleReporter(sys.stdout, color=color)))
    from runner.store.recorder import HistoryRecorder

    recorder = HistoryRecorder(source="cli")  # `runner history`/`logs` and the API read it
    subscribers.append(recorder)
    guard = _SignalGuard()
    with guard:
        result = runflow.run(
            request,
            subscribers=subscribers,
            approver=_terminal_approver if sys.stdin.isatty() and not json_output else None,
            on_engine=recorder.chain(_both(guard.attach, on_engine)),
        )
    if guard.output_closed:  # the run was stopped for it; see ExitCode.OUTPUT_CLOSED
        return int(ExitCode.OUTPUT_CLOSED)
    return int(result.exit_code)


def _both(
    first: Callable[[Engine], None], second: Callable[[Engine], None]
) -> Callable[[Engine], None]:
    def both(engine: Engine) -> None:
        first(engine)
        second(engine)

    return both


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
        self.output_closed = False

    def attach(self, engine: Engine) -> None:
        self.engine = engine
        engine.bus.on_output_closed(self._closed)

    def _closed(self) -> None:
        """stdout's reader went away (``runner run | head``): nobody sees the run any more, so
        stop it as a first Ctrl-C would (steps stopped, containers removed, history marked).
        On a thread of its own: the engine may hold its lock in the thread that found out."""
        if self.output_closed or self.engine is None:
            return
        self.output_closed = True
        _say("runner: output closed: stopping running steps and cleaning up\n")
        threading.Thread(target=self.engine.cancel, name="output-closed", daemon=True).start()

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
            _say(f"\n{name}: stopping running steps and cleaning up (again to exit at once)\n")
            self.engine.cancel()
            return
        _say(f"\n{name}: exiting now; `runner clean` removes anything left behind\n")
        if self.engine is not None:
            self.engine.force()
        from runner.output import close_open_logs

        close_open_logs()  # what runner received of each step is in its log (issue 13)
        os._exit(130)


def _say(text: str) -> None:
    """A line on stderr, unless stderr is gone too (``runner run 2>&1 | head``)."""
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
